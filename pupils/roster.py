"""Reading a school roster (CSV) and validating its rows.

No database access here: this module turns a file into validated `RosterRow`s and
`RejectedRow`s (each problem named by line, column and reason, in French);
`pupils.roster_import.roster_import` writes the valid rows. The format is documented in
docs/roster-format.md.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import functools
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ftfy
import ftfy.bad_codecs  # registers the codec « sloppy-windows-1252 »
import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import name_characters_valid, plain_text_valid
from core.normalization import (
    FRENCH_REGIONS,
    PHONE_SEPARATORS,  # the same compaction as parse_mobile_phone's
    InvalidPhoneNumber,
    ascii_fold,
    clean_name,
    has_invisible,
    name_key,
    parse_mobile_phone,
    region_for_uai,
    strip_invisible,
)

from .models import (
    Academy,
    Establishment,
    EstablishmentKind,
    GuardianRecord,
    Pupil,
    is_valid_ine,
    is_valid_uai,
)
from .validators import BirthDateError, birth_date_check, birth_date_parse

COLUMNS = (
    "uai",
    "etablissement",
    "type_etablissement",
    "academie",
    "ine",
    "eleve_nom",
    "eleve_prenoms",
    "eleve_date_naissance",
    "niveau",
    "responsable_civilite",
    "responsable_nom",
    "responsable_prenom",
    "responsable_telephone_portable",
    "responsable_email",
    "representant_legal",
)
HEADER = ";".join(COLUMNS)
# Optional columns, in any position after or among the others: what services (ENTs) need to
# recognise a child in the SAML attributes (saml_idp, docs/saml.md). Absent or empty, the
# stored values are kept.
# « classe »: the pupil's class (SIECLE's « division »: 6A, 2NDE3), what letters are chosen by.
OPTIONAL_COLUMNS = ("eleve_identifiant_national", "code_academie", "classe")
_NATIONAL_ID_PATTERN = re.compile(r"^[0-9A-Za-z]{1,40}$")
_ACADEMY_CODE_PATTERN = re.compile(r"^[0-9]{2}$")

# Which object a column describes: used to count rejected objects per kind.
ESTABLISHMENT_COLUMNS = frozenset({"uai", "etablissement", "type_etablissement", "academie"})
PUPIL_COLUMNS = frozenset(
    {"ine", "eleve_nom", "eleve_prenoms", "eleve_date_naissance", "niveau",
     "eleve_identifiant_national", "code_academie", "classe"}
)
GUARDIAN_COLUMNS = frozenset(
    {"responsable_civilite", "responsable_nom", "responsable_prenom",
     "responsable_telephone_portable", "responsable_email"}
)


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


# Checked here so that a long value is a row error, never a database error that would abort
# a whole chunk.
MAX_LENGTHS = {
    "etablissement": _max_length(Establishment, "name"),
    "academie": _max_length(Academy, "name"),
    "eleve_nom": _max_length(Pupil, "last_name"),
    "eleve_prenoms": _max_length(Pupil, "first_names"),
    "niveau": _max_length(Pupil, "level"),
    "classe": _max_length(Pupil, "division"),
    "responsable_nom": _max_length(GuardianRecord, "last_name"),
    "responsable_prenom": _max_length(GuardianRecord, "first_name"),
    "responsable_email": _max_length(GuardianRecord, "email"),
}
MAX_KEY_LENGTH = min(_max_length(GuardianRecord, "last_name_key"),
                     _max_length(GuardianRecord, "first_name_key"))
_KINDS = {kind.value for kind in EstablishmentKind}
_CIVILITIES = {"mme": "Mme", "madame": "Mme", "mlle": "Mme", "mademoiselle": "Mme",
               "m": "M.", "mr": "M.", "monsieur": "M.", "": ""}
_YES_NO = {"oui": True, "non": False}
# C0 and C1 controls (tab, line feed and carriage return excepted): C1 controls are what is
# left of a double-encoded text that could not be repaired (« Ã\x81 »).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Columns of free text, where a double-encoded value (« HÃ©lÃ¨ne ») is looked for and where
# invisible characters are stripped with a warning.
TEXT_COLUMNS = ("etablissement", "academie", "eleve_nom", "eleve_prenoms", "niveau",
                "classe", "responsable_nom", "responsable_prenom")
_validate_email = EmailValidator()
_READ_BLOCK = 1 << 20
# What a required column holds, as its error message names it.
_WHAT = {
    "etablissement": gettext_lazy("le nom de l'établissement"),
    "academie": gettext_lazy("le nom de l'académie"),
    "eleve_nom": gettext_lazy("le nom de l'élève"),
    "eleve_prenoms": gettext_lazy("le prénom de l'élève"),
    "responsable_nom": gettext_lazy("le nom du responsable"),
    "responsable_prenom": gettext_lazy("le prénom du responsable"),
    "classe": gettext_lazy("la classe"),
}
# Short labels the back-office checks by core.forms.plain_text_valid (no « < », « > », emoji
# or control character: backoffice's establishment form, pupils.services
# .pupil_division_validate): the import refuses what a secretary could not save back.
PLAIN_TEXT_COLUMNS = frozenset({"etablissement", "classe"})
_plain_text_valid = functools.lru_cache(maxsize=1 << 12)(plain_text_valid)


def _plain_text_error(column: str, value: str) -> str:
    """The line's error for a PLAIN_TEXT_COLUMNS value plain_text_valid refuses."""
    return _("« %(value)s » : %(what)s ne peut contenir ni les signes < et >, ni émoji, ni "
             "caractère de contrôle ; retirez-les.") % {"value": value, "what": _WHAT[column]}
