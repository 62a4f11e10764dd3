"""Named reads of the activation domain.

The reads every activation makes at a given step — the matching of step 1, the pupils of
step 3 (three times: the page, the POST's form, the service under the flow's lock) — are
written in SQL once per process from the models' columns (`_matching_sql`,
`_pupil_links_sql`), as `pupils.selectors._children_sql`: the ORM compiled their `EXISTS`
and three-table join in 0.5–1 ms of CPU each, more than PostgreSQL takes to run them
(issue 14). Tests compare each with the ORM query it replaces
(tests/activation/test_selectors_sql.py).
"""

import datetime
import functools
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Exists, F, OuterRef, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from accounts.models import Account, AccountState
from core.journal import EventKind
from core.models import Flow, FlowStatus, JournalEvent
from core.normalization import name_key
from core.sql import model_rows_sql, quoted_column, related_rows_set
from pupils.models import (
    Establishment,
    GuardianRecord,
    Pupil,
    Responsibility,
    ResponsibilityStatus,
)

from .flows import PROVISIONAL_GUARDIAN, SMS_ACTIVATION, ActivationData

# An account in one of these states covers its records: the guardian signs in, or asks the
# helpdesk to unlock, rather than opening a second account. A provisional account (school
# letter not used yet) or a closed one does not stop a self-activation.
COVERING_STATES = (AccountState.ACTIVE, AccountState.LOCKED)

# The links a guardian can activate with: active, and marked « représentant légal » by the
# school (seeds: « L'activation est réservée aux représentants légaux »). A record whose
# links all say « non » matches nothing, exactly like an unknown name and number.
ACTIVATING_LINK = Q(status=ResponsibilityStatus.ACTIVE, is_legal_representative=True)

# « Ajouter un enfant » also offers the links of représentant légal that the guardian
# disputed (« Je ne suis pas le représentant légal de cet élève ») and the school has not
# examined yet: seed 000 names « l'ajout d'un enfant » as the way back from a wrong « non »,
# and the same proofs as the activation (the code sent to the school's number for the
# account's names, the child's birth date) withdraw the guardian's own word. A link the
# school removed stays out of reach (pupils.services.responsibility_dispute_resolve).
ATTACHABLE_LINK = Q(status__in=(ResponsibilityStatus.ACTIVE, ResponsibilityStatus.DISPUTED),
                    is_legal_representative=True)


# The roster's mobile number proves who a guardian record's person is — except when the
# record is covered by an account whose verified number is another one: the guardian
# replaced the roster's number in « Mon compte » (the old number was told « Ce numéro ne
# recevra plus les messages d'ÉduConnect »), and whoever holds it now (a lost phone, a
# number given to someone else) must get no SMS and learn no identifier from it (tryout).
# An account with no verified number (the school's letter, e-mail only) or with the
# roster's own number leaves the proof as it was; once the school writes the new number on
# the record, that one matches. Read in the same query as the rest of the match (a join on
# the record's account), so that such a record costs what a non-match costs.
ROSTER_NUMBER_PROVES = (Q(account__isnull=True) | Q(account__phone_verified=False)
                        | Q(account__phone="") | Q(account__phone=F("mobile_phone")))


@functools.cache
def _matching_sql(db: str) -> str:
    """guardian_records_matching's SELECT, from the models' tables and columns (quoted);
    the values are parameters: number, last name key, first name key, link status."""
    quote = connections[db].ops.quote_name
    record, link, account = GuardianRecord._meta, Responsibility._meta, Account._meta
    col = functools.partial(quoted_column, db=db)

    return (
        f"SELECT g.{col(record, 'id')} FROM {quote(record.db_table)} g "  # noqa: S608
        f"LEFT JOIN {quote(account.db_table)} m "
        f"ON m.{col(account, 'id')} = g.{col(record, 'account')} "
        f"WHERE g.{col(record, 'mobile_phone')} = %s AND g.{col(record, 'last_name_key')} = %s "
        f"AND g.{col(record, 'first_name_key')} = %s "
        # ROSTER_NUMBER_PROVES
        f"AND (m.{col(account, 'id')} IS NULL OR NOT m.{col(account, 'phone_verified')} "
        f"OR m.{col(account, 'phone')} = '' "
        f"OR m.{col(account, 'phone')} = g.{col(record, 'mobile_phone')}) "
        f"AND EXISTS (SELECT 1 FROM {quote(link.db_table)} r "
        f"WHERE r.{col(link, 'guardian_record')} = g.{col(record, 'id')} "
        f"AND r.{col(link, 'status')} = %s AND r.{col(link, 'is_legal_representative')}) "
        f"ORDER BY g.{col(record, 'id')}"
    )


