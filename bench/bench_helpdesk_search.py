"""Helpdesk search by name at national scale, and the loader of that scale (issue 14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_bench \\
        python bench/bench_helpdesk_search.py [--sizes 100000,1000000,10000000] [--runs 30]

For each size N: loads N pupils, N guardian records and N links (one each per i) in 30
academies and 3,000 schools with COPY (`load()`: secondary indexes and unique constraints
dropped first and built after the load, triggers and foreign-key checks off during it as
pg_restore does, the academy column written by the loader itself, the three tables in three
processes at once; prints how long and how big), then times, interleaved in the same run,
for the most frequent names (bench_backoffice's surnames: « Martin » is one name in 210,
« Martinez » one more):

- the helpdesk's list of unlinked guardian records of the academy matching the name
  (backoffice.selectors.records_search, keyed by the academy column: the exact name first,
  from an ordered B-tree up to the limit, then the partial matches if fewer);
- the same records in one query, every match fetched and sorted (before « exact first »);
- the pupils of the name with their guardians (backoffice.selectors.pupils_search, keyed by
  the pupils' academy column, pupils 0017: the parent who calls may not bear the child's
  name; in this data set no pupil shares its guardian's surname);
- the accounts of the academy of the name (backoffice.selectors.accounts_search; three
  records in five are covered by an account of the record's name, `load_accounts`);
- the whole `helpdesk_search` (accounts + records + pupils);
- for « martin », the query before issue 14 (a join on the academy's establishments);
- activation step 1 (activation.selectors.guardian_records_matching): known name + number
  and unknown numbers;

and prints p50 / p95 / worst in ms, the ratio of p95 to the first size's, and the guardian
rows the plan's scan nodes read (EXPLAIN ANALYZE: the largest node). The agent measured is
the one of the academy holding most of the name's records. `--keep` keeps the last load for
a later `--sizes N --reuse` run. Not a test; say what else ran (load average printed).
"""

import argparse
import concurrent.futures
import io
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

import django

django.setup()

import bench_backoffice  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from activation.selectors import guardian_records_matching as step1_matching  # noqa: E402
from backoffice.selectors import (  # noqa: E402
    ACADEMY_ACCOUNT_PARTS,
    RECORD_ORDER,
    StaffScope,
    _academy_accounts_part,
    accounts_search,
    exact_name_records,
    guardian_records_matching,
    helpdesk_search,
    partial_name_records,
    pupils_search,
    records_search,
    search_query_parse,
)
from core.normalization import name_key  # noqa: E402
from pupils.models import GuardianRecord  # noqa: E402

NAMES = ["martin", "bernard", "petit", "dupont", "ly"]
SURNAMES, FIRST_NAMES = bench_backoffice.SURNAMES, bench_backoffice.FIRST_NAMES
ACADEMIES, ESTABLISHMENTS = bench_backoffice.ACADEMIES, bench_backoffice.ESTABLISHMENTS
TABLES = ["pupils_pupil", "pupils_guardianrecord", "pupils_responsibility"]
BLOCK = 50_000


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- The loader ----------------------------------------------------------------------------


def surname_of(i: int) -> str:
    return SURNAMES[(i * 7919) % len(SURNAMES)]


def first_name_of(i: int) -> str:
    return FIRST_NAMES[(i * 13) % len(FIRST_NAMES)]


def establishment_of(i: int) -> int:
    return 1 + i % ESTABLISHMENTS


def academy_of_establishment(establishment: int) -> int:
    return 1 + establishment % ACADEMIES


def phone_of(i: int) -> str:
    return f"+336{i:08d}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _pupil_rows(start: int, stop: int) -> str:
    # Pupil i (the child of guardian record i) bears the surname of record i + 2: never
    # its guardian's, and, the surnames' list being of even length, in the same academies
    # as the guardians of that name (with i + 1, no pupil of a name was in the academies of
    # its guardians: every pupils' search ran its partial part, the rare names' path).
    out = io.StringIO()
    for i in range(start, stop):
        out.write(f"{i}\t{i:09d}0A\t{_escape(surname_of(i + 2).upper())}\tÉlève {i}\t"
                  f"{2008 + i % 10}-{1 + i % 12:02d}-{1 + i % 28:02d}\t6EME\t"
                  f"{establishment_of(i)}\t{academy_of_establishment(establishment_of(i))}"
                  "\t\t\t\n")
    return out.getvalue()


def covered(i: int) -> bool:
    """Three guardian records in five are covered by an activated account (`load_accounts`),
    as in the weeks after the start of the school year: picked by a multiplicative hash of
    the id, independent of the name (the id × 7919) and of the school (the id's remainder)."""
    return (((i * 2654435761) & 0xFFFFFFFF) >> 16) % 5 < 3