# The names of people (not the school's or the academy's, which may hold digits): they follow
# the rule of every family form and of the back-office (core.forms.name_characters_valid, as
# pupils.services.pupil_update_validate applies it), so that a family can type them back at
# activation and a secretary can save the record. Digits are refused too (« MARTIN 2 »).
PERSON_NAME_COLUMNS = frozenset({"eleve_nom", "eleve_prenoms", "responsable_nom",
                                 "responsable_prenom"})


class RosterFileError(Exception):
    """The file as a whole cannot be read (encoding, header): nothing is imported."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        if self.column is None:
            return _("ligne %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}
        return _("ligne %(line)s, colonne %(column)s: %(reason)s") % {
            "line": self.line, "column": self.column, "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One valid pupil–guardian pair, normalised."""

    line: int
    uai: str
    establishment_name: str
    establishment_kind: str
    academy_name: str
    ine: str
    pupil_last_name: str
    pupil_first_names: str
    birth_date: datetime.date
    level: str
    civility: str
    guardian_last_name: str
    guardian_first_name: str
    guardian_last_name_key: str
    guardian_first_name_key: str
    mobile_phone: str  # E.164, or "" when the school has none
    email: str  # lowercased, or ""
    is_legal_representative: bool
    # Optional columns (OPTIONAL_COLUMNS): "" when absent or empty.
    national_id: str = ""
    academy_code: str = ""
    division: str = ""  # the class (« classe »), spaces collapsed
    # True when the file's number could not be used (a landline, a typo): the row is
    # imported without it, and the number already stored for the guardian is kept.
    mobile_phone_unusable: bool = False
    # What was repaired or left out in this row (a double-encoded name, an invisible
    # character, an unusable number), by line, column and reason, for the import's report.
    warnings: tuple[RowError, ...] = ()


@dataclass(slots=True)
class RejectedRow:
    line: int
    errors: list[RowError]
    # Raw identifying values, to count rejected objects per kind.
    uai: str = ""
    ine: str = ""
    guardian_key: tuple[str, str] = ("", "")
    columns: set[str] = field(default_factory=set)


# Names, schools and academies repeat across rows: their keys are computed once.
_key = functools.lru_cache(maxsize=1 << 16)(name_key)
# Most names are Latin letters, spaces, hyphens and apostrophes, all of which the rule
# accepts: one regular expression says so (0.4 µs for a name of 16 letters, against 3 µs).
_PLAIN_NAME = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ '’-]+")


