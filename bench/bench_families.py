"""Benchmark of « Mes enfants » (issue 11) at 1,000,000 guardian records on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_families.py [--records 1000000] [--runs 20] [--merges 100]

Creates a database of its own (`<DATABASE_URL's name>_bench_families`, dropped at the end
unless --keep), migrates it, loads the records as bench_activation.py does, gives every
other record an active guardian account, then prints:

1. the roster import's automatic attach (pupils.roster_import._attach_new_records) for one
   chunk of 2,000 new records, half of them the same person as a covered record: its two
   statements (the covered records by mobile number, the accounts locked), p50 and max over
   `--runs` chunks, each rolled back; beside it, what a chunk of the import costs in all
   (bench/README.md: about 2 s a chunk of 2,000 rows), for the ratio;
2. a merge (families.services.accounts_merge) of two accounts of 2 records each, server
   time without Argon2 (the hasher swapped for a fast one): p50 and max over `--merges`.

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
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

CHUNK = 2000


def give_accounts() -> None:
    """An active guardian account for every other record (i even), by INSERT…SELECT."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account (identifier, kind, first_name, last_name, email,
                email_verified, phone, phone_verified, state, is_staff, is_superuser,
                date_joined, activated_at, password)
            SELECT 'p.bench' || g.id, 'guardian', g.first_name, g.last_name, '', false,
                   g.mobile_phone, true, 'active', false, false, now(), now(), '!'
            FROM pupils_guardianrecord g WHERE g.id % 2 = 0
            """
        )
        cursor.execute(
            """
            UPDATE pupils_guardianrecord g SET account_id = a.id
            FROM accounts_account a WHERE a.identifier = 'p.bench' || g.id
            """
        )
        cursor.execute("ANALYZE")
    print(f"Accounts for half the records in {time.perf_counter() - started:.1f} s")


def bench_attach(runs: int) -> None:
    from django.db import connection, transaction

    from pupils.models import GuardianRecord
    from pupils.roster_import import _attach_new_records, _new, _RecordRow

    covered = list(GuardianRecord.objects.filter(account__isnull=False).order_by("?")
                   .values_list("establishment_id", "last_name", "first_name", "last_name_key",
                                "first_name_key", "mobile_phone")[:CHUNK * runs // 2])
    timings, attached_counts = [], []
    for run in range(runs):
        same = covered[run * CHUNK // 2:(run + 1) * CHUNK // 2]
        rows = [_new(_RecordRow, GuardianRecord, establishment_id=e, civility="Mme",
                     last_name=ln, first_name=fn, last_name_key=lk, first_name_key=fk,
                     mobile_phone=str(phone), email="", account_id=None)
                for e, ln, fn, lk, fk, phone in same]
        rows += [_new(_RecordRow, GuardianRecord, establishment_id=same[0][0], civility="M.",
                      last_name="INCONNU", first_name="Personne", last_name_key="inconnu",
                      first_name_key="personne", mobile_phone=f"+337{run:02d}{i:06d}",
                      email="", account_id=None)
                 for i in range(CHUNK - len(same))]
        with transaction.atomic():
            queries = len(connection.queries)
            started = time.perf_counter()
            attached = _attach_new_records(rows)
            timings.append((time.perf_counter() - started) * 1000)
            queries = len(connection.queries) - queries
            transaction.set_rollback(True)
        attached_counts.append(sum(len(r) for r in attached.values()))
    print(f"\n1. Automatic attach, one chunk of {CHUNK} new records ({CHUNK // 2} of them "
          f"covered people): p50 {statistics.median(timings):.1f} ms, max "
          f"{max(timings):.1f} ms over {runs} chunks; {queries} statements; "
          f"{statistics.median(attached_counts):.0f} records attached a chunk")
    print(f"   Against about 2,000 ms a chunk for the whole import (bench/README.md): "
          f"{statistics.median(timings) / 2000:.1%}")


def bench_merges(merges: int) -> None:
    from django.test import override_settings

    from accounts.models import Account
    from families.services import accounts_merge
    from pupils.models import GuardianRecord

    timings = []
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for n in range(merges):
            pair = []
            for side in range(2):
                account = Account.objects.create_user(f"p.fusion{n}x{side}", "Fusion-2024!",
                                                      kind="guardian", first_name="Awa",
                                                      last_name="Diallo", state="active")
                GuardianRecord.objects.filter(
                    pk__in=GuardianRecord.objects.filter(account__isnull=True)
                    .order_by("pk").values("pk")[:2]
                ).update(account=account)
                pair.append(account)
            started = time.perf_counter()
            accounts_merge(account=pair[0], identifier=pair[1].identifier,
                           password="Fusion-2024!")
            timings.append((time.perf_counter() - started) * 1000)
    print(f"\n2. Merge of two accounts (2 records each), without Argon2: p50 "
          f"{statistics.median(timings):.1f} ms, max {max(timings):.1f} ms over {merges}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--establishments", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--merges", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required.")
    os.environ.pop("REDIS_URL", None)  # process-local rate limits: no Redis touched

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.DEBUG = True  # counts the statements
    from bench_activation import load

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"{settings_dict['NAME']}_bench_families"
    old_name = settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"Database {connection.settings_dict['NAME']} created and migrated")
    try:
        load(args.records, args.establishments)
        give_accounts()
        bench_attach(args.runs)
        bench_merges(args.merges)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
