"""Benchmark: does a page answer in the same time whether or not what was typed matches?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_enumeration.py [--samples 500] [--records 2000] [--keep]

Issue 8 §6: an attacker must not learn that an identifier exists, or that a name and a
number are those a school knows, from the time a page takes. This script measures it over
HTTP, as an attacker would, against gunicorn (2 sync workers) on PostgreSQL and Redis:

- sign-in with a wrong password: an existing identifier vs an unknown one;
- « Mot de passe oublié ? »: an existing identifier vs an unknown one, at the identifier step
  and at the channel step (« SMS »: a code written to the outbox for an account only);
- « Identifiant oublié ? » by SMS and by e-mail: a name and number (an address) of an account
  vs ones that match nothing;
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
        "PASSWORD_RECOVERY_MAX_STARTS_PER_IP": "1000000",
        "PASSWORD_RESET_MAX_SENDS_PER_IP": "1000000",
        "PASSWORD_RESET_MAX_SENDS_PER_PHONE": "1000000",
        "PASSWORD_RESET_MAX_SENDS_PER_EMAIL": "1000000",
        "IDENTIFIER_REMINDER_MAX_PER_IP": "1000000",
        "IDENTIFIER_REMINDER_MAX_PER_RECIPIENT": "1000000",
        "EDUCONNECT_SITE_URL": "https://educonnect.example",
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


def timed_post(base: str, case, index: int) -> tuple[float, int]:
    """A new browser: `case(browser, base, index)` does the untimed steps (the GET of the form
    for its cookie and token, earlier steps of a flow) and returns the path and fields of the
    POST to time. Returns (ms, status)."""
    with requests.Session() as browser:
        path, fields = case(browser, base, index)
        page = browser.get(base + path, timeout=10)
        token = CSRF_INPUT.search(page.text)
        data = dict(fields, csrfmiddlewaretoken=token.group(1) if token else "")
        started = time.perf_counter()
        response = browser.post(base + path, data=data, allow_redirects=False, timeout=30,
                                headers={"Referer": base + path})
        return (time.perf_counter() - started) * 1000, response.status_code


def compare(base: str, label: str, matching, unmatched, samples: int) -> bool:
    """Interleave `samples` POSTs of each side in a random order; print the medians."""
    times: dict[str, list[float]] = {"match": [], "no match": []}
    statuses: dict[str, set[int]] = {"match": set(), "no match": set()}
    order = ["match"] * samples + ["no match"] * samples
    random.shuffle(order)
    for index, side in enumerate(order):
        elapsed, status = timed_post(base, matching if side == "match" else unmatched, index)
        times[side].append(elapsed)
        statuses[side].add(status)
    a, b = statistics.median(times["match"]), statistics.median(times["no match"])
    ok = abs(a - b) < 1.0
    print(f"  {label:44} match {a:7.2f} ms   no match {b:7.2f} ms   "
          f"difference {a - b:+6.2f} ms   {'OK' if ok else 'OVER 1 ms'}   "
          f"statuses {sorted(statuses['match'])} / {sorted(statuses['no match'])}")
    return ok


def fields_case(path: str, fields):
    """A case that POSTs `fields(index)` to `path` (a one-page form)."""
    return lambda browser, base, index: (path, fields(index))


def recovery_channel_case(identifier):
    """« Mot de passe oublié ? »: the identifier (untimed), then the channel « SMS » (timed):
    where a known account gets its code written to the outbox and an unknown one does not.

    An unknown identifier's decoy offers the SMS or not (accounts/recovery/masking.py, as
    accounts do): an identifier whose channel page does not offer it is set aside for
    another, untimed, so that both sides time the same thing (a code made)."""
    def case(browser, base, index):
        for _attempt in range(50):
            page = browser.get(base + "/mot-de-passe-oublie/", timeout=10)
            token = CSRF_INPUT.search(page.text).group(1)
            response = browser.post(
                base + "/mot-de-passe-oublie/", allow_redirects=True, timeout=30,
                data={"identifier": identifier(index), "csrfmiddlewaretoken": token},
                headers={"Referer": base + "/mot-de-passe-oublie/"},
            )
            if 'value="sms"' in response.text:
                break
        path = response.url.removeprefix(base)
        return path, {"channel": "sms"}
    return case


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

    def known_account(_):
        # The accounts loaded below: « Prénom BenchN », mobile +3361 and N on 7 digits.
        i = rng.randint(1, records)
        digits = f"1{i:07d}"
        return {"last_name": f"Bench{i}", "first_name": "Prénom",
                "phone": "06 " + " ".join(digits[k:k + 2] for k in range(0, 8, 2))}

    def unknown_account(_):
        i = rng.randint(1, records)
        digits = f"9{i:07d}"
        return {"last_name": f"Bench{i}", "first_name": "Prénom",
                "phone": "06 " + " ".join(digits[k:k + 2] for k in range(0, 8, 2))}

    def known_identifier(_):
        return f"p.bench{rng.randint(1, records)}"

    def unknown_identifier(_):
        return f"p.absent{rng.randint(1, records)}"

    cases = {
        "sign-in, wrong password": (
            fields_case("/connexion/representant-legal/",
                        lambda i: {"identifier": known_identifier(i),
                                   "password": "Faux-mot-2024!"}),
            fields_case("/connexion/representant-legal/",
                        lambda i: {"identifier": unknown_identifier(i),
                                   "password": "Faux-mot-2024!"}),
        ),
        "activation step 1": (fields_case("/activation/", known_record),
                              fields_case("/activation/", unknown_record)),
        "« Mot de passe oublié ? » identifier": (
            fields_case("/mot-de-passe-oublie/", lambda i: {"identifier": known_identifier(i)}),
            fields_case("/mot-de-passe-oublie/", lambda i: {"identifier": unknown_identifier(i)}),
        ),
        "« Mot de passe oublié ? » code by SMS": (
            recovery_channel_case(known_identifier), recovery_channel_case(unknown_identifier),
        ),
        "« Identifiant oublié ? » by SMS": (
            fields_case("/identifiant-oublie/sms/", known_account),
            fields_case("/identifiant-oublie/sms/", unknown_account),
        ),
        "« Identifiant oublié ? » by e-mail": (
            fields_case("/identifiant-oublie/mail/",
                        lambda i: {"email": f"bench{rng.randint(1, records)}@example.org"}),
            fields_case("/identifiant-oublie/mail/",
                        lambda i: {"email": f"absent{rng.randint(1, records)}@example.org"}),
        ),
    }
    ok = True
    for label, (matching, unmatched) in cases.items():
        ok &= compare(base, label, matching, unmatched, samples)
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