@functools.lru_cache(maxsize=1 << 16)
def _name_characters_valid(name: str) -> bool:
    """core.forms.name_characters_valid(name), sooner for a plain name (_PLAIN_NAME), and
    computed once per name (names repeat across rows: 0.1 µs then)."""
    return _PLAIN_NAME.fullmatch(name) is not None or name_characters_valid(name)
_fold = functools.lru_cache(maxsize=1 << 10)(ascii_fold)


_NATIONAL_FORM = re.compile(r"0\d{9}")
_FRENCH_INTERNATIONAL_FORM = re.compile(r"(?:\+|00)(33|262|508|590|594|596)([1-9]\d{8})")
# Regions sharing each country code, in libphonenumber's order (+262: La Réunion, Mayotte).
_REGIONS_BY_COUNTRY_CODE = {
    code: tuple(region for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[int(code)]
                if region in FRENCH_REGIONS)
    for code in ("33", "262", "508", "590", "594", "596")
}
# Number types libphonenumber tests before « mobile »: a number matching one of them is not
# a mobile for it, so not for the fast path either.
_TYPES_BEFORE_MOBILE = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number",
                        "pager", "uan", "voicemail")


@functools.lru_cache(maxsize=1 << 16)
def _mobile_phone(raw: str, region: str) -> str:
    """core.normalization.parse_mobile_phone, made fast enough for 100,000 rows.

    Nearly every number of a roster is a national-form mobile of the school's region: those
    are checked against libphonenumber's own metadata patterns directly (a parse, a validity
    check and a type check cost ~100 µs a number). Anything else goes through
    parse_mobile_phone, once per distinct number. test_roster_phones.py checks that both
    paths agree on every prefix of every French region.
    """
    compact = PHONE_SEPARATORS.sub("", raw)
    if _NATIONAL_FORM.fullmatch(compact):
        e164 = _national_mobile(compact[1:], region)
        if e164 is not None:
            return e164
    elif international := _FRENCH_INTERNATIONAL_FORM.fullmatch(compact):
        # +262 692… is the number 0692… of La Réunion (or Mayotte): the same check applies.
        for number_region in _REGIONS_BY_COUNTRY_CODE[international[1]]:
            e164 = _national_mobile(international[2], number_region)
            if e164 is not None:
                return e164
    return _parsed_mobile_phone(compact, region)


@functools.lru_cache(maxsize=1 << 16)
def _parsed_mobile_phone(compact: str, region: str) -> str:
    return parse_mobile_phone(compact, preferred_region=region)


def _national_mobile(national_number: str, region: str) -> str | None:
    rule = _mobile_rule(region)
    if rule is None:
        return None
    prefix, general, mobile, others = rule
    if not (_matches(national_number, general) and _matches(national_number, mobile)):
        return None
    if any(_matches(national_number, other) for other in others):
        return None
    return prefix + national_number


def _matches(number: str, description: tuple[re.Pattern, frozenset[int]]) -> bool:
    pattern, lengths = description
    return (not lengths or len(number) in lengths) and pattern.fullmatch(number) is not None


@functools.cache
def _mobile_rule(region: str):
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if (metadata is None or metadata.national_prefix_for_parsing != "0"
            or metadata.national_prefix_transform_rule
            or metadata.mobile is None or metadata.mobile.national_number_pattern is None):
        return None

    def description(desc):
        return re.compile(desc.national_number_pattern), frozenset(desc.possible_length or ())

    others = [description(getattr(metadata, name)) for name in _TYPES_BEFORE_MOBILE
              if getattr(metadata, name) is not None
              and getattr(metadata, name).national_number_pattern is not None]
    return (f"+{metadata.country_code}", description(metadata.general_desc),
            description(metadata.mobile), others)


