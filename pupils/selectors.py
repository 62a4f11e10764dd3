"""Named reads of the pupils domain."""

import functools

from django.db import connection, connections, router
from django.db.models import CharField, Count, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from .models import (
    Establishment,
    FrenchCollation,
    GuardianRecord,
    Pupil,
    Responsibility,
    ResponsibilityStatus,
)


class NameKey(Func):
    """educonnect_name_key(column): the SQL twin of core.normalization.name_key().

    Created in PostgreSQL by pupils/migrations/0002 and 0007 (and indexed with pg_trgm);
    registered as a Python function on SQLite connections by pupils.apps.
    """

    function = "educonnect_name_key"
    output_field = CharField()


class NameOrder(FrenchCollation):
    """A name column as French readers sort it, case and accents aside (« de La Fontaine »
    among the D, « Émile » among the E), for ORDER BY: on PostgreSQL the column under ICU's
    French collation (`column COLLATE "fr-x-icu"`, pupils.models.FrenchCollation: PostgreSQL
    built with ICU, as Debian's and the official image are); elsewhere (the demo's SQLite,
    which has no such collation) educonnect_name_key(column), registered by pupils.apps.

    Cost of sorting 3,000 pupils (bench names, accented): 3.9 ms with the collation, 93 ms
    with educonnect_name_key() (about 20 µs a call on an accented name), 0.9 ms in byte
    order. A list over more rows than one school's must not sort at all: Pupil's indexes
    pupil_name_fr_idx and pupil_estab_name_fr_idx hold the same expressions, in this order,
    and PostgreSQL walks them for the first rows."""

    output_field = CharField()

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            return NameKey(*self.get_source_expressions()).as_sql(compiler, connection)
        return super().as_sql(compiler, connection, **extra_context)


# Pupils in name order, for every staff list (a school's, an academy's, the country's), read
# from the indexes on (establishment_id, last_name, first_names, id) and (last_name,
# first_names, id) under the collation (pupils 0014). At 1,000,000 pupils, PostgreSQL walks
# pupil_name_fr_idx for the national first page instead of sorting the table; an academy's
# first page walks it too, skipping the other academies' pupils (bench/README.md,
# « Back-office »). On SQLite, a sort by educonnect_name_key() of the rows (the demo's few).
PUPIL_NAME_ORDER = (NameOrder(F("last_name")), NameOrder(F("first_names")), "pk")
# The same order for a list of a few schools' pupils (a secretary's), on an expression no
# index holds (the names lower-cased, which ICU's order at the levels that count ignores; two
# names that differ by case only go by first names, then id): PostgreSQL then sorts the
# schools' rows, found by pupil_estab_name_fr_idx (2.8 ms for two schools of 1,000,000
# pupils), where with PUPIL_NAME_ORDER its costs see as cheap a walk of pupil_name_fr_idx
# that skips the other schools' pupils (46 ms there, 74,000 rows read for 51; the more pupils
# in the country, the longer).
PUPIL_SCHOOLS_NAME_ORDER = (NameOrder(Lower(F("last_name"))),
                            NameOrder(Lower(F("first_names"))), "pk")
# Guardian records in name order, on their stored, indexed keys (GuardianRecord
# .last_name_key, .first_name_key; index guardian_school_namekey_idx for one school's).
RECORD_NAME_ORDER = ("last_name_key", "first_name_key", "pk")


@functools.cache
def _children_sql() -> tuple[str, int, list[str], list[str]]:
    """The SQL of pupils_of_guardian_account, written once per process from the models'
    columns (so a new column is read without touching it): (sql, number of pupil columns,
    pupil attnames, establishment attnames)."""
    quote = connection.ops.quote_name
    pupil_fields = [f.attname for f in Pupil._meta.concrete_fields]
    school_fields = [f.attname for f in Establishment._meta.concrete_fields]
    columns = [f"p.{quote(f.column)}" for f in Pupil._meta.concrete_fields] + [
        f"e.{quote(f.column)}" for f in Establishment._meta.concrete_fields
    ]
    # Identifiers from the models' metadata, quoted; the values are parameters.
    sql = (
        f"SELECT {', '.join(columns)} "  # noqa: S608
        f"FROM {quote(Pupil._meta.db_table)} p "
        f"JOIN {quote(Establishment._meta.db_table)} e ON e.id = p.establishment_id "
        f"WHERE EXISTS (SELECT 1 FROM {quote(Responsibility._meta.db_table)} r "
        f"JOIN {quote(GuardianRecord._meta.db_table)} g ON g.id = r.guardian_record_id "
        "WHERE r.pupil_id = p.id AND g.account_id = %s AND r.status = %s "
        f"AND r.{quote(Responsibility._meta.get_field('is_legal_representative').column)}) "
        "ORDER BY p.last_name, p.first_names, p.id"
    )
    return sql, len(pupil_fields), pupil_fields, school_fields


