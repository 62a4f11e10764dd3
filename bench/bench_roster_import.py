"""Benchmark of the roster import: 100,000 rows into PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_roster_import.py [--rows 100000] [--chunk-size 2000]

Generates a realistic roster (about 40,000 families, siblings in one or two schools, several
hundred establishments of which some overseas, phones written every way schools write them),
creates a database of its own (`<DATABASE_URL's name>_bench_roster`, dropped at the end),
migrates it, then imports:

1. the file into the empty database (every row creates; 0.2 % of rows carry a landline and
   are rejected, as in real exports);
2. the same file again (idempotent: every row unchanged);
3. a newer file where 2 % of the guardians changed their mobile (a few updates);
4. the next school year's file: every pupil moves up a level (every pupil updated).

It prints, per run, the wall-clock seconds (the figure that matters), the CPU seconds of
this process (the rest is PostgreSQL's work and, on a shared machine, waiting for a core),
rows per second and statements per chunk (queries and COPYs). Not part of the tests; run it
alone, the machine's other load shows in the figures.
"""

import argparse
import gc
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
              "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
              "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
              "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier",
              "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas",
              "Perrin", "N'Diaye", "de La Fontaine", "Le Goff", "O'Connor", "Saint-Éloi",
              "Payet", "Hoarau", "Grondin", "Jean-Baptiste", "Nguyễn", "Bensaïd", "Œuvrard",
              "Château-Renaud", "D'Almeida", "Van der Berg", "Aït-Ali", "Kowalski", "Da Silva"]
FIRST_NAMES = ["Hélène", "Jean-Éric", "Maëlle", "Noël", "Zoé", "Chloé", "François", "Anaïs",
               "Loïc", "Léa", "Inès", "Côme", "Gaël", "Thomas", "Marie-Josée", "Jérôme",
               "Ysé", "Bérénice", "Aurélien", "Agnieszka", "Camille", "Nathalie", "Sophie",
               "Isabelle", "Sandrine", "Céline", "Stéphane", "Frédéric", "Karim", "Nadia",
               "Mohamed", "Fatima", "Julien", "Émilie", "Laëtitia", "Grégory", "Sébastien"]
PUPIL_FIRST_NAMES = ["Lucas", "Emma", "Gabriel", "Jade", "Léo", "Louise", "Raphaël", "Alice",
                     "Arthur", "Chloé", "Hugo", "Lina", "Maël", "Rose", "Noah", "Inès",
                     "Adam", "Anna", "Sacha", "Mila", "Éthan", "Zoé", "Nathan", "Léna"]
# UAI prefix, mobile blocks (national form without the 0, then 5 digits), country code,
# academy, weight.
REGIONS = [
    ("075", ("6121", "7812"), "33", "Paris", 10),
    ("069", ("6122", "7813"), "33", "Lyon", 10),
    ("013", ("6123", "7814"), "33", "Aix-Marseille", 10),
    ("059", ("6124", "7815"), "33", "Lille", 10),
    ("033", ("6125", "7816"), "33", "Bordeaux", 10),
    ("974", ("6921", "6922"), "262", "La Réunion", 3),
    ("971", ("6901", "6902"), "590", "Guadeloupe", 2),
    ("972", ("6962", "6963"), "596", "Martinique", 2),
    ("973", ("6942",), "594", "Guyane", 1),
    ("976", ("6392",), "262", "Mayotte", 1),
]
KINDS = (("ecole", "École", ("CP", "CE1", "CE2", "CM1", "CM2")),
         ("college", "Collège", ("6EME", "5EME", "4EME", "3EME")),
         ("lycee", "Lycée", ("2NDE", "1ERE", "TLE")),
         ("lp", "Lycée professionnel", ("2NDE PRO", "1ERE PRO", "CAP1")))
HEADER = ("uai;etablissement;type_etablissement;academie;ine;eleve_nom;eleve_prenoms;"
          "eleve_date_naissance;niveau;responsable_civilite;responsable_nom;responsable_prenom;"
          "responsable_telephone_portable;responsable_email;representant_legal")


def _written(rng, national, code, home_region):
    if not home_region or rng.random() < 0.1:
        digits = national[1:]
        return rng.choice([f"+{code} ", f"00{code}"]) + \
            f"{digits[:3]} {digits[3:5]} {digits[5:7]} {digits[7:]}"
    pairs = [national[i:i + 2] for i in range(0, 10, 2)]
    return rng.choice([" ", ".", "-", ""]).join(pairs)


