"""Helpdesk search by name, for an agent of one academy, at bench_backoffice's scale
(1,000,000 guardian records, 500,000 accounts, 30 academies, 3,000 schools) — issue 14.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_bench \\
        python bench/bench_helpdesk_search.py [--runs 30] [--reset]

Loads bench_backoffice's data set if absent (`--reset`: again), then times, interleaved in
the same run, for the most frequent names:

- the unlinked guardian records of the academy matching the name, as the helpdesk lists them
  (`backoffice.selectors.unlinked_records_in_scope`: the academy's schools as a list, served by
  guardian_unlinked_school_name_trgm), against the former query (a join on the academy: the
  national trigram index, then a filter);
- the whole `helpdesk_search` (accounts and records);

and prints p50 / p95 / worst in ms, with the rows the records' plan read (EXPLAIN ANALYZE).
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
    unlinked_records_in_scope,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--academy", type=int, default=1)
    args = parser.parse_args()
    bench_backoffice.load(args.reset)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pupils_guardianrecord")
        total = cursor.fetchone()[0]
    scope = StaffScope(academy_id=args.academy)
    print(f"{total:,} guardian records; helpdesk agent of academy {args.academy}; "
          f"{args.runs} runs each, interleaved; ms")
    for name in NAMES:
        query = search_query_parse(name)
        new, old = records_new(scope, query), records_old(scope, query)
        works = {
            "records, academy first": lambda q=new: list(q),
            "records, former join": lambda q=old: list(q),
            "helpdesk_search (accounts + records)":
                lambda q=query: helpdesk_search(query=q, scope=scope),
        }
        times = {label: [] for label in works}
        for _ in range(args.runs):
            for label, work in works.items():
                started = time.perf_counter()
                work()
                times[label].append((time.perf_counter() - started) * 1000)
        print(f"« {name} »: {len(list(new))} records listed; rows read by the plan: "
              f"academy first {rows_read(new)}, former join {rows_read(old)}")
        for label, values in times.items():
            print(f"   {label:38} p50 {statistics.median(values):7.2f}  "
                  f"p95 {percentile(values, .95):7.2f}  worst {max(values):7.2f}")


def records_new(scope, query):
    return guardian_records_matching(unlinked_records_in_scope(scope), query).select_related(
        "establishment").order_by(*RECORD_ORDER)[:51]


def records_old(scope, query):
    return guardian_records_matching(
        GuardianRecord.objects.filter(scope.establishment_q("establishment"),
                                      account__isnull=True), query,
    ).select_related("establishment").order_by(*RECORD_ORDER)[:51]


if __name__ == "__main__":
    main()