def _check_encoding(path: Path) -> int:
    """Read the whole file once as UTF-8; return its number of lines.

    Checked before any row is imported, so that a file saved in another encoding (Excel's
    « CSV (séparateur : point-virgule) » writes Windows-1252) imports nothing rather than
    names with broken accents.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    last = b""
    with path.open("rb") as raw:
        while block := raw.read(_READ_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = lines + 1 + block.count(b"\n", 0, max(exc.start, 0))
                raise RosterFileError(
                    _("Le fichier n'est pas encodé en UTF-8 (premier caractère illisible "
                      "ligne %(line)s). Enregistrez-le au format « CSV UTF-8 (délimité par des "
                      "points-virgules) » puis relancez l'import.") % {"line": line}
                ) from exc
            lines += block.count(b"\n")
            last = block
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise RosterFileError(
                _("Le fichier n'est pas encodé en UTF-8 (fin de fichier illisible ligne "
                  "%(line)s).") % {"line": lines + 1}
            ) from exc
    if last and not last.endswith(b"\n"):
        lines += 1
    return lines


class RosterFile:
    """A roster on disk: `line_count` once opened, then iterate for rows.

    Iteration yields a `RosterRow` or a `RejectedRow` per data line (blank lines are
    skipped). Rows of one pupil (same INE) or one establishment (same UAI) must agree with
    each other: a row that contradicts an earlier valid row is rejected, naming both lines.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.is_file():
            raise RosterFileError(_("Fichier introuvable : %(path)s") % {"path": self.path})
        self.line_count = _check_encoding(self.path)
        if self.line_count == 0:
            raise RosterFileError(
                _("Le fichier est vide. Sa première ligne doit être l'en-tête : %(header)s")
                % {"header": HEADER}
            )
        # First valid row of each establishment (a few hundred at most) and of each pupil (one
        # per row or two: kept on disk while iterating, see _FirstPupilRows): line and
        # comparable values.
        self._establishments: dict[str, tuple[int, tuple]] = {}
        self._pupils: _FirstPupilRows | None = None
        self._today = timezone.localdate()  # the bounds of pupils.validators

    @property
    def data_line_count(self) -> int:
        return max(self.line_count - 1, 0)

    def __iter__(self) -> Iterator[RosterRow | RejectedRow]:
        # utf-8-sig drops the byte order mark that Excel writes.
        with self.path.open(encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text, delimiter=";")
            try:
                header = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise RosterFileError(
                    _("En-tête (ligne 1) illisible : %(error)s.") % {"error": exc}
                ) from exc
            while header and not header[-1].strip():
                header.pop()  # trailing separators
            positions = self._check_header(header)
            previous_end = reader.line_num
            self._pupils = _FirstPupilRows()
            try:
                yield from self._records(reader, previous_end, len(header), positions)
            finally:
                self._pupils.close()
                self._pupils = None

    def _records(self, reader, previous_end: int, width: int,
                 positions: dict[str, int]) -> Iterator[RosterRow | RejectedRow]:
        while True:
            line = previous_end + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error:
                # The reader skips the line and goes on: only this row is lost.
                previous_end = reader.line_num
                yield RejectedRow(line, [RowError(
                    line, None,
                    _("ligne illisible : une valeur dépasse %(limit)s caractères (un "
                      "guillemet non refermé ?).")
                    % {"limit": f"{csv.field_size_limit():,}".replace(",", " ")},
                )])
                continue
            previous_end = reader.line_num
            if not any(value.strip() for value in record):
                continue  # blank line, or a line of separators only
            yield self._row(line, previous_end, record, width, positions)

    @staticmethod
    def _check_header(header: list[str]) -> dict[str, int]:
        names = [name.strip().strip('"').lower() for name in header]
        if len(names) == 1 and ";" not in header[0] and ("," in header[0] or "\t" in header[0]):
            raise RosterFileError(_(
                "Les colonnes doivent être séparées par des points-virgules (;). Enregistrez "
                "le fichier au format « CSV UTF-8 (délimité par des points-virgules) »."
            ))
        problems = []
        unnamed = [str(index + 1) for index, name in enumerate(names) if not name]
        if unnamed:
            problems.append(_("colonne(s) sans nom en position %(positions)s")
                            % {"positions": ", ".join(unnamed)})
        missing = [column for column in COLUMNS if column not in names]
        if missing:
            problems.append(_("colonne(s) manquante(s) dans l'en-tête (ligne 1) : %(columns)s")
                            % {"columns": ", ".join(missing)})
        unknown = [name for name in names
                   if name and name not in COLUMNS and name not in OPTIONAL_COLUMNS]
        if unknown:
            problems.append(_("colonne(s) inconnue(s) : %(columns)s")
                            % {"columns": ", ".join(unknown)})
        doubled = sorted({name for name in names if name and names.count(name) > 1})
        if doubled:
            problems.append(_("colonne(s) en double : %(columns)s")
                            % {"columns": ", ".join(doubled)})
        if problems:
            raise RosterFileError(
                _("En-tête invalide : %(problems)s. La première ligne doit être : %(header)s")
                % {"problems": " ; ".join(problems), "header": HEADER}
            )
        return {name: names.index(name) for name in (*COLUMNS, *OPTIONAL_COLUMNS)
                if name in names}

    def _row(
        self, line: int, end: int, record: list[str], width: int, positions: dict[str, int]
    ) -> RosterRow | RejectedRow:
        if len(record) > width and not any(v.strip() for v in record[width:]):
            record = record[:width]  # trailing separators
        if len(record) != width:
            if end > line:
                reason = _("un guillemet (\") ouvert n'est pas refermé : les lignes %(first)s "
                           "à %(last)s ont été lues comme une seule.") % {"first": line,
                                                                        "last": end}
            else:
                reason = _("%(count)s valeurs au lieu de %(expected)s ; vérifiez les "
                           "points-virgules (une valeur qui en contient doit être entre "
                           "guillemets).") % {"count": len(record), "expected": width}
            return RejectedRow(line, [RowError(line, None, reason)])
        raw = {column: record[index].strip() for column, index in positions.items()}
        for column in OPTIONAL_COLUMNS:
            raw.setdefault(column, "")
        errors: list[RowError] = []
        warnings: list[RowError] = []

        def error(column: str, reason: str) -> None:
            errors.append(RowError(line, column, reason))

        def warning(column: str, reason: str) -> None:
            warnings.append(RowError(line, column, reason))

        repairs = {column: _repaired_encoding(raw[column]) for column in TEXT_COLUMNS
                   if not raw[column].isascii()}
        if any(repaired != raw[column] for column, repaired in repairs.items()):
            # A row that is double-encoded beyond doubt somewhere is double-encoded
            # everywhere: a short value ftfy alone leaves alone (« AyÅŸe ») is read back too
            # when its bytes are valid UTF-8 (a real « JOÃO » is not: it stays).
            repairs = {column: _undone_double_encoding(raw[column]) or repaired
                       for column, repaired in repairs.items()}
        for column in TEXT_COLUMNS:
            value = raw[column]
            repaired = repairs.get(column, value)
            if repaired != value:
                warning(column, _("texte mal encodé « %(value)s » (un fichier UTF-8 relu comme "
                                  "Windows-1252 puis réenregistré), corrigé en « %(repaired)s » ; "
                                  "vérifiez ce nom et corrigez le fichier d'origine.")
                        % {"value": value, "repaired": repaired})
                raw[column] = value = repaired
            if has_invisible(value):
                warning(column, _("caractère invisible (espace sans largeur, marque de sens "
                                  "d'écriture, trait d'union conditionnel…) retiré de « "
                                  "%(value)s ».") % {"value": strip_invisible(value)})
                raw[column] = strip_invisible(value)
        for column in ("uai", "ine", "eleve_date_naissance", "responsable_telephone_portable",
                       "responsable_email", "responsable_civilite", "representant_legal",
                       "type_etablissement"):
            # Codes, dates, numbers and addresses: an invisible character is dropped silently.
            if not raw[column].isascii():
                raw[column] = strip_invisible(raw[column]).strip()

        if _CONTROL_CHARACTERS.search("".join(raw.values())):
            # A NUL or another control character would be refused by the database (and
            # abort the whole chunk); it never belongs in a name, a number or an address.
            for column, value in raw.items():
                if _CONTROL_CHARACTERS.search(value):
                    error(column, _("caractère invisible (caractère de contrôle) dans la "
                                    "valeur ; retapez-la."))
                    raw[column] = _CONTROL_CHARACTERS.sub("", value)

        for column, limit in MAX_LENGTHS.items():
            if len(raw[column]) > limit:
                error(column, _("valeur trop longue (%(length)s caractères, %(limit)s au "
                                "plus).") % {"length": len(raw[column]), "limit": limit})
                raw[column] = raw[column][:limit]

        uai = raw["uai"].upper()
        if not uai:
            error("uai", _("valeur manquante ; le code UAI de l'établissement est "
                           "obligatoire."))
        elif not is_valid_uai(uai):
            error("uai", _("code UAI « %(value)s » invalide ; il doit comporter 7 chiffres "
                           "suivis d'une lettre, par exemple 0750001A.") % {"value": raw["uai"]})
        establishment_name = _required_name(raw, "etablissement", error)
        kind = _fold(raw["type_etablissement"])
        if kind not in _KINDS:
            error("type_etablissement",
                  _("type « %(value)s » inconnu ; valeurs possibles : ecole, college, lycee, "
                    "lp.") % {"value": raw["type_etablissement"]} if kind else
                  _("valeur manquante ; valeurs possibles : ecole, college, lycee, lp."))
        academy_name = _required_name(raw, "academie", error)

        ine = raw["ine"].upper()
        if not ine:
            error("ine", _("valeur manquante ; l'INE de l'élève est obligatoire."))
        elif not is_valid_ine(ine):
            error("ine", _("INE « %(value)s » invalide ; il doit comporter 11 caractères : "
                           "9 chiffres, puis un chiffre ou une lettre, puis une lettre, par "
                           "exemple 123456789AB.") % {"value": raw["ine"]})
        pupil_last_name = _required_name(raw, "eleve_nom", error)
        pupil_first_names = _required_name(raw, "eleve_prenoms", error)
        birth_date = _birth_date(raw["eleve_date_naissance"], self._today, error)
        level = clean_name(raw["niveau"])
        division = clean_name(raw["classe"])
        if division and not _plain_text_valid(division):
            error("classe", _plain_text_error("classe", division))
        national_id = raw["eleve_identifiant_national"]
        if national_id and not _NATIONAL_ID_PATTERN.match(national_id):
            error("eleve_identifiant_national",
                  _("identifiant « %(value)s » invalide ; il s'écrit en chiffres et en lettres "
                    "sans espace (40 caractères au plus), tel que la base élèves le donne, ou "
                    "laissez la case vide.") % {"value": national_id[:60]})
        academy_code = raw["code_academie"]
        if academy_code and not _ACADEMY_CODE_PATTERN.match(academy_code):
            error("code_academie",
                  _("code d'académie « %(value)s » invalide ; il comporte 2 chiffres (01 pour "
                    "Paris, 25 pour Versailles…), ou laissez la case vide.")
                  % {"value": academy_code[:20]})

        civility = _CIVILITIES.get(_fold(raw["responsable_civilite"]).rstrip("."))
        if civility is None:
            error("responsable_civilite",
                  _("civilité « %(value)s » inconnue ; valeurs possibles : Mme, M. ou vide.")
                  % {"value": raw["responsable_civilite"]})
        guardian_last_name = _required_name(raw, "responsable_nom", error)
        guardian_first_name = _required_name(raw, "responsable_prenom", error)
        mobile_phone = ""
        mobile_phone_unusable = False
        if raw["responsable_telephone_portable"]:
            try:
                mobile_phone = _mobile_phone(raw["responsable_telephone_portable"],
                                             region_for_uai(uai))
            except InvalidPhoneNumber:
                # The pupil and the rest of the row are imported; only the number is left
                # out (issue 16: a landline used to drop the whole row, pupil included).
                mobile_phone_unusable = True
                warning("responsable_telephone_portable",
                        _("« %(value)s » n'est pas un numéro de téléphone portable : la ligne "
                          "est importée sans ce numéro (celui déjà connu du responsable est "
                          "gardé). Écrivez un portable (06…, 07…, ou 0692… dans un "
                          "établissement d'outre-mer), un numéro international (+33…, "
                          "+262…), ou laissez la case vide.")
                        % {"value": raw["responsable_telephone_portable"]})
        email = raw["responsable_email"].lower()
        if email and not _valid_email(email):
            error("responsable_email",
                  _("adresse « %(value)s » invalide ; écrivez une adresse comme "
                    "prenom.nom@example.org, ou laissez la case vide.")
                  % {"value": raw["responsable_email"]})
        legal = _YES_NO.get(raw["representant_legal"].lower())
        if legal is None:
            error("representant_legal",
                  _("valeur « %(value)s » inconnue ; écrivez oui ou non.")
                  % {"value": raw["representant_legal"]})

        guardian_key = (_key(guardian_last_name or ""), _key(guardian_first_name or ""))
        if not errors:
            establishment_values = (_key(establishment_name), kind, _key(academy_name))
            pupil_values = (uai, _key(pupil_last_name), _key(pupil_first_names),
                            birth_date, level.upper(), division.upper())
            errors += _contradictions(
                self._establishments.get(uai), line, establishment_values,
                ("etablissement", "type_etablissement", "academie"),
                _("le même établissement (UAI %(uai)s)") % {"uai": uai},
            )
            errors += _contradictions(
                self._pupils.get(ine), line, pupil_values,
                ("uai", "eleve_nom", "eleve_prenoms", "eleve_date_naissance", "niveau",
                 "classe"),
                _("le même élève (INE %(ine)s)") % {"ine": ine},
            )
            if not errors:
                # Only a fully valid row sets the reference values of its establishment/pupil.
                self._establishments.setdefault(uai, (line, establishment_values))
                self._pupils.setdefault(ine, line, pupil_values)
        if errors:
            return RejectedRow(line, errors, uai=uai, ine=ine, guardian_key=guardian_key,
                               columns={e.column for e in errors if e.column})
        return RosterRow(
            line=line,
            uai=uai,
            establishment_name=establishment_name,
            establishment_kind=kind,
            academy_name=academy_name,
            ine=ine,
            pupil_last_name=pupil_last_name,
            pupil_first_names=pupil_first_names,
            birth_date=birth_date,
            level=level,
            civility=civility,
            guardian_last_name=guardian_last_name,
            guardian_first_name=guardian_first_name,
            guardian_last_name_key=guardian_key[0],
            guardian_first_name_key=guardian_key[1],
            mobile_phone=mobile_phone,
            email=email,
            is_legal_representative=legal,
            national_id=national_id,
            academy_code=academy_code,
            division=division,
            mobile_phone_unusable=mobile_phone_unusable,
            warnings=tuple(warnings),
        )


