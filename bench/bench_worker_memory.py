"""Resident memory of the web workers over 10,000 mixed requests (issue 14, « Memory »).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_worker_memory.py [--requests 10000] [--redis-db 18] [--keep]

Creates `<name>_bench_worker_memory` (4 guardian accounts with 4 children each, 2,000 roster
records an activation can match, the services of « Mes services »), starts the product under
gunicorn (2 sync workers, as deployed; Redis cache and sessions on `--redis-db`, the Celery
broker on the next database: nothing consumes it, the SMS stay queued) and drives it from two
client threads with a mix of what a September morning asks, each visitor a new browser with
an address of its own (X-Forwarded-For behind TRUSTED_PROXY_COUNT=1, so that no IP limit
turns the mix into 429s):

- the profile choice and the guardian sign-in page, a sign-in (Argon2id) then « Mes services »
  three times and « Mes enfants »;
- activation step 1 (GET, then a POST that matches a roster record or nothing), then its
  code page;
- the two recovery pages (« Identifiant oublié ? », « Mot de passe oublié ? »), the help
  page;
- static files that exist and static files that do not (404), an unknown page (404).

It prints each worker's RSS (psutil) at 0 (started, no request yet), 1,000, 5,000 and 10,000
requests. Growth from 0 to 1,000 is warming up (modules imported and templates compiled on
first use, connection pools); growth from 1,000 to 10,000 would be a leak. Not a test; run it
alone and say what else ran (the load average is printed).
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

from bench_signin import CSRF_INPUT, PASSWORD, Server  # noqa: E402

ACCOUNTS = 4
RECORDS = 2000
CHECKPOINTS = (1000, 5000, 10000)


def _phone(i: int) -> str:
    return f"+3361{i:07d}"


def _national(i: int) -> str:
    digits = f"61{i:07d}"
    return "0" + digits[0] + " " + " ".join(digits[k:k + 2] for k in range(1, 9, 2))


def load() -> None:
    """The accounts, their children, the roster records and the services."""
    import datetime

    from services_portal.models import EstablishmentMessage, NewsItem, Service
    from tests.factories import (
        AccountFactory,
        EstablishmentFactory,
        GuardianRecordFactory,
        PupilFactory,
        ResponsibilityFactory,
    )

    today = datetime.date.today()
    schools = [EstablishmentFactory() for _ in range(4)]
    for school in schools:
        Service.objects.create(title="Accédez à l'ENT", url=f"https://ent{school.pk}.test/",
                               establishment=school, position=1)
        EstablishmentMessage.objects.create(establishment=school, text="Réunion parents-profs",
                                            starts_on=today, ends_on=today)
    for i in range(20):
        Service.objects.create(title=f"Service national {i}", position=10 + i,
                               url=f"https://service{i}.example.test/")
    NewsItem.objects.create(title="Rentrée", text="Bonne rentrée", starts_on=today,
                            ends_on=today)
    for n in range(1, ACCOUNTS + 1):
        account = AccountFactory(identifier=f"h.memoire{n}", first_name="Hélène",
                                 last_name="Mémoire")
        account.set_password(PASSWORD)
        account.save()
        for school in schools:
            record = GuardianRecordFactory(establishment=school, account=account)
            ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(establishment=school))
    for i in range(RECORDS):
        record = GuardianRecordFactory(establishment=schools[i % 4], last_name="MARTIN",
                                       first_name="Zoé", mobile_phone=_phone(i), account=None)
        ResponsibilityFactory(guardian_record=record,
                              pupil=PupilFactory(establishment=schools[i % 4]))


class Visitor:
    """A new browser, with an address of its own."""

    def __init__(self, base: str, rng: random.Random):
        self.base = base
        self.rng = rng
        self.browser = requests.Session()
        self.browser.headers["X-Forwarded-For"] = (
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        self.statuses: list[int] = []

    def get(self, path: str) -> requests.Response:
        response = self.browser.get(self.base + path, timeout=60)
        self.statuses.append(response.status_code)
        return response

    def post(self, path: str, data: dict) -> requests.Response:
        token = CSRF_INPUT.search(self.get(path).text).group(1)
        response = self.browser.post(self.base + path, allow_redirects=False, timeout=60,
                                     headers={"Referer": self.base + path},
                                     data={**data, "csrfmiddlewaretoken": token})
        self.statuses.append(response.status_code)
        return response

    def sign_in_and_read(self) -> None:
        self.get("/")
        path = "/connexion/representant-legal/"
        signed_in = self.post(path, {"identifier": f"h.memoire{self.rng.randint(1, ACCOUNTS)}",
                                     "password": PASSWORD})
        assert signed_in.status_code == 302, signed_in.status_code
        for _ in range(3):
            assert self.get("/services/").status_code == 200
        self.get("/mes-enfants/")

    def activate(self) -> None:
        i = self.rng.randrange(RECORDS * 2)  # half of them match no record
        started = self.post("/activation/", {"last_name": "Martin", "first_name": "Zoé",
                                             "phone": _national(i)})
        if started.status_code == 302:
            self.get(started.headers["Location"])

    def read_help(self) -> None:
        for path in ("/identifiant-oublie/", "/mot-de-passe-oublie/", "/aide/"):
            self.get(path)

    def static_and_missing(self) -> None:
        for path in ("/static/css/educonnect.css", f"/static/absent-{self.rng.random()}.css",
                     f"/page-{self.rng.randint(0, 10**6)}/", "/favicon.ico"):
            self.get(path)


def rss_by_worker(server: Server) -> dict[int, float]:
    """Each gunicorn worker's resident set size in MiB, by process id."""
    return {child.pid: child.memory_info().rss / 2**20
            for child in psutil.Process(server.process.pid).children()}