def pupils_of_guardian_account(account) -> list[Pupil]:
    """The children an account sees: pupils linked by an ACTIVE responsibility of
    représentant légal to one of the guardian records the account covers, whatever their
    school, each once, with their establishment (already loaded) — one query whatever the
    number of children, ordered by last name, first names, id.

    Only a représentant légal reaches a child (seeds 000–004: « pour avoir accès aux services
    concernant les élèves … vous devez confirmer que vous êtes bien représentant(e)
    légal(e) »), as activation, letters and the school's follow-up already count: a link the
    school's import or back-office turns to « représentant légal : non » takes the child
    out of « Mes services », « Mes enfants », the SSO claims and a merge, until it is turned
    back.

    EXISTS rather than a join: a child known by two of the account's records (two schools
    that both list the same guardian) appears once without a DISTINCT. It runs from the
    account's records (index on GuardianRecord.account) through the (record, pupil) unique
    index of Responsibility to the pupils' primary keys.

    Written in SQL once per process (`_children_sql`) rather than built by the ORM at each
    call: compiling the ORM's correlated EXISTS cost about 1 ms of CPU per « Mes services »,
    six times what PostgreSQL takes to run it (issue 14). Same rows as the ORM query
    `Pupil.objects.filter(Exists(active legal links of the account)).select_related(
    "establishment")`, which tests/services_portal compares it with.
    """
    sql, split, pupil_fields, school_fields = _children_sql()
    db = router.db_for_read(Pupil)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [account.pk, ResponsibilityStatus.ACTIVE.value])
        rows = cursor.fetchall()
    pupils = []
    for row in rows:
        pupil = Pupil.from_db(db, pupil_fields, row[:split])
        pupil.establishment = Establishment.from_db(db, school_fields, row[split:])
        pupils.append(pupil)
    return pupils


def pupil_of_account(account) -> Pupil | None:
    """The pupil record behind a pupil account, with their establishment."""
    return Pupil.objects.select_related("establishment").filter(account=account).first()


def guardian_roster_email(account) -> str:
    """The e-mail address the schools' rosters hold for the guardian `account` (the records
    it covers; the most recently created one that has an address), "" when none has one:
    what the first sign-in with a letter offers, still editable. One indexed query."""
    return (GuardianRecord.objects.filter(account=account).exclude(email="")
            .order_by("-pk").values_list("email", flat=True).first() or "")


def guardian_numbers_of_pupils(pupil_ids) -> set[str]:
    """E.164 mobile numbers of the guardian records linked to these pupils (any link
    status). One query on Responsibility(pupil) then GuardianRecord's primary key."""
    return {
        str(number) for number in GuardianRecord.objects.filter(
            responsibilities__pupil_id__in=list(pupil_ids)
        ).exclude(mobile_phone="").values_list("mobile_phone", flat=True)
    }


# --- Follow-up of accounts for schools (issue 9 §4) ----------------------------------------

# The states a pupil or a guardian record is in, as the follow-up counts and filters them.
FOLLOW_STATES = ("active", "provisional", "expired", "none", "other")


def _states(prefix: str, now) -> dict[str, Q]:
    # `prefix` is "account__" or "guardian_record__account__".
    base = prefix[:-2]
    provisional = Q(**{f"{prefix}state": "provisional"})
    live = Q(**{f"{prefix}provisional_expires_at__isnull": True}) | Q(
        **{f"{prefix}provisional_expires_at__gt": now})
    return {
        "active": Q(**{f"{prefix}state": "active"}),
        "provisional": provisional & live,
        "expired": provisional & ~live,
        "none": Q(**{f"{base}__isnull": True}),
        "other": Q(**{f"{prefix}state__in": ("locked", "closed")}),
    }


