"""Benchmark: does a page answer in the same time whether or not what was typed matches?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_enumeration.py [--samples 500] [--records 2000] [--keep]

Issue 8 §6: an attacker must not learn that an identifier exists, or that a name and a
number are those a school knows, from the time a page takes. This script measures it over
HTTP, as an attacker would, against gunicorn (2 sync workers) on PostgreSQL and Redis:

- sign-in with a wrong password: an existing identifier vs an unknown one;
- « Mot de passe oublié ? »: an existing identifier vs an unknown one (when the page exists);
- « Identifiant oublié ? » by SMS: a matching name and number vs one that matches nothing;
- activation step 1: a name and number a school knows (a code is made and an SMS written to
  the outbox) vs ones it does not know;

each with the Celery broker up and with it down (the request must publish nothing that
depends on it). For each pair, `--samples` requests of each kind are interleaved in a random
order (so that any drift of the machine hits both alike); each request comes from a new
browser (its own cookies, a GET for the CSRF token, not timed) and only the POST is timed.
The figure is the difference of the medians; the goal is under 1 ms in every case.

It creates `<DATABASE_URL's name>_bench_enum` (dropped at the end unless --keep), loads
`--records` guardian records (bench_activation's loader: distinct numbers, one pupil each)
and as many active accounts, and raises the rate limits for the run (the limits are not
what is measured, and a limit reached would change what one side does).

Not part of the tests. Run it alone: the machine's other load shows in the figures.
"""

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

from bench_activation import FIRST_NAMES, LAST_NAMES, load, national_form  # noqa: E402

PASSWORD = "Cartable-Vert-2024!"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
REDIS_DB = 13
BROKER_DB = 12
DEAD_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing answers there


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, broker_url: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CELERY_BROKER_URL": broker_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-enumeration-not-a-real-secret-" + "x" * 40,
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "SMS_BACKEND": "notifications.sms.LocmemSMSBackend",
        # Limits out of the way: a refusal on one side would be a difference of its own.
        "LOGIN_MAX_FAILURES_PER_IDENTIFIER": "1000000",
        "LOGIN_MAX_FAILURES_PER_IP": "1000000",
        "LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP": "1000000",
        "ACTIVATION_MAX_SENDS_PER_IP": "1000000",
        "ACTIVATION_MAX_SENDS_PER_PHONE": "1000000",
        "CODE_RECIPIENT_COOLDOWN_SECONDS": "0",
        "RECOVERY_MAX_REQUESTS_PER_IP": "1000000",
        "PASSWORD_RESET_MAX_SENDS_PER_IP": "1000000",
        "PASSWORD_RESET_MAX_SENDS_PER_PHONE": "1000000",
    })
    return env


