"""Reading PostgreSQL's plans in the back-office's plan tests (test_search_plan.py,
test_pupil_list_plan.py): a queryset's EXPLAIN ANALYZE as JSON, and its nodes."""

import json

from django.db import connection


def explain(queryset, *, sequential_scans: bool = True, whole_joins: bool = True) -> dict:
    """EXPLAIN (ANALYZE, FORMAT JSON) of the queryset: its top node (a dict, children under
    "Plans"). `sequential_scans=False`: with `enable_seqscan` off for the statement's
    transaction — at a few thousand rows a sequential scan is the cheapest plan whatever the
    indexes; told not to use one, the planner chooses among the indexes as it does on the
    country's millions of rows (bench/bench_helpdesk_search.py). `whole_joins=False`: the
    same for merge and hash joins, which at a few thousand rows read a whole primary key
    rather than look up a hundred ids in it."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if not sequential_scans:
            cursor.execute("SET LOCAL enable_seqscan = off")
        if not whole_joins:
            cursor.execute("SET LOCAL enable_mergejoin = off")
            cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]


def all_nodes(node: dict) -> list[dict]:
    """The node and every node below it, depth first."""
    return [node] + [n for child in node.get("Plans", []) for n in all_nodes(child)]