class _FirstPupilRows:
    """The first valid row of each pupil of a file, by INE: `get` and `setdefault` of a dict
    of `ine -> (line, (uai, last name key, first names key, birth date, level, class))`.

    Kept in a private temporary SQLite file rather than in memory, so that reading a roster
    of a million rows holds no structure that grows with its rows: SQLite keeps a page cache
    of 2 MiB and the rest on disk (the file is deleted when closed). About 3 µs a row.
    """

    def __init__(self):
        # "" is SQLite's private temporary database: a file of its own, deleted on close.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.executescript(
            "PRAGMA cache_size = -2048; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE first_row (ine TEXT PRIMARY KEY, line INTEGER, uai TEXT, "
            "last_key TEXT, first_key TEXT, birth_date INTEGER, level TEXT, division TEXT) "
            "WITHOUT ROWID;"
            "BEGIN;"
        )

    def get(self, ine: str) -> tuple[int, tuple] | None:
        found = self._db.execute(
            "SELECT line, uai, last_key, first_key, birth_date, level, division FROM first_row "
            "WHERE ine = ?", (ine,)).fetchone()
        if found is None:
            return None
        line, uai, last_key, first_key, birth_date, level, division = found
        return line, (uai, last_key, first_key, datetime.date.fromordinal(birth_date), level,
                      division)

    def setdefault(self, ine: str, line: int, values: tuple) -> None:
        uai, last_key, first_key, birth_date, level, division = values
        self._db.execute("INSERT OR IGNORE INTO first_row VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (ine, line, uai, last_key, first_key, birth_date.toordinal(), level,
                          division))

    def close(self) -> None:
        self._db.close()


