"""The roster import: `roster_import` upserts a school roster in bulk.

pupils/roster.py reads and validates the file (birth dates and phone numbers by the same
rules as the back-office: pupils.validators, core.normalization), docs/roster-format.md
describes the format and the matching rules implemented here. It lives beside
pupils/services.py (the one-record fixes of the back-office) because its bulk machinery (COPY,
chunks, advisory lock) is a module of its own; services.py re-exports it, so that every write
of the domain is reached from there.

Links are only ever made between a record and a pupil of the row's school: a record is found
or created in the row's establishment and the pupil is moved to it first, so the same-school
rule of pupils.services holds for every link the import creates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, CharField, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Account, AccountKind, AccountState
from core.journal import EventKind, journal_record
from core.normalization import name_key
from core.versions import account_version, school_version, versions_bump

from .models import Academy, Establishment, GuardianRecord, Pupil, Responsibility
from .roster import (
    ESTABLISHMENT_COLUMNS,
    GUARDIAN_COLUMNS,
    PUPIL_COLUMNS,
    RejectedRow,
    RosterFile,
    RosterFileError,
    RosterRow,
    RowError,
)
from .selectors import guardian_numbers_of_pupils
from .signals import activation_data_fixed_send

logger = logging.getLogger(__name__)

ROSTER_CHUNK_SIZE = 2000
HISTORY_REASON = "Import de l'annuaire de l'établissement"
# pg_advisory_lock key: two imports at once could create the same guardian record twice.
IMPORT_LOCK_KEY = 0x4544_5543_524F_5354  # "EDUC" "ROST"
# SQLite refuses statements of more than 999 parameters (3 per name key).
_NAME_KEYS_PER_SQLITE_QUERY = 333

# The academy follows the establishment (the helpdesk's search of a child's name starts from
# it: pupils 0017; on PostgreSQL its trigger writes the same value).
PUPIL_FIELDS = ("last_name", "first_names", "birth_date", "level", "establishment_id",
                "academy_id")
# Written only when the file gives a value (optional columns): a file without them, or with an
# empty cell, keeps what is stored.
PUPIL_OPTIONAL_FIELDS = ("national_id", "academy_code", "division")
RECORD_FIELDS = ("civility", "last_name", "first_name", "last_name_key", "first_name_key",
                 "mobile_phone", "email")
# `account` is never among the written fields: an import never changes who a record
# belongs to, and it never deletes anything. A *new* record may be born covered by an
# account, though (issue 11 §2, `_attach_new_records`).


class RosterImportBusy(Exception):
    pass


class RosterImportInterrupted(Exception):
    """A chunk failed in the database: the chunks before it are kept, not this one."""


# --- Report ---------------------------------------------------------------------------------

class IdSet:
    """A set of database ids (positive integers) as a bitmap: one bit per id up to the
    largest one added, however many ids are added (1.25 MB for ids up to 10 million).

    What an import remembers across its chunks (the pupils, records and links it created,
    updated, saw) is kept this way, so that its memory does not grow with the file's rows.
    Supports `add`, `update`, `in`, `len` and `-` (the ids of the left set not in the right).
    """

    __slots__ = ("_bits", "_count")

    def __init__(self):
        self._bits = bytearray()
        self._count = 0

    def add(self, item: int) -> None:
        byte = item >> 3
        if byte >= len(self._bits):
            # Doubling: amortised appends, and at most twice the largest id's size.
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        mask = 1 << (item & 7)
        if not self._bits[byte] & mask:
            self._bits[byte] |= mask
            self._count += 1

    def update(self, items: Iterable[int]) -> None:
        for item in items:
            self.add(item)

    def __contains__(self, item: int) -> bool:
        byte = item >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (item & 7)))

    def __len__(self) -> int:
        return self._count

    def __sub__(self, other: IdSet) -> IdSet:
        difference = (int.from_bytes(self._bits, "little")
                      & ~int.from_bytes(other._bits, "little"))
        result = IdSet()
        result._bits = bytearray(difference.to_bytes(len(self._bits), "little"))
        result._count = difference.bit_count()
        return result


@dataclass
class KindTally:
    """Distinct objects of one kind met by an import, by outcome: sets of keys (UAIs for
    establishments), or IdSets of database ids (pupils, records, links; `ids()`). `rejected`
    holds the keys of rejected rows (INEs, names, lines): it grows only with those."""

    created: set | IdSet = field(default_factory=set)
    updated: set | IdSet = field(default_factory=set)
    seen: set | IdSet = field(default_factory=set)
    rejected: set = field(default_factory=set)

    @classmethod
    def ids(cls) -> KindTally:
        return cls(created=IdSet(), updated=IdSet(), seen=IdSet())

    def counts(self) -> dict[str, int]:
        updated = self.updated - self.created
        return {
            "created": len(self.created),
            "updated": len(updated),
            "unchanged": len(self.seen - self.created - updated),
            "rejected": len(self.rejected),
        }


@dataclass
class RosterImportReport:
    file_name: str
    dry_run: bool
    rows_read: int = 0
    rows_imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    # What was repaired or left out in rows that were imported (RosterRow.warnings).
    warnings: list[RowError] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    establishments: KindTally = field(default_factory=KindTally)
    pupils: KindTally = field(default_factory=KindTally.ids)
    guardians: KindTally = field(default_factory=KindTally.ids)
    links: KindTally = field(default_factory=KindTally.ids)
    seconds: float = 0.0
    completed: bool = False

    KINDS = (("establishments", gettext_lazy("Établissements")),
             ("pupils", gettext_lazy("Élèves")),
             ("guardians", gettext_lazy("Responsables")),
             ("links", gettext_lazy("Liens responsable–élève")))

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected_lines)

    def counts(self) -> dict[str, dict[str, int]]:
        return {kind: getattr(self, kind).counts() for kind, _ in self.KINDS}

    def journal_data(self) -> dict:
        # Counts and the file name only: no name, number or INE reaches the journal.
        return {
            "file": self.file_name,
            "completed": self.completed,
            "rows": {"read": self.rows_read, "imported": self.rows_imported,
                     "rejected": self.rows_rejected},
            "warnings": len(self.warnings),
            **self.counts(),
            "seconds": round(self.seconds, 1),
        }


# --- The service ------------------------------------------------------------------------------

def roster_import(
    *,
    path: Path | str,
    dry_run: bool = False,
    chunk_size: int = ROSTER_CHUNK_SIZE,
    on_open: Callable[[RosterFile], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RosterImportReport:
    """Upsert a school roster; rows are written in chunks, one transaction per chunk.

    A crash loses at most the chunk in progress, never part of a row; running the same file
    again finishes the job (the import is idempotent). With `dry_run` every chunk runs inside
    one transaction that is rolled back: the report is exact and nothing is kept, journal
    included. Raises RosterFileError when the file as a whole cannot be read (nothing is
    written), RosterImportBusy when another import is running.
    """
    roster = RosterFile(path)
    if on_open is not None:
        on_open(roster)
    report = RosterImportReport(file_name=Path(path).name, dry_run=dry_run)
    importer = _RosterImporter(report)
    started = time.monotonic()
    with _import_lock():
        try:
            if dry_run:
                with transaction.atomic():
                    importer.run(roster, chunk_size, on_progress)
                    transaction.set_rollback(True)
            else:
                importer.run(roster, chunk_size, on_progress)
            report.completed = True
        finally:
            report.seconds = time.monotonic() - started
            if not dry_run:
                _journal_import(report)
    return report


def _journal_import(report: RosterImportReport) -> None:
    try:
        journal_record(EventKind.ROSTER_IMPORTED, **report.journal_data())
    except Exception:  # an interrupted import's own error matters more than its journal line
        if report.completed:
            raise
        logger.exception("Could not journal an interrupted roster import")


@contextlib.contextmanager
def _import_lock() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield  # SQLite serialises writers itself; the demo runs one import at a time
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [IMPORT_LOCK_KEY])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise RosterImportBusy(gettext(
            "Un autre import d'annuaire est en cours ; relancez celui-ci quand il sera terminé."
        ))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [IMPORT_LOCK_KEY])


# --- Rows as plain objects ----------------------------------------------------------------
#
# A roster chunk reads and writes thousands of rows. Django model instances cost ~15 µs
# each to build (and PhoneNumberField parses every number on load and re-validates it on
# save), so the import works on plain slotted objects carrying the models' column attributes
# (attnames) and only builds model instances where simple_history's bulk helpers need them
# (the SQLite path). Phone numbers stay E.164 strings, as they are stored.

def _row_class(model, *extra: str):
    fields = [(f.attname, object, dataclasses.field(default=None))
              for f in model._meta.concrete_fields]
    fields += [(name, object, dataclasses.field(default=None)) for name in extra]
    return dataclasses.make_dataclass(f"{model.__name__}Row", fields, slots=True, eq=False)


_PupilRow = _row_class(Pupil)
_RecordRow = _row_class(GuardianRecord)
_LinkRow = _row_class(Responsibility, "record")  # record: the _RecordRow it points to


def _new(row_class, model, **values):
    """A row for a new object: model defaults for the columns not given."""
    for model_field in model._meta.concrete_fields:
        if model_field.attname not in values and not model_field.primary_key:
            values[model_field.attname] = model_field.get_default()
    return row_class(**values)


def _columns(model) -> list:
    names = [f.attname for f in model._meta.concrete_fields]
    # Read phone numbers as text: values_list() would parse each through the field.
    return [Cast(name, output_field=CharField()) if name == "mobile_phone" else name
            for name in names]


def _fetch(model, row_class, condition) -> list:
    return [row_class(*values) for values in
            model.objects.filter(condition).order_by("pk").values_list(*_columns(model))]


def _any(model, column: str, values: Iterable) -> Q | RawSQL:
    """`column IN values`; on PostgreSQL one array parameter, not thousands of parameters."""
    values = list(values)
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": values})
    db_column = model._meta.get_field(column).column
    return RawSQL(f'"{model._meta.db_table}"."{db_column}" = ANY(%s)', (values,),  # noqa: S611
                  output_field=BooleanField())


# --- The import -------------------------------------------------------------------------------

class _RosterImporter:
    """State of one import across its chunks."""

    def __init__(self, report: RosterImportReport):
        self.report = report
        self.academies: dict[str, Academy] = {}
        self.establishments: dict[str, Establishment] = {}
        # Links (record, pupil) a row of this file matched: a record taken by one row of a
        # pupil is not offered to another row of that pupil by phone (see linked_by_phone).
        self.claimed_links = IdSet()
        # Records a row of this file already wrote: a later row's empty phone or email does
        # not blank what an earlier row said (sibling rows may be filled unevenly).
        self.touched_records = IdSet()
        # Pupils of the current chunk whose birth date the file changed (a fix by the school
        # that may unblock an activation: pupils.signals).
        self.birth_dates_fixed: set[int] = set()

    def run(self, roster: RosterFile, chunk_size: int,
            on_progress: Callable[[int], None] | None) -> None:
        self.academies = {name_key(a.name): a for a in Academy.objects.all()}
        chunk: list[RosterRow] = []
        pending_progress = 0
        for item in roster:
            self.report.rows_read += 1
            pending_progress += 1
            if isinstance(item, RejectedRow):
                self._reject(item)
                continue
            chunk.append(item)
            if len(chunk) >= chunk_size:
                self._write_chunk(chunk)
                chunk = []
                if on_progress is not None:
                    on_progress(pending_progress)
                    pending_progress = 0
        if chunk:
            self._write_chunk(chunk)
        if on_progress is not None and pending_progress:
            on_progress(pending_progress)

    def _reject(self, row: RejectedRow) -> None:
        report = self.report
        report.errors.extend(row.errors)
        report.rejected_lines.add(row.line)
        if row.columns & ESTABLISHMENT_COLUMNS:
            report.establishments.rejected.add(row.uai)
        if row.columns & PUPIL_COLUMNS:
            report.pupils.rejected.add(row.ine)
        if row.columns & GUARDIAN_COLUMNS:
            report.guardians.rejected.add((row.uai, *row.guardian_key))
        # Every rejected row is one pupil–guardian pair left out.
        report.links.rejected.add(row.line)

    def _write_chunk(self, chunk_rows: list[RosterRow]) -> None:
        rows = chunk_rows
        try:
            with transaction.atomic():
                stored = {p.ine: p for p in _fetch(Pupil, _PupilRow,
                                                   _any(Pupil, "ine", {r.ine for r in rows}))}
                # Issue 14: the schools these pupils are in before the chunk (see below).
                schools_before = {p.establishment_id for p in stored.values()}
                rows = self._reject_other_pupils(rows, stored)
                if rows:
                    self.birth_dates_fixed = set()
                    establishments = self._upsert_establishments(rows)
                    pupils = self._upsert_pupils(rows, establishments, stored)
                    numbers_fixed = self._upsert_guardians_and_links(rows, establishments,
                                                                     pupils)
                    if self.birth_dates_fixed:
                        numbers_fixed |= guardian_numbers_of_pupils(self.birth_dates_fixed)
                    # After the chunk's commit (never in a dry run): clear the activation
                    # counters of the numbers whose data the school fixed.
                    activation_data_fixed_send(numbers=numbers_fixed, reason="roster_fixed")
                    # Issue 14, « Mes services » kept per account (services_portal.page_cache):
                    # bulk writes send no model signal, so the chunk's schools, and the
                    # schools its pupils left, are bumped here (after the chunk's commit).
                    versions_bump(*(school_version(pk) for pk in {
                        *establishments.values(), *schools_before}))
        except DatabaseError as exc:
            # The chunk's transaction is rolled back; the chunks before it stay written.
            # Class and SQLSTATE only: a database message may quote a row (an INE, a name).
            logger.error("Roster import stopped by a database error: %s (SQLSTATE %s)",
                         type(exc).__name__, getattr(exc.__cause__, "sqlstate", None))
            raise RosterImportInterrupted(gettext(
                "L'import s'est arrêté sur une erreur de la base de données (lignes "
                "%(first)s à %(last)s, rien n'en a été enregistré ; les lignes "
                "précédentes l'ont été). Relancez l'import du même fichier : il reprendra "
                "sans rien dupliquer."
            ) % {"first": chunk_rows[0].line, "last": chunk_rows[-1].line}) from exc
        self.report.rows_imported += len(rows)
        for row in rows:
            self.report.warnings.extend(row.warnings)

    def _reject_other_pupils(self, rows: list[RosterRow], stored: dict) -> list[RosterRow]:
        """Reject the rows whose INE is already another child's; return the others.

        The INE is the key of the upsert: a mistyped INE that happens to be another pupil's
        would hand that pupil's record (and the family linked to it) to this row. A row is
        the same child when the birth date or the last name (its key) agrees with the stored
        pupil: a pupil who changes school, has a first name or a birth date corrected, or
        changes name keeps being updated. When both differ, it is another child: nothing of
        the row is written, and the message never names the stored pupil (the report may be
        read by another school).
        """
        kept = []
        for row in rows:
            pupil = stored.get(row.ine)
            if (pupil is None or pupil.birth_date == row.birth_date
                    or name_key(pupil.last_name) == name_key(row.pupil_last_name)):
                kept.append(row)
                continue
            reason = gettext(
                "l'INE %(ine)s est déjà celui d'un autre élève (nom et date de naissance "
                "différents) : vérifiez l'INE de cet élève."
            ) % {"ine": row.ine}
            self._reject(RejectedRow(
                row.line, [RowError(row.line, "ine", reason)], uai=row.uai, ine=row.ine,
                guardian_key=(row.guardian_last_name_key, row.guardian_first_name_key),
                columns={"ine"},
            ))
        return kept

    # --- Establishments (a few hundred at most: plain ORM) ---------------------------------

    def _upsert_establishments(self, rows: list[RosterRow]) -> dict[str, int]:
        tally = self.report.establishments
        first_rows: dict[str, RosterRow] = {}
        for row in rows:
            first_rows.setdefault(row.uai, row)
        unknown = [uai for uai in first_rows if uai not in self.establishments]
        if unknown:
            for establishment in Establishment.objects.filter(uai__in=unknown):
                self.establishments[establishment.uai] = establishment
            new = []
            for uai in unknown:
                # Rows of one establishment agree (the reader checks it): the first one says
                # all there is to know.
                row = first_rows[uai]
                academy = self._academy(row.academy_name)
                establishment = self.establishments.get(uai)
                if establishment is None:
                    new.append(Establishment(uai=uai, name=row.establishment_name,
                                             kind=row.establishment_kind, academy=academy))
                    continue
                wanted = {"name": row.establishment_name, "kind": row.establishment_kind,
                          "academy_id": academy.pk}
                changed = [name for name, value in wanted.items()
                           if getattr(establishment, name) != value]
                if changed:
                    for name in changed:
                        setattr(establishment, name, wanted[name])
                    establishment.save(update_fields=changed)
                    if "academy_id" in changed:
                        # Its records and pupils follow, one statement each (on PostgreSQL
                        # the trigger of pupils 0012 and 0017 has done it already: then no
                        # row is left here).
                        GuardianRecord.objects.filter(establishment=establishment).exclude(
                            academy_id=academy.pk).update(academy_id=academy.pk)
                        Pupil.objects.filter(establishment=establishment).exclude(
                            academy_id=academy.pk).update(academy_id=academy.pk)
                    tally.updated.add(uai)
            for establishment in Establishment.objects.bulk_create(new):
                self.establishments[establishment.uai] = establishment
                tally.created.add(establishment.uai)
        tally.seen.update(first_rows)
        return {uai: self.establishments[uai].pk for uai in first_rows}

    def _academy(self, name: str) -> Academy:
        key = name_key(name)
        academy = self.academies.get(key)
        if academy is None:
            academy, _ = Academy.objects.get_or_create(name=name)
            self.academies[key] = academy
        return academy

    # --- Pupils -------------------------------------------------------------------------------

    def _upsert_pupils(self, rows: list[RosterRow], establishments: dict[str, int],
                       stored: dict) -> dict:
        """`stored`: the chunk's pupils already in the database, by INE (_write_chunk)."""
        tally = self.report.pupils
        pupils = {ine: stored[ine] for ine in {r.ine for r in rows} if ine in stored}
        to_create, to_update = [], []
        done: set[str] = set()
        for row in rows:
            if row.ine in done:
                continue  # the reader checked that the rows of one pupil agree
            done.add(row.ine)
            values = (row.pupil_last_name, row.pupil_first_names, row.birth_date, row.level,
                      establishments[row.uai], self.establishments[row.uai].academy_id)
            optional = {name: value for name, value in (("national_id", row.national_id),
                                                         ("academy_code", row.academy_code),
                                                         ("division", row.division))
                        if value}
            pupil = pupils.get(row.ine)
            if pupil is None:
                pupil = _new(_PupilRow, Pupil, ine=row.ine, **dict(zip(PUPIL_FIELDS, values,
                                                                       strict=True)), **optional)
                pupils[row.ine] = pupil
                to_create.append(pupil)
            elif tuple(getattr(pupil, name) for name in PUPIL_FIELDS) != values or any(
                getattr(pupil, name) != value for name, value in optional.items()
            ):
                if pupil.birth_date != row.birth_date:
                    self.birth_dates_fixed.add(pupil.id)
                for name, value in zip(PUPIL_FIELDS, values, strict=True):
                    setattr(pupil, name, value)
                for name, value in optional.items():
                    setattr(pupil, name, value)
                to_update.append(pupil)
        _insert_with_history(Pupil, to_create)
        _update_with_history(Pupil, to_update, PUPIL_FIELDS + PUPIL_OPTIONAL_FIELDS)
        tally.created.update(p.id for p in to_create)
        tally.updated.update(p.id for p in to_update)
        tally.seen.update(p.id for p in pupils.values())
        return pupils

    # --- Guardian records and links --------------------------------------------------------

    def _upsert_guardians_and_links(self, rows: list[RosterRow], establishments: dict[str, int],
                                    pupils: dict) -> set[str]:
        """Match, write and link the rows' guardians; return the mobile numbers the file
        changed (old and new), for pupils.signals."""
        chunk = _ChunkGuardians.load(rows, establishments, pupils)
        matched: set[int] = set()
        # Pass 1: exact names among the records already linked to the pupil, for every row,
        # before any row may take a record by its phone number alone (pass 2): a mother and
        # a father sharing a number must each keep their own record.
        for index, row in enumerate(rows):
            pupil = pupils[row.ine]
            record = chunk.linked_by_name(row, pupil.id, establishments[row.uai],
                                          self._is_claimed)
            if record is not None:
                matched.add(index)
                self._take(chunk, record, pupil.id, row)
        for index, row in enumerate(rows):
            if index in matched:
                continue
            pupil_id = pupils[row.ine].id
            establishment_id = establishments[row.uai]
            record = (
                chunk.linked_by_name(row, pupil_id, establishment_id, self._is_claimed)
                or chunk.linked_by_phone(row, pupil_id, establishment_id, self._is_claimed)
                or chunk.sibling_record(row, establishment_id)
                or chunk.new_record(row, establishment_id,
                                    academy_id=self.establishments[row.uai].academy_id)
            )
            self._take(chunk, record, pupil_id, row)
        return self._save(chunk)

    def _take(self, chunk: _ChunkGuardians, record, pupil_id: int, row: RosterRow) -> None:
        # Applied at once, so that the next rows are matched against what this file says (a
        # guardian's new number on one child's row finds the record for the sibling's row).
        chunk.claimed.add((id(record), pupil_id))
        self._apply_row(chunk, record, row)
        chunk.link(record, pupil_id, row.is_legal_representative)

    def _is_claimed(self, chunk: _ChunkGuardians, record, pupil_id: int) -> bool:
        if (id(record), pupil_id) in chunk.claimed:
            return True
        link_id = chunk.stored_link_id(record, pupil_id)
        return link_id is not None and link_id in self.claimed_links

    def _apply_row(self, chunk: _ChunkGuardians, record, row: RosterRow) -> None:
        already = id(record) in chunk.touched or (
            record.id is not None and record.id in self.touched_records
        )
        chunk.touched.add(id(record))
        chunk.rename(record, row.guardian_last_name_key, row.guardian_first_name_key)
        record.last_name = row.guardian_last_name
        record.first_name = row.guardian_first_name
        # The file is the school's truth, but among the rows of one file a filled cell wins
        # over an empty one.
        if row.civility or not already:
            record.civility = row.civility
        if row.mobile_phone_unusable:
            pass  # the file's number could not be used: the stored one stays
        elif row.mobile_phone or not already:
            record.mobile_phone = row.mobile_phone
        if row.email or not already:
            record.email = row.email

    def _save(self, chunk: _ChunkGuardians) -> set[str]:
        guardians, links = self.report.guardians, self.report.links
        touched = [r for r in chunk.records if id(r) in chunk.touched]
        new_records = [r for r in touched if r.id is None]
        changed_records = [r for r in touched if r.id is not None
                           and _record_values(r) != chunk.original[id(r)]]
        phone_at = RECORD_FIELDS.index("mobile_phone")
        numbers_fixed = set()
        for record in changed_records:
            old = chunk.original[id(record)][phone_at] or ""
            if str(record.mobile_phone or "") != str(old):
                numbers_fixed.update((str(old), str(record.mobile_phone or "")))
        attached = _attach_new_records(new_records)
        # Issue 14: the accounts given a record in bulk (« Mes services », see _write_chunk).
        versions_bump(*(account_version(account_id) for account_id in attached))
        _insert_with_history(GuardianRecord, new_records)
        for account_id, records in attached.items():
            journal_record(EventKind.CHILDREN_ATTACHED, account=Account(pk=account_id),
                           method="roster_import",
                           guardian_record_ids=sorted(r.id for r in records))
        _update_with_history(GuardianRecord, changed_records, RECORD_FIELDS)
        guardians.created.update(r.id for r in new_records)
        guardians.updated.update(r.id for r in changed_records)
        guardians.seen.update(r.id for r in touched)
        self.touched_records.update(r.id for r in touched)

        new_links = [link for link in chunk.touched_links if link.id is None]
        for link in new_links:
            link.guardian_record_id = link.record.id  # the record may have been new too
        changed_links = [link for link in chunk.touched_links if link.id is not None
                         and link.is_legal_representative != chunk.original_legal[link.id]]
        _insert_with_history(Responsibility, new_links)
        _update_with_history(Responsibility, changed_links, ("is_legal_representative",))
        links.created.update(link.id for link in new_links)
        links.updated.update(link.id for link in changed_links)
        links.seen.update(link.id for link in chunk.touched_links)
        # Every (record, pupil) a row took is one of the touched links (_take).
        self.claimed_links.update(link.id for link in chunk.touched_links)
        numbers_fixed.discard("")
        return numbers_fixed