def _record_rows(start: int, stop: int, keys: dict) -> str:
    out = io.StringIO()
    for i in range(start, stop):
        last, first, school = surname_of(i), first_name_of(i), establishment_of(i)
        account = i if covered(i) else "\\N"
        out.write(f"{i}\t{school}\t{academy_of_establishment(school)}\tMme\t{_escape(last)}\t"
                  f"{_escape(first)}\t{keys[last]}\t{keys[first]}\t{phone_of(i)}\t\tf\t"
                  f"{account}\n")
    return out.getvalue()


def _link_rows(start: int, stop: int) -> str:
    return "".join(f"{i}\t{i}\t{i}\tt\tactive\n" for i in range(start, stop))


COPIES = {
    "pupils_pupil": ("id, ine, last_name, first_names, birth_date, level, establishment_id, "
                     "academy_id, national_id, academy_code, division", _pupil_rows),
    "pupils_guardianrecord": ("id, establishment_id, academy_id, civility, last_name, "
                              "first_name, last_name_key, first_name_key, mobile_phone, email, "
                              "attached_notice_pending, account_id", _record_rows),
    "pupils_responsibility": ("id, guardian_record_id, pupil_id, is_legal_representative, "
                              "status", _link_rows),
}


def _secondary_indexes(cursor) -> list[tuple[str, str, str]]:
    """(table, drop statement, create statement) for every index of TABLES but the primary
    keys: unique constraints as constraints, the others as indexes."""
    cursor.execute(
        """SELECT t.relname, i.relname, pg_get_indexdef(i.oid), c.conname,
                  pg_get_constraintdef(c.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           JOIN pg_class t ON t.oid = x.indrelid
           LEFT JOIN pg_constraint c ON c.conindid = i.oid AND c.contype IN ('u', 'p')
           WHERE t.relname = ANY(%s) AND NOT x.indisprimary ORDER BY t.relname, i.relname""",
        [TABLES])
    found = []
    for table, index, definition, constraint, constraint_definition in cursor.fetchall():
        if constraint:
            found.append((table, f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"',
                          f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" '
                          f"{constraint_definition}"))
        else:
            found.append((table, f'DROP INDEX "{index}"', definition))
    return found


def _sizes(cursor) -> str:
    parts = []
    for table in TABLES:
        cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s)", [table, table])
        heap, indexes = cursor.fetchone()
        parts.append(f"{table.removeprefix('pupils_')} {heap / 2**30:.2f} + "
                     f"{indexes / 2**30:.2f} GiB")
    return "; ".join(parts) + " (table + indexes)"


def _load_table(table: str, records: int, indexes: list[str]) -> dict:
    """One table: COPY its rows, then build its indexes (in a process of its own)."""
    from django.db import connections

    connections.close_all()  # never share the parent's socket
    keys = {name: _escape(name_key(name)) for name in SURNAMES + FIRST_NAMES}
    columns, rows = COPIES[table]
    short = table.removeprefix("pupils_")
    phases = {}
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        # As pg_restore --disable-triggers: no per-row foreign-key check nor academy
        # trigger (the rows are made consistent here: the academy written by the loader).
        cursor.execute("SET session_replication_role = replica")
        phase = time.monotonic()
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for start in range(1, records + 1, BLOCK):
                stop = min(records + 1, start + BLOCK)
                copy.write(rows(start, stop, keys) if table == "pupils_guardianrecord"
                           else rows(start, stop))
        phases[f"COPY {short}"] = time.monotonic() - phase
        cursor.execute("SET session_replication_role = DEFAULT")
        phase = time.monotonic()
        for create in indexes:
            cursor.execute(create)
        phases[f"{len(indexes)} indexes of {short}"] = time.monotonic() - phase
        phase = time.monotonic()
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)",
                       [records + 1000])
        cursor.execute(f"VACUUM ANALYZE {table}")
        phases[f"VACUUM ANALYZE {short}"] = time.monotonic() - phase
    connections.close_all()
    return phases