def generate_rows(rows: int, seed: int = 42, stats: dict | None = None):
    """Yield `rows` rows as lists of values, family by family, holding none of them.

    `stats`, when given, receives the number of families and establishments at the end.
    """
    rng = random.Random(seed)
    weights = [r[4] for r in REGIONS]
    schools = []
    for index in range(450):
        region = rng.choices(REGIONS, weights)[0]
        kind, label, levels = KINDS[index % 4]
        letter = "ABCDEFGHJKLMNPRSTUVWXYZ"[index % 23]
        schools.append((f"{region[0]}{index:04d}{letter}",
                        f"{label} {rng.choice(LAST_NAMES)}-{index}", kind, region, levels))
    by_region = {}
    for school in schools:
        by_region.setdefault(school[3][0], []).append(school)
    produced = 0
    family = 0
    serial = 0
    ine = 100000000
    while produced < rows:
        family += 1
        region = rng.choices(REGIONS, weights)[0]
        last_name = rng.choice(LAST_NAMES)
        guardians = []
        for g in range(rng.choice((1, 2, 2))):
            serial += 1
            national = "0" + rng.choice(region[1]) + f"{serial % 100000:05d}"
            guardians.append((
                rng.choice(("Mme", "M.")),
                last_name.upper() if g == 0 else rng.choice((last_name, rng.choice(LAST_NAMES))),
                rng.choice(FIRST_NAMES),
                national if rng.random() < 0.92 else "",
                f"parent{serial}@example.org" if rng.random() < 0.6 else "",
                "oui" if rng.random() < 0.97 else "non",
            ))
        if all(not g[3] and not g[4] for g in guardians):
            guardians[0] = (*guardians[0][:4], f"parent{serial}@example.org", "oui")
        home = by_region[region[0]]
        first_school = rng.choice(home)
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            ine += 1
            # Most siblings share a school; the others are in another school of the region.
            school = first_school if rng.random() < 0.6 else rng.choice(home)
            uai, school_name, kind, school_region, levels = school
            pupil = [uai, school_name, kind, school_region[3],
                     f"{ine:09d}{rng.choice('0123456789AB')}{rng.choice('ABCDEFGHJK')}",
                     last_name.upper(), rng.choice(PUPIL_FIRST_NAMES),
                     f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                     f"{rng.randint(2006, 2019)}",
                     rng.choice(levels)]
            for civility, g_last, g_first, national, email, legal in guardians:
                phone = _written(rng, national, region[2], True) if national else ""
                if rng.random() < 0.002:
                    phone = "01 23 45 67 89"  # a landline: the row is rejected, as it should
                if produced < rows:
                    produced += 1
                    yield [*pupil, civility, g_last, g_first, phone, email, legal]
    if stats is not None:
        stats.update(families=family, establishments=len(schools))


def generate(rows: int, seed: int = 42):
    """Families until `rows` rows; returns the rows as lists of values."""
    stats = {}
    out = list(generate_rows(rows, seed, stats))
    return out, stats["families"], stats["establishments"]


def write(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for row in rows:
            f.write(";".join(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required (the figure that matters is "
                 "PostgreSQL's).")

    import django

    django.setup()
    from django.db import connection

    from pupils import roster_import as importer
    from pupils.models import GuardianRecord, Pupil, Responsibility

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"{settings_dict['NAME']}_bench_roster"
    started = time.perf_counter()
    rows, families, schools = generate(args.rows)
    print(f"Generated {len(rows):,} rows: {families:,} families, {schools} establishments "
          f"in {time.perf_counter() - started:.1f} s")

    # The generated rows stay in memory for the later runs; the command holds nothing of the
    # kind, so keep them out of the garbage collector's way during the measures.
    gc.freeze()
    old_name = settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"Database {connection.settings_dict['NAME']} created and migrated")
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    copies = [0]
    copy_rows = importer._copy_rows

    def counted_copy(*args, **kwargs):
        copies[0] += 1
        return copy_rows(*args, **kwargs)

    importer._copy_rows = counted_copy  # COPY does not go through execute wrappers
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "roster.csv"
            write(path, rows)
            chunks = -(-len(rows) // args.chunk_size)

            def run(label):
                queries[0] = copies[0] = 0
                with connection.execute_wrapper(count):
                    begin, cpu = time.perf_counter(), time.process_time()
                    report = importer.roster_import(path=path, chunk_size=args.chunk_size)
                    seconds, cpu = time.perf_counter() - begin, time.process_time() - cpu
                print(f"\n{label}: {seconds:.1f} s ({cpu:.1f} s CPU in this process), "
                      f"{report.rows_read / seconds:,.0f} rows/s; "
                      f"per chunk of {args.chunk_size} rows: {queries[0] / chunks:.1f} queries "
                      f"+ {copies[0] / chunks:.1f} COPY; {report.rows_rejected} rejected rows")
                for kind, counts in report.counts().items():
                    print(f"  {kind:<15} " + "  ".join(f"{k} {v:>7,}" for k, v in counts.items()))
                return report

            run("First import (empty database)")
            run("Second import (same file)")

            rng = random.Random(7)
            changed = {}

            def guardian(row):
                return row[0], row[10], row[11], re.sub(r"\D", "", row[12])[-9:]

            for row in rows:
                if row[12] and rng.random() < 0.02:
                    changed.setdefault(guardian(row), None)
            for row in rows:
                key = guardian(row)
                if key in changed:
                    if changed[key] is None:
                        changed[key] = "07 81 9" + f"{len(changed) % 10}" + " " + \
                            f"{rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"
                    row[12] = changed[key]
            write(path, rows)
            run(f"Third import ({len(changed):,} guardians changed their mobile)")

            next_level = {level: levels[(i + 1) % len(levels)] for _, _, levels in KINDS
                          for i, level in enumerate(levels)}
            for row in rows:
                row[8] = next_level[row[8]]
            write(path, rows)
            run("Fourth import (next school year: every pupil changes level)")
            print(f"\nIn the database: {Pupil.objects.count():,} pupils, "
                  f"{GuardianRecord.objects.count():,} guardian records, "
                  f"{Responsibility.objects.count():,} links, "
                  f"{Pupil.history.count():,} pupil history rows")
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