def _attach_new_records(new_records: list) -> dict[int, list]:
    """Issue 11 §2: a new record whose name keys and mobile number — and e-mail address,
    when both sides have one — equal those of a record an ACTIVE guardian account covers is
    born covered by that account, and flagged so that the family is told at its next sign-in
    (« Un nouvel enfant a été rattaché à votre compte », families.apps). When the same
    person matches records of two different active accounts, nothing is attached (the family
    merges its accounts first, or adds the child itself).

    One query per chunk, on the index of GuardianRecord.mobile_phone, whatever the number of
    new records (none when no new record has a number), and one more that locks the
    accounts found, when there are any. Returns {account id: [records]}.
    """
    with_phone = [r for r in new_records if r.mobile_phone]
    if not with_phone:
        return {}
    covered = defaultdict(list)  # (last name key, first name key, mobile) -> [(account, email)]
    for account_id, last_key, first_key, phone, email in GuardianRecord.objects.filter(
        _any(GuardianRecord, "mobile_phone", sorted({str(r.mobile_phone) for r in with_phone})),
        account__state=AccountState.ACTIVE, account__kind=AccountKind.GUARDIAN,
    ).values_list("account_id", "last_name_key", "first_name_key",
                  Cast("mobile_phone", output_field=CharField()), "email"):
        covered[(last_key, first_key, phone)].append((account_id, email.lower()))
    attached = defaultdict(list)
    for record in with_phone:
        email = (record.email or "").lower()
        accounts = {
            account_id
            for account_id, other_email in covered.get(
                (record.last_name_key, record.first_name_key, str(record.mobile_phone)), ())
            if not (email and other_email) or email == other_email
        }
        if len(accounts) == 1:
            attached[accounts.pop()].append(record)
    if not attached:
        return {}
    # Lock the accounts (primary-key order, as a merge does) and keep those still active: a
    # merge that closed one since the query above has moved its records, and a record born
    # on a closed account would be a child lost. Held until the chunk commits.
    alive = set(Account.objects.select_for_update()
                .filter(pk__in=list(attached), state=AccountState.ACTIVE)
                .order_by("pk").values_list("pk", flat=True))
    attached = {account_id: records for account_id, records in attached.items()
                if account_id in alive}
    for account_id, records in attached.items():
        for record in records:
            record.account_id = account_id
            record.attached_notice_pending = True
    return attached