def _contradictions(
    first: tuple[int, tuple] | None, line: int, values: tuple, columns: tuple[str, ...],
    what: str,
) -> list[RowError]:
    if first is None:
        return []
    first_line, first_values = first
    return [
        RowError(line, column, _("différent de la ligne %(line)s pour %(what)s ; toutes ses "
                                 "lignes doivent porter la même valeur.")
                 % {"line": first_line, "what": what})
        for column, mine, theirs in zip(columns, values, first_values, strict=True)
        if mine != theirs
    ]


@functools.lru_cache(maxsize=1 << 16)
def _valid_email(email: str) -> bool:
    try:
        _validate_email(email)
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=1 << 16)
def _repaired_encoding(value: str) -> str:
    """`value` with its double encoding undone by ftfy (« HÃ©lÃ¨ne » → « Hélène »), or
    `value` itself: ftfy changes only what is mojibake beyond doubt, so the names really
    written with these letters (« JOÃO », « CONCEIÇÃO », « FALCÃO ») stay as written."""
    return ftfy.fix_encoding(value)


def _undone_double_encoding(value: str) -> str | None:
    """`value`'s characters read as Windows-1252 bytes (ftfy's « sloppy » codec, which maps
    the five holes of Windows-1252 too) then decoded as UTF-8; None when that is not valid
    UTF-8 — as for any name really written with accented capitals (« JOÃO »)."""
    try:
        return value.encode("sloppy-windows-1252").decode("utf-8")
    except UnicodeError:
        return None


