"""The production topology of docker-compose.yml, started natively and walked over HTTP.

No container engine here: the compose file is read (tests/topology/compose.py) and its
services' commands run as processes with their variables — Debian's nginx with the
template of deploy/nginx, the one-shot `migrate` (which runs the start check first), two
`web` nodes (the start check, then gunicorn), the outbox `dispatcher`, the `worker-sms`
Celery worker and `beat`, on the test's PostgreSQL database and Redis. What differs from
the containers is named in `native_env`: addresses (host names become loopback ports, one
Redis server with a database per role) and the SMS provider (Twilio's SDK talking to a fake
Twilio on loopback, tests/topology/twilio_loopback.py).

An activation is walked through the proxy over TLS; its SMS leaves through the dispatcher,
the broker and the worker. A forged X-Forwarded-For gains nothing: the per-IP limit of codes
answers 429 after the same number of requests whatever the header says.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import pytest
import redis
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import connection

from accounts.models import Account, AccountState
from core.models import JournalEvent
from notifications.models import WIPED_BODY, MessageStatus, OutboundMessage
from pupils.models import GuardianRecord
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

from . import compose
from .twilio_loopback import FakeTwilio

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/5")
SITE_HOST = "educonnect.example.org"  # compose's default DJANGO_ALLOWED_HOSTS
ORIGIN = f"https://{SITE_HOST}"
CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")
PUPIL_TITLE = re.compile(r'id="(eleve\d+)-title">([^<]+)</h3>')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PER_IP_LIMIT = 4

pytestmark = [
    pytest.mark.topology,
    pytest.mark.needs_postgres,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
]


# --- What the processes need ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _key_and_certificate(folder: Path) -> tuple[str, str, Path, Path]:
    """One RSA key and a self-signed certificate for SITE_HOST and 127.0.0.1: the site's TLS
    (nginx), the SAML IdP's pair and the OpenID key (PEM texts), as an operator mounts them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE_HOST)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(SITE_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "privkey.pem").write_text(key_pem)
    (folder / "fullchain.pem").write_text(cert_pem)
    return key_pem, cert_pem, folder / "privkey.pem", folder / "fullchain.pem"


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}")


def native_env(service: str, host_env: dict[str, str], **overrides: str) -> dict[str, str]:
    """The service's environment from the compose file, with its addresses made native."""
    env = compose.service_env(service, host_env)
    addresses = {
        # postgres:5432/educonnect → the test's database on the local server.
        "DATABASE_URL": _database_url(),
        # redis:6379/0 and broker:6379/0 → two databases of the test's Redis server.
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": BROKER_URL,
    }
    for key, value in addresses.items():
        if key in env:
            env[key] = value
    return {
        # The shell's basics and this venv first: `python`, `celery`, `gunicorn` are its own.
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", str(compose.ROOT)),
        "LANG": "C.UTF-8",
        **env,
        **overrides,
    }


class Processes:
    """Starts commands in their own process group; stops them all (TERM, then KILL)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=compose.ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.running.append((name, process))
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for _, process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, process in self.running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def dead(self) -> list[str]:
        return [f"{name} exited {p.returncode}:\n{self.log(name)[-3000:]}"
                for name, p in self.running if p.poll() is not None]


def _wait_until(predicate, timeout: float, what: str, processes: Processes) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        dead = processes.dead()
        assert not dead, f"while waiting for {what}: " + "\n".join(dead)
        assert time.monotonic() < deadline, f"{what} not ready within {timeout}s"
        time.sleep(0.2)


def _nginx_conf(folder: Path, *, https_port: int, http_port: int, nodes: list[str],
                cert: Path, key: Path) -> Path:
    """deploy/nginx's template rendered as the nginx image renders it (envsubst of the
    variables compose gives the proxy), inside a main nginx.conf of the test's own.

    Compose's upstream `web:8000` is one name resolving to every replica; natively each node
    has its own port, so the template's one `server` line becomes one line per node.
    """
    variables = compose.service_env("proxy", {})
    variables.update(NGINX_LISTEN_HTTP=f"127.0.0.1:{http_port}",
                     NGINX_LISTEN_HTTPS=f"127.0.0.1:{https_port}",
                     NGINX_TLS_CERT=str(cert), NGINX_TLS_KEY=str(key),
                     NGINX_ACCESS_LOG=str(folder / "nginx-access.log"),
                     NGINX_UPSTREAM="@UPSTREAM@")
    template = (compose.ROOT / "deploy/nginx/templates/educonnect.conf.template").read_text()
    site = re.sub(r"\$\{(NGINX_[A-Z_]+)\}", lambda m: variables[m.group(1)], template)
    server_line = re.search(r"^\s*server @UPSTREAM@(.*)$", site, re.MULTILINE)
    site = site.replace(server_line.group(0), "\n".join(
        f"    server {node}{server_line.group(1)}" for node in nodes))
    (folder / "educonnect.conf").write_text(site)
    for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / f"nginx-{temp}").mkdir()
    main = folder / "nginx.conf"
    main.write_text(f"""
