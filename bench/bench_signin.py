"""Benchmark: the server's CPU per sign-in against one raw Argon2id verify, and against
django-allauth and a bare WSGI app on the same hash (issue 14).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_signin.py [--rounds 8] [--per-round 20] [--seconds 20] [--keep] \\
            [--redis-dbs 14,15] [--in-process 300]

Three servers, each gunicorn with 2 sync workers on PostgreSQL and Redis, run side by side:

- **product**: ÉduConnect's sign-in: GET of the form, then the POST of a right password
  from a new browser (no device cookie: the untrusted path, its three windows and their
  clearing), 302 to « Mes services » (not followed);
- **bare**: `bench/bare_signin_wsgi.py`, a WSGI app that only reads the form and verifies the
  password against the hash with libsodium, as the product: the bound a web framework could
  reach on this machine;
- **allauth**: a throwaway Django project with django-allauth's login (username), built by
  this script outside the repository (`--allauth-dir`, default /tmp/educonnect-bench-allauth,
  with its own virtualenv: pip installs Django 5.2, django-allauth, gunicorn, argon2-cffi,
  psycopg, redis into it the first time), sessions and allauth's rate limits in Redis
  through Django's cache, the same Argon2id parameters and the same hash.

Figures, every kind interleaved round by round in the same run:

1. **CPU per sign-in** (GET + POST, one browser at a time): the CPU time of the server's
   worker processes (user + system, from /proc through psutil) over `--per-round` sign-ins,
   against the CPU of `--per-round` raw verifies in this process, by the implementation
   the product uses (libsodium's `crypto_pwhash_str_verify`, accounts.hashers: « raw
   verify ») and by argon2-cffi's `PasswordHasher().verify` (« raw verify (cffi) », the
   floor the issue was written against, and allauth's). The product's ratio « raw verify /
   sign-in » is the goal: ≥ 0.90, judged against the product's own implementation.
   Beside them, the floor of the stack: two requests of an empty view through the
   product's middleware on the same server (`/bench/bonjour/`, bench/hello_wsgi.py), and
   the ratio a sign-in that did nothing but the hash would reach on it; and gunicorn's own
   share of that floor (two GETs of the bare app: no framework at all).
2. **Sign-ins per second**, two client processes (the server's workers and the clients
   share the 2 cores), `--seconds` each, product, bare and allauth in turn: the product
   against allauth (goal ≥ 1.5×) and against the bare app (goal ≥ 0.95).

3. With `--in-process N`, before the servers: N sign-ins (GET + POST, a new browser each)
   through Django's test client in this process, with the whole middleware stack and CSRF
   checks: the SQL statements and Redis round trips of each request, and the CPU per
   sign-in besides the Argon2 verify (`--profile FILE` writes a cProfile of them, timed in
   CPU time).

`--redis-dbs A,B`: the Redis databases of the product (its cache, sessions, limits and
Celery broker) and of allauth; both are flushed.

The accounts all share one password hash (made once at the production parameters), so the
hash work is the same for every server. Limits are raised for the run (they are counted, as
in production, but never refuse). Not a test; run it alone, and say what else ran.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import requests

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

PASSWORD = "Cartable-Vert-2024!"
ACCOUNTS = 2000
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ALLAUTH_PACKAGES = ["django>=5.2,<5.3", "django-allauth", "gunicorn", "argon2-cffi",
                    "psycopg[binary]", "redis"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn, 2 sync workers; `cpu()` is its workers' CPU seconds so far."""

    def __init__(self, name: str, gunicorn: str, app: str, cwd: Path, env: dict):
        self.name = name
        self.port = free_port()
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            [gunicorn, app, "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning"],
            cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=open(Path(tempfile.gettempdir()) / f"bench_signin_{name}.log", "ab"),
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                requests.get(self.base + "/", timeout=10)
                return
            except requests.RequestException:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{name}: gunicorn did not start (see bench_signin_{name}.log "
                           "in the temporary directory)")

    def cpu(self) -> float:
        total = 0.0
        for child in psutil.Process(self.process.pid).children():
            times = child.cpu_times()
            total += times.user + times.system
        return total

    def rss_mib(self) -> list[float]:
        return [child.memory_info().rss / 2**20
                for child in psutil.Process(self.process.pid).children()]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


