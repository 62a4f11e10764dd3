"""Masks of a mobile number and an e-mail address for the recovery's channel page, real or
made up for the identifier typed (a decoy).

« 06 •• •• •• 12 » and « m•••@o•••.fr » tell the owner which number or address a message
goes to, without giving either to someone who typed another person's identifier.

The page must read the same for an identifier that is an account and one that is not
(issue 8 §6), and must offer a real person only what reaches them (tryout: a parent with no
address was offered a made-up one and waited for a mail that never came). So
(`channel_masks`, the one function that decides what the page shows):

- an account with at least one channel that reaches it (a proven number for a guardian, a
  validated address) is shown *those* channels, real masks, and nothing else: phone only,
  e-mail only, or both;
- an identifier that is no account — or an account that nothing reaches (a guardian with
  neither, a pupil without an address) — is shown a *decoy*: a set of channels and contact
  details derived from the identifier with a keyed hash (HMAC-SHA256 with SECRET_KEY, over
  the identifier as stored: trimmed, lowercase), so it is the same at every attempt, and
  drawn so that its distribution is that of real accounts (DECOY_CHANNELS_PER_100, the
  weights of _MOBILE_RANGES and _EMAIL_DOMAINS). A decoy number and address are real-looking
  values masked by mask_mobile and mask_email themselves: the same shapes as real ones, and
  the same work (one phonenumbers parse per page whatever was typed).

Nothing is ever sent behind a decoy; the page's help says what to do when the number or
address shown is not one's own (check the identifier; ask the school or the assistance).

A real e-mail mask shows the first character of the local part and of the domain, and the
last label of the domain (« fr », « com »); the number of dots is fixed, so the length of the
address is not told.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import phonenumbers
from django.utils.crypto import salted_hmac

from core.normalization import PHONE_MASK, mask_phone

DOT = "\u2022"  # •
_SALT = "accounts.recovery.masking"

# The channels of a guardian's decoy, per 100 identifiers. An estimate of the accounts
# themselves (no production figure yet): the SMS activation, the commonest, gives every
# account a proven number and only some of them validate an address later; the first sign-in
# with a school letter validates an address and a number is added only by some. A pupil's
# page offers the e-mail only: its decoy is always an address.
DECOY_CHANNELS_PER_100 = {"phone only": 50, "both": 35, "email only": 15}

# Mobile numbers (relative weight, E.164 head, digits after it), an estimate of families':
# metropolitan 06 and 07, then the overseas mobiles, about 5 % of pupils (0690/0691
# Guadeloupe, 0694 Guyane, 0696/0697 Martinique, 0692/0693 La Réunion, 0639 Mayotte).
_MOBILE_RANGES = (
    (680, "+336", 8), (270, "+337", 8),
    (7, "+590690", 6), (2, "+590691", 6), (4, "+594694", 6), (6, "+596696", 6),
    (2, "+596697", 6), (14, "+262692", 6), (8, "+262693", 6), (7, "+262639", 6),
)
# Where families' addresses are (relative weights, an estimate: the commonest French
# providers).
_EMAIL_DOMAINS = (
    (300, "gmail.com"), (110, "orange.fr"), (100, "hotmail.fr"), (70, "yahoo.fr"),
    (60, "free.fr"), (45, "sfr.fr"), (40, "laposte.net"), (40, "outlook.fr"),
    (40, "icloud.com"), (35, "wanadoo.fr"), (35, "hotmail.com"), (30, "live.fr"),
    (20, "outlook.com"), (15, "yahoo.com"), (10, "neuf.fr"), (10, "bbox.fr"),
    (5, "aol.com"), (5, "msn.com"),
)
# First letters of local parts (prénom.nom, initiale+nom): French given names' initials,
# roughly weighted by how often each starts one (an estimate).
_INITIALS = ("a" * 9 + "b" * 3 + "c" * 8 + "d" * 4 + "e" * 5 + "f" * 3 + "g" * 3 + "h" * 2
             + "i" * 2 + "j" * 8 + "k" * 2 + "l" * 7 + "m" * 11 + "n" * 5 + "o" * 2 + "p" * 4
             + "r" * 3 + "s" * 7 + "t" * 3 + "v" * 3 + "y" * 2 + "z")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def mask_mobile(e164: str) -> str:
    """« 06 •• •• •• 12 », « 0692 •• •• 56 »: the product's one mask of a number
    (core.normalization.mask_phone), or "" when `e164` is no number."""
    masked = mask_phone(e164)  # one parse, for a decoy number too (issue 8 §6)
    return "" if masked == PHONE_MASK else masked


def mask_email(address: str) -> str:
    """« m•••@o•••.fr » for « marie.dupont@orange.fr »; "" when `address` is no address."""
    local, _, domain = (address or "").strip().lower().rpartition("@")
    if not local or not domain:
        return ""
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[0]}{DOT * 3}@{domain[0]}{DOT * 3}" + (f".{tld}" if tld else "")


@dataclass(frozen=True)
class Decoy:
    """What an identifier that reaches no one is shown: `number` (E.164) and `address`, and
    whether a guardian's page offers each (`with_phone`, `with_email`: one at least)."""

    number: str
    address: str
    with_phone: bool
    with_email: bool