def guardian_records_matching(*, phone: str, last_name: str, first_name: str) -> list[int]:
    """Ids of the guardian records of every establishment with this mobile number (E.164)
    and these names (compared by name_key), that have at least one activating link to a
    pupil (active, legal representative: ACTIVATING_LINK), and for which this number still
    proves the person (ROSTER_NUMBER_PROVES: not a number their own account replaced by
    another verified one).

    One indexed query (mobile_phone), whatever the outcome: a match, a non-match and a
    replaced number cost the same, which step 1 relies on. Its SQL is written once per
    process (`_matching_sql`): the rows of the ORM query
    `GuardianRecord.objects.filter(mobile_phone=…, last_name_key=…, first_name_key=…)
    .filter(ROSTER_NUMBER_PROVES).filter(Exists(activating links)).order_by("pk")`.
    """
    db = router.db_for_read(GuardianRecord)
    connection = connections[db]
    # The number as the ORM sends it (the field's own preparation: E.164 text).
    number = GuardianRecord._meta.get_field("mobile_phone").get_db_prep_value(phone, connection)
    with connection.cursor() as cursor:
        cursor.execute(_matching_sql(db), [number, name_key(last_name), name_key(first_name),
                                           ResponsibilityStatus.ACTIVE.value])
        return [row[0] for row in cursor.fetchall()]


def guardian_records_with_disputed_link(*, phone: str, last_name: str,
                                        first_name: str) -> list[int]:
    """Ids of the guardian records with this mobile number (E.164) and these names (compared
    by name_key, as guardian_records_matching) that have a link of représentant légal the
    guardian disputed (ATTACHABLE_LINK minus ACTIVATING_LINK), by primary key: what
    « Ajouter un enfant » offers besides guardian_records_matching's; as there, not the
    records for which the number no longer proves anything (ROSTER_NUMBER_PROVES). One
    indexed query (mobile_phone), whatever the outcome."""
    disputed = Responsibility.objects.filter(
        guardian_record=OuterRef("pk"), status=ResponsibilityStatus.DISPUTED,
        is_legal_representative=True)
    return list(
        GuardianRecord.objects.filter(mobile_phone=phone, last_name_key=name_key(last_name),
                                      first_name_key=name_key(first_name))
        .filter(ROSTER_NUMBER_PROVES)
        .filter(Exists(disputed)).order_by("pk").values_list("pk", flat=True)
    )


def guardian_records_for_franceconnect(
    *, phone: str, family_name: str, given_name: str, preferred_username: str = ""
) -> list[int]:
    """Ids of the guardian records with this mobile number (E.164) and an activating link,
    for the first link of a FranceConnect identity (the seeds ask for the number only).

    Records of one person (same name keys) are all kept. When the number is shared by
    several people (two guardians on one phone), only the person whose names FranceConnect
    gives is kept: last name = the birth name (`family_name`) or the usage name
    (`preferred_username`), first name = one of `given_name`'s first names; when that does
    not single one person out, nothing matches (the birth dates would not tell them apart).
    Names alone never link anything: the number, its code and the birth dates still do.
    A record whose account replaced this number by another verified one is left out
    (ROSTER_NUMBER_PROVES): its old number would otherwise link a stranger's FranceConnect
    identity to that account. One indexed query (mobile_phone), whatever the outcome.
    """
    active_link = Responsibility.objects.filter(ACTIVATING_LINK, guardian_record=OuterRef("pk"))
    rows = list(
        GuardianRecord.objects.filter(mobile_phone=phone)
        .filter(ROSTER_NUMBER_PROVES)
        .filter(Exists(active_link))
        .order_by("pk")
        .values_list("pk", "last_name_key", "first_name_key")
    )
    people: dict[tuple[str, str], list[int]] = {}
    for pk, last_key, first_key in rows:
        people.setdefault((last_key, first_key), []).append(pk)
    if len(people) <= 1:
        return next(iter(people.values()), [])
    last_keys = {name_key(family_name), name_key(preferred_username)} - {""}
    first_names = [part for part in (given_name or "").split() if part]
    first_keys = {name_key(" ".join(first_names[:n])) for n in range(1, len(first_names) + 1)}
    first_keys |= {name_key(part) for part in first_names}
    named = [ids for (last_key, first_key), ids in people.items()
             if last_key in last_keys and first_key in first_keys]
    return named[0] if len(named) == 1 else []


