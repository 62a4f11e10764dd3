"""The stack the fault scripts break: everything of its own, nothing shared.

A throwaway PostgreSQL cluster (initdb, its own port, run as the `postgres` user when started
as root), two redis-server (cache/sessions/limits, and the Celery broker; AOF on, as in
docker-compose.yml), the fake Twilio (bench/faults/fake_twilio.py), two gunicorn nodes
(2 workers each), the outbox dispatcher, Celery worker(s) and beat: the compose file's commands,
with the outbox's times shortened (SCALE below) so that a fault of minutes runs in seconds.
The shared PostgreSQL (5432) and Redis (6379) of the machine are never touched.

Load while a fault happens (`Load`): threads posting activation step 1 for known guardian
records (each writes an SMS with a code to the outbox), and signed-in families reading
« Mes services » (a redirect to the sign-in page is a lost session).

`report()` counts, once the outbox has drained: messages in (outbox rows), messages out (what
the fake Twilio accepted), duplicates (the same text to the same number accepted twice), lost
(rows neither sent nor expired, or marked sent but unknown to the provider), expired (journaled,
not lost), sessions lost, and errors users saw (5xx, refused connections).
"""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(BASE_DIR))
BIN = Path(sys.executable).parent
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = "Cartable-Vert-2024!"

