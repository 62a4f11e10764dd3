"""Helpdesk search by name, for an agent of one academy: 30 academies, 3,000 schools and
`--records` guardian records (default 1,000,000), none covered by an account yet (every
record is a candidate of the helpdesk's list: the worst case) — issue 14.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_bench \\
        python bench/bench_helpdesk_search.py [--records 1000000] [--runs 30] [--reset]

Loads the records if the table is empty (`--reset`: again) with bench_backoffice's surnames
and first names (same frequencies: « Martin » is one name in 200), the name keys computed in
Python once per distinct name, the trigram indexes dropped during the load and built after
it (much faster than maintaining them row by row); then times, interleaved in the same run,
for the most frequent names:

- the unlinked guardian records of the academy matching the name, as `helpdesk_search`
  queries them (a join on the academy);
- the whole `helpdesk_search` (accounts and records);

and prints p50 / p95 / worst in ms, with the guardian rows the records' plan read (EXPLAIN
ANALYZE): the agent of the academy holding most of the name's records is measured.
Not a test; run it alone and say what else ran.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

import bench_backoffice
from django.db import connection

from backoffice.selectors import (
    RECORD_ORDER,
    StaffScope,
    guardian_records_matching,
    helpdesk_search,
    search_query_parse,
)
from pupils.models import GuardianRecord

NAMES = ["martin", "bernard", "petit", "dupont", "ly"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def rows_read(queryset) -> int:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    total = 0

    def walk(node):
        nonlocal total
        if "guardian" in node.get("Index Name", "") or (
                node.get("Relation Name") == "pupils_guardianrecord"):
            total += node.get("Actual Rows", 0) * node.get("Actual Loops", 1) + node.get(
                "Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return total


def load(records: int) -> None:
    """Academies, schools and `records` unlinked guardian records, in three INSERT…SELECT."""
    from core.normalization import name_key
    # The trigram index as pupils 0002 creates it.

    surnames, firsts = bench_backoffice.SURNAMES, bench_backoffice.FIRST_NAMES
    indexes = {
        "guardian_last_name_key_trgm": "CREATE INDEX guardian_last_name_key_trgm ON "
        "pupils_guardianrecord USING gin (last_name_key gin_trgm_ops)",
    }
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE pupils_responsibility, pupils_guardianrecord, pupils_pupil, "
                       "pupils_establishment, pupils_academy, "
                       "pupils_historicalguardianrecord RESTART IDENTITY CASCADE")
        for name in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute(f"""INSERT INTO pupils_academy (id, name)
            SELECT i, 'Académie ' || i FROM generate_series(1, {bench_backoffice.ACADEMIES}) i""")
        cursor.execute(f"""INSERT INTO pupils_establishment (id, uai, name, kind, academy_id,
                ent_url)
            SELECT i, lpad(i::text, 7, '0') || 'A', 'Collège ' || i, 'college',
                   1 + i % {bench_backoffice.ACADEMIES}, ''
            FROM generate_series(1, {bench_backoffice.ESTABLISHMENTS}) i""")
        cursor.execute(
            """INSERT INTO pupils_guardianrecord (id, establishment_id, civility, last_name,
                first_name, last_name_key, first_name_key, mobile_phone, email, account_id)
            SELECT i, 1 + i %% %(ne)s, 'Mme', (%(s)s::text[])[1 + (i::bigint * 7919) %% %(ns)s],
                   (%(f)s::text[])[1 + (i * 13) %% %(nf)s],
                   (%(sk)s::text[])[1 + (i::bigint * 7919) %% %(ns)s],
                   (%(fk)s::text[])[1 + (i * 13) %% %(nf)s],
                   '+337' || lpad(i::text, 8, '0'), '', NULL
            FROM generate_series(1, %(n)s) i""",
            {"ne": bench_backoffice.ESTABLISHMENTS, "s": surnames, "ns": len(surnames),
             "f": firsts, "nf": len(firsts), "sk": [name_key(n) for n in surnames],
             "fk": [name_key(n) for n in firsts], "n": records})
        loaded = time.monotonic()
        for sql in indexes.values():
            cursor.execute(sql)
        cursor.execute("SELECT setval(pg_get_serial_sequence('pupils_guardianrecord', 'id'), "
                       "%s)", [records + 1000])
        cursor.execute("ANALYZE")
    print(f"Loaded {records:,} records in {loaded - started:.0f} s, indexes built in "
          f"{time.monotonic() - loaded:.0f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--reset", action="store_true")
    args = parser.parse_args()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pupils_guardianrecord")
        total = cursor.fetchone()[0]
    if args.reset or not total:
        load(args.records)
        total = args.records
    print(f"{total:,} guardian records; {args.runs} runs each, interleaved; ms")
    for name in NAMES:
        query = search_query_parse(name)
        academy = busiest_academy(query)
        scope = StaffScope(academy_id=academy)
        works = {
            "records of the academy (the helpdesk's list)":
                lambda q=query, s=scope: list(records(s, q)),
            "helpdesk_search (accounts + records)":
                lambda q=query, s=scope: helpdesk_search(query=q, scope=s),
        }
        times = {label: [] for label in works}
        for _ in range(args.runs):
            for label, work in works.items():
                started = time.perf_counter()
                work()
                times[label].append((time.perf_counter() - started) * 1000)
        print(f"« {name} », agent of academy {academy}: {len(list(records(scope, query)))} "
              f"records listed; guardian rows read by the plan: {rows_read(records(scope, query))}")
        for label, values in times.items():
            print(f"   {label:44} p50 {statistics.median(values):7.2f}  "
                  f"p95 {percentile(values, .95):7.2f}  worst {max(values):7.2f}")


def busiest_academy(query) -> int:
    """The academy with the most records matching `query` (the worst case for its agent)."""
    matching = guardian_records_matching(GuardianRecord.objects.all(), query)
    with connection.cursor() as cursor:
        sql, params = matching.values("pk").query.sql_with_params()
        cursor.execute(
            "SELECT e.academy_id FROM pupils_guardianrecord g JOIN pupils_establishment e "
            f"ON e.id = g.establishment_id WHERE g.id IN ({sql}) "
            "GROUP BY e.academy_id ORDER BY count(*) DESC LIMIT 1", params)
        row = cursor.fetchone()
    return row[0] if row else 1


def records(scope, query):
    return guardian_records_matching(
        GuardianRecord.objects.filter(scope.establishment_q("establishment"),
                                      account__isnull=True), query,
    ).select_related("establishment").order_by(*RECORD_ORDER)[:51]


if __name__ == "__main__":
    main()