@functools.lru_cache(maxsize=1 << 16)
def _clean(raw: str) -> tuple[str, str]:
    """A name as stored and its comparison key (names repeat: computed once each)."""
    value = clean_name(raw)
    return value, name_key(value)


def _required_name(raw: dict[str, str], column: str, error) -> str:
    value, key = _clean(raw[column])
    if not value:
        error(column, _("valeur manquante ; %(what)s est obligatoire.")
              % {"what": _WHAT[column]})
    elif not key:
        error(column, _("« %(value)s » ne contient aucune lettre ; %(what)s est obligatoire.")
              % {"value": value, "what": _WHAT[column]})
    elif column in PERSON_NAME_COLUMNS and not _name_characters_valid(value):
        error(column, _("« %(value)s » : %(what)s ne peut contenir que des lettres, "
                        "accentuées ou non, des espaces, des traits d'union, des apostrophes "
                        "et le point d'une abréviation (« St. ») ; retirez les chiffres, "
                        "symboles et émojis.")
              % {"value": value, "what": _WHAT[column]})
    elif column in PLAIN_TEXT_COLUMNS and not _plain_text_valid(value):
        error(column, _plain_text_error(column, value))
    elif len(key) > MAX_KEY_LENGTH and column in GUARDIAN_COLUMNS:
        # Ligatures spell out longer (Œ -> oe): the stored comparison key has a size too.
        error(column, _("valeur trop longue (%(limit)s lettres au plus).")
              % {"limit": MAX_KEY_LENGTH})
    return value


def _birth_date(value: str, today: datetime.date, error) -> datetime.date | None:
    """pupils.validators' reading and bounds: what the import accepts, a secretary can save."""
    column = "eleve_date_naissance"
    if not value:
        error(column, _("valeur manquante ; écrivez la date de naissance au format "
                        "JJ/MM/AAAA."))
        return None
    try:
        date = birth_date_parse(value)
        birth_date_check(date, today=today)
    except BirthDateError as problem:
        error(column, problem.reason)
        return None
    return date