def activation_flow_just_started(
    *, flow_ids: list[str], phone: str, last_name: str, first_name: str, within_seconds: int
) -> Flow | None:
    """Among this browser's flows, an SMS activation started for the same person and number
    whose last code was made less than `within_seconds` ago and is still awaited: a double
    click on « Suivant », or « Précédent » then « Suivant », lands there instead of sending
    a second SMS."""
    if not flow_ids:
        return None
    since = timezone.now() - datetime.timedelta(seconds=within_seconds)
    candidates = Flow.objects.filter(
        pk__in=flow_ids, kind=SMS_ACTIVATION.name, phone=str(phone), status=FlowStatus.OPEN,
        step="code", codes__created_at__gte=since,
    ).distinct().order_by("-created_at")
    for flow in candidates:
        data = ActivationData.of(flow)
        if (name_key(data.last_name), name_key(data.first_name)) == (
            name_key(last_name), name_key(first_name)
        ) and not flow.is_expired():
            return flow
    return None


@functools.cache
def _covering_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    account, record = Account._meta, GuardianRecord._meta
    col = functools.partial(quoted_column, db=db)

    return (
        f"SELECT {{columns}} FROM {quote(account.db_table)} m "  # noqa: S608
        f"WHERE m.{col(account, 'state')} = ANY(%s) AND EXISTS (SELECT 1 FROM "
        f"{quote(record.db_table)} g WHERE g.{col(record, 'account')} = m.{col(account, 'id')} "
        f"AND g.{col(record, 'id')} = ANY(%s)) ORDER BY m.{col(account, 'id')}"
    )


def accounts_covering(record_ids: list[int]) -> list[Account]:
    """The accounts (active or locked) that already cover some of these records, by primary
    key. Asked at every accepted code: one query, its SQL written once per process
    (core.sql.model_rows_sql), the rows of `Account.objects.filter(guardian_records__pk__in=…,
    state__in=COVERING_STATES).distinct().order_by("pk")`."""
    if not record_ids:
        return []
    db = router.db_for_read(Account)
    if connections[db].vendor != "postgresql":  # `= ANY(array)`: the demo's SQLite has none
        return list(Account.objects.filter(guardian_records__pk__in=record_ids,
                                           state__in=COVERING_STATES).distinct().order_by("pk"))
    return model_rows_sql(Account, sql=_covering_sql(db), params=[
        [str(state) for state in COVERING_STATES], [int(pk) for pk in record_ids]])


def records_uncovered(record_ids: list[int]) -> list[int]:
    """Those of these records (ids, in order) that no active or locked account covers."""
    if not record_ids:
        return []
    return list(
        GuardianRecord.objects.filter(pk__in=record_ids)
        .exclude(account__state__in=COVERING_STATES)
        .order_by("pk").values_list("pk", flat=True)
    )


@functools.cache
def _first_names_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    record = GuardianRecord._meta
    col = functools.partial(quoted_column, record, db=db)

    return (f"SELECT {col('first_name')}, {col('last_name')} "  # noqa: S608
            f"FROM {quote(record.db_table)} WHERE {col('id')} = ANY(%s) "
            f"ORDER BY {col('id')} LIMIT 1")


def guardian_record_names(record_ids: list[int]) -> tuple[str, str] | None:
    """(first name, last name) as the school wrote them on the first of these records by
    primary key, or None when none exists. Asked at every GET and POST of the password
    step: one query, its SQL written once per process (`_first_names_sql`), where the ORM's
    `filter(pk__in=…).order_by("pk").only(…).first()` cost about a millisecond of CPU."""
    if not record_ids:
        return None
    db = router.db_for_read(GuardianRecord)
    if connections[db].vendor != "postgresql":  # `= ANY(array)`: the demo's SQLite has none
        return (GuardianRecord.objects.filter(pk__in=record_ids).order_by("pk")
                .values_list("first_name", "last_name").first())
    with connections[db].cursor() as cursor:
        cursor.execute(_first_names_sql(db), [[int(pk) for pk in record_ids]])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


@functools.cache
def _records_lock_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    record = GuardianRecord._meta
    col = functools.partial(quoted_column, record, db=db)

    return (f"SELECT {{columns}} FROM {quote(record.db_table)} m "  # noqa: S608
            f"WHERE m.{col('id')} = ANY(%s) ORDER BY m.{col('id')} FOR UPDATE")