def _record_values(record) -> tuple:
    return tuple(getattr(record, name) for name in RECORD_FIELDS)


@dataclass
class _ChunkGuardians:
    """The guardian records and links a chunk may touch, and the matching rules.

    Records are told apart by object identity (new ones have no id before they are saved).
    """

    records: list = field(default_factory=list)
    by_identity: dict[int, object] = field(default_factory=dict)
    by_id: dict[int, object] = field(default_factory=dict)
    original: dict[int, tuple] = field(default_factory=dict)  # identity -> stored values
    links_by_pupil: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    original_legal: dict[int, bool] = field(default_factory=dict)  # link id -> stored flag
    # (establishment id, last name key, first name key) -> records
    by_name: dict[tuple[int, str, str], list] = field(default_factory=lambda: defaultdict(list))
    claimed: set[tuple[int, int]] = field(default_factory=set)  # (identity, pupil id)
    touched: set[int] = field(default_factory=set)  # identities
    touched_links: list = field(default_factory=list)
    _touched_link_identities: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, rows: list[RosterRow], establishments: dict[str, int],
             pupils: dict) -> _ChunkGuardians:
        """Two or three queries: the pupils' links, then the records they point to together
        with the namesakes of the chunk's guardians in the chunk's schools."""
        chunk = cls()
        pupil_ids = {pupils[row.ine].id for row in rows if pupils[row.ine].id is not None}
        links = _fetch(Responsibility, _LinkRow, _any(Responsibility, "pupil", pupil_ids))
        name_keys = sorted({
            (establishments[row.uai], row.guardian_last_name_key, row.guardian_first_name_key)
            for row in rows
        })
        linked_ids = {link.guardian_record_id for link in links}
        if linked_ids:
            for record in _fetch(GuardianRecord, _RecordRow,
                                 _any(GuardianRecord, "id", linked_ids)):
                chunk._register(record)
        for record in _records_by_name_keys(name_keys):
            chunk._register(record)
        for link in links:
            link.record = chunk.by_id[link.guardian_record_id]
            chunk.links_by_pupil[link.pupil_id].append(link)
            chunk.original_legal[link.id] = link.is_legal_representative
        return chunk

    def _register(self, record):
        if record.id is not None:
            if record.id in self.by_id:
                return self.by_id[record.id]
            self.by_id[record.id] = record
            self.original[id(record)] = _record_values(record)
        self.records.append(record)
        self.by_identity[id(record)] = record
        self.by_name[(record.establishment_id, record.last_name_key,
                      record.first_name_key)].append(record)
        return record

    def rename(self, record, last_name_key: str, first_name_key: str) -> None:
        """Set a record's name keys, keeping the by-name index right for rule c."""
        old = (record.establishment_id, record.last_name_key, record.first_name_key)
        new = (record.establishment_id, last_name_key, first_name_key)
        if old != new:
            self.by_name[old].remove(record)
            self.by_name[new].append(record)
            record.last_name_key, record.first_name_key = last_name_key, first_name_key

    def stored_link_id(self, record, pupil_id: int) -> int | None:
        """The id of the stored link between `record` and the pupil, or None."""
        for link in self.links_by_pupil.get(pupil_id, ()):
            if link.record is record:
                return link.id
        return None

    def _linked(self, pupil_id: int, establishment_id: int) -> Iterator:
        for link in self.links_by_pupil.get(pupil_id, ()):
            if link.record.establishment_id == establishment_id:
                yield link.record

    def linked_by_name(self, row: RosterRow, pupil_id: int, establishment_id: int,
                       is_claimed):
        """a. A record of this school already linked to the pupil, with the same name.

        Among namesakes (a father and a grandfather both « Jean MARTIN »), the one whose
        contact agrees; a record another row of this file took for the pupil is only taken
        again by an identical row; otherwise the name wins over a new number (the guardian
        changed phones).
        """
        keys = (row.guardian_last_name_key, row.guardian_first_name_key)
        candidates = [record for record in self._linked(pupil_id, establishment_id)
                      if (record.last_name_key, record.first_name_key) == keys]
        if not candidates:
            return None
        free = [record for record in candidates if not is_claimed(self, record, pupil_id)]
        for record in free:
            if _same_contact(record, row) or _identical_contact(record, row):
                return record
        for record in candidates:
            if record not in free and _identical_contact(record, row):
                return record
        return free[0] if free else None

    def linked_by_phone(self, row: RosterRow, pupil_id: int, establishment_id: int,
                        is_claimed):
        """b. A record linked to the pupil with the same mobile: the school corrected a name.

        Only when exactly one record not yet taken by this file qualifies, so that two
        guardians sharing a family number are never merged.
        """
        if not row.mobile_phone:
            return None
        candidates = [record for record in self._linked(pupil_id, establishment_id)
                      if record.mobile_phone == row.mobile_phone
                      and not is_claimed(self, record, pupil_id)]
        return candidates[0] if len(candidates) == 1 else None

    def sibling_record(self, row: RosterRow, establishment_id: int):
        """c. The record of a brother or sister: same school, same name, same contact."""
        for record in self.by_name.get(
            (establishment_id, row.guardian_last_name_key, row.guardian_first_name_key), ()
        ):
            if _same_contact(record, row):
                return record
        return None

    def new_record(self, row: RosterRow, establishment_id: int, *, academy_id: int):
        """d. Nobody matches: a new record (in the establishment's academy: issue 14)."""
        return self._register(_new(
            _RecordRow, GuardianRecord,
            establishment_id=establishment_id,
            academy_id=academy_id,
            civility=row.civility,
            last_name=row.guardian_last_name,
            first_name=row.guardian_first_name,
            last_name_key=row.guardian_last_name_key,
            first_name_key=row.guardian_first_name_key,
            mobile_phone=row.mobile_phone,
            email=row.email,
            account_id=None,
        ))

    def link(self, record, pupil_id: int, is_legal_representative: bool) -> None:
        links = self.links_by_pupil[pupil_id]
        for link in links:
            if link.record is record:
                break
        else:
            link = _new(_LinkRow, Responsibility, pupil_id=pupil_id, record=record,
                        guardian_record_id=record.id)
            links.append(link)
        # The status is never written: a link the guardian disputed stays disputed, one the
        # school removed stays removed.
        link.is_legal_representative = is_legal_representative
        if id(link) not in self._touched_link_identities:
            self._touched_link_identities.add(id(link))
            self.touched_links.append(link)


