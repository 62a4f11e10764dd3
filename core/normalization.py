"""Normalisation of what people type: names, mobile phone numbers, identifiers and codes
pasted with invisible characters, passwords in another Unicode form.

Pure functions, used by the roster import, activation matching, identifiers, sign-in, codes
and the back-office alike, so that every entry point reads a name or a number the same way.

## Names

A name's comparison key (`name_key`) is its ASCII transliteration by anyascii, lowercased,
with everything but letters and digits dropped. anyascii rather than Unicode decomposition:
decomposition leaves whole the letters that have none (Turkish ı, Polish ł, Scandinavian ø,
Icelandic ð and þ, German ß), so « Halıcı » lost its ı and never met « HALICI »; anyascii
spells every letter of every script (ı → i, ß → ss, Œ → OE, Ψ → Ps). anyascii rather than
Unidecode: it is ISC-licensed (Unidecode is GPL, which this project's dependents could not
take), covers more of Unicode and is maintained. The transliteration is one table lookup per
character, so the key of a text is the concatenation of its characters' keys: the SQL twin
`educonnect_name_key()` (pupils migrations 0002 and 0007) rests on that.

Invisible characters (Unicode « format » characters: zero-width space and joiners, soft
hyphen, bidirectional marks and overrides; line and paragraph separators) never belong in a
name, an identifier, a number or a code: `strip_invisible` removes them from anything a
person types, and the roster import refuses them in a name (pupils.roster). The
bidirectional controls among them (BIDI_CONTROLS) are refused, not removed, in every name and
free text a form reads (core.forms: PersonNameField, BidiControlValidator).
"""

import functools
import re
import unicodedata

import phonenumbers
from anyascii import anyascii
from django.utils.translation import gettext_lazy as _

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
# Every character of Unicode category Cf (format), plus the line and paragraph separators
# (Zl, Zp), which str.split() would read as spaces but a roster cell never means as one.


def _category_class(categories: tuple[str, ...]) -> str:
    """A regex character class of every code point in `categories`, as ranges."""
    ranges: list[list[int]] = []
    # Planes 0 and 1 and the tags of plane 14: every format character Unicode assigns (the
    # other planes hold none); walking all of Unicode would cost 0.3 s at each start.
    for cp in (*range(0x80, 0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(cp)) in categories:
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "[" + "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    ) + "]"


INVISIBLE_CHARACTERS = re.compile(_category_class(("Cf", "Zl", "Zp")))


def has_invisible(text: str) -> bool:
    return INVISIBLE_CHARACTERS.search(text or "") is not None


# --- Bidirectional controls -------------------------------------------------------------

