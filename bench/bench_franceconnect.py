"""FranceConnect's callback, its own cost: the ES256 checks and the two back-channel calls.

    python bench/bench_franceconnect.py [--rounds 200]

Starts the loopback FranceConnect of tests/peers/franceconnect (node, `make peers`), then
measures, with franceconnect.client exactly as the callback uses it:

- `jwt_verify` of an ID token, the JWKS in the cache (one ES256 signature check, PyJWT on
  `cryptography`): the floor of any callback;
- the back channel of one callback: POST /token, the ID token checked, GET /userinfo, the
  userinfo JWT checked (`code_exchange` + `userinfo_fetch`), each with a fresh code obtained
  beforehand (FranceConnect's side of the browser is not timed);
- the first callback after the JWKS left the cache (one more GET /jwks).

No database: the callback's own queries are one update of a FranceConnectState row by its
unique `state_hash`, one read of FranceConnectLink by its unique `sub` (or, the first time,
the guardian records by the indexed `mobile_phone`, as in bench_activation.py): each an
index lookup whatever the size of the tables. Figures go in bench/README.md.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402

from franceconnect import client  # noqa: E402
from tests.franceconnect.peer import franceconnect_peer  # noqa: E402

SITE = "http://bench.invalid"


def fresh_code(peer) -> str:
    url = client.authorization_url(state="s" * 43, nonce="n" * 43,
                                   redirect_uri=f"{SITE}/franceconnect/retour/")
    answer = peer.answer_for(url, site=SITE)
    return answer.split("code=")[1].split("&")[0]


def ms(values) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    return f"median {statistics.median(values) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    with franceconnect_peer(site=SITE) as peer:
        peer.configure(settings)
        redirect_uri = f"{SITE}/franceconnect/retour/"
        cache.delete_many([client._jwks_cache_key()])

        codes = [fresh_code(peer) for _ in range(rounds + 1)]
        start = time.perf_counter()
        first = client.code_exchange(code=codes.pop(), redirect_uri=redirect_uri)
        client.userinfo_fetch(access_token=first.access_token, sub=first.claims["sub"])
        cold = time.perf_counter() - start

        verify = []
        for _ in range(rounds):
            start = time.perf_counter()
            client.jwt_verify(first.id_token)
            verify.append(time.perf_counter() - start)

        wall, cpu = [], []
        for code in codes:
            start, start_cpu = time.perf_counter(), time.process_time()
            tokens = client.code_exchange(code=code, redirect_uri=redirect_uri)
            client.userinfo_fetch(access_token=tokens.access_token, sub=tokens.claims["sub"])
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)

        print(f"jwt_verify (ES256, JWKS cached), {rounds} rounds: {ms(verify)}")
        print(f"back channel of a callback (token + userinfo, both checked), {rounds} rounds: "
              f"{ms(wall)}; our CPU {ms(cpu)}")
        print(f"first callback, JWKS not cached: {cold * 1000:.2f} ms")
        print(f"JWKS fetched {peer.counters()['jwks_hits']} time(s) in all")


if __name__ == "__main__":
    main()
