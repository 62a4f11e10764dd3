"""Benchmark of the SMS self-activation against 1,000,000 guardian records on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_activation.py [--records 1000000] [--lookups 2000] [--flows 200]

Creates a database of its own (`<DATABASE_URL's name>_bench_activation`, dropped at the end
unless --keep), migrates it, loads the records with generate_series (one pupil and one active
link each, 5,000 establishments, names with accents and hyphens), then prints:

1. step 1's matching (activation.selectors.guardian_records_matching): p50/p95/max over
   `--lookups` lookups, half of them known name + number, half unknown numbers;
   goal: p95 under 20 ms;
2. the whole five-step flow's server time through Django's test client (every GET and POST
   of the five steps: middleware, templates, sessions, journal, the outbox row; as in
   production the SMS itself is left to the worker), with the password hasher swapped for a
   fast one so that the figure is everything *but* Argon2 (about 25 ms on its own); goal
   (issue 14): under 50 ms p95. Wall clock and, in brackets, the process's own CPU time: on a shared
   machine the difference is waiting (other processes, PostgreSQL's WAL fsync at each
   commit). The statements of each request are counted by an execute wrapper: SQL sent by
   a cursor, without BEGIN, COMMIT and savepoints (which tests/activation/
   test_step_costs.py counts).

Not part of the tests. Run it alone: the machine's other load shows in the figures.
"""

import argparse
import datetime
import os
import random
import re
import statistics
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
               "Loïc", "Léa", "Inès", "Marie-Josée", "Jérôme", "Nadia", "Karim", "Sophie",
               "Camille", "Stéphane", "Fatima", "Laëtitia", "Sébastien"]
FIRST_BIRTH_DATE = datetime.date(2006, 9, 1)
PASSWORD = "Cartable-Vert-2024!"
CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def phone_of(i: int) -> str:
    return f"+336{i:08d}"


def national_form(i: int) -> str:
    """phone_of(i) as a parent types it: « 06 12 34 56 78 »."""
    digits = f"{i:08d}"
    return "06 " + " ".join(digits[k:k + 2] for k in range(0, 8, 2))


def load(records: int, establishments: int) -> None:
    """One pupil, one guardian record and one active link per i, in three INSERT…SELECT."""
    from django.db import connection

    from core.normalization import name_key

    last_names = [n.upper() for n in LAST_NAMES]
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO pupils_academy (name) VALUES ('Académie du banc d''essai') "
                       "RETURNING id")
        academy_id = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO pupils_establishment (uai, name, kind, academy_id, ent_url)
            SELECT lpad(e::text, 7, '0') || 'A', 'Établissement ' || e, 'college', %s, ''
            FROM generate_series(1, %s) AS e
            """,
            [academy_id, establishments],
        )
        cursor.execute("SELECT min(id) FROM pupils_establishment")
        first_establishment = cursor.fetchone()[0]
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO pupils_pupil (ine, last_name, first_names, birth_date, level,
                                      establishment_id, account_id, national_id, academy_code)
            SELECT lpad(i::text, 9, '0') || '0A', (%(last)s::text[])[1 + i %% %(nl)s],
                   'Élève ' || i, %(born)s::date + (i %% 3000), '6EME',
                   %(est)s + (i %% %(ne)s), NULL, '', ''
            FROM generate_series(1, %(n)s) AS i
            """,
            {"last": last_names, "nl": len(last_names), "born": FIRST_BIRTH_DATE,
             "est": first_establishment, "ne": establishments, "n": records},
        )
        cursor.execute(
            """
            INSERT INTO pupils_guardianrecord (establishment_id, civility, last_name, first_name,
                                               last_name_key, first_name_key, mobile_phone,
                                               email, account_id)
            SELECT %(est)s + (i %% %(ne)s), 'Mme', (%(last)s::text[])[1 + i %% %(nl)s],
                   (%(first)s::text[])[1 + i %% %(nf)s],
                   (%(lastk)s::text[])[1 + i %% %(nl)s], (%(firstk)s::text[])[1 + i %% %(nf)s],
                   '+336' || lpad(i::text, 8, '0'), '', NULL
            FROM generate_series(1, %(n)s) AS i
            """,
            {"est": first_establishment, "ne": establishments, "last": last_names,
             "nl": len(last_names), "first": FIRST_NAMES, "nf": len(FIRST_NAMES),
             "lastk": [name_key(n) for n in last_names],
             "firstk": [name_key(n) for n in FIRST_NAMES], "n": records},
        )
        cursor.execute(
            """
            INSERT INTO pupils_responsibility (guardian_record_id, pupil_id,
                                               is_legal_representative, status)
            SELECT g.id, p.id, true, 'active'
            FROM pupils_guardianrecord g
            JOIN pupils_pupil p ON p.ine = lpad(substr(g.mobile_phone, 5)::int::text, 9, '0')
                                          || '0A'
            """
        )
        cursor.execute("ANALYZE")
        print(f"Loaded {records:,} pupils, guardian records and links in "
              f"{time.perf_counter() - started:.1f} s")