def drive(base: str, total: int, server: Server) -> dict:
    """Two client threads until `total` requests; RSS of the workers at each checkpoint."""
    lock = threading.Lock()
    done = [0]
    errors: list[int] = []
    rss = {0: rss_by_worker(server)}
    pending = list(CHECKPOINTS)
    stop = threading.Event()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            visitor = Visitor(base, rng)
            rng.choices([visitor.sign_in_and_read, visitor.activate, visitor.read_help,
                         visitor.static_and_missing], weights=[3, 4, 2, 1])[0]()
            with lock:
                done[0] += len(visitor.statuses)
                errors.extend(s for s in visitor.statuses if s >= 500)
                while pending and done[0] >= pending[0]:
                    rss[pending.pop(0)] = rss_by_worker(server)
                if not pending or done[0] >= total:
                    stop.set()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, f"{len(errors)} server errors"
    rss["total"] = done[0]
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--redis-db", type=int, default=18,
                        help="Redis database for the cache and sessions (the broker uses the "
                             "next one); flushed at the start")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    import django
    import environ
    import psycopg
    import redis

    db = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    root = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"{db['NAME']}_bench_worker_memory"
    with psycopg.connect(root + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{root}/{name}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{args.redis_db}"
    # The static files as deployed (whitenoise serves them from STATIC_ROOT), in a
    # directory of the bench's own.
    static_root = Path(tempfile.mkdtemp(prefix="bench_worker_memory_static_"))
    os.environ["DJANGO_STATIC_ROOT"] = str(static_root)
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    load()
    connection.close()
    for number in (args.redis_db, args.redis_db + 1):
        redis.Redis(db=number).flushdb()

    env = dict(os.environ, DJANGO_DEBUG="false", DJANGO_SECURE_COOKIES="false",
               DJANGO_SECRET_KEY="bench-worker-memory-not-a-real-secret-" + "x" * 40,
               CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{args.redis_db + 1}",
               TRUSTED_PROXY_COUNT="1")
    server = Server("worker_memory", str(Path(sys.executable).parent / "gunicorn"),
                    "educonnect.wsgi:application", BASE_DIR, env)
    try:
        time.sleep(2)  # both workers booted
        started = time.perf_counter()
        rss = drive(server.base, args.requests, server)
        seconds = time.perf_counter() - started
        print(f"{rss['total']:,} requests in {seconds:.0f} s (load average "
              f"{os.getloadavg()[0]:.2f}); RSS of the two gunicorn workers, MiB:")
        workers = sorted(rss[0])
        print(f"  {'requests':>8} " + " ".join(f"{'worker ' + str(pid):>14}" for pid in workers))
        for count in (0, *CHECKPOINTS):
            if count in rss:
                print(f"  {count:>8,} " + " ".join(
                    f"{rss[count].get(pid, float('nan')):14.1f}" for pid in workers))
    finally:
        server.stop()
        for number in (args.redis_db, args.redis_db + 1):
            redis.Redis(db=number).flushdb()
        shutil.rmtree(static_root, ignore_errors=True)
        if not args.keep:
            with psycopg.connect(root + "/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