def _same_contact(record, row: RosterRow) -> bool:
    """The same mobile when both are known; otherwise the same email when both are known.

    Never the name alone: two guardians of the same name in one school stay two records.
    """
    if record.mobile_phone and row.mobile_phone:
        return record.mobile_phone == row.mobile_phone
    return bool(record.email and row.email and record.email.lower() == row.email)


def _identical_contact(record, row: RosterRow) -> bool:
    return record.mobile_phone == row.mobile_phone and record.email.lower() == row.email


def _records_by_name_keys(name_keys: list[tuple[int, str, str]]) -> list:
    """Records by exact (establishment, last name key, first name key).

    Anything broader (the names alone, or the schools alone) would load every MARTIN of
    every school of an academy-wide file into every chunk. Raw SQL because a 2,000-term Q()
    costs Django more than the query costs the database: on PostgreSQL the keys go as three
    arrays joined against the indexes; elsewhere (the SQLite demo) as plain ORs, in batches
    under SQLite's 999-parameter cap.
    """
    if not name_keys:
        return []
    meta = GuardianRecord._meta
    table = meta.db_table
    keys = [f'"{table}"."{meta.get_field(name).column}"'
            for name in ("establishment", "last_name_key", "first_name_key")]
    select = ", ".join(f'"{table}"."{f.column}"' for f in meta.concrete_fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(  # identifiers from model metadata only; values are parameters
                f'SELECT {select} FROM "{table}" JOIN unnest(%s::bigint[], %s::varchar[], '  # noqa: S608
                f"%s::varchar[]) AS k (e, l, f) ON ({', '.join(keys)}) = (k.e, k.l, k.f)",
                [[key[i] for key in name_keys] for i in range(3)],
            )
            return [_RecordRow(*values) for values in cursor.fetchall()]
        term = "(" + " AND ".join(f"{key} = %s" for key in keys) + ")"
        records = []
        for start in range(0, len(name_keys), _NAME_KEYS_PER_SQLITE_QUERY):
            batch = name_keys[start:start + _NAME_KEYS_PER_SQLITE_QUERY]
            cursor.execute(
                f'SELECT {select} FROM "{table}" WHERE ' + " OR ".join([term] * len(batch)),  # noqa: S608
                [value for key in batch for value in key],
            )
            records += [_RecordRow(*values) for values in cursor.fetchall()]
        return records


# --- Bulk writes ------------------------------------------------------------------------------
#
# Django's bulk_create prepares every value of every row in Python, and simple_history's bulk
# helpers build a model instance per history row: for a 100,000-row roster (half a million
# rows with their history) that alone took most of a minute on a 2-core machine. On
# PostgreSQL rows go in by COPY instead, their ids drawn from the table's sequence first;
# history rows are written as simple_history's bulk_history_create writes them (the same
# columns, history_type « + » or « ~ », the change reason, no user). Elsewhere (the SQLite
# demo and tests) simple_history's own bulk helpers do the job on model instances.

def _insert_with_history(model, rows: list) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql":
        instances = [model(**{f.attname: getattr(row, f.attname)
                              for f in model._meta.concrete_fields if not f.primary_key})
                     for row in rows]
        bulk_create_with_history(instances, model, default_change_reason=HISTORY_REASON)
        for row, instance in zip(rows, instances, strict=True):
            row.id = instance.pk
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, len(rows)],
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.id = pk
    _copy(model._meta.db_table, model._meta.concrete_fields, rows)
    _copy_history(model, rows, "+")


