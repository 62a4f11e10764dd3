"""OpenID Connect token endpoint: requests per second over HTTP, gunicorn, PostgreSQL.

    createdb -h 127.0.0.1 -U postgres educonnect_bench_oidc
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_bench_oidc \\
        python bench/bench_oidc_token.py [--requests 400] [--workers 2] [--concurrency 1 2 4]

Migrates the database, makes a guardian with four children in four schools and one
confidential client (scopes openid profile children), writes the authorization codes
directly (what /oidc/authorize/ stores: a Grant with its PKCE challenge and the sign-in
facts), starts gunicorn (sync workers) on 127.0.0.1, and POSTs each code once to
/oidc/token/ (client_secret_basic, code_verifier) from N client threads. Every answer must
be 200 with an ID token. Prints, per concurrency, the requests per second and the latency
p50/p95. The client threads run on the same cores as the server: the figures are a floor.

Each request: the client secret checked (DOT hashes it with the project's password hasher,
Argon2id at ARGON2_* — the dominant cost, see bench/README.md), the code and its sign-in
facts read (one query, select_related), the children read (one query), the access and
refresh tokens and the ID token written, the code deleted, two journal rows written.
"""

import argparse
import base64
import hashlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402
from oauth2_provider.models import (  # noqa: E402
    AbstractApplication,
    get_application_model,
    get_grant_model,
)

from accounts.models import Account, AccountKind, AccountState  # noqa: E402
from oidc_idp.models import AuthorizationSignIn, ClientPolicy  # noqa: E402
from pupils.models import (  # noqa: E402
    Academy,
    Establishment,
    GuardianRecord,
    Pupil,
    Responsibility,
)

Application = get_application_model()
Grant = get_grant_model()
REDIRECT_URI = "https://ent.bench.example/callback"
SECRET = "bench-client-secret-" + "b" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_data(count: int):
    call_command("migrate", verbosity=0)
    Application.objects.filter(name="Bench ENT").delete()
    account, _ = Account.objects.get_or_create(
        identifier="bench.guardian1",
        defaults={"kind": AccountKind.GUARDIAN, "state": AccountState.ACTIVE,
                  "first_name": "Hélène", "last_name": "Banc"},
    )
    academy, _ = Academy.objects.get_or_create(name="Bench")
    if not Pupil.objects.filter(ine__startswith="99999999").exists():
        for n in range(4):
            school = Establishment.objects.create(uai=f"099999{n}A",
                                                  name=f"École bench {n}", kind="ecole",
                                                  academy=academy)
            record = GuardianRecord.objects.create(
                establishment=school, last_name="Banc", first_name="Hélène",
                last_name_key="banc", first_name_key="helene", account=account,
            )
            pupil = Pupil.objects.create(
                ine=f"99999999{n}AA", last_name="Banc", first_names=f"Enfant{n}",
                birth_date="2015-01-01", level="CM1", establishment=school,
            )
            Responsibility.objects.create(guardian_record=record, pupil=pupil)
    application = Application.objects.create(
        name="Bench ENT", client_id=secrets.token_urlsafe(16), client_secret=SECRET,
        hash_client_secret=True, client_type=AbstractApplication.CLIENT_CONFIDENTIAL,
        authorization_grant_type=AbstractApplication.GRANT_AUTHORIZATION_CODE,
        algorithm=AbstractApplication.RS256_ALGORITHM, redirect_uris=REDIRECT_URI,
        skip_authorization=True,
    )
    ClientPolicy.objects.create(application=application, scopes=["profile", "children"])
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    expires = timezone.now() + timedelta(hours=1)
    codes = [secrets.token_urlsafe(24) for _ in range(count)]
    grants = Grant.objects.bulk_create([
        Grant(user=account, application=application, code=code, expires=expires,
              redirect_uri=REDIRECT_URI, scope="openid profile children",
              code_challenge=challenge, code_challenge_method="S256", nonce="n", claims="{}")
        for code in codes
    ])
    AuthorizationSignIn.objects.bulk_create([
        AuthorizationSignIn(grant=grant, methods=["pwd"], authenticated_at=timezone.now())
        for grant in grants
    ])
    return application.client_id, verifier, codes


def run(url, client_id, verifier, codes, concurrency):
    auth = (client_id, SECRET)
    latencies, failures, lock = [], [], threading.Lock()
    queue = list(codes)

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                code = queue.pop()
            started = time.perf_counter()
            response = session.post(url, auth=auth, timeout=30, data={
                "grant_type": "authorization_code", "code": code,
                "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
            })
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200 or "id_token" not in response.json():
                    failures.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
        "failures": len(failures),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400, help="per concurrency level")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        sys.exit("DATABASE_URL must point at a PostgreSQL database of its own")

    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "educonnect.settings"}
    server = subprocess.Popen(  # noqa: S603  (our own interpreter and gunicorn)
        [sys.executable, "-m", "gunicorn", "educonnect.wsgi", "-w", str(args.workers),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/oidc/token/"
        for _ in range(100):
            try:
                requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration",
                             timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        print(f"gunicorn: {args.workers} sync workers; Argon2 memory "
              f"{settings.ARGON2_MEMORY_COST_KIB} KiB, time {settings.ARGON2_TIME_COST}")
        print("| concurrency | requests | req/s | p50 ms | p95 ms | failures |")
        print("|---|---|---|---|---|---|")
        for concurrency in args.concurrency:
            client_id, verifier, codes = setup_data(args.requests)
            result = run(url, client_id, verifier, codes, concurrency)
            print(f"| {concurrency} | {args.requests} | {result['rps']:.1f} | "
                  f"{result['p50']:.1f} | {result['p95']:.1f} | {result['failures']} |")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
