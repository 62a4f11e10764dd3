"""Match against non-match: the server time of each recovery endpoint (issue 8 §6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/bench_recovery.py [--accounts 200000] [--samples 300] [--keep]

Creates a database of its own (`<DATABASE_URL's name>_bench_recovery`, dropped at the end
unless --keep), migrates it, loads `--accounts` active guardian accounts (proven mobile
number, validated address) with generate_series, then times, through Django's test client
(middleware, sessions in Redis, templates, rate limits in Redis, journal, the outbox row;
no HTTP server), `--samples` interleaved pairs of requests — one for an account, one for
nothing — of:

1. « Identifiant oublié ? » by SMS (name + number) and 2. by e-mail (address);
3. « Mot de passe oublié ? », the identifier step;
4. its channel step by SMS (the code) and 5. by e-mail (the link).

Each known sample uses another account (a fresh recipient: no silent per-recipient limit
holds its message back, which would hide the difference). The broker is configured, so, as
in production, no request publishes anything (the outbox is picked up by the dispatcher).
Prints the median of each side, their difference and the interquartile range; the goal is a
difference of medians under 1 ms. Not part of the tests; run it alone.
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
# As in production: a broker is configured (never contacted here: nothing publishes from a
# request), limits high enough for the samples, SMS and e-mails left in the outbox.
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("EDUCONNECT_SITE_URL", "https://educonnect.example")
for name in ("IDENTIFIER_REMINDER_MAX_PER_IP", "PASSWORD_RECOVERY_MAX_STARTS_PER_IP",
             "PASSWORD_RESET_MAX_SENDS_PER_IP"):
    os.environ[name] = "1000000"


# A name holds no digit (core.forms.PersonNameField refuses « Bench-12 »): account i is
# « Bench-bc ».
DIGITS_AS_LETTERS = str.maketrans("0123456789", "abcdefghij")


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def load(accounts: int) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    hashed = make_password("Bench-Password-2026!")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account (identifier, kind, first_name, last_name, email,
                email_verified, phone, phone_verified, state, is_staff, is_superuser,
                date_joined, password)
            SELECT 'p.bench' || i, 'guardian', 'Hélène',
                   'Bench-' || translate(i::text, '0123456789', 'abcdefghij'),
                   'bench' || i || '@exemple.fr', true, '+336' || lpad(i::text, 8, '0'), true,
                   'active', false, false, now(), %s
            FROM generate_series(1, %s) AS i
            """,
            [hashed, accounts],
        )
        cursor.execute("ANALYZE accounts_account")


def timed(call, *args, **kwargs) -> float:
    started = time.perf_counter()
    response = call(*args, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 302, response.status_code
    return elapsed


def run(samples: int, accounts: int) -> None:
    from django.test import Client
    from django.urls import reverse

    from accounts.recovery.masking import decoy_contacts

    client = Client()
    client.get(reverse("accounts:password_forgotten"))
    sms_url = reverse("accounts:identifier_forgotten_sms")
    email_url = reverse("accounts:identifier_forgotten_email")
    start_url = reverse("accounts:password_forgotten")

    def started(identifier):
        location = client.post(start_url, {"identifier": identifier})["Location"]
        return location  # the channel page

    def nobody(i, channel):
        """« p.personne<i> », or a variant of it, whose decoy offers `channel`: an unknown
        identifier's page offers the SMS, the e-mail or both, as accounts' pages do
        (accounts/recovery/masking.py), and only an offered channel can be chosen."""
        for suffix in ("", *"abcdefghijklmnopqrstuvwxyz"):
            decoy = decoy_contacts(f"p.personne{i}{suffix}")
            if decoy.with_phone if channel == "sms" else decoy.with_email:
                return f"p.personne{i}{suffix}"
        raise AssertionError(f"no decoy of p.personne{i} offers {channel}")

    scenarios = {
        "Identifiant oublié, SMS": lambda i, known: client.post(sms_url, {
            "last_name": f"Bench-{str(i).translate(DIGITS_AS_LETTERS)}", "first_name": "Hélène",
            "phone": f"+336{i:08d}" if known else f"+336{i + 50_000_000:08d}"}),
        "Identifiant oublié, e-mail": lambda i, known: client.post(email_url, {
            "email": f"bench{i}@exemple.fr" if known else f"personne{i}@exemple.fr"}),
        "Mot de passe oublié, identifiant": lambda i, known: client.post(start_url, {
            "identifier": f"p.bench{i}" if known else f"p.personne{i}"}),
    }
    channel_scenarios = {
        "Mot de passe oublié, code par SMS": "sms",
        "Mot de passe oublié, lien par e-mail": "email",
    }
    print(f"{samples} interleaved pairs each, {accounts} accounts; times in ms")
    print(f"{'endpoint':40} {'match':>8} {'none':>8} {'diff':>7}   IQR match / none")
    next_account = 1

    def report(label, known, unknown):
        km, um = statistics.median(known), statistics.median(unknown)
        kq, uq = quartiles(known), quartiles(unknown)
        print(f"{label:40} {km:8.2f} {um:8.2f} {km - um:+7.2f}   "
              f"{kq[0]:.1f}–{kq[1]:.1f} / {uq[0]:.1f}–{uq[1]:.1f}")

    for label, call in scenarios.items():
        known, unknown = [], []
        for _ in range(samples):
            i = next_account
            next_account += 1
            known.append(timed(call, i, True))
            unknown.append(timed(call, i, False))
        report(label, known, unknown)
    for label, channel in channel_scenarios.items():
        known, unknown = [], []
        for _ in range(samples):
            i = next_account
            next_account += 1
            for is_known, bucket in ((True, known), (False, unknown)):
                channel_url = started(f"p.bench{i}" if is_known else nobody(i, channel))
                bucket.append(timed(client.post, channel_url, {"channel": channel}))
        report(label, known, unknown)
    assert next_account <= accounts, "not enough accounts for the samples: raise --accounts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django
    from django.conf import settings

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from core import ratelimit

    name = settings.DATABASES["default"]["NAME"] + "_bench_recovery"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    settings.DATABASES["default"]["NAME"] = name
    settings.ALLOWED_HOSTS = ["testserver"]
    setup_test_environment()
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        load(args.accounts)
        print(f"loaded {args.accounts} accounts in {time.perf_counter() - started:.1f} s")
        ratelimit.reset_all()
        run(args.samples, args.accounts)
    finally:
        connection.close()
        if not args.keep:
            settings.DATABASES["default"]["NAME"] = "postgres"
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


if __name__ == "__main__":
    main()