def _update_with_history(model, rows: list, field_names: tuple[str, ...]) -> None:
    if not rows:
        return
    fields = [model._meta.pk, *(_field_by_attname(model, name) for name in field_names)]
    if connection.vendor != "postgresql":
        names = [f.attname for f in model._meta.concrete_fields]
        instances = [model.from_db(connection.alias, names,
                                   [getattr(row, name) for name in names]) for row in rows]
        bulk_update_with_history(instances, model, [f.name for f in fields[1:]],
                                 default_change_reason=HISTORY_REASON)
        return
    table = model._meta.db_table
    scratch = f"roster_import_{table}"
    column_list = ", ".join(f'"{f.column}"' for f in fields)
    assignments = ", ".join(f'"{f.column}" = s."{f.column}"' for f in fields[1:])
    pk = model._meta.pk.column
    # A scratch table loaded by COPY, then one UPDATE … FROM: Django's bulk_update writes a
    # CASE per row and column, slow to build and to plan for thousands of rows.
    with connection.cursor() as cursor:  # identifiers below come from model metadata only
        cursor.execute(f'DROP TABLE IF EXISTS "{scratch}"')
        cursor.execute(f'CREATE TEMPORARY TABLE "{scratch}" AS SELECT {column_list} '  # noqa: S608
                       f'FROM "{table}" WITH NO DATA')
    _copy(scratch, fields, rows)
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" AS t SET {assignments} '  # noqa: S608
                       f'FROM "{scratch}" AS s WHERE t."{pk}" = s."{pk}"')
        cursor.execute(f'DROP TABLE "{scratch}"')
    _copy_history(model, rows, "~")


