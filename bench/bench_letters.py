"""Benchmark of a school-letter run (issue 9 §5): a collège of 1,000 pupils and 1,800 guardian
records, every one without an account, all letters in one run (accounts + PDF).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_letters.py [--pupils 1000 --records 1800] [--small 4] [--keep]

Creates a database of its own (`<DATABASE_URL's name>_bench_letters`, dropped at the end unless
--keep), migrates it, loads two collèges — the full size and one `--small` times smaller — and
runs `pupils.letters.letter_run_execute` for each in a child process of its own, so that
each child's peak RSS (its own ru_maxrss) is the run's alone. Prints per run: wall clock, the
child's CPU time (user + system: Argon2 runs on LETTERS_HASH_THREADS threads, so CPU can exceed
wall clock) plus its renderer processes' (LETTERS_RENDER_PROCESSES of them, WeasyPrint), the
child's peak RSS and its largest renderer's, pages and file size. Goal: the full run under
60 s; peak RSS of the two sizes about equal (rendering is done LETTERS_CHUNK_SIZE letters at a
time, at most one part per renderer in flight, and the parts are merged as they come, so
memory does not grow with the school). `--profile FILE`: cProfile of the full-size run's main
thread (the hashes and the renderers are not in it).

Not part of the tests. Run it alone: the machine's other load shows in the figures.
"""

import argparse
import datetime
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
              "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
              "N'Diaye", "Le Goff", "Saint-Éloi", "Payet", "Hoarau", "Grondin", "Bensaïd",
              "Jean-Baptiste", "Da Silva", "Nguyễn", "Œuvrard", "D'Almeida", "Van der Berg"]
FIRST_NAMES = ["Hélène", "Jean-Éric", "Maëlle", "Noël", "Zoé", "Chloé", "François", "Anaïs",
               "Loïc", "Léa", "Inès", "Marie-Josée", "Jérôme", "Nadia", "Karim", "Sophie"]
LEVELS = ["6EME", "5EME", "4EME", "3EME"]


def load(*, uai: str, pupils: int, records: int, ine_base: int):
    """A collège: `pupils` pupils over four levels; pupil i is linked to record i and, while
    records last, to record pupils + i (a second guardian)."""
    from core.normalization import name_key
    from pupils.models import (
        Academy,
        Establishment,
        GuardianRecord,
        Pupil,
        Responsibility,
    )

    academy, _ = Academy.objects.get_or_create(name="Créteil")
    school = Establishment.objects.create(uai=uai, name=f"Collège {uai}", kind="college",
                                          academy=academy)
    created_pupils = Pupil.objects.bulk_create([
        Pupil(ine=f"{ine_base + i:09d}0A", last_name=LAST_NAMES[i % len(LAST_NAMES)],
              first_names=FIRST_NAMES[i % len(FIRST_NAMES)], level=LEVELS[i % len(LEVELS)],
              birth_date=datetime.date(2012, 1, 1) + datetime.timedelta(days=i % 1400),
              establishment=school)
        for i in range(pupils)], batch_size=1000)
    created_records = GuardianRecord.objects.bulk_create([
        GuardianRecord(establishment=school, last_name=LAST_NAMES[i % pupils % len(LAST_NAMES)],
                       first_name=FIRST_NAMES[(i * 7) % len(FIRST_NAMES)],
                       last_name_key=name_key(LAST_NAMES[i % pupils % len(LAST_NAMES)]),
                       first_name_key=name_key(FIRST_NAMES[(i * 7) % len(FIRST_NAMES)]),
                       mobile_phone=f"+3361{ine_base + i:07d}"[:12])
        for i in range(records)], batch_size=1000)
    Responsibility.objects.bulk_create([
        Responsibility(guardian_record=record, pupil=created_pupils[i % pupils])
        for i, record in enumerate(created_records)], batch_size=1000)
    return school, [pupil.pk for pupil in created_pupils]


def child(run_id: int, profile: str = "") -> None:
    """Run one letter run and print its figures (the parent reads the child's peak RSS).
    `profile`: write cProfile's statistics of the run's main thread to this file."""
    import django

    django.setup()
    from pupils.letters import letter_run_execute

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    def renderers_cpu() -> float:  # the renderer processes, once they have exited
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, cpu, children_cpu = time.perf_counter(), time.process_time(), renderers_cpu()
    run = letter_run_execute(run_id=run_id)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    children_cpu = renderers_cpu() - children_cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    from django.conf import settings

    path = Path(settings.LETTERS_DIR) / run.file_name
    size = path.stat().st_size if run.file_name else 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    renderer_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  status {run.status}, {run.accounts_created} accounts, {run.pages} pages, "
          f"{size / 1e6:.1f} MB; wall {wall:.1f} s, CPU {cpu:.1f} s + renderers "
          f"{children_cpu:.1f} s = {cpu + children_cpu:.1f} s; peak RSS {peak:.0f} MB, "
          f"largest renderer {renderer_peak:.0f} MB (x {settings.LETTERS_RENDER_PROCESSES})",
          flush=True)
    if run.file_name:
        path.unlink()  # the bench's fake passwords: not left on disk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--records", type=int, default=1800)
    parser.add_argument("--small", type=int, default=4,
                        help="the second school is this many times smaller")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--profile", default="",
                        help="write cProfile statistics of the full-size run to this file")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.profile)
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required.")
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"{settings_dict['NAME']}_bench_letters"
    old_name = settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    bench_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + settings_dict["NAME"]
    print(f"Database {settings_dict['NAME']} created and migrated; "
          f"chunks of {settings.LETTERS_CHUNK_SIZE}, {settings.LETTERS_HASH_THREADS} hash "
          f"threads, Argon2id m={settings.ARGON2_MEMORY_COST_KIB} KiB "
          f"t={settings.ARGON2_TIME_COST}")
    try:
        from accounts.models import Account, AccountKind, AccountState
        from pupils.letters import letter_run_request

        secretary = Account.objects.create(identifier="s.bench10", kind=AccountKind.STAFF,
                                           state=AccountState.ACTIVE, is_staff=True)
        sizes = [(args.pupils // args.small, args.records // args.small),
                 (args.pupils, args.records)]
        for index, (pupils, records) in enumerate(sizes):
            school, pupil_ids = load(uai=f"094{index:04d}A", pupils=pupils, records=records,
                                     ine_base=100_000_000 + index * 100_000)
            settings.LETTERS_RUN_ON_COMMIT = False
            run = letter_run_request(establishment=school, actor=secretary,
                                     pupil_ids=pupil_ids)
            connection.close()
            print(f"{pupils} pupils, {records} guardian records:", flush=True)
            env = {**os.environ, "DATABASE_URL": bench_url}
            profile = ["--profile", args.profile] if args.profile and index == 1 else []
            subprocess.run([sys.executable, __file__, "--child", str(run.pk), *profile],  # noqa: S603
                           env=env, check=True)
    finally:
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