# --- One sign-in per kind of server ------------------------------------------------------

def sign_in_product(base: str, index: int) -> int:
    path = "/connexion/representant-legal/"
    with requests.Session() as browser:
        page = browser.get(base + path, timeout=30)
        token = CSRF_INPUT.search(page.text).group(1)
        response = browser.post(
            base + path, allow_redirects=False, timeout=30, headers={"Referer": base + path},
            data={"identifier": f"p.bench{1 + index % ACCOUNTS}", "password": PASSWORD,
                  "csrfmiddlewaretoken": token})
        return response.status_code


def sign_in_allauth(base: str, index: int) -> int:
    path = "/accounts/login/"
    with requests.Session() as browser:
        page = browser.get(base + path, timeout=30)
        token = CSRF_INPUT.search(page.text).group(1)
        response = browser.post(
            base + path, allow_redirects=False, timeout=30, headers={"Referer": base + path},
            data={"login": f"bench{1 + index % ACCOUNTS}", "password": PASSWORD,
                  "csrfmiddlewaretoken": token})
        return response.status_code


def sign_in_bare(base: str, index: int) -> int:
    with requests.Session() as browser:
        browser.get(base + "/", timeout=30)
        response = browser.post(base + "/", allow_redirects=False, timeout=30,
                                data={"identifier": f"p.bench{index}", "password": PASSWORD})
        return response.status_code


SIGN_INS = {"product": sign_in_product, "bare": sign_in_bare, "allauth": sign_in_allauth}


def _client_loop(args) -> int:
    kind, base, seconds, offset = args
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        status = SIGN_INS[kind](base, offset + done)
        assert status == 302, f"{kind}: status {status}"
        done += 1
    return done


# --- The throwaway django-allauth project ---------------------------------------------------

ALLAUTH_SETTINGS = """
import os
SECRET_KEY = "bench-allauth-not-a-secret-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "allauth",
                  "allauth.account"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware",
              "django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.common.CommonMiddleware",
              "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware",
              "allauth.account.middleware.AccountMiddleware"]
ROOT_URLCONF = "peer.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [],
              "APP_DIRS": True, "OPTIONS": {"context_processors": [
                  "django.template.context_processors.request",
                  "django.contrib.auth.context_processors.auth",
                  "django.contrib.messages.context_processors.messages"]}}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
                         "NAME": os.environ["PEER_DB"], "USER": os.environ["PEER_DB_USER"],
                         "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": os.environ["PEER_REDIS"]}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]
PASSWORD_HASHERS = ["peer.hashers.BenchArgon2"]
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Counted as in production, raised so that they never refuse (as the product's in this run).
ACCOUNT_RATE_LIMITS = {"login": "100000000/m/ip",
                       "login_failed": "100000000/m/ip,100000000/5m/key"}
LOGIN_REDIRECT_URL = "/done/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

ALLAUTH_URLS = """
from django.http import HttpResponse
from django.urls import include, path
urlpatterns = [path("accounts/", include("allauth.urls")),
               path("done/", lambda request: HttpResponse("ok")),
               path("", lambda request: HttpResponse("ok"))]
"""

ALLAUTH_HASHERS = """
from django.contrib.auth.hashers import Argon2PasswordHasher
class BenchArgon2(Argon2PasswordHasher):
    algorithm = "argon2"
    memory_cost = int(__import__("os").environ["PEER_ARGON2_MEMORY"])
    time_cost = int(__import__("os").environ["PEER_ARGON2_TIME"])
    parallelism = int(__import__("os").environ["PEER_ARGON2_PARALLELISM"])
