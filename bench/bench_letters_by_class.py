"""Benchmark of choosing letters by class (issue 9 §1) at a million pupils.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_letters_by_class.py [--pupils 1000000] [--schools 1000] [--keep]

Creates a database of its own (`<DATABASE_URL's name>_bench_classes`, dropped at the end
unless --keep), migrates it, loads `--pupils` pupils spread evenly over `--schools` collèges
(four levels, four classes per level: 6A…3D) with one SQL INSERT … SELECT, ANALYZEs, then
times, for one school, the two reads « Lettres des comptes provisoires » adds:

- `establishment_divisions`: the class menu (DISTINCT over the school's pupils);
- `follow_up_pupils(division=…)`: the pupils of one class, with their account.

The floor is the read the page already made before classes: `follow_up_pupils(level=…)`
(a level's pupils). Prints the median and p95 of 200 runs of each, in ms, the ratios to the
floor, and the plans (both must start from the index on Pupil(establishment, …), so that the
cost is the school's size, never the table's).

Not part of the tests. Run it alone: the machine's other load shows in the figures.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")


def timed(call, runs: int) -> tuple[float, float]:
    """(median, p95) in ms of `runs` calls of `call`."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=1_000_000)
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required.")
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.db import connection

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"{settings_dict['NAME']}_bench_classes"
    old_name = settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from pupils.models import Academy, Establishment, Pupil
        from pupils.selectors import establishment_divisions, follow_up_pupils

        academy = Academy.objects.create(name="Créteil")
        Establishment.objects.bulk_create([
            Establishment(uai=f"{940000 + n:07d}A", name=f"Collège {n}", kind="college",
                          academy=academy) for n in range(args.schools)])
        first_id = Establishment.objects.order_by("pk").values_list("pk", flat=True).first()
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Pupil i: school i mod schools, level (i / schools) mod 4, class letter next.
            cursor.execute("""
                INSERT INTO pupils_pupil (ine, last_name, first_names, birth_date, level,
                                          division, establishment_id, national_id,
                                          academy_code)
                SELECT lpad(i::text, 9, '0') || '0A', 'Nom' || (i %% 9973), 'Prénom',
                       DATE '2012-01-01' + (i %% 1400),
                       (ARRAY['6EME','5EME','4EME','3EME'])[1 + (i / %s) %% 4],
                       (ARRAY['6','5','4','3'])[1 + (i / %s) %% 4]
                           || (ARRAY['A','B','C','D'])[1 + (i / (%s * 4)) %% 4],
                       %s + i %% %s, '', ''
                FROM generate_series(0, %s - 1) AS i
            """, [args.schools, args.schools, args.schools, first_id, args.schools,
                  args.pupils])
            cursor.execute("ANALYZE pupils_pupil")
        print(f"Database {settings_dict['NAME']}: {args.pupils:,} pupils in {args.schools:,} "
              f"schools loaded in {time.perf_counter() - started:.1f} s".replace(",", " "))
        school = Establishment.objects.order_by("pk")[args.schools // 2]
        size = school.pupils.count()
        divisions = establishment_divisions(establishment=school)
        print(f"School {school.uai}: {size} pupils, classes {', '.join(divisions)}")

        reads = {
            "floor: a level's pupils (follow_up_pupils(level=))":
                lambda: list(follow_up_pupils(establishment=school, level="4EME")),
            "the class menu (establishment_divisions)":
                lambda: establishment_divisions(establishment=school),
            "a class's pupils (follow_up_pupils(division=))":
                lambda: list(follow_up_pupils(establishment=school, division="4C")),
        }
        floor = None
        for label, call in reads.items():
            for _ in range(10):
                call()  # warm the cache
            median, p95 = timed(call, args.runs)
            floor = floor or median
            print(f"  {label:<55} median {median:6.2f} ms  p95 {p95:6.2f} ms  "
                  f"× floor {median / floor:4.2f}")
        menu = (Pupil.objects.filter(establishment=school).exclude(division="")
                .order_by("division").values_list("division", flat=True).distinct())
        with connection.cursor() as cursor:
            for label, queryset in (
                    ("class menu", menu),
                    ("class's pupils", follow_up_pupils(establishment=school, division="4C"))):
                sql, params = queryset.query.sql_with_params()
                cursor.execute("EXPLAIN " + sql, params)
                print(f"Plan of the {label}:")
                for (line,) in cursor.fetchall():
                    print("   ", line)
        print(f"Load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
