"""Issue 14: the helpdesk's search by name, for an agent of one academy, reads the records of
that academy only — checked on the plan PostgreSQL runs (EXPLAIN ANALYZE), not on timings.

Two academies: the agent's, with a few « Martin » among its records, and another with many
more. Whatever the planner picks, the rows it reads from the guardian records (index entries
returned, rows fetched, rows dropped by a filter or a recheck) must not exceed the agent's
academy's own matches: a plan that walked the other academy's « Martin » (the national
trigram index, then a filter on the academy) fails. Sequential scans are turned off, as in
test_postgres_indexes.py: on near-empty tables the planner would otherwise read them whole.
"""

import pytest
from django.db import connection

from backoffice.selectors import (
    RECORD_ORDER,
    StaffScope,
    guardian_records_matching,
    search_query_parse,
    unlinked_records_in_scope,
)
from pupils.models import GuardianRecord
from tests.factories import AcademyFactory, AccountFactory, EstablishmentFactory

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

OWN_MARTINS = 6


def _load(academy, schools: int, records: int, martins_every: int) -> list[int]:
    ids = [EstablishmentFactory(academy=academy).pk for _ in range(schools)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pupils_guardianrecord (establishment_id, civility, last_name,
                first_name, last_name_key, first_name_key, mobile_phone, email, account_id)
            SELECT (%(ids)s::bigint[])[1 + i %% %(n)s], 'Mme',
                   CASE WHEN i %% %(every)s = 0 THEN 'Martin' ELSE 'Durand' || i END,
                   'Anne', CASE WHEN i %% %(every)s = 0 THEN 'martin' ELSE 'durand' || i END,
                   'anne', '', '', NULL
            FROM generate_series(1, %(records)s) AS i
            """,
            {"ids": ids, "n": len(ids), "every": martins_every, "records": records},
        )
    return ids


def _touched(node: dict, counts: list) -> None:
    """Rows each node read from the guardian records: returned (per loop), filtered out,
    rechecked out."""
    if node.get("Relation Name") == "pupils_guardianrecord" or "guardian" in node.get(
        "Index Name", ""
    ):
        loops = node.get("Actual Loops", 1)
        counts.append((node["Node Type"], node.get("Index Name", ""),
                       node.get("Actual Rows", 0) * loops
                       + node.get("Rows Removed by Filter", 0)
                       + node.get("Rows Removed by Index Recheck", 0)))
    for child in node.get("Plans", []):
        _touched(child, counts)


def test_an_academy_agent_s_name_search_reads_none_of_another_academy_s_records():
    own, other = AcademyFactory(), AcademyFactory()
    _load(own, schools=4, records=OWN_MARTINS * 10, martins_every=10)
    _load(other, schools=40, records=4000, martins_every=4)  # 1,000 « Martin » elsewhere
    # An activated namesake in the agent's academy: covered by an account, not listed here.
    covered = GuardianRecord.objects.filter(establishment__academy=own, last_name="Martin")
    covered.filter(pk=covered.order_by("pk").values("pk")[:1]).update(account=AccountFactory())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pupils_guardianrecord")

    scope = StaffScope(academy_id=own.pk)
    queryset = guardian_records_matching(unlinked_records_in_scope(scope),
                                         search_query_parse("martin")).order_by(*RECORD_ORDER)
    found = list(queryset[:51])
    assert len(found) == OWN_MARTINS - 1
    assert {r.establishment.academy_id for r in found} == {own.pk}

    sql, params = queryset[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        import json

        plan = json.loads(plan)
    counts: list = []
    _touched(plan[0]["Plan"], counts)
    assert counts, plan
    # The agent's own « Martin » (activated one included: the index is read before the
    # account filter only if the plan is not the partial index's) and nothing more.
    assert all(rows <= OWN_MARTINS for _kind, _index, rows in counts), counts
