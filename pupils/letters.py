"""School letters (issue 9 §1): provisional accounts and the letter that hands them out.

A secretary chooses pupils of her school (backoffice/letters.py); a `LetterRun` row records the
request, and a Celery task (pupils.tasks) makes the letters:

- for each chosen pupil, and each guardian record linked to one of them as legal
  representative (ACTIVE link, same school), a provisional account (`AccountState.PROVISIONAL`,
  identifier `p.nomNN` of accounts.identifiers): a pupil account set as `Pupil.account`, a
  guardian account set as the record's `account`;
- a record or pupil that an account already covers: PROVISIONAL → a new password (the old one
  no longer signs in: reissue); any other state (ACTIVE, LOCKED, CLOSED) → no letter, ever (a
  family that activated by SMS keeps its account);
- a provisional password of PASSWORD_LENGTH characters drawn by `secrets` from
  PASSWORD_ALPHABET (no look-alikes: no 0/O, 1/I/L, 2/Z, 5/S, 6/G… see below), stored only as
  an Argon2id hash (accounts.hashers) of the letter's own kind, which any case typed
  matches (`ProvisionalLetterHasher`: a phone types « 7rncmwen » for « 7RNCMWEN »), valid until
  `Account.provisional_expires_at` = issue + settings.PROVISIONAL_PASSWORD_VALIDITY_DAYS;
- one A4 page per account in a tagged PDF (WeasyPrint, PDF/UA-1), the seed's wording (seed 003,
  « Distribution d'un identifiant et d'un mot de passe provisoire par l'établissement »);
  or, when the run says so and the school knows the guardian's address, an e-mail
  (`emails/provisional_letter`, outbox row marked `contains_secret`: wiped once sent).

The clear passwords live only in memory, in the PDF (under settings.LETTERS_DIR, downloadable
by the secretary who asked until `file_expires_at`, then deleted by `letter_files_purge`) and
in the outbox until the e-mail has left; never in the database, the journal or the logs.

Public API (the integration's end-to-end test calls it):

- `letters_issue(establishment=…, pupil_ids=…, guardian_record_ids=…, actor=…)` → the
  `Letter`s (with the clear passwords) and the counts; one transaction.
- `letter_addressees(establishment=…, pupil_ids=…)` → who gets a letter for these pupils;
  `letter_renewals(…)` → which accounts such letters would give a new password.
- `letter_run_request(…)`, `letter_run_execute(run_id=…)`, `letter_runs_start()`,
  `letter_run_file_open(…)`, `letter_files_purge()`: the back-office's run and its file.

Cost (bench/bench_letters.py, bench/README.md): a letter is one Argon2id hash (≈ 15 ms of CPU
at m = 19 MiB, t = 2, libsodium through accounts.hashers, on settings.LETTERS_HASH_THREADS
threads: the GIL is released, the next chunk's hashed while this one is written:
PasswordPool), ≈ 20 ms of WeasyPrint (in LETTERS_RENDER_PROCESSES renderer processes:
PdfPartRenderer), < 1 ms of merge (PdfPartsMerge) and a chunk's rows in a few statements
(accounts.services.provisional_accounts_create, core.journal.journal_record_many); the run
uses both cores: 2,800 letters in 58 s.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.hashers import LETTER_ALGORITHM
from accounts.models import Account, AccountKind, AccountState
from accounts.services import provisional_accounts_create
from core.journal import EventKind, journal_event_build, journal_record, journal_record_many
from notifications.emails import email_send

from . import pdf_render
from .models import (
    Establishment,
    GuardianRecord,
    LetterDelivery,
    LetterRun,
    LetterRunStatus,
    Pupil,
    Responsibility,
    ResponsibilityStatus,
)
from .selectors import PUPIL_NAME_ORDER, RECORD_NAME_ORDER, NameOrder
from .signals import provisional_credentials_renewed

logger = logging.getLogger(__name__)

# Capitals and digits that cannot be taken for one another, printed or typed: no O/0/Q/D,
# I/1/L/J, Z/2, S/5, G/6, B/8, U/V. 18 symbols: 18⁸ ≈ 1.1·10¹⁰ passwords (33 bits), against an
# online guess rate bounded by accounts.limits, for three months at most.
PASSWORD_ALPHABET = "ACEFHKMNPRTWXY3479"  # noqa: S105 (an alphabet, not a password)
PASSWORD_LENGTH = 8
EMAIL_TEMPLATE = "provisional_letter"
EMAIL_PURPOSE = "provisional_letter"


def provisional_password_generate() -> str:
    """A provisional password: PASSWORD_LENGTH characters of PASSWORD_ALPHABET (secrets).

    The alphabet is capitals and digits only, so the password is its own upper case: that
    is what lets its hash (accounts.hashers.ProvisionalLetterHasher) accept it in any case
    typed without losing a character (a test holds the alphabet to it)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@dataclass(frozen=True)
class Letter:
    """One account's letter, in memory only (it holds the clear password)."""

    account_id: int
    kind: str  # AccountKind value
    first_name: str
    last_name: str
    identifier: str  # as printed: P.NOM12
    password: str
    children: tuple[str, ...]  # « Prénom NOM » of the pupils concerned
    expires_at: datetime
    reissued: bool
    email: str = ""  # the address it is e-mailed to; "" = printed in the PDF

    def __repr__(self):  # never print the password (logs, tracebacks)
        return f"Letter(account_id={self.account_id}, identifier={self.identifier!r})"


@dataclass
class LetterCounts:
    created: int = 0
    reissued: int = 0
    skipped: int = 0
    emailed: int = 0

    def add(self, other: LetterCounts) -> None:
        self.created += other.created
        self.reissued += other.reissued
        self.skipped += other.skipped
        self.emailed += other.emailed