daemon off;
user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    include {folder}/educonnect.conf;
}}
""")
    return main


# --- The family of the walk ---------------------------------------------------------------


def _family():
    school = EstablishmentFactory(uai="9740001A", name="École élémentaire Les Alizés",
                                  kind="ecole")
    record = GuardianRecordFactory(establishment=school, last_name="BEN SAÏD",
                                   first_name="Nadia", mobile_phone="+262692123456")
    pupil = PupilFactory(establishment=school, first_names="Inès", last_name="BEN SAÏD",
                         birth_date=datetime.date(2016, 3, 9))
    ResponsibilityFactory(guardian_record=record, pupil=pupil)
    return pupil


class Browser:
    """A browser talking to the proxy over TLS, as https://educonnect.example.org."""

    def __init__(self, base: str, ca: Path):
        self.base = base
        self.http = requests.Session()
        # Only our certificate: no CA bundle or proxy from the machine's environment.
        self.http.trust_env = False
        self.http.verify = str(ca)
        self.http.headers.update({"Host": SITE_HOST, "Origin": ORIGIN,
                                  "Referer": f"{ORIGIN}/activation/"})

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=30, **kwargs)

    def follow(self, path: str) -> tuple[str, str]:
        """GET `path` and its redirects: the path and the text of the page reached."""
        for _ in range(5):
            answer = self.get(path)
            if answer.status_code != 302:
                assert answer.status_code == 200, (path, answer.status_code)
                return path, unescape(answer.text)
            path = answer.headers["Location"]
        raise AssertionError(f"too many redirects from {path}")

    def post(self, path: str, data: dict, **kwargs) -> requests.Response:
        token = CSRF_INPUT.search(self.get(path).text)
        assert token, f"no CSRF token on {path}"
        return self.http.post(self.base + path, data={"csrfmiddlewaretoken": token.group(1),
                                                      **data},
                              allow_redirects=False, timeout=30, **kwargs)


# --- The test -------------------------------------------------------------------------------