def load(records: int) -> None:
    """30 academies, 3,000 schools, and `records` pupils, guardian records and links, with
    COPY: the three tables at once, each in a process of its own. Prints the time of each
    phase and the size on disk."""
    started = time.monotonic()
    print(f"Loading {records:,} pupils, guardian records and links (load average "
          f"{load_average()}) …", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_account, pupils_responsibility, "
                       "pupils_guardianrecord, pupils_pupil, "
                       "pupils_establishment, pupils_academy, pupils_historicalguardianrecord, "
                       "pupils_historicalpupil, pupils_historicalresponsibility "
                       "RESTART IDENTITY CASCADE")
        indexes = _secondary_indexes(cursor)
        for _, drop, _ in indexes:
            cursor.execute(drop)
        cursor.execute(f"""INSERT INTO pupils_academy (id, name)
            SELECT i, 'Académie ' || i FROM generate_series(1, {ACADEMIES}) i""")
        cursor.execute(f"""INSERT INTO pupils_establishment (id, uai, name, kind, academy_id,
                ent_url)
            SELECT i, lpad(i::text, 7, '0') || 'A', 'Collège ' || i, 'college',
                   1 + i % {ACADEMIES}, ''
            FROM generate_series(1, {ESTABLISHMENTS}) i""")
    connection.close()
    phases = {}
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(len(TABLES), mp_context=context) as pool:
        for table_phases in pool.map(
                _load_table, TABLES, [records] * len(TABLES),
                [[create for table, _, create in indexes if table == name] for name in TABLES]):
            phases.update(table_phases)
    total = time.monotonic() - started
    print(f"Loaded in {total / 60:.1f} min, the three tables at once (" + ", ".join(
        f"{label} {seconds:.0f} s" for label, seconds in phases.items())
        + f"); load average {load_average()}")
    load_accounts(records)
    with connection.cursor() as cursor:
        print(f"Size: {_sizes(cursor)}", flush=True)


def load_accounts(records: int) -> None:
    """The accounts of the covered guardian records (`covered`: three in five, whose
    account_id the COPY wrote, the account's id the record's), with the record's name and
    mobile, in one statement, the accounts' indexes kept. Prints how long. (Setting
    account_id by an UPDATE of 6 million records after the load rewrote every index of the
    table: over 20 minutes at 10M, not finished.)"""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("""INSERT INTO accounts_account (id, password, is_superuser,
                identifier, kind, first_name, last_name, email, email_verified, phone,
                phone_verified, state, is_staff, date_joined, activated_at)
            SELECT id, '!', false, 'p.bench' || id, 'guardian', first_name, last_name, '',
                   false, mobile_phone, true, 'active', false, now(), now()
            FROM pupils_guardianrecord WHERE account_id IS NOT NULL""")
        accounts = cursor.rowcount
        cursor.execute("ANALYZE accounts_account")
        cursor.execute("ANALYZE pupils_guardianrecord")
        # As autovacuum would: without statistics the planner takes an academy for one school.
        cursor.execute("ANALYZE pupils_establishment")
        cursor.execute("ANALYZE pupils_academy")
    print(f"{accounts:,} accounts covering their records in "
          f"{time.monotonic() - started:.0f} s", flush=True)


# --- The measures --------------------------------------------------------------------------