@dataclass
class Addressees:
    """Who gets a letter for a choice of pupils, in print order (pupils by level and name,
    then guardian records by name); `skipped`: pupils and records an account that is not
    provisional covers (no letter)."""

    pupil_ids: list[int] = field(default_factory=list)
    guardian_record_ids: list[int] = field(default_factory=list)
    skipped: int = 0

    @property
    def total(self) -> int:
        return len(self.pupil_ids) + len(self.guardian_record_ids)


def _may_get_letter(account_id, state) -> bool:
    return account_id is None or state == AccountState.PROVISIONAL


def _legal_links(establishment: Establishment) -> Q:
    return Q(status=ResponsibilityStatus.ACTIVE, is_legal_representative=True,
             guardian_record__establishment=establishment, pupil__establishment=establishment)


def letter_addressees(*, establishment: Establishment, pupil_ids: Sequence[int],
                      pupil_ids_alone: Sequence[int] = (),
                      guardian_record_ids: Sequence[int] = ()) -> Addressees:
    """The pupils among `pupil_ids` (of `establishment` only) and their guardian records
    (legal representatives, ACTIVE link) that get a letter; with them, the pupils of
    `pupil_ids_alone` (their own letter, not their guardians') and the guardian records of
    `guardian_record_ids` (chosen directly: one account's letter, from the follow-up page).
    Two queries (three with both kinds of records), on Pupil's and GuardianRecord's primary
    keys and Responsibility's (pupil, status) index."""
    found = Addressees()
    rows = (Pupil.objects.filter(establishment=establishment,
                                 pk__in=list(pupil_ids) + list(pupil_ids_alone))
            .order_by("level", *PUPIL_NAME_ORDER)
            .values_list("pk", "account_id", "account__state"))
    for pk, account_id, state in rows:
        if _may_get_letter(account_id, state):
            found.pupil_ids.append(pk)
        else:
            found.skipped += 1
    # Two plain queries rather than one with an OR (which PostgreSQL cannot turn into a
    # semi-join: a scan of every record); each in the database's name order, a record in
    # both counts once (a mixed choice, never made by the back-office, is re-sorted here).
    columns = ("last_name_key", "first_name_key", "pk", "account_id", "account__state")
    by_name = RECORD_NAME_ORDER
    records = {}
    if pupil_ids:
        linked = Responsibility.objects.filter(
            _legal_links(establishment), guardian_record=OuterRef("pk"),
            pupil_id__in=list(pupil_ids))
        records.update((row[2], row) for row in GuardianRecord.objects.filter(
            Exists(linked)).order_by(*by_name).values_list(*columns))
    if guardian_record_ids:
        records.update((row[2], row) for row in GuardianRecord.objects.filter(
            establishment=establishment, pk__in=list(guardian_record_ids))
            .order_by(*by_name).values_list(*columns))
    ordered = list(records.values())
    if pupil_ids and guardian_record_ids:
        ordered.sort(key=lambda row: row[:3])
    for _last, _first, pk, account_id, state in ordered:
        if _may_get_letter(account_id, state):
            found.guardian_record_ids.append(pk)
        else:
            found.skipped += 1
    return found


def letter_renewals(*, establishment: Establishment,
                    pupil_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """For each pupil of `pupil_ids` (of `establishment`), the accounts that a letter asked
    for this pupil would give a NEW password (those whose letter is already issued: state
    PROVISIONAL, expired or not): the pupil's own, then its legal guardians' (ACTIVE link),
    as (account id, « NOM Prénom ») pairs — what the letters page says before « Faire les
    lettres ». Two queries (Pupil's primary key, Responsibility's (pupil, status) index)."""
    renewals: dict[int, list[tuple[int, str]]] = {int(pk): [] for pk in pupil_ids}
    own = (Pupil.objects.filter(establishment=establishment, pk__in=list(renewals),
                                account__state=AccountState.PROVISIONAL)
           .values_list("pk", "account_id", "last_name", "first_names"))
    for pk, account_id, last_name, first_names in own:
        first_name = Pupil(first_names=first_names).first_name  # the usual one
        renewals[pk].append((account_id, f"{last_name.upper()} {first_name}"))
    guardians = (Responsibility.objects.filter(
                     _legal_links(establishment), pupil_id__in=list(renewals),
                     guardian_record__account__state=AccountState.PROVISIONAL)
                 .order_by("guardian_record__last_name_key",
                           "guardian_record__first_name_key", "guardian_record_id")
                 .values_list("pupil_id", "guardian_record__account_id",
                              "guardian_record__last_name", "guardian_record__first_name"))
    for pupil_id, account_id, last_name, first_name in guardians:
        renewals[pupil_id].append((account_id, f"{last_name.upper()} {first_name}"))
    return renewals


class PasswordPool:
    """Provisional passwords and their hashes, made ahead on LETTERS_HASH_THREADS threads.

    Argon2 (argon2-cffi) releases the GIL: `prefetch(n)` starts hashing n new passwords in
    the background and returns at once, so that a run hashes the next chunk's passwords while
    it renders this chunk's PDF (WeasyPrint holds the GIL, the hashes use the other core).
    `take(n)` returns n (password, hash) pairs, waiting for those not ready yet. Passwords
    prefetched and never taken are dropped with the pool (never stored)."""

    def __init__(self, threads: int | None = None):
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, threads or settings.LETTERS_HASH_THREADS))
        self._ahead: list = []

    def prefetch(self, count: int) -> None:
        for _index in range(count):
            password = provisional_password_generate()
            self._ahead.append((password, self._executor.submit(
                make_password, password, hasher=LETTER_ALGORITHM)))

    def take(self, count: int) -> list[tuple[str, str]]:
        if len(self._ahead) < count:
            self.prefetch(count - len(self._ahead))
        taken, self._ahead = self._ahead[:count], self._ahead[count:]
        return [(password, future.result()) for password, future in taken]

    def close(self) -> None:
        self._ahead = []
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _children_of_records(establishment: Establishment, record_ids: list[int]) -> dict:
    children = defaultdict(list)
    links = (Responsibility.objects.filter(_legal_links(establishment),
                                           guardian_record_id__in=record_ids)
             .order_by(NameOrder(F("pupil__last_name")), NameOrder(F("pupil__first_names")),
                       "pupil_id")
             .values_list("guardian_record_id", "pupil__first_names", "pupil__last_name"))
    for record_id, first_names, last_name in links:
        first = first_names.split(",")[0].split(" ")[0]
        children[record_id].append(f"{first} {last_name.upper()}")
    return children