def guardian_records_locked(record_ids: list[int]) -> list[GuardianRecord]:
    """The guardian records `record_ids` by primary key, locked until the end of the
    caller's transaction (FOR UPDATE: the records only, not their accounts), each with its
    `account` loaded: the rows of `GuardianRecord.objects.select_for_update(of=("self",))
    .filter(pk__in=…).select_related("account").order_by("pk")`. Step 4 of the SMS
    activation (activation.services.activation_account_create): on PostgreSQL one query
    whose SQL is written once per process, where the ORM's compiling cost about a
    millisecond of CPU (issue 14); the accounts, when some record has one (already active,
    or a school letter's), by a second query (core.sql.related_rows_set)."""
    if not record_ids:
        return []
    db = router.db_for_write(GuardianRecord)
    if connections[db].vendor != "postgresql":  # `= ANY(array)`: the demo's SQLite has none
        return list(GuardianRecord.objects.select_for_update(of=("self",))
                    .filter(pk__in=record_ids).select_related("account").order_by("pk"))
    if connections[db].get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a "
                                         "transaction.")
    records = model_rows_sql(GuardianRecord, sql=_records_lock_sql(db),
                             params=[[int(pk) for pk in record_ids]])
    related_rows_set(records, "account")  # no query when no record has an account
    return records


@dataclass(frozen=True)
class PupilLink:
    """A pupil shown at step 3, with the links (responsibilities) that make it the guardian's."""

    pupil: Pupil
    responsibility_ids: tuple[int, ...]
    record_ids: tuple[int, ...]

    @property
    def first_name(self) -> str:
        return self.pupil.first_name

    @property
    def establishment_name(self) -> str:
        return self.pupil.establishment.name


@functools.cache
def _pupil_links_sql(db: str) -> tuple[str, list[str], list[str]]:
    """pupil_links_for_records' SELECT: (sql, pupil attnames, establishment attnames). Each
    row is the link's id and record id, then every pupil column, then every establishment
    column; the values are parameters: the record ids (an array), the link status."""
    quote = connections[db].ops.quote_name
    link, pupil, school = Responsibility._meta, Pupil._meta, Establishment._meta
    col = functools.partial(quoted_column, db=db)

    columns = [f"r.{col(link, 'id')}", f"r.{col(link, 'guardian_record')}"]
    columns += [f"p.{quote(f.column)}" for f in pupil.concrete_fields]
    columns += [f"e.{quote(f.column)}" for f in school.concrete_fields]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(link.db_table)} r "  # noqa: S608
        f"JOIN {quote(pupil.db_table)} p ON p.{col(pupil, 'id')} = r.{col(link, 'pupil')} "
        f"JOIN {quote(school.db_table)} e "
        f"ON e.{col(school, 'id')} = p.{col(pupil, 'establishment')} "
        f"WHERE r.{col(link, 'guardian_record')} = ANY(%s) AND r.{col(link, 'status')} = %s "
        f"AND r.{col(link, 'is_legal_representative')} "
        f"ORDER BY e.{col(school, 'name')} ASC, p.{col(pupil, 'birth_date')} ASC, "
        f"r.{col(link, 'pupil')} ASC, r.{col(link, 'id')} ASC"
    )
    return (sql, [f.attname for f in pupil.concrete_fields],
            [f.attname for f in school.concrete_fields])


def pupil_links_for_records(record_ids: list[int], *,
                            with_disputed: bool = False) -> list[PupilLink]:
    """The pupils linked to these records by an activating link (ACTIVATING_LINK), once
    each, in a stable order (school name, birth date, pupil, link), each pupil with its
    establishment. With `with_disputed` (« Ajouter un enfant »), by an ATTACHABLE_LINK:
    the links the guardian disputed too (by the ORM's query: a rare path).

    A pupil linked through two records (a duplicate in one school) is shown once and its
    answer applies to both links. One query, its SQL written once per process
    (`_pupil_links_sql`): the rows of `Responsibility.objects.filter(ACTIVATING_LINK,
    guardian_record_id__in=…).select_related("pupil__establishment").order_by(…)`.
    """
    if not record_ids:
        return []
    if with_disputed:
        return _pupil_links_by_orm(record_ids, links=ATTACHABLE_LINK)
    db = router.db_for_read(Responsibility)
    if connections[db].vendor != "postgresql":
        # `= ANY(array)` and rows without the ORM's converters (SQLite returns dates as
        # text): the demo's SQLite takes the ORM's query.
        return _pupil_links_by_orm(record_ids)
    sql, pupil_fields, school_fields = _pupil_links_sql(db)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [[int(pk) for pk in record_ids],
                             ResponsibilityStatus.ACTIVE.value])
        rows = cursor.fetchall()
    split = 2 + len(pupil_fields)
    pupil_pk = 2 + pupil_fields.index(Pupil._meta.pk.attname)
    grouped: dict[int, tuple[Pupil, list[int], set[int]]] = {}
    for row in rows:
        link_id, record_id = row[0], row[1]
        entry = grouped.get(row[pupil_pk])
        if entry is None:
            pupil = Pupil.from_db(db, pupil_fields, row[2:split])
            pupil.establishment = Establishment.from_db(db, school_fields, row[split:])
            entry = grouped[pupil.pk] = (pupil, [], set())
        entry[1].append(link_id)
        entry[2].add(record_id)
    return [
        PupilLink(pupil=pupil, responsibility_ids=tuple(link_ids),
                  record_ids=tuple(sorted(record_ids_)))
        for pupil, link_ids, record_ids_ in grouped.values()
    ]


