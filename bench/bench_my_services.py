"""« Mes services » against a hello-world view that loads the same session, on one gunicorn
(2 sync workers, PostgreSQL, Redis sessions) — issue 14.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_my_services.py [--rounds 8] [--per-round 50] [--keep]

(BENCH_REDIS_DB and BENCH_BROKER_DB choose the Redis databases, 14 and 13 by default.)

Creates `<name>_bench_my_services` with a guardian account and 4 children in 4 schools (each
school with its ENT tile and a message, 20 national services, one news item), signs in
through the sign-in form, then alternates rounds of `--per-round` GETs of « Mes services »
and of `/bench/bonjour/` (bench/hello_wsgi.py: a view that reads `request.user`, so loads the
session and the account, and answers « Bonjour »). CPU per request is the workers' CPU time
(psutil) over a round divided by its requests; the figure is the ratio of the medians
(goal: « Mes services » ≤ 1.5 ms, ≥ 0.8 of the hello view). « Mes services » is served from
the account's kept page (services_portal.page_cache) after the first requests; a third series,
« rebuilt », deletes the kept page before each request (from this process, outside the
workers' CPU) to show what a page costs when a write made it unusable. The children query is
indexed (bench_services.py times it at 1,000,000 pupils); the page's cost is CPU, not the
data's size.
Not a test; run it alone and say what else ran.
"""

import argparse
import os
import statistics
import sys
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

from bench_signin import CSRF_INPUT, PASSWORD, Server  # noqa: E402

# Redis databases (sessions and cache, Celery broker): BENCH_REDIS_DB and BENCH_BROKER_DB
# to run beside other engineers' servers on the shared Redis.
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
BROKER_DB = int(os.environ.get("BENCH_BROKER_DB", "13"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django
    import environ
    import psycopg
    import redis

    db = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    root = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"{db['NAME']}_bench_my_services"
    with psycopg.connect(root + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{root}/{name}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from services_portal.models import EstablishmentMessage, NewsItem, Service
    from services_portal.page_cache import entry_key
    from tests.factories import (
        AccountFactory,
        EstablishmentFactory,
        GuardianRecordFactory,
        PupilFactory,
        ResponsibilityFactory,
    )

    call_command("migrate", verbosity=0)
    account = AccountFactory(identifier="h.bench10", first_name="Hélène", last_name="Bench")
    account.set_password(PASSWORD)
    account.save()
    import datetime
    today = datetime.date.today()
    for i, level in enumerate(["CM1", "6E", "3E", "1RE"]):
        school = EstablishmentFactory()
        pupil = PupilFactory(establishment=school, level=level)
        record = GuardianRecordFactory(establishment=school, account=account)
        ResponsibilityFactory(guardian_record=record, pupil=pupil)
        Service.objects.create(title="Accédez à l'ENT", url=f"https://ent{i}.example.test/",
                               establishment=school, position=1)
        EstablishmentMessage.objects.create(establishment=school, text="Réunion parents-profs",
                                            starts_on=today, ends_on=today)
    for i in range(20):
        Service.objects.create(title=f"Service national {i}", position=10 + i,
                               url=f"https://service{i}.example.test/")
    NewsItem.objects.create(title="Rentrée", text="Bonne rentrée", starts_on=today,
                            ends_on=today)
    connection.close()
    redis.Redis(db=REDIS_DB).flushdb()

    env = dict(os.environ, DJANGO_DEBUG="false", DJANGO_SECURE_COOKIES="false",
               DJANGO_SECRET_KEY="bench-my-services-not-a-real-secret-" + "x" * 40,
               CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{BROKER_DB}")
    server = Server("my_services", str(Path(sys.executable).parent / "gunicorn"),
                    "hello_wsgi:application", BASE_DIR / "bench", env)
    try:
        browser = requests.Session()
        path = "/connexion/representant-legal/"
        token = CSRF_INPUT.search(browser.get(server.base + path).text).group(1)
        signed_in = browser.post(server.base + path, allow_redirects=False,
                                 headers={"Referer": server.base + path},
                                 data={"identifier": "h.bench10", "password": PASSWORD,
                                       "csrfmiddlewaretoken": token})
        assert signed_in.status_code == 302, signed_in.status_code
        page = browser.get(server.base + "/services/")
        assert page.status_code == 200 and page.text.count('id="child-') == 4
        assert browser.get(server.base + "/bench/bonjour/").text == "Bonjour Hélène"
        rebuilt = "/services/ rebuilt"
        cpu = {"/services/": [], "/bench/bonjour/": [], rebuilt: []}
        for _ in range(args.rounds):
            for url, values in cpu.items():
                total = 0.0
                for _ in range(args.per_round):
                    if url == rebuilt:
                        cache.delete(entry_key(account.pk))
                    before = server.cpu()
                    assert browser.get(server.base + url.split()[0]).status_code == 200
                    total += server.cpu() - before
                values.append(total / args.per_round * 1000)
        medians = {url: statistics.median(values) for url, values in cpu.items()}
        print(f"CPU per request (gunicorn workers), ms, median of {args.rounds} rounds of "
              f"{args.per_round}, interleaved:")
        for url, values in cpu.items():
            print(f"  {url:18} {medians[url]:6.2f}  (rounds {min(values):.2f}–{max(values):.2f})")
        print(f"  « Mes services » / hello: hello CPU ÷ « Mes services » CPU = "
              f"{medians['/bench/bonjour/'] / medians['/services/']:.3f}")
        print("  RSS of the workers: " + ", ".join(f"{v:.0f} MiB" for v in server.rss_mib()))
    finally:
        server.stop()
        if not args.keep:
            with psycopg.connect(root + "/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