@transaction.atomic
def letters_issue(*, establishment: Establishment, pupil_ids: Sequence[int] = (),
                  guardian_record_ids: Sequence[int] = (), actor: Account,
                  by_email: bool = False, letter_run: LetterRun | None = None,
                  passwords: PasswordPool | None = None,
                  ) -> tuple[list[Letter], LetterCounts]:
    """Create or reissue the provisional accounts of these pupils and guardian records of
    `establishment` and return their letters (clear passwords, in memory) and the counts.

    Rows of another school are ignored; a pupil or record covered by an account that is not
    PROVISIONAL gets no letter (counted in `skipped`); a PROVISIONAL one gets a new password
    and a new expiry (`reissued`: the old password no longer signs in). A guardian account
    covers the record (its `account`); a pupil account is the pupil's `account`. With
    `by_email`, a guardian whose record has an e-mail address gets the letter by e-mail
    (outbox, contains_secret) and the returned Letter has `email` set; nothing else is
    sent. A reissued account's first sign-in under way starts over (the signal
    pupils.signals.provisional_credentials_renewed: its validation links die, its chosen
    password is forgotten). Journals LETTER_ISSUED per account (actor, run, reissued,
    delivery, first_sign_in_restarted; never the password). Rows are locked (pupils, then
    guardian records: the import's order).
    `passwords`: a PasswordPool that may have hashed some ahead (a run's); else one of its
    own.
    """
    now = timezone.now()
    expires_at = now + timedelta(days=settings.PROVISIONAL_PASSWORD_VALIDITY_DAYS)
    counts = LetterCounts()
    # (covered row, its account or None before creation, letter fields), in letter order.
    pending: list[tuple[Pupil | GuardianRecord, Account | None, dict]] = []

    pupils = list(Pupil.objects.select_for_update(of=("self",))
                  .filter(establishment=establishment, pk__in=list(pupil_ids))
                  .select_related("account").order_by("level", *PUPIL_NAME_ORDER))
    for pupil in pupils:
        account = pupil.account
        if account is not None and account.state != AccountState.PROVISIONAL:
            counts.skipped += 1
            continue
        pending.append((pupil, account, {
            "kind": AccountKind.PUPIL, "children": (), "email": "",
            "first_name": pupil.first_name, "last_name": pupil.last_name,
            "facts": {"pupil": pupil.pk},
        }))

    records = list(GuardianRecord.objects.select_for_update(of=("self",))
                   .filter(establishment=establishment, pk__in=list(guardian_record_ids))
                   .select_related("account").order_by(*RECORD_NAME_ORDER))
    children = _children_of_records(establishment, [record.pk for record in records])
    for record in records:
        account = record.account
        if account is not None and account.state != AccountState.PROVISIONAL:
            counts.skipped += 1
            continue
        pending.append((record, account, {
            "kind": AccountKind.GUARDIAN, "children": tuple(children.get(record.pk, ())),
            "email": record.email if by_email else "",
            "first_name": record.first_name, "last_name": record.last_name,
            "facts": {"guardian_record": record.pk},
        }))

    if passwords is None:
        with PasswordPool() as pool:
            pairs = pool.take(len(pending))
    else:
        pairs = passwords.take(len(pending))

    # The new accounts in one INSERT (accounts.services), then who they cover in one UPDATE
    # per table; the reissued ones get their new hash and expiry in one UPDATE.
    new = [(index, row, fields) for index, (row, account, fields) in enumerate(pending)
           if account is None]
    created = provisional_accounts_create(
        people=[(fields["kind"], fields["first_name"], fields["last_name"])
                for _index, _row, fields in new],
        password_hashes=[pairs[index][1] for index, _row, _fields in new],
        expires_at=expires_at)
    accounts = [account for _row, account, _fields in pending]
    for (index, row, _fields), account in zip(new, created, strict=True):
        accounts[index] = account
        row.account = account
    Pupil.objects.bulk_update([row for _i, row, _f in new if isinstance(row, Pupil)],
                              ["account"])
    GuardianRecord.objects.bulk_update(
        [row for _i, row, _f in new if isinstance(row, GuardianRecord)], ["account"])
    reissued_accounts = []
    for (_row, before, _fields), account, (_password, hashed) in zip(pending, accounts, pairs,
                                                                    strict=True):
        if before is not None:
            account.password = hashed
            account.provisional_expires_at = expires_at
            reissued_accounts.append(account)
    Account.objects.bulk_update(reissued_accounts, ["password", "provisional_expires_at"])
    # A reissued letter starts the family's first sign-in over (pupils.signals): its pending
    # validation link would otherwise activate the account with this new password.
    restarted: set[int] = set()
    if reissued_accounts:
        for _receiver, started_over in provisional_credentials_renewed.send(
                sender=provisional_credentials_renewed,
                account_ids=[account.pk for account in reissued_accounts]):
            restarted.update(started_over or ())

    letters = []
    events = []
    for (_row, before, fields), account, (password, _hash) in zip(pending, accounts, pairs,
                                                                 strict=True):
        letter = Letter(
            account_id=account.pk, kind=account.kind, first_name=fields["first_name"],
            last_name=fields["last_name"], identifier=account.display_identifier,
            password=password, children=fields["children"], expires_at=expires_at,
            reissued=before is not None, email=fields["email"],
        )
        letters.append(letter)
        if letter.reissued:
            counts.reissued += 1
        else:
            counts.created += 1
        if letter.email:
            email_send(to=letter.email, template=EMAIL_TEMPLATE,
                       context=_letter_context(letter, establishment), purpose=EMAIL_PURPOSE,
                       contains_secret=True, account=account)
            counts.emailed += 1
        events.append(journal_event_build(
            EventKind.LETTER_ISSUED, account=account, actor=actor,
            establishment=establishment.uai, reissued=letter.reissued,
            delivery="email" if letter.email else "paper",
            first_sign_in_restarted=account.pk in restarted,
            letter_run=letter_run.pk if letter_run else None, **fields["facts"]))
    journal_record_many(events)
    return letters, counts