def rows_read(queryset, table: str = "pupils_guardianrecord") -> int:
    """The largest number of rows of `table` one scan node of the plan read (EXPLAIN
    ANALYZE: rows returned × loops + removed by a filter or a recheck)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index "
                       "WHERE indrelid = %s::regclass", [table])
        indexes = {name for (name,) in cursor.fetchall()}
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    largest = 0

    def walk(node):
        nonlocal largest
        if node.get("Relation Name") == table or node.get(
                "Index Name") in indexes:
            largest = max(largest, node["Actual Rows"] * node["Actual Loops"]
                          + node.get("Rows Removed by Filter", 0)
                          + node.get("Rows Removed by Index Recheck", 0))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return largest


def busiest_academy(query) -> int:
    """The academy with the most records matching `query` (the worst case for its agent)."""
    matching = guardian_records_matching(GuardianRecord.objects.all(), query)
    rows = (matching.values("academy_id").annotate(n=Count("pk"))
            .order_by("-n").values_list("academy_id", flat=True)[:1])
    return rows[0] if rows else 1


def old_records(scope, query):
    """The records query before issue 14: the academy through a join on the schools."""
    return guardian_records_matching(
        GuardianRecord.objects.filter(scope.establishment_q("establishment"),
                                      account__isnull=True), query,
    ).select_related("establishment").order_by(*RECORD_ORDER)[:51]


def all_sorted_records(scope, query):
    """The records query before « exact name first »: every match of the academy (exact
    and partial) fetched and sorted for the first 51 (branch `helpdesk`)."""
    return guardian_records_matching(
        GuardianRecord.objects.filter(scope.guardian_records_q(), account__isnull=True), query,
    ).select_related("establishment").order_by(*RECORD_ORDER)[:51]


def parts_read(query, scope) -> str:
    """Guardian rows read by the exact part, and by the partial part when it runs."""
    exact = exact_name_records(query=query, scope=scope, limit=51)
    text = f"exact part {rows_read(exact):,}"
    found = len(list(exact))
    if found < 51:
        partial = partial_name_records(query=query, scope=scope, limit=51 - found)
        text += f", partial part {rows_read(partial):,}"
    return text + f" (all matches sorted: {rows_read(all_sorted_records(scope, query)):,})"


def account_rows_read(query, scope) -> str:
    """Rows read by the largest scan node of each of the accounts' statements
    (backoffice.selectors._academy_accounts_part): accounts / guardian records."""
    parts = []
    for part in ACADEMY_ACCOUNT_PARTS:
        statement = _academy_accounts_part(part, query, 51, scope)
        parts.append(f"{part} {rows_read(statement, 'accounts_account'):,} / "
                     f"{rows_read(statement):,}")
    return ", ".join(parts)


def timed(works: dict, runs: int) -> dict:
    times = {label: [] for label in works}
    for _ in range(runs):
        for label, work in works.items():
            started = time.perf_counter()
            work()
            times[label].append((time.perf_counter() - started) * 1000)
    return times


def measure(records: int, runs: int, lookups: int, former: bool = True) -> dict:
    """{(name, label): p95} after printing each figure."""
    print(f"\n{records:,} guardian records; {runs} runs each, interleaved; ms; load average "
          f"{load_average()}")
    p95s = {}
    for name in NAMES:
        query = search_query_parse(name)
        scope = StaffScope(academy_id=busiest_academy(query))
        works = {
            "records of the academy (records_search)":
                lambda q=query, s=scope: list(records_search(query=q, scope=s, limit=51)),
            "pupils of the name, with guardians (pupils_search)":
                lambda q=query, s=scope: pupils_search(query=q, scope=s, limit=51),
            "accounts of the academy (accounts_search)":
                lambda q=query, s=scope: accounts_search(query=q, scope=s, limit=51),
            "helpdesk_search (accounts + records + pupils)":
                lambda q=query, s=scope: helpdesk_search(query=q, scope=s),
            "all matches sorted (before exact first)":
                lambda q=query, s=scope: list(all_sorted_records(s, q)),
        }
        if name == "martin" and former:
            works["before issue 14 (join on the schools)"] = (
                lambda q=query, s=scope: list(old_records(s, q)))
        times = timed(works, runs)
        listed = len(list(records_search(query=query, scope=scope, limit=51)))
        in_academy = guardian_records_matching(
            GuardianRecord.objects.filter(academy_id=scope.academy_id), query).count()
        print(f"« {name} », agent of academy {scope.academy_id} ({in_academy:,} records of "
              f"the name there): {listed} listed; guardian rows read by the largest scan "
              f"node: {parts_read(query, scope)}"
              + (f" (before issue 14: {rows_read(old_records(scope, query)):,})"
                 if name == "martin" and former else "")
              + "; accounts / guardian rows read by each of the accounts' statements: "
              + account_rows_read(query, scope))
        for label, values in times.items():
            p95s[(name, label)] = percentile(values, .95)
            print(f"   {label:44} p50 {statistics.median(values):7.2f}  "
                  f"p95 {percentile(values, .95):7.2f}  worst {max(values):7.2f}")
    rng = random.Random(14)
    step1 = {"known": [], "unknown": []}
    for n in range(lookups):
        i = rng.randint(1, records)
        kind = "known" if n % 2 == 0 else "unknown"
        phone = phone_of(i) if kind == "known" else f"+337{rng.randint(0, 10**8 - 1):08d}"
        started = time.perf_counter()
        found = step1_matching(phone=phone, last_name=surname_of(i),
                               first_name=first_name_of(i))
        step1[kind].append((time.perf_counter() - started) * 1000)
        assert bool(found) == (kind == "known"), (kind, i)
    print(f"Activation step 1 ({lookups} lookups):")
    for kind, values in step1.items():
        p95s[("step 1", kind)] = percentile(values, .95)
        print(f"   {kind:44} p50 {statistics.median(values):7.2f}  "
              f"p95 {percentile(values, .95):7.2f}  worst {max(values):7.2f}")
    return p95s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000",
                        help="numbers of pupils / guardian records / links, comma-separated")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--lookups", type=int, default=400, help="activation step 1 lookups")
    parser.add_argument("--without-former", action="store_true",
                        help="leave out the query before issue 14 (12 s a run at 10M, and "
                             "its scan empties the shared buffers the others use)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the data in place (one size, the one loaded)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("DATABASE_URL=postgres://… is required.")
    sizes = [int(size) for size in args.sizes.split(",")]
    first = None
    for size in sizes:
        if not args.reuse:
            load(size)
        p95s = measure(size, args.runs, args.lookups, former=not args.without_former)
        if first is None:
            first = (size, p95s)
        else:
            print(f"p95 at {size:,} against {first[0]:,}: " + ", ".join(
                f"{name} {p95s[(name, label)] / first[1][(name, label)]:.2f}×"
                for (name, label) in p95s if label.startswith(("records", "known"))))


if __name__ == "__main__":
    main()