# The characters that reorder the text drawn around them (Unicode's « bidirectional
# formatting characters », UAX #9 §2, and the marks): embeddings and overrides U+202A–U+202E
# (« \u202eNAIDN » shows as « NDIAN »), isolates U+2066–U+2069, the marks LRM U+200E, RLM
# U+200F and ALM U+061C. Unicode's security considerations (UTS #55, « Trojan Source ») advise
# refusing them where a person types a name or a message someone else reads: what a family
# or a staff member types is displayed to another (a school's message in « Mes services », a
# helpdesk reply, a name in the back-office), so the text must read as it was written.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def has_bidi_control(text: str) -> bool:
    """Whether `text` holds a bidirectional control (BIDI_CONTROLS). The one rule of every
    free-text and name field: core.forms.PersonNameField and core.forms.BidiControlValidator
    refuse such text with a message naming the field and the fix; the other invisible
    characters (zero-width space, soft hyphen…) are still only removed (strip_invisible)."""
    return BIDI_CONTROLS.search(text or "") is not None


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

    Format characters (INVISIBLE_CHARACTERS: Unicode category Cf — U+00AD soft hyphen,
    U+200B zero-width space, U+200C/U+200D ZWNJ/ZWJ, U+2060 word joiner, U+FEFF BOM,
    bidirectional marks… — and the line and paragraph separators) and blank fillers are
    removed; every other Unicode space (U+00A0 no-break space, U+202F narrow no-break space,
    U+2009 thin space…) becomes an ASCII space, which callers strip or
    collapse as they already do. They come with copy and paste from an SMS, an e-mail, a PDF
    letter or a word processor, and make « p.nom12 » look right and match nothing.

    For identifiers and verification codes, before lookup (accounts.forms.SignInForm,
    AccountManager.get_by_natural_key, core.codes.code_normalize). Never for passwords:
    a password is compared as typed, after NFKC only (`password_normalize`).
    """
    cleaned = INVISIBLE_CHARACTERS.sub("", text or "")
    if any(c in _INVISIBLE_EXTRA for c in cleaned):
        cleaned = "".join(c for c in cleaned if c not in _INVISIBLE_EXTRA)
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
    """Lowercase ASCII transliteration (anyascii): « Halıcı » → « halici », « Œuvre » →
    « oeuvre »; spaces and punctuation kept."""
    return anyascii(text or "").lower()


def name_key(name: str) -> str:
    """The comparison key of a name: case, accents, hyphens, apostrophes and spaces ignored,
    every letter transliterated to ASCII (module docstring).

    « Jean-Éric  N'DIAYE » and « jean eric ndiaye » have the same key; so do « Halıcı » and
    « HALICI », « Łukasz » and « LUKASZ ».
    """
    return _NOT_ALNUM.sub("", ascii_fold(name or ""))


# The characters whose keys a browser needs to fold a password as name_key does (the live
# check of the password page, static/js/password-rules.js): the Latin letters of every
# European language and Vietnamese. A letter outside them is dropped by the browser's check;
# the server's check, which decides, reads every script.
_JS_FOLD_RANGES = ((0x80, 0x250), (0x1E00, 0x1F00), (0xFB00, 0xFB07))


@functools.cache
def name_key_js_table() -> dict[str, str]:
    """{character: its name_key} for the non-ASCII characters of _JS_FOLD_RANGES whose key is
    not empty (~600 entries, ~5 kB of JSON)."""
    table = {}
    for start, end in _JS_FOLD_RANGES:
        for codepoint in range(start, end):
            if key := name_key(chr(codepoint)):
                table[chr(codepoint)] = key
    return table


def clean_name(name: str) -> str:
    """A name as typed: invisible characters removed, runs of spaces collapsed, the ends
    trimmed."""
    return _SPACES.sub(" ", strip_invisible(name).strip())


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


# Country codes of France and its overseas regions: a number written after one of them may
# carry the national « 0 » too (« +33 (0)6 12 34 56 78 »).
_FRENCH_COUNTRY_CODES = frozenset(
    phonenumbers.country_code_for_region(region) for region in FRENCH_REGIONS
)
# The overseas regions whose national numbers have metropolitan France's shape (0 + nine
# digits): a mobile of theirs written after +33 is theirs (« +33 6 92 41 18 07 » is the
# Réunion mobile +262 692 41 18 07). Derived from libphonenumber's metadata, not listed.
_OVERSEAS_LIKE_METROPOLE = tuple(
    region for region in FRENCH_REGIONS
    if region != "FR"
    and (metadata := phonenumbers.PhoneMetadata.metadata_for_region(region)) is not None
    and metadata.national_prefix == "0"
    and 9 in (metadata.mobile.possible_length or ())
)


def _international_mobile(compact: str) -> str | None:
    """The E.164 mobile of an international form (« +33… », already without « 00 »)."""
    try:
        number = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if (number.country_code in _FRENCH_COUNTRY_CODES
            and compact[1 + len(str(number.country_code)):].startswith("0")):
        # « +33 (0)6… »: the national prefix written after the country code.
        try:
            number = phonenumbers.parse("+" + str(number.country_code) + national, None)
        except phonenumbers.NumberParseException:
            return None
    e164 = _as_mobile(number)
    if e164 is not None or number.country_code != 33:
        return e164
    # Not a metropolitan mobile: an overseas mobile written behind +33, as families and
    # school files often do. Read its national number in each overseas region.
    for region in _OVERSEAS_LIKE_METROPOLE:
        try:
            overseas = phonenumbers.parse("0" + str(number.national_number), region)
        except phonenumbers.NumberParseException:
            continue
        if (e164 := _as_mobile(overseas)) is not None:
            return e164
    return None


def parse_mobile_phone(raw: str, *, preferred_region: str = "FR") -> str:
    """Return the E.164 form of a French (metropolitan or overseas) mobile number.

    International forms (+33…, 0033…, +262…, with or without « (0) » after the country
    code) are read as written, except that an overseas mobile written behind the
    metropolitan code is read as its overseas number: « +33 6 92 41 18 07 » and « 0033 692
    41 18 07 » are +262 692 41 18 07 (issue 16). A national form (06…, 0692…) is read in
    `preferred_region` first (the school's region), then in metropolitan France and each
    overseas region: « 0692 12 34 56 » is not a valid +33 number but is a valid +262 mobile.
    Invisible characters are ignored. Raises InvalidPhoneNumber when nothing gives a mobile
    number.
    """
    compact = _compact_phone(raw)
    if compact is None:
        raise InvalidPhoneNumber()
    if compact.startswith("+"):
        e164 = _international_mobile(compact)
        if e164 is None:
            raise InvalidPhoneNumber()
        return e164
    for number in _national_readings(compact, preferred_region):
        e164 = _as_mobile(number)
        if e164 is not None:
            return e164
    raise InvalidPhoneNumber()


def _compact_phone(raw: str) -> str | None:
    """`raw` without separators nor invisible characters, « 00 » written « + »; None when
    that is not 6 to 15 digits, with or without a leading « + »."""
    compact = PHONE_SEPARATORS.sub("", strip_invisible(raw))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if re.fullmatch(r"\+?\d{6,15}", compact) else None


def _national_readings(compact: str, preferred_region: str):
    """The numbers a national form reads as, in `preferred_region` first, then in each other
    French region (FRENCH_REGIONS order); an international form reads as itself."""
    regions = (preferred_region, *(r for r in FRENCH_REGIONS if r != preferred_region))
    for region in regions:
        try:
            yield phonenumbers.parse(compact, region)
        except phonenumbers.NumberParseException:
            continue


def foreign_country_code(raw: str) -> int | None:
    """The country calling code of `raw` when it is written in international form (« +44… »,
    « 0044… ») with a code that is not French (metropolitan or overseas, FRENCH_REGIONS), else
    None: the forms then say which code the number was read with, when it is no valid
    mobile there (« +44 7700 900123 » is in the range the UK keeps for fiction)."""
    compact = _compact_phone(raw)
    if compact is None or not compact.startswith("+"):
        return None
    try:
        code = phonenumbers.parse(compact, None).country_code
    except phonenumbers.NumberParseException:
        return None
    return None if code in _FRENCH_COUNTRY_CODES else code


def is_french_landline(raw: str, *, preferred_region: str = "FR") -> bool:
    """Whether `raw` is a valid French fixed-line number (« 01 45 67 89 10 », « 0596 … »),
    read as `parse_mobile_phone` reads a national or international form: the forms then say
    that such a number receives no SMS, rather than only « not a valid mobile number »."""
    compact = _compact_phone(raw)
    return compact is not None and any(
        phonenumbers.is_valid_number(number)
        and phonenumbers.region_code_for_number(number) in FRENCH_REGIONS
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
        for number in _national_readings(compact, preferred_region))


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
        if strip_invisible(raw).strip().startswith(("+", "00")):
            break  # international form: one reading only
    return tuple(found)


PHONE_MASK = "\u2022\u2022"  # ••, one hidden group
_MASK_GROUP_SEPARATORS = re.compile(r"[\s.\-]+")


def mask_phone(e164: str) -> str:
    """« 06 •• •• •• 12 », « 0692 •• •• 56 »: the one form a family reads of a masked number
    (issue 13 §5), enough for the owner to recognise it, not for a passer-by to read it.

    A French number (metropolitan or overseas, FRENCH_REGIONS) in its national form, any
    other in its international form (« +32 •• •• •• 56 »); every group but the first and the
    last hidden, and of the last no more than its last 2 digits shown, whatever the
    country's grouping (« +44 7911 123456 » is « +44 •• •• 56 », not « +44 •• 123456 »);
    groups separated by plain spaces (an HTML page that must not break the number replaces
    them with no-break spaces). « •• » when `e164` is no number."""
    try:
        number = phonenumbers.parse(str(e164), None)
    except phonenumbers.NumberParseException:
        return PHONE_MASK
    # A number no range knows yet still reads as its country writes it.
    region = (phonenumbers.region_code_for_number(number)
              or phonenumbers.region_code_for_country_code(number.country_code))
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if region in FRENCH_REGIONS
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    groups = _MASK_GROUP_SEPARATORS.split(phonenumbers.format_number(number, style))
    if len(groups) < 3:
        return " ".join([groups[0], PHONE_MASK])
    last = groups[-1]
    hidden = [PHONE_MASK for _ in groups[1:-1]]
    if len(last) > 2:  # a longer last group (« 123456 »): its head hidden too
        hidden.append(PHONE_MASK)
        last = last[-2:]
    return " ".join([groups[0], *hidden, last])