"""


def allauth_project(directory: Path) -> Path:
    """Build (once) the peer project and its virtualenv; return its Python."""
    python = directory / "venv" / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(directory / "venv")], check=True)  # noqa: S603
        subprocess.run([str(python), "-m", "pip", "install", "-q", *ALLAUTH_PACKAGES],  # noqa: S603
                       check=True)
    package = directory / "peer"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(ALLAUTH_SETTINGS)
    (package / "urls.py").write_text(ALLAUTH_URLS)
    (package / "hashers.py").write_text(ALLAUTH_HASHERS)
    (package / "wsgi.py").write_text(textwrap.dedent("""
        import os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
        from django.core.wsgi import get_wsgi_application
        application = get_wsgi_application()
    """))
    return python


# --- In process: statements, round trips, CPU besides the hash ------------------------------

def in_process(count: int, profile_path: str) -> None:
    """Sign in `count` times through Django's test client (whole middleware stack, CSRF
    enforced, Host 127.0.0.1); print the SQL statements and Redis round trips of one GET and
    one POST, and the CPU per sign-in with and without the Argon2 verify."""
    import cProfile
    from http.cookies import SimpleCookie

    import argon2
    import redis.connection
    from django.db import connection
    from django.test import Client

    statements: list[str] = []
    round_trips = [0]
    hashing = [0.0]

    def count_sql(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    send = redis.connection.AbstractConnection.send_packed_command

    def counted_send(self, command, check_health=True):
        round_trips[0] += 1  # one send per command or pipeline: one round trip
        return send(self, command, check_health)

    from accounts import hashers

    verify = argon2.PasswordHasher.verify
    sodium_verify = hashers.crypto_pwhash_str_verify

    def timed(function):
        def timed_verify(*arguments):
            started = time.process_time()
            try:
                return function(*arguments)
            finally:
                hashing[0] += time.process_time() - started
        return timed_verify

    redis.connection.AbstractConnection.send_packed_command = counted_send
    argon2.PasswordHasher.verify = timed(verify)  # two lanes (not at our parameters)
    hashers.crypto_pwhash_str_verify = timed(sodium_verify)
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1")
    path = "/connexion/representant-legal/"

    def sign_in(index: int) -> list[tuple[int, int, list[str]]]:
        browser.cookies = SimpleCookie()  # a new browser
        seen = []
        statements.clear()
        round_trips[0] = 0
        page = browser.get(path)
        seen.append((len(statements), round_trips[0], list(statements)))
        token = CSRF_INPUT.search(page.content.decode()).group(1)
        statements.clear()
        round_trips[0] = 0
        response = browser.post(path, {"identifier": f"p.bench{1 + index % ACCOUNTS}",
                                       "password": PASSWORD, "csrfmiddlewaretoken": token},
                                HTTP_REFERER=f"http://127.0.0.1{path}")
        assert response.status_code == 302, response.status_code
        response.close()  # the work after the response (SignInView)
        seen.append((len(statements), round_trips[0], list(statements)))
        return seen

    try:
        with connection.execute_wrapper(count_sql):
            for i in range(5):  # warm up
                sign_in(i)
            for name, (sql, trips, texts) in zip(("GET", "POST"), sign_in(5), strict=True):
                print(f"In process, {name}: {sql} SQL statements, {trips} Redis round trips")
                for text in texts:
                    print(f"    {text[:110]}")
        hashing[0] = 0.0
        profiler = cProfile.Profile(time.process_time) if profile_path else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for i in range(count):
            sign_in(10 + i)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile_path)
        total = (time.process_time() - started) / count * 1000
        argon = hashing[0] / count * 1000
        print(f"In process, {count} sign-ins: {total:.2f} ms of CPU each, of which Argon2 "
              f"{argon:.2f} ms and the rest {total - argon:.2f} ms"
              + (" (under cProfile)" if profiler else "") + "\n")
    finally:
        redis.connection.AbstractConnection.send_packed_command = send
        argon2.PasswordHasher.verify = verify
        hashers.crypto_pwhash_str_verify = sodium_verify


# --- Main ---------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--allauth-dir",
                        default=str(Path(tempfile.gettempdir()) / "educonnect-bench-allauth"))
    parser.add_argument("--no-allauth", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--redis-dbs", default="14,15",
                        help="the product's and allauth's Redis databases (flushed)")
    parser.add_argument("--in-process", type=int, default=0, metavar="N")
    parser.add_argument("--profile", default="", metavar="FILE")
    args = parser.parse_args()
    product_redis_db, allauth_redis_db = (int(n) for n in args.redis_dbs.split(","))

    import argon2
    import django
    import environ
    import psycopg
    import redis

    db = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    root = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    product_db, peer_db = f"{db['NAME']}_bench_signin", f"{db['NAME']}_bench_allauth"
    with psycopg.connect(root + "/postgres", autocommit=True) as admin:
        for name in (product_db, peer_db):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = f"{root}/{product_db}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{product_redis_db}"
    product_env = dict(os.environ, DJANGO_DEBUG="false", DJANGO_SECURE_COOKIES="false",
                       DJANGO_SECRET_KEY="bench-signin-not-a-real-secret-" + "x" * 40,
                       CELERY_BROKER_URL=f"redis://127.0.0.1:6379/{product_redis_db}",
                       LOGIN_MAX_FAILURES_PER_IP="100000000",
                       LOGIN_MAX_FAILURES_PER_IDENTIFIER="100000000",
                       LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP="100000000")
    if args.in_process:
        os.environ.update(product_env)  # the same settings as the product's gunicorn
    django.setup()
    from django.conf import settings
    from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # argon2_nfkc$argon2id$…, production parameters, made by argon2-cffi with Django's
    # 22-character salt: the allauth peer's stock hasher counts the 16-byte salt of our own
    # hashes (libsodium, accounts.hashers) as 95 bits and would re-hash at every sign-in.
    hasher = get_hasher("default")
    encoded = Argon2PasswordHasher.encode(hasher, PASSWORD, hasher.salt())
    raw_hash = "$" + encoded.split("$", 1)[1]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_account (identifier, kind, first_name, last_name, email,
                email_verified, phone, phone_verified, state, is_staff, is_superuser,
                date_joined, activated_at, password)
            SELECT 'p.bench' || i, 'guardian', 'Prénom', 'Bench' || i, '', false, '', false,
                   'active', false, false, now(), now(), %s
            FROM generate_series(1, %s) AS i
            """, [encoded, ACCOUNTS])
    connection.close()
    for number in (product_redis_db, allauth_redis_db):
        redis.Redis(db=number).flushdb()
    if args.in_process:
        in_process(args.in_process, args.profile)
        connection.close()

    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    bare_env = dict(os.environ, BENCH_HASH=raw_hash)
    servers = {
        # The product's WSGI app plus /bench/bonjour/ (hello_wsgi.py), for the floor below.
        "product": Server("product", gunicorn, "hello_wsgi:application", BASE_DIR / "bench",
                          product_env),
        "bare": Server("bare", gunicorn, "bare_signin_wsgi:application", BASE_DIR / "bench",
                       bare_env),
    }
    try:
        if not args.no_allauth:
            directory = Path(args.allauth_dir)
            python = allauth_project(directory)
            peer_env = dict(os.environ, PEER_DB=peer_db, PEER_DB_USER=db["USER"] or "postgres",
                            PEER_REDIS=f"redis://127.0.0.1:6379/{allauth_redis_db}",
                            PEER_ARGON2_MEMORY=str(settings.ARGON2_MEMORY_COST_KIB),
                            PEER_ARGON2_TIME=str(settings.ARGON2_TIME_COST),
                            PEER_ARGON2_PARALLELISM=str(settings.ARGON2_PARALLELISM),
                            DJANGO_SETTINGS_MODULE="peer.settings", PYTHONPATH=str(directory))
            peer_env.pop("DATABASE_URL", None)
            subprocess.run([str(python), "-m", "django", "migrate", "-v", "0"],  # noqa: S603
                           env=peer_env, cwd=directory, check=True)
            subprocess.run(  # noqa: S603
                [str(python), "-m", "django", "shell", "-c",
                 "from django.contrib.auth.models import User; "
                 "User.objects.bulk_create([User(username=f'bench{i}', "
                 f"password={'argon2' + raw_hash!r}) for i in range(1, {ACCOUNTS + 1})])"],
                env=peer_env, cwd=directory, check=True)
            servers["allauth"] = Server("allauth", str(python.parent / "gunicorn"),
                                        "peer.wsgi", directory, peer_env)

        hasher = argon2.PasswordHasher()
        from nacl.bindings import crypto_pwhash_str_verify
        raw_hash_bytes = raw_hash.encode()
        for name in servers:  # warm up: imports, connections, the dummy hash
            for i in range(3):
                assert SIGN_INS[name](servers[name].base, i) == 302, name

        cpu: dict[str, list[float]] = {name: [] for name in [*servers, "raw verify",
                                                             "raw verify (cffi)"]}
        # The floor of any sign-in through the product's middleware: two requests (a GET and
        # a POST's worth) of an empty view, /bench/bonjour/, on the product's own server.
        floor: list[float] = []
        floor_gunicorn: list[float] = []
        empty = requests.Session()
        counter = 0
        for _round in range(args.rounds):
            for name, server in servers.items():
                before = server.cpu()
                for _ in range(args.per_round):
                    counter += 1
                    status = SIGN_INS[name](server.base, counter)
                    assert status == 302, f"{name}: {status}"
                cpu[name].append((server.cpu() - before) / args.per_round * 1000)
            before = servers["product"].cpu()
            for _ in range(args.per_round):
                for _request in range(2):
                    assert empty.get(servers["product"].base + "/bench/bonjour/",
                                     timeout=30).status_code == 200
            floor.append((servers["product"].cpu() - before) / args.per_round * 1000)
            # gunicorn's own share of that floor: two GETs of the bare app (no framework).
            before = servers["bare"].cpu()
            for _ in range(args.per_round):
                for _request in range(2):
                    assert empty.get(servers["bare"].base + "/", timeout=30).status_code == 200
            floor_gunicorn.append((servers["bare"].cpu() - before) / args.per_round * 1000)
            started = time.process_time()
            for _ in range(args.per_round):
                assert crypto_pwhash_str_verify(raw_hash_bytes, PASSWORD.encode())
            cpu["raw verify"].append((time.process_time() - started) / args.per_round * 1000)
            started = time.process_time()
            for _ in range(args.per_round):
                assert hasher.verify(raw_hash, PASSWORD)
            cpu["raw verify (cffi)"].append(
                (time.process_time() - started) / args.per_round * 1000)

        medians = {name: statistics.median(values) for name, values in cpu.items()}
        print(f"CPU per sign-in (GET + POST), ms: median of {args.rounds} rounds of "
              f"{args.per_round}, interleaved")
        for name, value in medians.items():
            spread = f"{min(cpu[name]):.2f}–{max(cpu[name]):.2f}"
            ratio = medians["raw verify"] / value
            ratio_cffi = medians["raw verify (cffi)"] / value
            print(f"  {name:18} {value:6.2f} ms  (rounds {spread})  raw verify / this = "
                  f"{ratio:.3f}  (cffi: {ratio_cffi:.3f})")

        empty_pair = statistics.median(floor)
        raw = medians["raw verify"]
        print(f"  two empty requests through the product's middleware (/bench/bonjour/): "
              f"{empty_pair:.2f} ms; product − raw verify {medians['product'] - raw:.2f} ms; "
              f"a sign-in that only hashed on this stack: raw verify / (raw + that) = "
              f"{raw / (raw + empty_pair):.3f}")
        print(f"    of which gunicorn and the kernel (two GETs of the bare app, no framework): "
              f"{statistics.median(floor_gunicorn):.2f} ms")

        rates: dict[str, list[float]] = {name: [] for name in servers}
        with multiprocessing.Pool(2) as pool:
            for _round in range(2):
                for name, server in servers.items():
                    started = time.monotonic()
                    done = sum(pool.map(_client_loop, [
                        (name, server.base, args.seconds / 2, 100_000 * k) for k in (1, 2)]))
                    rates[name].append(done / (time.monotonic() - started))
        raw_rate = 2 / (medians["raw verify"] / 1000)
        print(f"\nSign-ins per second, 2 client processes, 2 × {args.seconds / 2:.0f} s each "
              f"(raw verify bound on 2 cores: {raw_rate:.1f}/s)")
        best = {name: max(values) for name, values in rates.items()}
        for name, values in rates.items():
            print(f"  {name:12} " + " / ".join(f"{v:5.1f}" for v in values)
                  + f"   best {best[name]:5.1f}/s  = {best[name] / raw_rate:.3f} of raw")
        print(f"  product / bare = {best['product'] / best['bare']:.3f}"
              + (f"   product / allauth = {best['product'] / best['allauth']:.3f}"
                 if "allauth" in best else ""))
        for name, server in servers.items():
            print(f"  RSS of {name}'s workers: "
                  + ", ".join(f"{v:.0f} MiB" for v in server.rss_mib()))
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            with psycopg.connect(root + "/postgres", autocommit=True) as admin:
                for name in (product_db, peer_db):
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
