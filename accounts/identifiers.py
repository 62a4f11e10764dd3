"""Identifiers of the form p.nomNN.

First-name initial, a dot, the last name in lowercase ASCII without accents, spaces, hyphens or
apostrophes (truncated), then two digits; three when the two-digit space of that stem is full
(and more digits beyond, rather than failing). Uniqueness is the database's job (unique index);
`account_identifier_allocate` in services.py retries on the rare race.
"""

import re
import secrets

from core.normalization import name_key

STEM_LAST_NAME_MAX = 20
# The most digits identifier_candidates appends.
NUMBER_DIGITS_MAX = 6
# Every identifier the product issues (identifier_stem + identifier_candidates), as stored:
# one character (the first name's initial, « x » when none), a dot, 1 to
# STEM_LAST_NAME_MAX characters of the last name's key (name_key: a-z, 0-9), then 2 to
# NUMBER_DIGITS_MAX digits. Lenient on purpose where older identifiers differ (« l.nguyen07 »:
# a number below 10). Staff accounts have their own identifiers and sign in at /gestion/.
IDENTIFIER_PATTERN = re.compile(
    rf"[a-z0-9]\.[a-z0-9]{{1,{STEM_LAST_NAME_MAX + NUMBER_DIGITS_MAX - 2}}}[0-9]{{2}}")


def identifier_stem(*, first_name: str, last_name: str) -> str:
    initial = name_key(first_name)[:1] or "x"
    last = name_key(last_name)[:STEM_LAST_NAME_MAX] or "x"
    return f"{initial}.{last}"


def identifier_well_formed(identifier: str) -> bool:
    """Whether `identifier` (stored form: trimmed, lowercase) can be an identifier of a
    family or pupil account (IDENTIFIER_PATTERN). Purely syntactic: it reads nothing, so
    it answers the same for an identifier that is an account and one that is not (the
    format « p.nomXX » is public: letters and every sign-in page print it)."""
    return (len(identifier) <= 2 + STEM_LAST_NAME_MAX + NUMBER_DIGITS_MAX
            and IDENTIFIER_PATTERN.fullmatch(identifier) is not None)


def identifier_candidates(stem: str, taken: set[str]):
    """Yield free identifiers for `stem`, in random order, two digits first."""
    for digits in (2, 3, 4, 5, 6):
        low = 10 ** (digits - 1) if digits > 2 else 10  # "p.nom07" reads as a typo: start at 10
        numbers = [n for n in range(low, 10**digits) if f"{stem}{n}" not in taken]
        while numbers:  # a random draw without replacement, one random number per draw
            index = secrets.randbelow(len(numbers))
            numbers[index], numbers[-1] = numbers[-1], numbers[index]
            yield f"{stem}{numbers.pop()}"
