"""Normalisation of what people type: names, mobile phone numbers, identifiers and codes
pasted with invisible characters, passwords in another Unicode form.

Pure functions, used by the roster import, activation matching, identifiers, sign-in, codes
and the back-office alike, so that every entry point reads a name or a number the same way.
"""

import re
import unicodedata

import phonenumbers
from django.utils.translation import gettext_lazy as _

# Letters that Unicode decomposition leaves whole.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o",
                            "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


# --- Invisible characters and Unicode forms ------------------------------------------------

# Unicode space separators (category Zs) other than the ASCII space: no-break space U+00A0,
# narrow no-break space U+202F (French typography puts one before « : »), thin spaces…
_UNICODE_SPACES = re.compile(r"[^\S\n\r\t\f\v ]")  # whitespace that is not ASCII
# Characters nobody sees: the format characters (category Cf) — soft hyphen U+00AD, zero-width
# space U+200B, ZWNJ U+200C, ZWJ U+200D, LRM/RLM, bidi embeddings and isolates, word joiner
# U+2060, BOM U+FEFF… — and the Hangul and braille fillers that fonts draw as blanks.
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def strip_invisible(text: str) -> str:
    """`text` without the characters a person cannot see or did not mean to type.

    Format characters (Unicode category Cf: U+00AD soft hyphen, U+200B zero-width space,
    U+200C/U+200D ZWNJ/ZWJ, U+2060 word joiner, U+FEFF BOM, bidirectional marks…) and blank
    fillers are removed; every other Unicode space (U+00A0 no-break space, U+202F narrow
    no-break space, U+2009 thin space…) becomes an ASCII space, which callers strip or
    collapse as they already do. They come with copy and paste from an SMS, an e-mail, a PDF
    letter or a word processor, and make « p.nom12 » look right and match nothing.

    For identifiers and verification codes, before lookup (accounts.forms.SignInForm,
    AccountManager.get_by_natural_key, core.codes.code_normalize). Never for passwords:
    a password is compared as typed, after NFKC only (`password_normalize`).
    """
    cleaned = "".join(
        c for c in (text or "")
        if c not in _INVISIBLE_EXTRA and unicodedata.category(c) != "Cf"
    )
    return _UNICODE_SPACES.sub(" ", cleaned)


def password_normalize(password: str) -> str:
    """`password` in Unicode normalisation form NFKC (NIST SP 800-63B §5.1.1.2; RFC 8265's
    OpaqueString profile uses NFC, NFKC also folds compatibility forms).

    « é » typed as one character (NFC, Windows, Android) or as « e » + combining acute (NFD,
    some macOS and iOS keyboards, pasted from a PDF) gives the same password; so do a
    full-width « Ａ » and « A ». Applied at set and at check by accounts.hashers, and
    before the password rules judge a password (accounts.password_policy). Nothing else is
    changed: case, spaces and every visible character count.
    """
    return unicodedata.normalize("NFKC", password)


def ascii_fold(text: str) -> str:
    """Lowercase ASCII: accents dropped, ligatures spelled out, other characters kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_key(name: str) -> str:
    """The comparison key of a name: case, accents, hyphens, apostrophes and spaces ignored.

    « Jean-Éric  N'DIAYE » and « jean eric ndiaye » have the same key.
    """
    return _NOT_ALNUM.sub("", ascii_fold(name or ""))


def clean_name(name: str) -> str:
    """A name as typed, with runs of spaces collapsed and the ends trimmed."""
    return _SPACES.sub(" ", (name or "").strip())


# --- Phone numbers ---------------------------------------------------------------------

# UAI prefix of an overseas school -> region its families' national-form numbers belong to.
UAI_PREFIX_REGIONS = {
    "971": "GP",
    "972": "MQ",
    "973": "GF",
    "974": "RE",
    "975": "PM",
    "976": "YT",
}
# Tried, in this order, for a number typed in national form, after the preferred region.
# Six-digit local numbers of the Pacific territories and Saint-Pierre-et-Miquelon overlap:
# the more populous territories are tried first; the hint asks for the country code anyway.
FRENCH_REGIONS = ("FR", "RE", "YT", "GP", "MQ", "GF", "NC", "PF", "WF", "PM", "BL", "MF")
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE,
                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
PHONE_SEPARATORS = re.compile(r"[\s.\-()/\u00a0\u202f]")

MOBILE_PHONE_ERROR = _(
    "Ce numéro n'est pas un numéro de téléphone portable valide. Saisissez un numéro de "
    "portable, par exemple 06 12 34 56 78, ou avec l'indicatif pour un numéro hors de France "
    "métropolitaine, par exemple +262 692 12 34 56."
)


class InvalidPhoneNumber(ValueError):
    """Raised with a French message saying what is expected."""

    def __init__(self, message: str = MOBILE_PHONE_ERROR):
        super().__init__(message)
        self.message = message


def region_for_uai(uai: str) -> str:
    return UAI_PREFIX_REGIONS.get((uai or "")[:3], "FR")


def _as_mobile(number: phonenumbers.PhoneNumber) -> str | None:
    if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def parse_mobile_phone(raw: str, *, preferred_region: str = "FR") -> str:
    """Return the E.164 form of a French (metropolitan or overseas) mobile number.

    International forms (+33…, 0033…, +262…) are read as written. A national form (06…,
    0692…) is read in `preferred_region` first (the school's region), then in metropolitan
    France and each overseas region: « 0692 12 34 56 » is not a valid +33 number but is a
    valid +262 mobile. Raises InvalidPhoneNumber when nothing gives a mobile number.
    """
    compact = PHONE_SEPARATORS.sub("", raw or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+?\d{6,15}", compact):
        raise InvalidPhoneNumber()
    if compact.startswith("+"):
        try:
            number = phonenumbers.parse(compact, None)
        except phonenumbers.NumberParseException as exc:
            raise InvalidPhoneNumber() from exc
        e164 = _as_mobile(number)
        if e164 is None:
            raise InvalidPhoneNumber()
        return e164
    regions = (preferred_region, *(r for r in FRENCH_REGIONS if r != preferred_region))
    for region in regions:
        try:
            number = phonenumbers.parse(compact, region)
        except phonenumbers.NumberParseException:
            continue
        e164 = _as_mobile(number)
        if e164 is not None:
            return e164
    raise InvalidPhoneNumber()


def mobile_phone_readings(raw: str) -> tuple[str, ...]:
    """Every E.164 mobile number `raw` can mean when nobody knows its region (the helpdesk's
    search): an international form has one reading; a national form is read in metropolitan
    France and in each overseas region, in FRENCH_REGIONS order (« 0692 12 34 56 » is only
    +262 692…; « 06 12 34 56 78 » is +33 6…). Empty when it is no mobile number anywhere.
    """
    found: list[str] = []
    for region in FRENCH_REGIONS:
        try:
            e164 = parse_mobile_phone(raw, preferred_region=region)
        except InvalidPhoneNumber:
            return ()
        if e164 not in found:
            found.append(e164)
        if (raw or "").strip().startswith(("+", "00")):
            break  # international form: one reading only
    return tuple(found)


def mask_phone(e164: str) -> str:
    """« +33 6 ** ** ** 26 »: enough for the owner to recognise the number, not to read it."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "**"
    international = phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    prefix, _, national = international.partition(" ")
    groups = national.split(" ")
    if len(groups) <= 2:
        return f"{prefix} {'*' * len(national[:-2])}{national[-2:]}"
    masked = [groups[0], *("*" * len(g) for g in groups[1:-1]), groups[-1]]
    return f"{prefix} {' '.join(masked)}"