def _pupil_links_by_orm(record_ids: list[int], *, links: Q = ACTIVATING_LINK) -> list[PupilLink]:
    """pupil_links_for_records by the ORM (on a database other than PostgreSQL, or with
    the disputed links: `links`)."""
    grouped: dict[int, tuple[Pupil, list[int], set[int]]] = {}
    links = (Responsibility.objects.filter(links, guardian_record_id__in=record_ids)
             .select_related("pupil__establishment")
             .order_by("pupil__establishment__name", "pupil__birth_date", "pupil", "pk"))
    for link in links:
        entry = grouped.setdefault(link.pupil_id, (link.pupil, [], set()))
        entry[1].append(link.pk)
        entry[2].add(link.guardian_record_id)
    return [
        PupilLink(pupil=pupil, responsibility_ids=tuple(link_ids),
                  record_ids=tuple(sorted(record_ids_)))
        for pupil, link_ids, record_ids_ in grouped.values()
    ]


# --- The address typed in a school letter's first sign-in, not validated yet ---------------


def letter_email_pending(account: Account) -> str:
    """The address the guardian of a PROVISIONAL `account` typed in its first sign-in with
    the school letter (the newest flow's `data["email"]`), not validated yet: it becomes the
    account's only when the e-mail's link is followed (provisional.services.
    provisional_email_validate). "" when there is none, or the account is not provisional.
    One query (the flows' account foreign key index)."""
    if account.state != AccountState.PROVISIONAL:
        return ""
    data = (Flow.objects.filter(account=account, kind=PROVISIONAL_GUARDIAN.name)
            .order_by("-created_at").values_list("data", flat=True).first())
    return data.get("email", "") if isinstance(data, dict) else ""


def letter_accounts_with_pending_email(email: str):
    """The ids of the PROVISIONAL accounts whose first sign-in flows hold `email` (already
    lowercased: the form and the helpdesk's search both lowercase) as the address typed, not
    validated yet — a subquery for the helpdesk's search (index flow_data_email)."""
    # Compared as text through a Cast: on SQLite (the demo) Django's `exact` on a JSON key
    # reads the right-hand side as JSON (JSON_EXTRACT('a@b.fr', '$'): « malformed JSON »,
    # found by a tryout as a 500 on every search by address). On PostgreSQL a text value
    # cast to text is the same expression, `data ->> 'email'`, which the index holds.
    return (Flow.objects.alias(_typed_email=Cast(KeyTextTransform("email", "data"),
                                                 output_field=TextField()))
            .filter(data__has_key="email", _typed_email=email, kind=PROVISIONAL_GUARDIAN.name,
                    account__state=AccountState.PROVISIONAL)
            .order_by().values("account_id"))


def pupils_left_out(*, flow_id) -> list[Pupil]:
    """The pupils whose link flow `flow_id` disputed (« Je ne suis pas le représentant légal
    de cet élève », ACTIVATION_LINK_DISPUTED journaled with the flow's id: at the account's
    creation for an SMS activation, at the answer for an attach) and that are still
    « Contesté par le responsable »: not in the account, waiting for the school's
    examination (pupils.services.responsibility_dispute_resolve). A link the school already
    examined, or that « Ajouter un enfant » set back « Actif », is not among them. Each pupil
    once, with its establishment, by first names. For the activation's last page."""
    link_ids = [
        int(value) for value in JournalEvent.objects.filter(
            kind=EventKind.ACTIVATION_LINK_DISPUTED, flow_id=flow_id,
        ).values_list("data__responsibility_id", flat=True) if value is not None
    ]
    if not link_ids:
        return []
    pupil_ids = Responsibility.objects.filter(
        pk__in=link_ids, status=ResponsibilityStatus.DISPUTED).values("pupil_id")
    return list(Pupil.objects.filter(pk__in=pupil_ids).select_related("establishment")
                .order_by("first_names", "pk"))