def _field_by_attname(model, attname: str):
    return next(f for f in model._meta.concrete_fields if f.attname == attname)


def _copy_history(model, rows: list, history_type: str) -> None:
    history = model.history.model
    fixed = {"history_date": timezone.now(), "history_change_reason": HISTORY_REASON,
             "history_type": history_type, "history_user": None}
    tracked = {f.attname for f in model._meta.concrete_fields}
    fields, getters = [], []
    for history_field in history._meta.concrete_fields:
        if history_field.name == "history_id":
            continue  # the history table's own sequence
        fields.append(history_field)
        if history_field.name in fixed:
            getters.append((None, fixed[history_field.name]))
        elif history_field.attname in tracked:
            getters.append((history_field.attname, None))
        else:
            getters.append((None, history_field.get_default()))
    _copy_rows(history._meta.db_table, fields, (
        [getattr(row, attname) if attname else value for attname, value in getters]
        for row in rows
    ))


def _copy(table: str, fields, rows: list) -> None:
    _copy_rows(table, fields, ([getattr(row, f.attname) for f in fields] for row in rows))


def _copy_rows(table: str, fields, values: Iterable[list]) -> None:
    names = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor, cursor.copy(
        f'COPY "{table}" ({names}) FROM STDIN'
    ) as copy:
        for row in values:
            copy.write_row(row)


__all__ = ["RosterFileError", "RosterImportBusy", "RosterImportInterrupted", "RosterImportReport",
           "roster_import"]
