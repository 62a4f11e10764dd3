"""The loopback FranceConnect of tests/peers/franceconnect (oidc-provider configured as
FranceConnect v2) run as a process, and a « browser » made of requests for the tests that
drive our side with Django's test client."""

import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

PEER_DIR = Path(__file__).resolve().parent.parent / "peers" / "franceconnect"
CLIENT_ID = "educonnect-loopback"
CLIENT_SECRET = "a-secret-of-the-loopback-franceconnect-client"


@dataclass
class FranceConnectPeer:
    issuer: str
    base: str
    subs: dict  # identity key -> the sub FranceConnect gives us

    def control(self, **change) -> None:
        requests.post(f"{self.base}/___control___", data=json.dumps(change), timeout=5)

    def counters(self) -> dict:
        return requests.get(f"{self.base}/___control___", timeout=5).json()

    def configure(self, settings) -> None:
        settings.FRANCECONNECT_ISSUER = self.issuer
        settings.FRANCECONNECT_CLIENT_ID = CLIENT_ID
        settings.FRANCECONNECT_CLIENT_SECRET = CLIENT_SECRET

    def answer_for(self, authorize_url: str, *, site: str) -> str:
        """Play the browser at FranceConnect (its sign-in and consent need no page here):
        follow its redirects until it sends back to `site`; return that URL's path+query."""
        session = requests.Session()
        url = authorize_url
        for _ in range(10):
            response = session.get(url, allow_redirects=False, timeout=5)
            assert response.status_code in (302, 303), (response.status_code, response.text)
            url = urljoin(url, response.headers["Location"])
            if url.startswith(site):
                parts = urlsplit(url)
                return f"{parts.path}?{parts.query}"
        raise AssertionError("FranceConnect never sent the browser back")


@contextmanager
def franceconnect_peer(*, site: str):
    """Start fc.mjs for a client whose redirect URIs are on `site` (http://testserver or
    the live server); yield a FranceConnectPeer; stop it."""
    node = shutil.which("node")
    if node is None or not (PEER_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail("tests/peers/franceconnect needs node and `npm ci` there (make peers)")
    process = subprocess.Popen(
        [node, "fc.mjs"], cwd=PEER_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PORT": "0", "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
             "REDIRECT_URIS": f"{site}/franceconnect/retour/",
             "POST_LOGOUT_URIS": f"{site}/franceconnect/deconnexion/"},
    )
    try:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"fc.mjs did not start: {process.stderr.read()}")
        info = json.loads(line)
        yield FranceConnectPeer(issuer=info["issuer"], base=f"http://127.0.0.1:{info['port']}",
                                subs=info["subs"])
    finally:
        process.terminate()
        process.wait(timeout=10)
