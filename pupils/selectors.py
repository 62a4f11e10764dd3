"""Named reads of the pupils domain."""

import functools

from django.db import connection, connections, router

from .models import Establishment, GuardianRecord, Pupil, Responsibility, ResponsibilityStatus


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
        "WHERE r.pupil_id = p.id AND g.account_id = %s AND r.status = %s) "
        "ORDER BY p.last_name, p.first_names, p.id"
    )
    return sql, len(pupil_fields), pupil_fields, school_fields


def pupils_of_guardian_account(account) -> list[Pupil]:
    """The children an account sees: pupils linked by an ACTIVE responsibility to one of the
    guardian records the account covers, whatever their school, each once, with their
    establishment (already loaded) — one query whatever the number of children, ordered by
    last name, first names, id.

    EXISTS rather than a join: a child known by two of the account's records (two schools
    that both list the same guardian) appears once without a DISTINCT. It runs from the
    account's records (index on GuardianRecord.account) through the (record, pupil) unique
    index of Responsibility to the pupils' primary keys.

    Written in SQL once per process (`_children_sql`) rather than built by the ORM at each
    call: compiling the ORM's correlated EXISTS cost about 1 ms of CPU per « Mes services »,
    six times what PostgreSQL takes to run it (issue 14). Same rows as the ORM query
    `Pupil.objects.filter(Exists(active links of the account)).select_related(
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


def guardian_numbers_of_pupils(pupil_ids) -> set[str]:
    """E.164 mobile numbers of the guardian records linked to these pupils (any link
    status). One query on Responsibility(pupil) then GuardianRecord's primary key."""
    return {
        str(number) for number in GuardianRecord.objects.filter(
            responsibilities__pupil_id__in=list(pupil_ids)
        ).exclude(mobile_phone="").values_list("mobile_phone", flat=True)
    }