def test_the_compose_topology_serves_an_activation_through_the_proxy(tmp_path):
    if not Path(NGINX).exists():
        pytest.fail(f"needs nginx at {NGINX} (apt-get install -y nginx; .ci/run does)")
    started = time.monotonic()
    key_pem, cert_pem, key_file, cert_file = _key_and_certificate(tmp_path)
    # What an operator puts in the environment of `docker compose up` (the `:?` variables).
    host_env = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": "unused-natively",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_FROM": "+33700000000",
        "SAML_IDP_KEY": key_pem,
        "SAML_IDP_CERT": cert_pem,
        "OIDC_RSA_PRIVATE_KEY": key_pem,
        "OIDC_PAIRWISE_SECRET": secrets.token_urlsafe(32),
        "OTP_TOTP_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "SMS_BACKEND": "tests.topology.twilio_loopback.LoopbackTwilioSMSBackend",
        "ACTIVATION_MAX_SENDS_PER_IP": str(PER_IP_LIMIT),
        "GUNICORN_WORKERS": "2",
    }
    pupil = _family()
    broker = redis.Redis.from_url(BROKER_URL)
    broker.flushdb()
    processes = Processes(tmp_path)
    timings: dict[str, float] = {}
    https_port, http_port = _free_port(), _free_port()
    node_ports = [_free_port(), _free_port()]
    try:
        with FakeTwilio() as twilio:
            extra = {"TWILIO_LOOPBACK_URL": twilio.url}
            # The one-shot migration, with its start check: it must succeed first.
            migrate = subprocess.run(
                compose.service_command("migrate", host_env), cwd=compose.ROOT,
                env=native_env("migrate", host_env, **extra), capture_output=True, text=True,
                timeout=120)
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr
            timings["migrate"] = time.monotonic() - started

            for index, port in enumerate(node_ports):
                processes.start(f"web{index + 1}", compose.service_command("web", host_env),
                                native_env("web", host_env, GUNICORN_BIND=f"127.0.0.1:{port}",
                                           **extra))
            processes.start("dispatcher", compose.service_command("dispatcher", host_env),
                            native_env("dispatcher", host_env, **extra))
            processes.start("worker-sms", compose.service_command("worker-sms", host_env),
                            native_env("worker-sms", host_env, **extra))
            schedule = tmp_path / "celerybeat-schedule"
            beat_command = [part.replace("/app/var/celerybeat-schedule", str(schedule))
                            for part in compose.service_command("beat", host_env)]
            processes.start("beat", beat_command, native_env("beat", host_env, **extra))
            nginx_conf = _nginx_conf(tmp_path, https_port=https_port, http_port=http_port,
                                     nodes=[f"127.0.0.1:{p}" for p in node_ports],
                                     cert=cert_file, key=key_file)
            processes.start("nginx", [NGINX, "-c", str(nginx_conf)], os.environ.copy())

            # Each node healthy by the compose healthcheck's own command.
            for index, port in enumerate(node_ports):
                health = [part for part in compose.service("web")["healthcheck"]["test"][1:]]
                env = native_env("web", host_env, GUNICORN_BIND=f"127.0.0.1:{port}")
                _wait_until(lambda h=health, e=env: subprocess.run(
                    h, cwd=compose.ROOT, env=e, capture_output=True).returncode == 0,
                    60, f"web node {index + 1}", processes)
            browser = Browser(f"https://127.0.0.1:{https_port}", cert_file)
            _wait_until(lambda: _answers(browser), 30, "nginx", processes)
            timings["nodes ready"] = time.monotonic() - started

            # --- The activation, through the proxy ---------------------------------------
            home = browser.get("/activation/")
            assert home.status_code == 200
            assert "script-src 'self'" in home.headers["Content-Security-Policy"]
            assert "camera=()" in home.headers["Permissions-Policy"]
            assert home.headers["Strict-Transport-Security"] == (
                "max-age=31536000; includeSubDomains; preload")
            response = browser.post("/activation/", {
                "last_name": "Ben Saïd", "first_name": "Nadia", "phone": "0692 12 34 56"})
            assert response.status_code == 302, response.text[-2000:]
            code_path, page = browser.follow(response.headers["Location"])
            assert code_path.endswith("/code/") and "Vérifiez vos SMS" in page

            [message] = twilio.wait_for(1, timeout=30)
            timings["SMS at the provider"] = time.monotonic() - started
            assert message["To"] == "+262692123456"
            assert message["From"] == "+33700000000"
            assert message["path"] == (
                f"/2010-04-01/Accounts/{host_env['TWILIO_ACCOUNT_SID']}/Messages.json")
            code = CODE_IN_SMS.search(message["Body"]).group(1)

            session_before = browser.http.cookies.get("educonnect_session")
            response = browser.post(code_path, {"code": code})
            assert response.status_code == 302
            # The session was rotated when the code was accepted (issue 12 §3).
            assert browser.http.cookies.get("educonnect_session") not in (None, session_before)
            pupils_path, page = browser.follow(response.headers["Location"])
            assert pupils_path.endswith("/eleves/")
            [(prefix, _)] = PUPIL_TITLE.findall(page)
            response = browser.post(pupils_path, {
                f"{prefix}_lien": "oui", f"{prefix}_jour": "09", f"{prefix}_mois": "03",
                f"{prefix}_annee": "2016"})
            assert response.status_code == 302
            password_path, page = browser.follow(response.headers["Location"])
            assert password_path.endswith("/mot-de-passe/"), password_path
            response = browser.post(password_path, {"password": "Cartable-Vert-2024!",
                                                    "password_confirm": "Cartable-Vert-2024!"})
            assert response.status_code == 302
            _, done = browser.follow(response.headers["Location"])
            assert "Votre compte a été activé avec succès" in done

            account = Account.objects.get()
            assert account.state == AccountState.ACTIVE
            assert GuardianRecord.objects.get(responsibilities__pupil=pupil).account == account
            sms_row = OutboundMessage.objects.get()
            assert (sms_row.status, sms_row.body) == (MessageStatus.SENT, WIPED_BODY)
            assert sms_row.provider_message_id.startswith("SM")

            # --- A forged X-Forwarded-For gains nothing ----------------------------------
            # The walk asked for one code from 127.0.0.1; PER_IP_LIMIT - 1 more are allowed,
            # each claiming another client, then 429 — as without the header.
            statuses, forged = [], []
            for attempt in range(PER_IP_LIMIT + 1):
                other = Browser(browser.base, cert_file)
                address = f"198.51.100.{attempt + 1}"
                forged.append(address)
                answer = other.post("/activation/", {
                    "last_name": "Durand", "first_name": "Léa",
                    "phone": f"06 12 34 56 {70 + attempt}"},
                    headers={"X-Forwarded-For": f"{address}, 203.0.113.{attempt + 1}",
                             "X-Real-IP": address, "Forwarded": f"for={address}"})
                statuses.append(answer.status_code)
            assert statuses == [302] * (PER_IP_LIMIT - 1) + [429, 429]
            assert "depuis votre connexion internet" in unescape(answer.text)
            assert int(answer.headers["Retry-After"]) > 0
            journaled = set(JournalEvent.objects.values_list("ip_address", flat=True))
            assert journaled == {"127.0.0.1"}

            # --- The access logs hold no query string --------------------------------------
            visitor = Browser(browser.base, cert_file)  # not signed in: the page answers
            assert visitor.get("/activation/?q=DUPONT+0612345678").status_code == 200
            time.sleep(0.5)  # nginx writes its log line after the answer
            access = (tmp_path / "nginx-access.log").read_text()
            nodes_log = processes.log("web1") + processes.log("web2")
            assert '"GET /activation/ HTTP/' in access
            assert "DUPONT" not in access and "0612345678" not in access
            assert "DUPONT" not in nodes_log and "0612345678" not in nodes_log
            # …nor a link's token, which is in the path (educonnect/log_redaction.py): a
            # password-reset link works from any browser. An unknown one answers 410, which
            # Django logs too (« Gone: <path> »).
            token = "Secret-Token-Dans-Le-Chemin-0123456789abcdef"
            assert visitor.get(f"/mot-de-passe-oublie/lien/{token}/").status_code == 410
            time.sleep(0.5)
            access = (tmp_path / "nginx-access.log").read_text()
            nodes_log = processes.log("web1") + processes.log("web2")
            assert '"GET /mot-de-passe-oublie/lien/***/ HTTP/' in access
            assert "GET /mot-de-passe-oublie/lien/***/" in nodes_log
            assert token not in access and token not in nodes_log
            # Both nodes served requests (nginx's upstream address is logged).
            for port in node_ports:
                assert f"127.0.0.1:{port}" in access

            # Beat runs and its healthcheck says so.
            beat_health = compose.service("beat")["healthcheck"]["test"][1:]
            _wait_until(lambda: any(tmp_path.glob("celerybeat-schedule*")), 20, "beat",
                        processes)
            assert subprocess.run(
                beat_health, cwd=compose.ROOT, capture_output=True,
                env=native_env("beat", host_env,
                               CELERY_BEAT_SCHEDULE_FILE=str(schedule))).returncode == 0
            assert not processes.dead()
    finally:
        processes.stop()
        connection.close()
        broker.flushdb()
    timings["total"] = time.monotonic() - started
    print("\ntopology test, seconds since start: "
          + ", ".join(f"{name} {at:.1f}" for name, at in timings.items()))


def _answers(browser: Browser) -> bool:
    try:
        return browser.get("/").status_code < 500
    except requests.RequestException:
        return False