def bench_matching(records: int, lookups: int) -> None:
    from activation.selectors import guardian_records_matching

    rng = random.Random(3)
    timings = {"known": [], "unknown": []}
    for n in range(lookups):
        i = rng.randint(1, records)
        if n % 2 == 0:
            kind, phone = "known", phone_of(i)
        else:
            kind, phone = "unknown", f"+337{rng.randint(0, 10**8 - 1):08d}"
        last = LAST_NAMES[i % len(LAST_NAMES)]
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        started = time.perf_counter()
        found = guardian_records_matching(phone=phone, last_name=last.lower(), first_name=first)
        timings[kind].append((time.perf_counter() - started) * 1000)
        assert bool(found) == (kind == "known"), (kind, phone, last, first)
    every = timings["known"] + timings["unknown"]
    print(f"\nStep 1 matching over {lookups:,} lookups ({records:,} guardian records):")
    for label, values in (("known", timings["known"]), ("unknown", timings["unknown"]),
                          ("all", every)):
        print(f"  {label:8} p50 {percentile(values, .5):6.2f} ms   "
              f"p95 {percentile(values, .95):6.2f} ms   max {max(values):6.2f} ms")


def bench_flows(records: int, flows: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from notifications import services as outbox
    from notifications.models import OutboundMessage
    from pupils.models import GuardianRecord

    # A reused database: records activated by the last run are free again.
    GuardianRecord.objects.filter(account__isnull=False).update(account=None)
    rng = random.Random()
    # One client, hence one request handler (middleware loaded once, as in a web process);
    # each flow starts from a fresh browser (no cookies).
    client = Client(SERVER_NAME="localhost")
    steps: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    queries: dict[str, list[int]] = {}
    totals, cpu_totals = [], []
    overrides = override_settings(
        # Everything but Argon2: the hash alone is measured in accounts' own figures.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SMS_BACKEND="notifications.sms.LocmemSMSBackend",
        ACTIVATION_MAX_SENDS_PER_IP=10**9,
        # Records are drawn at random: a number drawn twice must get its SMS again.
        ACTIVATION_MAX_SENDS_PER_PHONE=10**9, CODE_RECIPIENT_COOLDOWN_SECONDS=0,
        SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False,
    )
    overrides.enable()
    # As in production, the request only writes the outbox row and hands its id to the
    # broker; the worker sends it. Here the id is kept and the code read from the row.
    handed_to_broker: list[int] = []
    real_schedule = outbox._schedule_send
    outbox._schedule_send = handed_to_broker.append
    try:
        # Drawn without replacement: a record drawn twice would meet its own account
        # (« already active ») and end the run on the assertion below.
        for i in rng.sample(range(1, records + 1), flows):
            client.cookies.clear()
            total = cpu_total = 0.0

            def timed(label, call, *args, **kwargs):
                nonlocal total, cpu_total
                # Statements counted by an execute wrapper (a call and an addition each):
                # Django's CaptureQueriesContext would format and keep every statement's
                # SQL, a cost production does not have.
                count = [0]

                def counting(execute, sql, params, many, context):
                    count[0] += 1
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(counting):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    response = call(*args, **kwargs)
                    elapsed = (time.perf_counter() - started) * 1000
                    cpu_elapsed = (time.process_time() - cpu_started) * 1000
                total += elapsed
                cpu_total += cpu_elapsed
                steps.setdefault(label, []).append(elapsed)
                cpu.setdefault(label, []).append(cpu_elapsed)
                queries.setdefault(label, []).append(count[0])
                assert response.status_code in (200, 302), (label, response.status_code)
                return response

            timed("1 GET identité", client.get, reverse("activation:start"))
            response = timed("1 POST identité", client.post, reverse("activation:start"), {
                "last_name": LAST_NAMES[i % len(LAST_NAMES)],
                "first_name": FIRST_NAMES[i % len(FIRST_NAMES)],
                "phone": national_form(i),
            })
            code_url = response["Location"]
            flow_id = code_url.rstrip("/").split("/")[-2]
            body = OutboundMessage.objects.get(pk=handed_to_broker[-1]).body
            code = CODE_IN_SMS.search(body).group(1)
            timed("2 GET code", client.get, code_url)
            timed("2 POST code", client.post, code_url, {"code": code})
            pupils_url = reverse("activation:pupils", kwargs={"flow_id": flow_id})
            timed("3 GET élèves", client.get, pupils_url)
            born = FIRST_BIRTH_DATE + datetime.timedelta(days=i % 3000)
            timed("3 POST élèves", client.post, pupils_url, {
                "eleve1_lien": "oui", "eleve1_jour": born.day, "eleve1_mois": born.month,
                "eleve1_annee": born.year,
            })
            password_url = reverse("activation:password", kwargs={"flow_id": flow_id})
            timed("4 GET mot de passe", client.get, password_url)
            response = timed("4 POST mot de passe", client.post, password_url,
                             {"password": PASSWORD, "password_confirm": PASSWORD})
            assert response["Location"].endswith("/compte-active/"), response["Location"]
            timed("5 GET compte activé", client.get, response["Location"])
            totals.append(total)
            cpu_totals.append(cpu_total)
    finally:
        outbox._schedule_send = real_schedule
        overrides.disable()

    print(f"\nWhole flow, server time without Argon2, over {flows} activations "
          "(wall clock; in brackets the Python process's own CPU time):")
    for label, values in steps.items():
        print(f"  {label:22} p50 {percentile(values, .5):6.2f} ms "
              f"[{percentile(cpu[label], .5):5.2f}]   p95 {percentile(values, .95):6.2f} ms "
              f"[{percentile(cpu[label], .95):5.2f}]   "
              f"queries {statistics.median(queries[label]):.0f}")
    print(f"  {'five steps, total':22} p50 {percentile(totals, .5):6.2f} ms "
          f"[{percentile(cpu_totals, .5):5.2f}]   p95 {percentile(totals, .95):6.2f} ms "
          f"[{percentile(cpu_totals, .95):5.2f}]   max {max(totals):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--establishments", type=int, default=5000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--redis-url", default="",
                        help="Redis for the cache and sessions, as in production (a database "
                             "number of your own: the bench writes sessions and counters)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse a database kept by --keep (skips the load)")
    parser.add_argument("--profile", default="", metavar="FILE",
                        help="write the flows' cProfile, timed in CPU time, to FILE "
                             "(python -m pstats FILE)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required (the figure that matters is "
                 "PostgreSQL's).")
    # Without --redis-url, a process-local cache and database sessions: the bench never
    # touches a Redis it was not given.
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
        os.environ["CACHE_KEY_PREFIX"] = "bench-activation"
    else:
        os.environ.pop("REDIS_URL", None)

    import django

    django.setup()
    from django.db import connection

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"{settings_dict['NAME']}_bench_activation"
    old_name = settings_dict["NAME"]
    # serialize=False: the test runner's copy of every row (for serialized rollback), which a
    # bench never restores, took 45 s of CPU on a reused database of 100,000 records.
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.reuse,
                                       serialize=False)
    print(f"Database {connection.settings_dict['NAME']} created and migrated")
    try:
        from pupils.models import GuardianRecord

        if not (args.reuse and GuardianRecord.objects.exists()):
            load(args.records, args.establishments)
        bench_matching(args.records, args.lookups)
        from django.conf import settings

        print(f"\nSessions: {settings.SESSION_ENGINE}; cache: "
              f"{settings.CACHES['default']['BACKEND']}")
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            profiler.runcall(bench_flows, args.records, args.flows)
            profiler.dump_stats(args.profile)
        else:
            bench_flows(args.records, args.flows)
    finally:
        if not (args.keep or args.reuse):
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