class Server:
    """gunicorn with 2 sync workers, as in docker-compose.yml."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            [str(Path(sys.executable).parent / "gunicorn"), "educonnect.wsgi",
             "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning"],
            cwd=BASE_DIR, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            # The server's log (a broker-down traceback per request, before issue 8) is kept
            # out of the figures' way.
            stderr=open(BASE_DIR / "var" / "bench_enumeration_server.log", "ab"),
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.base + "/", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def timed_post(base: str, path: str, fields: dict) -> tuple[float, int]:
    """A new browser: GET the form (cookie and token), then the timed POST. (ms, status)"""
    with requests.Session() as browser:
        page = browser.get(base + path, timeout=10)
        token = CSRF_INPUT.search(page.text)
        data = dict(fields, csrfmiddlewaretoken=token.group(1) if token else "")
        started = time.perf_counter()
        response = browser.post(base + path, data=data, allow_redirects=False, timeout=30,
                                headers={"Referer": base + path})
        return (time.perf_counter() - started) * 1000, response.status_code


def compare(base: str, label: str, path: str, matching, unmatched, samples: int) -> bool:
    """Interleave `samples` POSTs of each side in a random order; print the medians."""
    times: dict[str, list[float]] = {"match": [], "no match": []}
    statuses: dict[str, set[int]] = {"match": set(), "no match": set()}
    order = ["match"] * samples + ["no match"] * samples
    random.shuffle(order)
    counters = {"match": 0, "no match": 0}
    for side in order:
        fields = (matching if side == "match" else unmatched)(counters[side])
        counters[side] += 1
        elapsed, status = timed_post(base, path, fields)
        times[side].append(elapsed)
        statuses[side].add(status)
    a, b = statistics.median(times["match"]), statistics.median(times["no match"])
    ok = abs(a - b) < 1.0
    print(f"  {label:44} match {a:7.2f} ms   no match {b:7.2f} ms   "
          f"difference {a - b:+6.2f} ms   {'OK' if ok else 'OVER 1 ms'}   "
          f"statuses {sorted(statuses['match'])} / {sorted(statuses['no match'])}")
    return ok


def run_cases(base: str, records: int, samples: int) -> bool:
    rng = random.Random()
    person = lambda i: (LAST_NAMES[i % len(LAST_NAMES)], FIRST_NAMES[i % len(FIRST_NAMES)])  # noqa: E731

    def known_record(_):
        i = rng.randint(1, records)
        last, first = person(i)
        return {"last_name": last, "first_name": first, "phone": national_form(i)}

    def unknown_record(_):
        i = rng.randint(1, records)
        last, first = person(i)
        # Same shape of number, in a range the loader never gives.
        return {"last_name": last, "first_name": first, "phone": national_form(90_000_000 + i)}

    def known_identifier(_):
        return {"identifier": f"p.bench{rng.randint(1, records)}", "password": "Faux-mot-2024!"}

    def unknown_identifier(_):
        return {"identifier": f"p.absent{rng.randint(1, records)}", "password": "Faux-mot-2024!"}

    ok = compare(base, "sign-in, wrong password", "/connexion/representant-legal/",
                 known_identifier, unknown_identifier, samples)
    ok &= compare(base, "activation step 1", "/activation/", known_record, unknown_record,
                  samples)
    recovery_pages = {
        "« Mot de passe oublié ? » identifier": (
            "/mot-de-passe-oublie/",
            lambda i: {"identifier": known_identifier(i)["identifier"]},
            lambda i: {"identifier": unknown_identifier(i)["identifier"]},
        ),
        "« Identifiant oublié ? » by SMS": (
            "/identifiant-oublie/sms/", known_record, unknown_record,
        ),
    }
    for label, (path, matching, unmatched) in recovery_pages.items():
        if requests.get(base + path, timeout=10).status_code != 200:
            print(f"  {label:44} (no page at {path}: not measured)")
            continue
        ok &= compare(base, label, path, matching, unmatched, samples)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django
    import environ

    base_url = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    bench_name = f"{base_url['NAME']}_bench_enum"
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    bench_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + bench_name
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}"')
        admin.execute(f'CREATE DATABASE "{bench_name}"')
    os.environ["DATABASE_URL"] = bench_url
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    load(args.records, max(args.records // 200, 1))
    password_hash = make_password(PASSWORD)  # production Argon2 parameters, hashed once
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account (identifier, kind, first_name, last_name, email,
                email_verified, phone, phone_verified, state, is_staff, is_superuser,
                date_joined, activated_at, password)
            SELECT 'p.bench' || i, 'guardian', 'Prénom', 'Bench' || i,
                   'bench' || i || '@example.org', true, '+3361' || lpad(i::text, 7, '0'),
                   true, 'active', false, false, now(), now(), %s
            FROM generate_series(1, %s) AS i
            """,
            [password_hash, args.records],
        )
    connection.close()
    redis.Redis(db=REDIS_DB).flushdb()

    print(f"{args.samples} interleaved samples per side, {args.records} records and accounts; "
          "median POST time over HTTP (gunicorn, 2 workers):")
    all_ok = True
    try:
        for broker_label, broker in (
            ("broker up", f"redis://127.0.0.1:6379/{BROKER_DB}"), ("broker down", DEAD_BROKER),
        ):
            print(f"\n{broker_label}:")
            server = Server(server_env(bench_url, broker))
            try:
                all_ok &= run_cases(server.base, args.records, args.samples)
            finally:
                server.stop()
    finally:
        if not args.keep:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
    print("\nall differences under 1 ms" if all_ok else "\nsome differences are 1 ms or more")


if __name__ == "__main__":
    main()
