"""Security codes sent by SMS: generation, normalisation of what people type, hashing.

Six characters from an alphabet without look-alikes (no 0/O, 1/I/L): 31^6 ≈ 2^29.7
possibilities, read easily on a phone. The code is low-entropy by design; what protects it
is the attempt limit (5 wrong entries per code) and its short life. Only an HMAC of it is
stored: keyed with SECRET_KEY and bound to the flow, so a leaked table reveals nothing and a
hash cannot be replayed on another flow.
"""

import hmac
import re
import secrets
from uuid import UUID

from django.utils.crypto import salted_hmac

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 6
_TYPED_SEPARATORS = re.compile(r"[\s\-.]")
_HMAC_SALT = "core.codes.sms"


def code_generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def code_normalize(typed: str) -> str | None:
    """The code as typed, uppercased, spaces and dashes dropped; None if it cannot be one."""
    compact = _TYPED_SEPARATORS.sub("", typed or "").upper()
    if len(compact) != LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def code_hash(*, flow_id: UUID, code: str) -> str:
    return salted_hmac(_HMAC_SALT, f"{flow_id}:{code}", algorithm="sha256").hexdigest()


def code_matches(*, flow_id: UUID, code: str, stored_hash: str) -> bool:
    # Constant time: the comparison does not tell how many characters were right.
    return hmac.compare_digest(code_hash(flow_id=flow_id, code=code), stored_hash or "")
