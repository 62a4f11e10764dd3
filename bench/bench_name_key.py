"""The cost of educonnect_name_key(), the SQL twin of core.normalization.name_key(), before
and after pupils migration 0006 (issue 16: every letter transliterated through the table
educonnect_name_key_char instead of unaccent()).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_data \\
        python bench/bench_name_key.py [--rows 200000]

Needs a migrated database (the test database of a run with --create-db --reuse-db will do,
or any migrated one: it writes nothing). Times, in one statement each, the function over
`--rows` names: plain ASCII names (the branch nearly every name takes), names with accents,
names with letters unaccent did not know (ı, ə, Cyrillic), and the unaccent-based function
of migration 0002 (recreated as a temporary function) on the same names. The function runs
on writes (expression index pupil_last_name_trgm, account_last_name_trgm) and on index
builds, never per row at search time (the index holds the keys).
"""

import argparse
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

SETS = {
    "ASCII": ["Martin", "Dubois", "N'DIAYE", "de La Fontaine", "Van der Berg", "Payet"],
    "accents": ["Lefèvre", "Dupré-Lagarde", "Nguyễn", "Müller", "Œuvrard", "Bensaïd"],
    "no decomposition": ["Halıcı", "Məmmədov", "Wałęsa", "Ødegård", "Дмитриев", "Þórðarson"],
}
OLD = """
CREATE OR REPLACE FUNCTION pg_temp.old_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(
    lower(public.unaccent('public.unaccent'::regdictionary, value)), '[^a-z0-9]+', '', 'g');
"""


def timed(cursor, function: str, names: list[str], rows: int) -> float:
    sql = (f"SELECT count({function}(n[1 + i %% %s] || i)) FROM generate_series(1, %s) i, "
           "(SELECT %s::text[] AS n) s")
    started = time.perf_counter()
    cursor.execute(sql, [len(names), rows, names])
    cursor.fetchone()
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    rows = parser.parse_args().rows
    with connection.cursor() as cursor:
        cursor.execute(OLD)
        print(f"{rows:,} calls each; µs per call (new function, old unaccent function)")
        for label, names in SETS.items():
            new = timed(cursor, "educonnect_name_key", names, rows)
            old = timed(cursor, "pg_temp.old_name_key", names, rows)
            print(f"{label:<18} new {new / rows * 1e6:6.1f} µs   old {old / rows * 1e6:6.1f} µs")


if __name__ == "__main__":
    main()
