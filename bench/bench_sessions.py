"""What `cached_db` sessions cost against `cache` (Redis only), at a million session rows
(issue 12 §3: sessions survive a Redis flush).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_bench \\
    REDIS_URL=redis://127.0.0.1:6379/13 python bench/bench_sessions.py [--rows 1000000] [--n 2000]

Needs a migrated database (the test database of a run with --create-db --reuse-db will do);
it fills `django_session` with `--rows` rows of other people's sessions (one INSERT … SELECT
generate_series) and deletes them at the end, and uses the Redis database of REDIS_URL (it
clears it). Then, for each engine, a request's session work `--n` times on sessions that
exist: load (a cache hit), change one key, save — what SESSION_SAVE_EVERY_REQUEST makes every
request of a signed-in user do — and, for cached_db, the load after a Redis flush (a miss
read from PostgreSQL). Prints medians and p95 in ms, wall-clock and CPU of this process.
"""

import argparse
import os
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402

FILL = """
INSERT INTO django_session (session_key, session_data, expire_date)
SELECT 'bench' || lpad(i::text, 27, '0'), repeat('x', 400), now() + interval '30 minutes'
FROM generate_series(1, %s) i ON CONFLICT DO NOTHING
"""


def measure(store_class, keys: list[str], *, flush_first: bool = False) -> tuple[list, float]:
    timings = []
    cpu = time.process_time()
    for key in keys:
        if flush_first:
            cache.clear()
        started = time.perf_counter()
        session = store_class(session_key=key)
        session["seen"] = session.get("seen", 0) + 1
        session.save()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, (time.process_time() - cpu) * 1000 / len(keys)


def describe(label: str, timings: list[float], cpu_ms: float) -> None:
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    print(f"{label:<38} median {statistics.median(timings):6.2f} ms   p95 {p95:6.2f} ms   "
          f"CPU {cpu_ms:5.2f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    assert settings.REDIS_URL, "set REDIS_URL"
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(FILL, [args.rows])
        cursor.execute("ANALYZE django_session")
        print(f"{args.rows:,} session rows in {time.perf_counter() - started:.1f} s")
    try:
        engines = {
            "cache (Redis only)": "django.contrib.sessions.backends.cache",
            "cached_db (Redis + PostgreSQL)": "django.contrib.sessions.backends.cached_db",
        }
        for label, engine in engines.items():
            store = import_module(engine).SessionStore
            cache.clear()
            keys = []
            for _ in range(args.n):
                session = store()
                session["account"] = 1
                session.create()
                keys.append(session.session_key)
            describe(f"{label}: load + save", *measure(store, keys))
        store = import_module(engines["cached_db (Redis + PostgreSQL)"]).SessionStore
        describe("cached_db after a Redis flush", *measure(store, keys[: args.n // 4],
                                                           flush_first=True))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM django_session")
        cache.clear()


if __name__ == "__main__":
    main()
