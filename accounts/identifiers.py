"""Identifiers of the form p.nomNN.

First-name initial, a dot, the last name in lowercase ASCII without accents, spaces, hyphens or
apostrophes (truncated), then two digits; three when the two-digit space of that stem is full
(and more digits beyond, rather than failing). Uniqueness is the database's job (unique index);
`account_identifier_allocate` in services.py retries on the rare race.
"""

import secrets

from core.normalization import name_key

STEM_LAST_NAME_MAX = 20


def identifier_stem(*, first_name: str, last_name: str) -> str:
    initial = name_key(first_name)[:1] or "x"
    last = name_key(last_name)[:STEM_LAST_NAME_MAX] or "x"
    return f"{initial}.{last}"


def identifier_candidates(stem: str, taken: set[str]):
    """Yield free identifiers for `stem`, in random order, two digits first."""
    for digits in (2, 3, 4, 5, 6):
        low = 10 ** (digits - 1) if digits > 2 else 10  # "p.nom07" reads as a typo: start at 10
        numbers = [n for n in range(low, 10**digits) if f"{stem}{n}" not in taken]
        while numbers:  # a random draw without replacement, one random number per draw
            index = secrets.randbelow(len(numbers))
            numbers[index], numbers[-1] = numbers[-1], numbers[index]
            yield f"{stem}{numbers.pop()}"