def follow_up_counts(*, establishment, now=None) -> list[dict]:
    """Per level of `establishment`: pupils and guardian records (legal representatives,
    ACTIVE link, counted once per level) by state of their account — active, provisional
    (letter issued, not activated), expired (its provisional password no longer signs in),
    none, other (locked or closed). Two grouped queries on one school's rows (indexes on
    Pupil(establishment, …) and Responsibility(pupil, status)): the cost is the school's
    size, never the table's.

    Returns [{"level": "6EME", "pupils": {state: n}, "guardians": {state: n}}] by level.
    """
    now = now or timezone.now()
    rows: dict[str, dict] = {}
    pupil_states = _states("account__", now)
    pupils = (Pupil.objects.filter(establishment=establishment).values("level")
              .annotate(**{state: Count("pk", filter=q) for state, q in pupil_states.items()}))
    for row in pupils:
        rows.setdefault(row["level"], {"level": row["level"], "pupils": {}, "guardians": {}})
        rows[row["level"]]["pupils"] = {state: row[state] for state in FOLLOW_STATES}
    record_states = _states("guardian_record__account__", now)
    guardians = (Responsibility.objects.filter(
        pupil__establishment=establishment, status=ResponsibilityStatus.ACTIVE,
        is_legal_representative=True).values("pupil__level")
        .annotate(**{state: Count("guardian_record", filter=q, distinct=True)
                     for state, q in record_states.items()}))
    for row in guardians:
        level = row["pupil__level"]
        rows.setdefault(level, {"level": level, "pupils": {}, "guardians": {}})
        rows[level]["guardians"] = {state: row[state] for state in FOLLOW_STATES}
    for row in rows.values():
        for side in ("pupils", "guardians"):
            row[side] = {state: row[side].get(state, 0) for state in FOLLOW_STATES}
    return [rows[level] for level in sorted(rows)]


def establishment_divisions(*, establishment) -> list[str]:
    """The classes (Pupil.division, non-blank) of `establishment`'s pupils, sorted: what a
    secretary chooses letters by. One query on the school's rows (index on
    Pupil(establishment, …))."""
    return list(Pupil.objects.filter(establishment=establishment).exclude(division="")
                .order_by("division").values_list("division", flat=True).distinct())


def follow_up_pupils(*, establishment, level: str | None = None, state: str | None = None,
                     division: str | None = None, now=None) -> QuerySet[Pupil]:
    """The pupils of `establishment` (of `level`, of class `division`, in `state` of
    FOLLOW_STATES) with their account, by name."""
    now = now or timezone.now()
    pupils = Pupil.objects.filter(establishment=establishment)
    if level is not None:
        pupils = pupils.filter(level=level)
    if division is not None:
        pupils = pupils.filter(division=division)
    if state in FOLLOW_STATES:
        pupils = pupils.filter(_states("account__", now)[state])
    return pupils.select_related("account").order_by("level", *PUPIL_NAME_ORDER)


def follow_up_guardians(*, establishment, level: str | None = None, state: str | None = None,
                        division: str | None = None, now=None) -> QuerySet[GuardianRecord]:
    """The guardian records of `establishment` that are legal representatives (ACTIVE link)
    of a pupil of the school (of `level`, of class `division`), in `state`, with their
    account, by name."""
    now = now or timezone.now()
    links = Responsibility.objects.filter(
        guardian_record=OuterRef("pk"), status=ResponsibilityStatus.ACTIVE,
        is_legal_representative=True, pupil__establishment=establishment)
    if level is not None:
        links = links.filter(pupil__level=level)
    if division is not None:
        links = links.filter(pupil__division=division)
    records = GuardianRecord.objects.filter(Exists(links), establishment=establishment)
    if state in FOLLOW_STATES:
        records = records.filter(_states("account__", now)[state])
    return records.select_related("account").order_by(*RECORD_NAME_ORDER)


def guardian_records_levels(*, establishment, record_ids: list[int]) -> dict[int, list[str]]:
    """{record id: the levels of the pupils of `establishment` it is the legal
    representative of (ACTIVE link), sorted, without repeats} for the follow-up's « Niveau »
    column of guardians; one query on the links' index by record. A record without such a
    pupil is absent."""
    levels: dict[int, set[str]] = {}
    rows = Responsibility.objects.filter(
        guardian_record_id__in=record_ids, status=ResponsibilityStatus.ACTIVE,
        is_legal_representative=True, pupil__establishment=establishment,
    ).values_list("guardian_record_id", "pupil__level").distinct()
    for record_id, level in rows:
        levels.setdefault(record_id, set()).add(level)
    return {record_id: sorted(found) for record_id, found in levels.items()}


def follow_up_state(account, now=None) -> str:
    """The follow-up state (FOLLOW_STATES) of a pupil's or record's account (or None)."""
    if account is None:
        return "none"
    if account.state == "active":
        return "active"
    if account.state == "provisional":
        now = now or timezone.now()
        expires = account.provisional_expires_at
        return "provisional" if expires is None or expires > now else "expired"
    return "other"
