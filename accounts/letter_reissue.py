"""The password a family had chosen at a school letter's first sign-in, kept a while after
the school reissued the letter (« Refaire la lettre », pupils.letters.letters_issue), so that
the sign-in can tell whoever types it why it no longer works (a tryout finding: she saw only
« Identifiant ou mot de passe incorrect. »).

The reissue replaces the account's password with the new letter's; the first sign-in under
way starts over (activation.provisional.services.provisional_first_sign_in_restart), which
hands the replaced hash here. It is kept in the cache (Redis; the demo's memory) under a
digest of the identifier, for PROVISIONAL_PASSWORD_VALIDITY_DAYS (the new letter's life),
and forgotten when the family chooses a password with the new letter. A cache that lost it
only means the generic refusal again.

No enumeration (accounts.forms.SignInForm): every generic refusal calls
`letter_reissued_password_matches` (one cache read whatever the identifier), which answers
True only to whoever typed the password the family had chosen: the proof the sign-in already
asks before « Ce courrier n'est plus valable » (closed_account_message). The Argon2
verification against the kept hash is the one work that differs: a refusal keeps costing
exactly one Argon2 computation (tests/accounts/test_sign_in.py) except for the identifier
of an account whose letter was reissued after its password was chosen, for the new letter's
life — a second one then, which only tells that identifier's holder's timing, never a word.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.cache import cache

from core.cache import REDIS_UNREACHABLE, unreachable_log
from core.normalization import strip_invisible

logger = logging.getLogger(__name__)

_KEY = "accounts:letter-reissued:{}"


def _key(identifier: str) -> str:
    normalized = strip_invisible(identifier).strip().lower()
    return _KEY.format(hashlib.sha256(normalized.encode()).hexdigest())


def letter_reissued_passwords_keep(*, replaced: dict[str, str]) -> None:
    """Keep, per identifier, the password hash a reissued letter replaced (`replaced`:
    identifier → the encoded hash the family had chosen), for
    PROVISIONAL_PASSWORD_VALIDITY_DAYS. Never raises: Redis out of reach, nothing kept."""
    if not replaced:
        return
    timeout = settings.PROVISIONAL_PASSWORD_VALIDITY_DAYS * 86400
    try:
        cache.set_many({_key(identifier): encoded for identifier, encoded in replaced.items()},
                       timeout=timeout)
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, "letter_reissued_passwords_keep", error)


def letter_reissued_password_forget(*, identifier: str) -> None:
    """Forget the replaced password of this identifier (the family chose a new one with the
    new letter). Never raises."""
    try:
        cache.delete(_key(identifier))
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, "letter_reissued_password_forget", error)


def letter_reissued_password_matches(identifier: str, password: str) -> bool:
    """Whether `password` is the one the family had chosen for `identifier` before the school
    reissued its letter: one cache read, and one Argon2 verification only when a replaced
    password is kept for it (see the module's docstring). The caller checks that the
    account is still PROVISIONAL."""
    try:
        encoded = cache.get(_key(identifier))
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, "letter_reissued_password_matches", error)
        encoded = None
    if not isinstance(encoded, str) or not encoded:
        return False
    return check_password(password, encoded)
