"""Masks of a mobile number and an e-mail address for the recovery's channel page, real or
derived from the identifier typed.

« 06 •• •• •• 12 » and « m•••@o•••.fr » tell the owner which number or address a message
goes to, without giving either to someone who typed another person's identifier. The page
must read the same for an identifier that is no account, an account with no mobile number
or no validated address, and an account with both: a channel that reaches nothing shows a
mask *derived* from the identifier with a keyed hash (HMAC-SHA256 with SECRET_KEY), so it is
the same at every attempt and has the shape of a real one. Nothing is ever sent behind a
derived mask; the page's help says what to do when the number or address shown is not
one's own (check the identifier; ask the school or the assistance).

A real e-mail mask shows the first character of the local part and of the domain, and the
last label of the domain (« fr », « com »); the number of dots is fixed, so the length of the
address is not told.
"""

from __future__ import annotations

from django.utils.crypto import salted_hmac

from core.normalization import PHONE_MASK, mask_phone

DOT = "\u2022"  # •
_SALT = "accounts.recovery.masking"
# What derived masks are drawn from: the commonest shapes of families' numbers and addresses.
_MOBILE_PREFIXES = ("06", "06", "06", "07")
_LETTERS = "abcdefghijlmnoprstv"
_DOMAIN_INITIALS = "ghoylsfw"
_TLDS = ("fr", "fr", "fr", "com", "com", "net")


def mask_mobile(e164: str) -> str:
    """« 06 •• •• •• 12 », « 0692 •• •• 56 »: the product's one mask of a number
    (core.normalization.mask_phone), or "" when `e164` is no number."""
    masked = mask_phone(e164)  # one parse, for a derived number too (issue 8 §6)
    return "" if masked == PHONE_MASK else masked


def mask_email(address: str) -> str:
    """« m•••@o•••.fr » for « marie.dupont@orange.fr »."""
    local, _, domain = (address or "").strip().lower().rpartition("@")
    if not local or not domain:
        return ""
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[0]}{DOT * 3}@{domain[0]}{DOT * 3}" + (f".{tld}" if tld else "")


def _digest(identifier: str, what: str) -> bytes:
    return salted_hmac(_SALT, f"{what}:{identifier}", algorithm="sha256").digest()


def derived_mobile_mask(identifier: str) -> str:
    """A metropolitan-looking mask (« 07 •• •• •• 38 ») derived from `identifier`.

    Made from a derived number by mask_mobile itself, so that an unknown identifier's page
    does the same work (phonenumbers' parse and formatting, about 0.1 ms) as a real
    number's (issue 8 §6)."""
    digest = _digest(identifier, "mobile")
    prefix = _MOBILE_PREFIXES[digest[0] % len(_MOBILE_PREFIXES)]
    digits = int.from_bytes(digest[2:8], "big") % 10**6
    return mask_mobile(f"+33{prefix[1]}{digits:06d}{digest[1] % 100:02d}")


def derived_email_mask(identifier: str) -> str:
    """An address-looking mask (« s•••@g•••.fr ») derived from `identifier`."""
    digest = _digest(identifier, "email")
    return (f"{_LETTERS[digest[0] % len(_LETTERS)]}{DOT * 3}@"
            f"{_DOMAIN_INITIALS[digest[1] % len(_DOMAIN_INITIALS)]}{DOT * 3}."
            f"{_TLDS[digest[2] % len(_TLDS)]}")
