"""Peak memory and time of a roster import at 100,000, 300,000 and 1,000,000 rows (issue 14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_roster_memory.py [--sizes 100000,300000,1000000] [--again]

Writes each roster to a temporary file (the rows of bench_roster_import.py's generator, one at
a time: this process never holds a file), migrates one template database
(`<DATABASE_URL's name>_bench_rmem_t`), and for each size copies it to a fresh database and
runs `pupils.roster_import.roster_import` in a child process of its own, so that the child's
peak resident set size (its ru_maxrss, read by os.wait4) is the import's alone. It prints,
per size: the rows, the wall clock, rows per second, the child's RSS once Django is set up
(before the import), its peak RSS, and the peak minus the baseline. With `--again` the same
file is imported a second time into the same database (every row unchanged).

The import streams when the last column stays flat from 100k to 1M rows: it holds a chunk,
the establishments of the file and bounded caches, never a structure per row of the file.
Run it alone; the machine's other load shows in the wall clock (the load average is printed).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(path: str, again: bool) -> None:
    """Run in the child: set Django up, import, print a JSON line of figures."""
    import django

    django.setup()
    from django.db import connection

    from pupils.roster_import import roster_import

    connection.ensure_connection()
    baseline = _rss_kib()
    figures = {"baseline_kib": baseline}
    runs = []
    for _ in range(2 if again else 1):
        started = time.perf_counter()
        report = roster_import(path=path)
        runs.append({"seconds": time.perf_counter() - started, "rows": report.rows_read,
                     "rejected": report.rows_rejected, "counts": report.counts(),
                     "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
    figures["runs"] = runs
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--again", action="store_true",
                        help="import each file a second time (every row unchanged)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.again)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required.")
    import django

    django.setup()
    from bench_roster_import import HEADER, generate_rows
    from django.db import connection

    base_name = connection.settings_dict["NAME"]
    template = f"{base_name}_bench_rmem_t"
    target = f"{base_name}_bench_rmem"
    connection.settings_dict.setdefault("TEST", {})["NAME"] = template
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    connection.close()
    connection.settings_dict["NAME"] = base_name

    def admin(sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)

    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{'rows':>10} {'seconds':>8} {'rows/s':>8} {'RSS before':>11} {'peak RSS':>9} "
          f"{'peak − before':>14}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in [int(s) for s in args.sizes.split(",")]:
                path = Path(tmp) / f"roster-{size}.csv"
                with path.open("w", encoding="utf-8") as f:
                    f.write(HEADER + "\n")
                    for row in generate_rows(size):
                        f.write(";".join(row) + "\n")
                admin(f'DROP DATABASE IF EXISTS "{target}"')
                admin(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
                env = {**os.environ, "DATABASE_URL": url.rsplit("/", 1)[0] + "/" + target}
                command = [sys.executable, __file__, "--child", str(path)]
                if args.again:
                    command.append("--again")
                process = subprocess.Popen(  # noqa: S603 (our own command line)
                    command, env=env, stdout=subprocess.PIPE)
                out = process.stdout.read()
                _, status, usage = os.wait4(process.pid, 0)
                if status != 0:
                    sys.exit(f"the import of {size} rows failed (status {status})")
                figures = json.loads(out.decode().strip().splitlines()[-1])
                before = figures["baseline_kib"] / 1024
                for index, run in enumerate(figures["runs"]):
                    # The child's own ru_maxrss after each run; after the last it is
                    # the one os.wait4 reports (usage.ru_maxrss).
                    peak = run["peak_kib"] / 1024
                    label = f"{run['rows']:>10,}" + (" again" if index else "")
                    print(f"{label} {run['seconds']:>8.1f} {run['rows'] / run['seconds']:>8,.0f} "
                          f"{before:>8.1f} MiB {peak:>5.1f} MiB {peak - before:>10.1f} MiB"
                          f"   ({run['rejected']} rejected; {os.getloadavg()[0]:.2f} load)")
                assert usage.ru_maxrss >= figures["runs"][-1]["peak_kib"]
                path.unlink()
    finally:
        admin(f'DROP DATABASE IF EXISTS "{target}"')
        admin(f'DROP DATABASE IF EXISTS "{template}"')


if __name__ == "__main__":
    main()