# --- Rendering ------------------------------------------------------------------------------


def _letter_context(letter: Letter, establishment: Establishment) -> dict:
    return {
        "letter": letter,
        "establishment": establishment,
        "is_guardian": letter.kind == AccountKind.GUARDIAN,
        "portal_url": settings.SITE_URL.rstrip("/") + "/",
        "expires_on": timezone.localtime(letter.expires_at).date(),
    }


def letters_html(letters: Sequence[Letter], *, establishment: Establishment) -> str:
    """The HTML of `letters` (templates/pupils/letters_pdf.html, one <section> per letter),
    in the site's language: what WeasyPrint lays out, in this process or a renderer's."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string("pupils/letters_pdf.html", {
            "pages": [_letter_context(letter, establishment) for letter in letters],
            "establishment": establishment,
        })


def letters_pdf_render(letters: Sequence[Letter], *, establishment: Establishment,
                       uncompressed: bool = False) -> bytes:
    """A tagged PDF (PDF/UA-1: structure tree, MarkInfo, language, title) of `letters`, one
    A4 page each, from templates/pupils/letters_pdf.html, rendered in this process.
    `uncompressed`: no object streams (a run's parts: pypdf reads them in half the time when
    merging)."""
    buffer = io.BytesIO()
    pdf_render.pdf_write(letters_html(letters, establishment=establishment),
                         base_url=str(settings.BASE_DIR), target=buffer,
                         uncompressed=uncompressed)
    return buffer.getvalue()


class LetterRenderError(RuntimeError):
    """A renderer process failed or died (its reason is in its own stderr, never here)."""


# The renderer's command line (tests replace it by one that dies).
RENDERER_COMMAND = (sys.executable, "-m", "pupils.pdf_render")


class PdfPartRenderer:
    """Writes a run's PDF parts on LETTERS_RENDER_PROCESSES renderer processes (`python -m
    pupils.pdf_render`, started once per run, WeasyPrint only), so that rendering uses every
    core while this process writes the accounts and merges, and Argon2 hashes on its threads.

    `submit(html, path)` returns a Future that is done once the part is written at `path`
    (its `result()` raises LetterRenderError if the renderer failed or died). One thread per
    process talks to it over its stdin and stdout (a JSON header line, then the HTML; the
    reply « ok »). With 0 processes, `submit` renders in this process before returning.
    The caller bounds the parts in flight (memory: their HTML, ~5 KB a letter). `close()`
    lets the processes finish and exit (end of their stdin); `close(kill=True)` kills them
    (a failed run). The processes also exit when this one dies (end of their stdin)."""

    def __init__(self, processes: int | None = None):
        self.processes = max(0, settings.LETTERS_RENDER_PROCESSES
                             if processes is None else processes)
        self._executor = ThreadPoolExecutor(max_workers=max(1, self.processes),
                                            thread_name_prefix="letters-render")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._started: list[subprocess.Popen] = []

    def submit(self, html: str, path: Path) -> Future:
        if self.processes == 0:
            future: Future = Future()
            pdf_render.pdf_write(html, base_url=str(settings.BASE_DIR), target=str(path),
                                 uncompressed=True)
            future.set_result(path)
            return future
        return self._executor.submit(self._render, html, path)

    def _process(self) -> subprocess.Popen:
        process = getattr(self._local, "process", None)
        if process is None:
            process = subprocess.Popen(  # noqa: S603 (our own module, no shell, no input)
                RENDERER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                cwd=settings.BASE_DIR)
            self._local.process = process
            with self._lock:
                self._started.append(process)
        return process

    def _render(self, html: str, path: Path) -> Path:
        process = self._process()
        data = html.encode()
        header = {"length": len(data), "path": str(path), "base_url": str(settings.BASE_DIR)}
        try:
            process.stdin.write(json.dumps(header).encode() + b"\n" + data)
            process.stdin.flush()
            reply = process.stdout.readline()
        except OSError as exc:  # a dead renderer: broken pipe
            raise LetterRenderError("renderer gone") from exc
        if reply != b"ok\n":
            raise LetterRenderError("renderer failed")
        return path

    def close(self, *, kill: bool = False) -> None:
        with self._lock:
            started = list(self._started)
        for process in started:
            if kill:
                process.kill()
            else:
                with suppress(OSError):
                    process.stdin.close()
        self._executor.shutdown(wait=True, cancel_futures=True)
        for process in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout):
                with suppress(OSError):
                    stream.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(kill=exc_type is not None)


class PdfPartsMerge:
    """Concatenates tagged PDF parts, added in order, into `out` (a binary file) as one
    tagged PDF; memory bounded by one part, whatever the number of parts.

    A streaming merge: `add(part)` reads a part with pypdf, renumbers its objects and writes
    them out at once; only their offsets (the cross-reference table), the pages' and the top
    structure elements' references and the ParentTree's entries are kept. `finish()` writes
    the rebuilt structure tree (one /Document element whose kids are each part's, each
    part's ParentTree keys — pages' /StructParents, links' /StructParent — shifted after the
    previous part's), the catalog, the cross-reference table and the trailer, and returns the
    number of pages. The parts must be written without object streams
    (`uncompressed_pdf`)."""

    CATALOG, PAGES, TREE, DOCUMENT, PARENT_TREE = 1, 2, 3, 4, 5

    def __init__(self, out, *, title: str):
        from pypdf.generic import ArrayObject, IndirectObject

        self._indirect = IndirectObject  # pypdf is loaded by letter runs only
        self._out = out
        self._title = title
        self._offsets: dict[int, int] = {}
        self._written = 0
        self._next_id = 6
        self._parts = 0
        self._page_refs, self._document_kids, self._nums = (ArrayObject(), ArrayObject(),
                                                            ArrayObject())
        self._key_offset, self._metadata_id = 0, None
        self._emit(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _ref(self, number: int):
        return self._indirect(number, 0, None)

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._written += len(data)

    def _emit_object(self, number: int, obj) -> None:
        self._offsets[number] = self._written
        buffer = io.BytesIO()
        obj.write_to_stream(buffer)
        self._emit(b"%d 0 obj\n" % number + buffer.getvalue() + b"\nendobj\n")

    # Outside a stream, in a part's object: a literal string (kept as it is: pydyf escapes
    # parentheses in strings) or an indirect reference « N 0 R » (renumbered).
    _STRING_OR_REFERENCE = re.compile(rb"\((?:\\.|[^\\()])*\)|(?<![\d.])(\d+) 0 R\b")
    _STRUCT_PARENT = re.compile(rb"(/StructParents? )(\d+)")

    def add(self, part: Path) -> None:
        """Append the pages (and structure) of the tagged PDF `part`.

        pypdf reads only the part's top objects (catalog, structure tree root, its
        ParentTree, the pages); every other object is copied as bytes, its references
        renumbered by a regular expression outside its stream (WeasyPrint's writer, pydyf,
        writes « N 0 obj », the dictionary, « stream » and the data, « endobj »): a tenth of
        the time of parsing each of a part's ~60 objects per page with pypdf."""
        from pypdf import PdfReader
        from pypdf.generic import (
            ArrayObject,
            DictionaryObject,
            IndirectObject,
            NullObject,
            NumberObject,
        )

        ref = self._ref
        data = part.read_bytes()
        # strict: no check of every cross-reference entry (a part just written by WeasyPrint;
        # a broken one fails the run).
        reader = PdfReader(io.BytesIO(data), strict=True)
        if reader.xref_objStm:
            raise ValueError("PDF part with object streams: render it uncompressed")
        root = reader.trailer["/Root"]
        tree = root["/StructTreeRoot"]
        pages_number = root.raw_get("/Pages").idnum
        tree_number = root.raw_get("/StructTreeRoot").idnum
        skipped = {root.indirect_reference.idnum, pages_number, tree_number}
        if isinstance(tree.raw_get("/ParentTree"), IndirectObject):
            skipped.add(tree.raw_get("/ParentTree").idnum)
        tops = {top.idnum for top in tree.raw_get("/K") if isinstance(top, IndirectObject)} \
            if isinstance(tree.raw_get("/K"), ArrayObject) else set()
        info = reader.trailer.raw_get("/Info") if "/Info" in reader.trailer else None
        if isinstance(info, IndirectObject):
            skipped.add(info.idnum)
        metadata = root.raw_get("/Metadata") if "/Metadata" in root else None
        if isinstance(metadata, IndirectObject) and self._parts > 0:
            skipped.add(metadata.idnum)
        offsets = {number: offset for generation in reader.xref.values()
                   for number, offset in generation.items()}
        numbers = sorted(offsets)
        renumbered = {document: self.DOCUMENT for document in tops}
        renumbered[pages_number] = self.PAGES  # the pages' /Parent
        renumbered[tree_number] = self.TREE
        for number in numbers:
            if number not in skipped and number not in tops:
                renumbered[number] = self._next_id
                self._next_id += 1

        def copy(obj, renumbered=renumbered):  # the few objects pypdf has read
            if isinstance(obj, IndirectObject):
                return ref(renumbered[obj.idnum]) if obj.idnum in renumbered else NullObject()
            if isinstance(obj, DictionaryObject):
                return DictionaryObject({k: copy(v) for k, v in obj.items()})
            if isinstance(obj, ArrayObject):
                return ArrayObject(copy(v) for v in obj)
            return obj

        def reference(match, renumbered=renumbered) -> bytes:
            if match.group(1) is None:
                return match.group(0)  # a string
            number = renumbered.get(int(match.group(1)))
            return b"null" if number is None else b"%d 0 R" % number

        key_offset = self._key_offset

        def struct_parent(match) -> bytes:
            return match.group(1) + b"%d" % (int(match.group(2)) + key_offset)

        starts = sorted(offsets.values())  # each object ends where the next (or the xref) starts
        xref_at = int(data[data.rindex(b"startxref") + len(b"startxref"):].split()[0])
        end_of = dict(zip(starts, [*starts[1:], xref_at], strict=True))
        for number in numbers:
            if number in skipped or number in tops:
                continue
            start = offsets[number]
            header = b"%d 0 obj\n" % number
            body = data[start:end_of[start]]
            if not body.startswith(header):
                raise ValueError(f"PDF part: object {number} not where its xref says")
            body = body[len(header):body.rindex(b"endobj")].rstrip(b"\n")
            split = body.find(b"\nstream\n")
            head, tail = (body, b"") if split < 0 else (body[:split], body[split:])
            head = self._STRING_OR_REFERENCE.sub(reference, head)
            if key_offset:
                head = self._STRUCT_PARENT.sub(struct_parent, head)
            self._offsets[renumbered[number]] = self._written
            self._emit(b"%d 0 obj\n%s%s\nendobj\n" % (renumbered[number], head, tail))
            if isinstance(metadata, IndirectObject) and number == metadata.idnum:
                self._metadata_id = renumbered[number]
        # The pages' references from the flat page tree pydyf writes (/Kids, as /Count
        # says), without reading the pages; pypdf's walk of the tree otherwise.
        pages = root["/Pages"]
        kids = pages.raw_get("/Kids")
        if not (isinstance(kids, ArrayObject) and len(kids) == pages["/Count"]):
            kids = [page.indirect_reference for page in reader.pages]
        self._page_refs.extend(ref(renumbered[kid.idnum]) for kid in kids)
        for top in tree["/K"]:
            self._document_kids.extend(copy(kid) for kid in top.get_object()["/K"])
        part_nums = tree["/ParentTree"]["/Nums"]
        next_key = 0
        for i in range(0, len(part_nums), 2):
            self._nums.append(NumberObject(part_nums[i] + key_offset))
            self._nums.append(copy(list.__getitem__(part_nums, i + 1)))  # the reference, as is
            next_key = max(next_key, part_nums[i] + 1)
        self._key_offset += next_key
        self._parts += 1

    def finish(self) -> int:
        """Write the document's top objects and cross-reference table; the page count."""
        from pypdf.generic import (
            ArrayObject,
            BooleanObject,
            DictionaryObject,
            NameObject,
            NumberObject,
            TextStringObject,
        )

        ref, emit_object = self._ref, self._emit_object
        emit_object(self.PAGES, DictionaryObject({
            NameObject("/Type"): NameObject("/Pages"), NameObject("/Kids"): self._page_refs,
            NameObject("/Count"): NumberObject(len(self._page_refs))}))
        emit_object(self.DOCUMENT, DictionaryObject({
            NameObject("/Type"): NameObject("/StructElem"),
            NameObject("/S"): NameObject("/Document"), NameObject("/P"): ref(self.TREE),
            NameObject("/K"): self._document_kids}))
        emit_object(self.PARENT_TREE, DictionaryObject({NameObject("/Nums"): self._nums}))
        emit_object(self.TREE, DictionaryObject({
            NameObject("/Type"): NameObject("/StructTreeRoot"),
            NameObject("/K"): ArrayObject([ref(self.DOCUMENT)]),
            NameObject("/ParentTree"): ref(self.PARENT_TREE),
            NameObject("/ParentTreeNextKey"): NumberObject(self._key_offset)}))
        catalog = DictionaryObject({
            NameObject("/Type"): NameObject("/Catalog"), NameObject("/Pages"): ref(self.PAGES),
            NameObject("/StructTreeRoot"): ref(self.TREE),
            NameObject("/MarkInfo"): DictionaryObject(
                {NameObject("/Marked"): BooleanObject(True)}),
            NameObject("/Lang"): TextStringObject("fr"),
            NameObject("/ViewerPreferences"): DictionaryObject(
                {NameObject("/DisplayDocTitle"): BooleanObject(True)})})
        if self._metadata_id is not None:
            catalog[NameObject("/Metadata")] = ref(self._metadata_id)
        emit_object(self.CATALOG, catalog)
        info_id = self._next_id
        emit_object(info_id, DictionaryObject(
            {NameObject("/Title"): TextStringObject(self._title)}))
        size = info_id + 1
        xref_at = self._written
        self._emit(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        self._emit(b"".join(b"%010d 00000 n \n" % self._offsets[number]
                            if number in self._offsets else b"0000000000 65535 f \n"
                            for number in range(1, size)))
        self._emit(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                   % (size, self.CATALOG, info_id, xref_at))
        return len(self._page_refs)


def pdf_parts_merge(parts: Sequence[Path], out, *, title: str) -> int:
    """Concatenate the tagged PDFs `parts` into `out` (a binary file) as one tagged PDF and
    return its number of pages (PdfPartsMerge, one part after the other)."""
    merge = PdfPartsMerge(out, title=title)
    for part in parts:
        merge.add(part)
    return merge.finish()


# --- The back-office's runs -----------------------------------------------------------------


# A run's `pupil_ids` (LetterRun, a JSON list) holds the pupils chosen with their guardians
# (ints), then the accounts chosen one by one from the follow-up page: {"eleve": pk} (a
# pupil's own letter, not its guardians') and {"responsable": pk} (one guardian record's).
# A list still, so that runs made before keep their meaning (no migration).
ALONE_PUPIL_KEY = "eleve"
ALONE_RECORD_KEY = "responsable"


def letter_run_selection(run: LetterRun) -> tuple[list[int], list[int], list[int]]:
    """The choice recorded by `letter_run_request`: (pupil ids with their guardians, pupil
    ids alone, guardian record ids chosen directly)."""
    with_guardians, alone, records = [], [], []
    for entry in run.pupil_ids:
        if isinstance(entry, dict):
            if ALONE_PUPIL_KEY in entry:
                alone.append(int(entry[ALONE_PUPIL_KEY]))
            elif ALONE_RECORD_KEY in entry:
                records.append(int(entry[ALONE_RECORD_KEY]))
        else:
            with_guardians.append(int(entry))
    return with_guardians, alone, records


def _covered_by_another_account(rows) -> bool:
    return any(not _may_get_letter(account_id, state) for account_id, state in rows)


def letter_run_request(*, establishment: Establishment, actor: Account,
                       pupil_ids: Sequence[int] = (), pupil_ids_alone: Sequence[int] = (),
                       guardian_record_ids: Sequence[int] = (),
                       delivery: str = LetterDelivery.PAPER, request=None) -> LetterRun:
    """Record a secretary's request for the letters of `pupil_ids` (pupils of
    `establishment`) and their guardians, of `pupil_ids_alone` (a pupil's own letter only)
    and of `guardian_record_ids` (records of `establishment` chosen directly: one guardian
    account's letter, without the other parent's); the run starts after commit (settings
    LETTERS_RUN_ON_COMMIT) or at Celery beat's next `letter_runs_start`.

    Raises ValidationError: key "pupils" when nothing is chosen or a pupil or record is not
    of this school; key "account" when a pupil or record chosen directly is covered by an
    account that is not provisional (active, locked, closed: it never gets a letter).
    Whether `actor` may act on this school is the caller's check (backoffice).
    """
    chosen = sorted({int(pk) for pk in pupil_ids})
    alone = sorted({int(pk) for pk in pupil_ids_alone} - set(chosen))
    records = sorted({int(pk) for pk in guardian_record_ids})
    if not (chosen or alone or records):
        raise ValidationError({"pupils": _(
            "Élèves : cochez au moins un élève pour faire ses lettres.")})
    pupils = list(Pupil.objects.filter(establishment=establishment, pk__in=chosen + alone)
                  .values_list("pk", "account_id", "account__state"))
    found_records = list(GuardianRecord.objects.filter(establishment=establishment,
                                                       pk__in=records)
                         .values_list("pk", "account_id", "account__state"))
    if len(pupils) != len(chosen) + len(alone) or len(found_records) != len(records):
        raise ValidationError({"pupils": _(
            "Élèves : un élève choisi n'est pas de cet établissement ; rechargez la liste.")})
    alone_set = set(alone)
    if _covered_by_another_account(
            [(account_id, state) for pk, account_id, state in pupils if pk in alone_set]
            + [(account_id, state) for _pk, account_id, state in found_records]):
        raise ValidationError({"account": _(
            "Compte : ce compte n'est pas provisoire (il est actif, verrouillé ou fermé) ; "
            "aucune lettre n'est faite pour lui. La famille se connecte avec son propre mot "
            "de passe, ou le récupère par « Mot de passe oublié ».")})
    if delivery not in LetterDelivery.values:
        raise ValidationError({"delivery": _("Remise : choisissez le PDF ou le mail.")})
    selection = (chosen + [{ALONE_PUPIL_KEY: pk} for pk in alone]
                 + [{ALONE_RECORD_KEY: pk} for pk in records])
    with transaction.atomic():
        run = LetterRun.objects.create(establishment=establishment, requested_by=actor,
                                       pupil_ids=selection, delivery=delivery)
        journal_record(EventKind.LETTER_RUN_REQUESTED, request=request, actor=actor,
                       establishment=establishment.uai, letter_run=run.pk,
                       pupils=len(chosen), pupils_alone=len(alone),
                       guardian_records=len(records), delivery=delivery)
        if settings.LETTERS_RUN_ON_COMMIT:
            from .tasks import letter_run_task

            transaction.on_commit(lambda: letter_run_task.delay(run.pk))
    return run


def _letters_dir() -> Path:
    folder = Path(settings.LETTERS_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _claim(run_id: int) -> LetterRun | None:
    with transaction.atomic():
        run = (LetterRun.objects.select_for_update(skip_locked=True)
               .filter(pk=run_id, status=LetterRunStatus.QUEUED)
               .select_related("establishment", "requested_by").first())
        if run is None:
            return None
        run.status = LetterRunStatus.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    return run


def letter_run_execute(*, run_id: int) -> LetterRun | None:
    """Make the letters of a queued run, LETTERS_CHUNK_SIZE accounts at a time (each chunk:
    one `letters_issue` transaction, then its PDF part, written on disk by a renderer process
    while the next chunk is issued), merging the parts into the run's file as they come
    (in order; at most LETTERS_RENDER_PROCESSES parts in flight, so memory does not grow with
    the school). Updates `done` after each chunk (the progress bar). Returns the run, or
    None when it was not queued (another worker has it). On any error the run is FAILED,
    its partial files deleted, and its accounts already made keep working letters only if
    the secretary asks again (a reissue)."""
    run = _claim(run_id)
    if run is None:
        return None
    establishment = run.establishment
    work = _letters_dir() / f"part-{run.pk}-{secrets.token_hex(8)}"
    work.mkdir(mode=0o700)
    final_name = ""
    stack = ExitStack()
    renderer = None
    try:
        with_guardians, alone, records = letter_run_selection(run)
        addressees = letter_addressees(establishment=establishment, pupil_ids=with_guardians,
                                       pupil_ids_alone=alone, guardian_record_ids=records)
        run.total = addressees.total
        run.records_skipped = addressees.skipped
        run.save(update_fields=["total", "records_skipped"])
        todo = [("pupil", pk) for pk in addressees.pupil_ids] + \
               [("guardian", pk) for pk in addressees.guardian_record_ids]
        size = max(1, settings.LETTERS_CHUNK_SIZE)
        counts = LetterCounts(skipped=addressees.skipped)
        pool = stack.enter_context(PasswordPool())
        renderer = stack.enter_context(PdfPartRenderer())
        rendering: deque[tuple[Future, Path]] = deque()  # parts in flight, in print order
        merge = None
        parts = 0

        def merge_next() -> None:
            nonlocal merge, final_name
            future, part = rendering.popleft()
            future.result()
            if merge is None:
                final_name = f"lettres-{secrets.token_urlsafe(24)}.pdf"
                descriptor = os.open(_letters_dir() / final_name,
                                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                out = stack.enter_context(os.fdopen(descriptor, "wb"))
                merge = PdfPartsMerge(out, title=_(
                    "Lettres ÉduConnect — %(school)s") % {"school": establishment.name})
            merge.add(part)
            part.unlink()

        pool.prefetch(min(size, len(todo)))
        for start in range(0, len(todo), size):
            chunk = todo[start:start + size]
            letters, chunk_counts = letters_issue(
                establishment=establishment, actor=run.requested_by, letter_run=run,
                pupil_ids=[pk for kind, pk in chunk if kind == "pupil"],
                guardian_record_ids=[pk for kind, pk in chunk if kind == "guardian"],
                by_email=run.delivery == LetterDelivery.EMAIL_WHEN_KNOWN, passwords=pool)
            counts.add(chunk_counts)
            pool.prefetch(len(todo[start + size:start + 2 * size]))  # while this one renders
            paper = [letter for letter in letters if not letter.email]
            if paper:
                part = work / f"{parts:05d}.pdf"
                parts += 1
                rendering.append((renderer.submit(
                    letters_html(paper, establishment=establishment), part), part))
            del letters, paper
            # Merge the parts already written; never more parts in flight than renderers
            # (memory: their HTML and pages, whatever the school's size).
            while rendering and (rendering[0][0].done()
                                 or len(rendering) > max(1, renderer.processes)):
                merge_next()
            LetterRun.objects.filter(pk=run.pk).update(
                done=min(run.total, start + len(chunk)), accounts_created=counts.created,
                accounts_reissued=counts.reissued, records_skipped=counts.skipped,
                emails_queued=counts.emailed)
        while rendering:
            merge_next()
        pages = merge.finish() if merge is not None else 0
        stack.close()  # the file written, the renderers gone
        with transaction.atomic():
            LetterRun.objects.filter(pk=run.pk).update(
                status=LetterRunStatus.DONE, finished_at=timezone.now(), done=run.total,
                pages=pages, file_name=final_name,
                file_expires_at=(timezone.now()
                                 + timedelta(seconds=settings.LETTERS_FILE_TTL_SECONDS)
                                 if final_name else None))
            journal_record(EventKind.LETTER_RUN_DONE, actor=run.requested_by,
                           establishment=establishment.uai, letter_run=run.pk,
                           accounts_created=counts.created, reissued=counts.reissued,
                           skipped=counts.skipped, emailed=counts.emailed, pages=pages)
    except Exception:
        # Never the exception's text in the row or the journal: it may quote a template.
        logger.exception("Letter run %s failed", run.pk)
        if renderer is not None:
            renderer.close(kill=True)  # the parts still rendering are of no use
        if final_name:
            (_letters_dir() / final_name).unlink(missing_ok=True)
        LetterRun.objects.filter(pk=run.pk).update(
            status=LetterRunStatus.FAILED, finished_at=timezone.now(), file_name="",
            failure=_("Erreur pendant la production ; demandez les lettres à nouveau."))
        journal_record(EventKind.LETTER_RUN_FAILED, actor=run.requested_by,
                       establishment=establishment.uai, letter_run=run.pk)
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    run.refresh_from_db()
    return run


def letter_runs_start() -> int:
    """Run every queued run (oldest first) and fail the runs « running » for longer than
    LETTERS_RUN_TIMEOUT_SECONDS (a dead worker); returns the number of runs made."""
    stale = timezone.now() - timedelta(seconds=settings.LETTERS_RUN_TIMEOUT_SECONDS)
    LetterRun.objects.filter(status=LetterRunStatus.RUNNING, started_at__lt=stale).update(
        status=LetterRunStatus.FAILED, finished_at=timezone.now(),
        failure=_("Production interrompue ; demandez les lettres à nouveau."))
    made = 0
    for run_id in (LetterRun.objects.filter(status=LetterRunStatus.QUEUED)
                   .order_by("created_at").values_list("pk", flat=True)[:20]):
        if letter_run_execute(run_id=run_id) is not None:
            made += 1
    return made


class LetterFileGone(Exception):
    """The run's file was deleted (expired) or never made."""


def letter_run_file_open(*, run: LetterRun, actor: Account, request=None):
    """The run's PDF, opened for reading, for the secretary who asked for it only
    (PermissionDenied for anyone else, even a national administrator: the file holds
    passwords); LetterFileGone once deleted or past `file_expires_at`. Journaled."""
    if run.requested_by_id != actor.pk:
        raise PermissionDenied
    if not run.file_name or run.file_expires_at is None \
            or run.file_expires_at <= timezone.now():
        raise LetterFileGone
    try:
        handle = open(_letters_dir() / run.file_name, "rb")
    except FileNotFoundError as exc:
        raise LetterFileGone from exc
    journal_record(EventKind.LETTER_FILE_DOWNLOADED, request=request, actor=actor,
                   establishment=run.establishment.uai, letter_run=run.pk)
    return handle


def letter_files_purge(*, now: datetime | None = None) -> int:
    """Delete the files of runs past their `file_expires_at` (and the stray parts of dead
    runs); returns the number of files deleted. Journals LETTER_FILE_DELETED per run."""
    now = now or timezone.now()
    deleted = 0
    for run in (LetterRun.objects.exclude(file_name="").filter(file_expires_at__lte=now)
                .select_related("establishment")):
        (_letters_dir() / run.file_name).unlink(missing_ok=True)
        LetterRun.objects.filter(pk=run.pk).update(file_name="")
        journal_record(EventKind.LETTER_FILE_DELETED, actor=None,
                       establishment=run.establishment.uai, letter_run=run.pk)
        deleted += 1
    live = {name for name in LetterRun.objects.exclude(file_name="")
            .values_list("file_name", flat=True)}
    cutoff = now.timestamp() - settings.LETTERS_RUN_TIMEOUT_SECONDS
    for path in _letters_dir().iterdir():
        if path.name not in live and path.stat().st_mtime < cutoff:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return deleted