@dataclass(frozen=True)
class ChannelMasks:
    """What the channel page offers: a mask per channel, "" for a channel not offered."""

    phone: str
    email: str


def _weighted(table, take):
    """A row of `table` ((weight, …), …), drawn in proportion to its weight by
    `take(n)` (a number below n)."""
    bounds = list(itertools.accumulate(row[0] for row in table))
    return table[bisect.bisect_right(bounds, take(bounds[-1]))]


def _valid_blocks(head: str, length: int) -> tuple[str, ...]:
    """The two digits after `head` that begin a valid mobile number of `length` digits
    (phonenumbers' ranges: « 0691 » is valid from 0691 22, « 07 » from 073): a decoy is a
    number a phone company could have given, parsed as fast as a real one."""
    blocks = []
    for block in range(100):
        number = f"{head}{block:02d}" + "5" * (length - 2)
        if phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
            blocks.append(f"{block:02d}")
    return tuple(blocks)


# Once, at import (about 30 ms), not at the first unknown identifier of a process: no
# request of either kind pays it.
_VALID_BLOCKS = {head: _valid_blocks(head, length) for _, head, length in _MOBILE_RANGES}


def decoy_contacts(identifier: str) -> Decoy:
    """The decoy of `identifier` (stored form: identifier_clean), stable for a SECRET_KEY:
    every choice is read from one HMAC-SHA256 of it (salted_hmac). Pure: it sends nothing
    and reads nothing but the key."""
    digest = salted_hmac(_SALT, f"decoy:{identifier}", algorithm="sha256").digest()
    value = int.from_bytes(digest, "big")

    def take(n: int) -> int:
        nonlocal value
        value, part = divmod(value, n)
        return part

    share = take(100)
    phone_only, both = DECOY_CHANNELS_PER_100["phone only"], DECOY_CHANNELS_PER_100["both"]
    with_phone, with_email = share < phone_only + both, share >= phone_only
    _, head, length = _weighted(_MOBILE_RANGES, take)
    blocks = _VALID_BLOCKS[head]
    number = (head + blocks[take(len(blocks))]
              + f"{take(10 ** (length - 2)):0{length - 2}d}")
    _, domain = _weighted(_EMAIL_DOMAINS, take)
    local = _INITIALS[take(len(_INITIALS))] + "".join(
        _LETTERS[take(26)] for _ in range(5 + take(12)))  # 6 to 17 characters
    return Decoy(number=number, address=f"{local}@{domain}", with_phone=with_phone,
                 with_email=with_email)


def channel_masks(identifier: str, *, phone_e164: str = "", email: str = "",
                  sms_offered: bool = True) -> ChannelMasks:
    """What the channel page of `identifier` offers (see the module's docstring).

    `phone_e164` and `email`: the account's number and address *that reach it* ("" for
    none, and for no account): a proven number, a validated address. `sms_offered`: False
    on a pupil's page (the e-mail only). An account reached by something is shown its own
    channels only; otherwise the identifier's decoy (decoy_contacts) is shown. The work is
    the same either way: the decoy is always derived (one HMAC), and exactly one number and
    one address are masked (one phonenumbers parse)."""
    decoy = decoy_contacts(identifier)
    phone_e164 = phone_e164 if sms_offered else ""
    if phone_e164 or email:
        show_phone, show_email = bool(phone_e164), bool(email)
    else:
        show_phone = sms_offered and decoy.with_phone
        show_email = decoy.with_email or not sms_offered
    phone_mask = mask_mobile(phone_e164 or decoy.number)
    email_mask = mask_email(email or decoy.address)
    return ChannelMasks(phone=phone_mask if show_phone else "",
                        email=email_mask if show_email else "")