# The outbox's times, shortened: a worker is "dead" after 15 s instead of 10 min, the periodic
# task runs every 2 s instead of 60 s and re-sends a row left queued after 20 s instead of
# 120 s, retries wait 1 s doubling to 8 s instead of 10 s to 5 min.
SCALE = {
    "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS": "15",
    "NOTIFICATIONS_REQUEUE_EVERY_SECONDS": "2",
    "NOTIFICATIONS_REQUEUE_AFTER_SECONDS": "20",
    "NOTIFICATIONS_RETRY_BACKOFF_SECONDS": "1",
    "NOTIFICATIONS_RETRY_BACKOFF_MAX_SECONDS": "8",
    "NOTIFICATIONS_DISPATCH_POLL_SECONDS": "1",
    "TWILIO_TIMEOUT_SECONDS": "5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else Path(shutil.which("pg_ctl")).parent


class OwnPostgres:
    def __init__(self, root: Path):
        self.dir, self.port = root / "pg", free_port()
        self.log = root / "pg.log"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        root.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(root, "postgres")
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")
        conf = f"\nfsync = off\nmax_connections = 200\nunix_socket_directories = '{root}'\n"
        subprocess.run([*self.as_postgres, "sh", "-c",  # noqa: S603 (our own command line)
                        f"cat >> {self.dir}/postgresql.conf"],
                       input=conf.encode(), check=True)
        self.start()

    def _run(self, tool, *args):
        subprocess.run([*self.as_postgres, str(_pg_bin() / tool), *args],  # noqa: S603
                       check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/educonnect_faults"

    def start(self):
        self._run("pg_ctl", "-D", str(self.dir), "-o", f"-p {self.port} -h 127.0.0.1",
                  "-l", str(self.log), "-w", "start")

    def restart(self):
        self._run("pg_ctl", "-D", str(self.dir), "-m", "fast", "-w", "restart",
                  "-o", f"-p {self.port} -h 127.0.0.1")

    def destroy(self):
        try:
            self._run("pg_ctl", "-D", str(self.dir), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass


class OwnRedis:
    def __init__(self, root: Path, name: str):
        self.dir, self.port, self.process = root / name, free_port(), None
        self.dir.mkdir(parents=True, exist_ok=True)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--dir", str(self.dir), "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # redis saves its AOF and exits
            self.process.wait(timeout=30)


class Proc:
    """A process of the stack, in its own session (signals reach it and its children only).

    `supervised`: started again when it exits, as a supervisor does (docker's `restart:`
    policy, systemd's Restart=always); `restarts` counts it."""

    def __init__(self, name, argv, env, log_dir: Path, *, supervised: bool = False):
        self.name, self.argv, self.env, self.log_dir = name, argv, env, log_dir
        self.supervised, self.restarts, self.stopping = supervised, 0, False
        self.spawn()

    def spawn(self):
        self.process = subprocess.Popen(  # noqa: S603
            self.argv, cwd=BASE_DIR, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=open(self.log_dir / f"{self.name}.log", "ab"))

    def supervise(self):
        if self.supervised and not self.stopping and self.process.poll() is not None:
            self.restarts += 1
            self.spawn()

    def signal(self, sig):
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self):
        self.stopping = True
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)


class Stack:
    def __init__(self, name: str, *, workers: int = 1, records: int = 3000, accounts: int = 20,
                 extra_env: dict | None = None, supervised: bool = True,
                 real_limits: bool = False):
        self.real_limits, self.workers = real_limits, workers
        self.supervised, self.destroyed = supervised, False
        self.root = Path(tempfile.gettempdir()) / f"educonnect-faults-{name}"
        if self.root.exists():
            shutil.rmtree(self.root)
        self.logs = BASE_DIR / "var" / "faults" / name
        self.logs.mkdir(parents=True, exist_ok=True)
        self.records, self.accounts = records, accounts
        self.procs: dict[str, Proc] = {}
        self.cache = self.broker = None
        self.pg = OwnPostgres(self.root)
        try:
            self._start(extra_env)
        except BaseException:
            self.destroy()  # nothing of a failed start is left running
            raise

    def _start(self, extra_env):
        self.cache = OwnRedis(self.root, "redis-cache")
        self.broker = OwnRedis(self.root, "redis-broker")
        self.twilio_port = free_port()
        self.env = self._env(extra_env or {})
        self.procs["twilio"] = Proc("twilio", [sys.executable, "-m", "bench.faults.fake_twilio",
                                               str(self.twilio_port)], self.env, self.logs)
        self._prepare_database()
        self.bases = []
        for node in (1, 2):
            port = free_port()
            self.procs[f"web{node}"] = Proc(
                f"web{node}", [str(BIN / "gunicorn"), "educonnect.wsgi", "--workers", "2",
                               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
                self.env, self.logs)
            self.bases.append(f"http://127.0.0.1:{port}")
        self.procs["dispatcher"] = Proc("dispatcher", [sys.executable, "manage.py",
                                                       "outbox_dispatch"], self.env, self.logs,
                                        supervised=self.supervised)
        for n in range(1, self.workers + 1):
            self.start_worker(f"worker{n}")
        self.procs["beat"] = Proc("beat", [str(BIN / "celery"), "-A", "educonnect", "beat",
                                           "--loglevel=WARNING",
                                           f"--schedule={self.root}/celerybeat-schedule"],
                                  self.env, self.logs, supervised=self.supervised)
        self._wait_http()
        self.supervisor = threading.Thread(target=self._supervise, daemon=True)
        self.supervisor.start()

    def _supervise(self):
        while not self.destroyed:
            for proc in list(self.procs.values()):
                proc.supervise()
            time.sleep(1)

    def _env(self, extra):
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.pg.url, "REDIS_URL": self.cache.url,
            "CELERY_BROKER_URL": self.broker.url, "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-faults-not-a-real-secret-" + "x" * 40,
            "DJANGO_SECURE_COOKIES": "false", "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SMS_BACKEND": "bench.faults.fake_twilio.LoopbackTwilioBackend",
            "FAKE_TWILIO_URL": f"http://127.0.0.1:{self.twilio_port}",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "bench-token",
            "TWILIO_FROM": "+33700000000", "EDUCONNECT_SITE_URL": "https://educonnect.example",
            "PYTHONPATH": str(BASE_DIR),
            "DJANGO_SETTINGS_MODULE": "educonnect.settings",
        })
        if not self.real_limits:
            # The fault scripts send many activations from one address: limits out of the way.
            env.update({"ACTIVATION_MAX_SENDS_PER_IP": "1000000",
                        "ACTIVATION_MAX_SENDS_PER_PHONE": "1000000",
                        "CODE_RECIPIENT_COOLDOWN_SECONDS": "0",
                        "LOGIN_MAX_FAILURES_PER_IP": "1000000"})
        env.update(SCALE)
        env.update(extra)
        return env

    def _prepare_database(self):
        import psycopg

        admin = self.pg.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE educonnect_faults")
        os.environ.update({k: v for k, v in self.env.items()
                           if k not in ("PYTHONPATH",)})
        import django

        django.setup()
        from django.contrib.auth.hashers import make_password
        from django.core.management import call_command
        from django.db import connection

        from bench.bench_activation import load

        call_command("migrate", verbosity=0)
        load(self.records, max(self.records // 200, 1))
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO accounts_account (identifier, kind, first_name, last_name, email,
                    email_verified, phone, phone_verified, state, is_staff, is_superuser,
                    date_joined, activated_at, password)
                SELECT 'p.bench' || i, 'guardian', 'Prénom', 'Bench' || i,
                       'bench' || i || '@example.org', true, '+3369' || lpad(i::text, 7, '0'),
                       true, 'active', false, false, now(), now(), %s
                FROM generate_series(1, %s) AS i
                """, [make_password(PASSWORD), self.accounts])
        connection.close()

    def _wait_http(self):
        deadline = time.monotonic() + 90
        for base in self.bases:
            while True:
                try:
                    requests.get(base + "/", timeout=5)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{base} did not start") from None
                    time.sleep(0.5)

    def start_worker(self, name: str) -> Proc:
        self.procs[name] = Proc(name, [str(BIN / "celery"), "-A", "educonnect", "worker",
                                       "--loglevel=WARNING", "--concurrency=2",
                                       f"--hostname={name}@faults"], self.env, self.logs,
                                supervised=self.supervised)
        return self.procs[name]

    def twilio(self, mode: str = "ok", delay: float | None = None):
        data = {"mode": mode}
        if delay is not None:
            data["delay"] = str(delay)
        requests.post(f"http://127.0.0.1:{self.twilio_port}/_control", data=data, timeout=5)

    def provider_log(self) -> dict:
        return requests.get(f"http://127.0.0.1:{self.twilio_port}/_log", timeout=30).json()

    def wait_drained(self, timeout: float = 600) -> bool:
        """Until no row is queued or sending (retries due, stuck rows taken back)."""
        from django.db import connection

        from notifications.models import OutboundMessage

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not OutboundMessage.objects.filter(status__in=["queued", "sending"]).exists():
                    return True
            except Exception:
                connection.close()
            time.sleep(1)
        return False

    def report(self, load: "Load", title: str, notes: str = "") -> dict:
        from django.db import connection

        from notifications.models import OutboundMessage

        drained = self.wait_drained()
        connection.close()
        rows = list(OutboundMessage.objects.filter(channel="sms").values(
            "pk", "status", "provider_message_id", "attempts", "check_provider_first"))
        log = self.provider_log()
        accepted = log["messages"]
        sids = {m["sid"] for m in accepted}
        per_text = Counter((m["to"], m["body"]) for m in accepted)
        duplicates = sum(n - 1 for n in per_text.values())
        statuses = Counter(r["status"] for r in rows)
        waiting = [r for r in rows if r["status"] in ("queued", "sending")]
        lost = [r for r in rows if r["status"] in ("failed", "undelivered")
                or (r["status"] == "sent" and r["provider_message_id"] not in sids)]
        figures = {
            "scenario": title,
            "messages in (outbox rows)": len(rows),
            "messages out (accepted by the provider)": len(accepted),
            "distinct texts out": len(per_text),
            "duplicates": duplicates,
            "lost": len(lost),
            "still waiting in the outbox at the end (not lost, not yet sent)": len(waiting),
            "expired (journaled)": statuses.get("expired", 0),
            "statuses": dict(statuses),
            "provider refusals (503/429 answered)": log["refused"],
            "max attempts of a row": max((r["attempts"] for r in rows), default=0),
            "rows sent after more than one attempt": sum(
                1 for r in rows if r["attempts"] > 1 and r["status"] == "sent"),
            "drained": drained,
            "restarts by the supervisor": {n: p.restarts for n, p in self.procs.items()
                                           if p.restarts},
            "activations submitted (3xx)": load.counts["activation_ok"],
            "« Mes services » reads": load.counts["services_ok"],
            "sessions lost": load.counts["session_lost"],
            "errors shown to users (5xx)": load.counts["5xx"],
            "refused connections": load.counts["conn_error"],
            "other statuses": {k: v for k, v in load.counts.items() if k.startswith("status_")},
        }
        if notes:
            figures["notes"] = notes
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return figures

    def destroy(self):
        self.destroyed = True
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        for redis in (self.cache, self.broker):
            if redis is not None:
                redis.stop()
        self.pg.destroy()
        shutil.rmtree(self.root, ignore_errors=True)


def _digits(i: int) -> str:
    digits = f"{i:08d}"
    return "06 " + " ".join(digits[k:k + 2] for k in range(0, 8, 2))


class Load:
    """Activations and « Mes services » readers, on both web nodes, until stop()."""

    def __init__(self, stack: Stack, *, activators: int = 3, families: int = 6,
                 pause: float = 0.05):
        from bench.bench_activation import FIRST_NAMES, LAST_NAMES

        self.stack, self.pause = stack, pause
        self.names = (LAST_NAMES, FIRST_NAMES)
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._activations, args=(n,), daemon=True)
                        for n in range(activators)]
        self.threads += [threading.Thread(target=self._family, args=(n + 1,), daemon=True)
                         for n in range(families)]
        self.used = set()
        for thread in self.threads:
            thread.start()

    def count(self, key):
        with self.lock:
            self.counts[key] += 1

    def _request(self, session, method, url, **kw):
        try:
            response = session.request(method, url, timeout=30, allow_redirects=False, **kw)
        except requests.RequestException:
            self.count("conn_error")
            return None
        if response.status_code >= 500:
            self.count("5xx")
        elif response.status_code not in (200, 302, 303):
            self.count(f"status_{response.status_code}")
        return response

    def _activations(self, n):
        rng = random.Random(n)
        last_names, first_names = self.names
        while not self.stopping.is_set():
            i = rng.randint(1, self.stack.records)
            base = self.stack.bases[i % 2]
            with requests.Session() as browser:
                page = self._request(browser, "GET", base + "/activation/")
                token = CSRF_INPUT.search(page.text) if page is not None else None
                if token:
                    answer = self._request(browser, "POST", base + "/activation/", data={
                        "last_name": last_names[i % len(last_names)].upper(),
                        "first_name": first_names[i % len(first_names)],
                        "phone": _digits(i), "csrfmiddlewaretoken": token.group(1)},
                        headers={"Referer": base + "/activation/"})
                    if answer is not None and answer.status_code in (302, 303):
                        self.count("activation_ok")
            time.sleep(self.pause)

    def _sign_in(self, browser, base, n) -> bool:
        path = base + "/connexion/representant-legal/"
        page = self._request(browser, "GET", path)
        token = CSRF_INPUT.search(page.text) if page is not None else None
        if not token:
            return False
        answer = self._request(browser, "POST", path, data={
            "identifier": f"p.bench{n}", "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1)}, headers={"Referer": path})
        return answer is not None and answer.status_code in (302, 303)

    def _family(self, n):
        browser = requests.Session()
        signed_in = False
        while not self.stopping.is_set():
            base = self.stack.bases[self.counts["services_ok"] % 2]
            if not signed_in:
                signed_in = self._sign_in(browser, base, n)
                if not signed_in:
                    time.sleep(0.5)
                    continue
            answer = self._request(browser, "GET", base + "/services/")
            if answer is not None and answer.status_code == 200:
                self.count("services_ok")
            elif answer is not None and answer.status_code in (302, 303):
                self.count("session_lost")
                browser = requests.Session()
                signed_in = False
            time.sleep(0.3)

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)


def run(name: str, fault, *, workers: int = 1, warmup: float = 5, after: float = 10,
        notes: str = "", supervised: bool = True, **load_kw) -> dict:
    """Start a stack, load it, call `fault(stack)`, load `after` seconds more, drain, report.
    Writes the figures to var/faults/<name>/figures.json."""
    stack = Stack(name, workers=workers, supervised=supervised)
    try:
        load = Load(stack, **load_kw)
        time.sleep(warmup)
        fault(stack)
        time.sleep(after)
        load.stop()
        figures = stack.report(load, name, notes)
        (stack.logs / "figures.json").write_text(json.dumps(figures, indent=2,
                                                            ensure_ascii=False))
        return figures
    finally:
        stack.destroy()
