"""The relying party of tests/peers/oidc (openid-client, OpenID-certified) run as a process on
loopback, for the peer test and the browser test."""

import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

PEER_DIR = Path(__file__).resolve().parent.parent / "peers" / "oidc"
# The loopback redirect URIs: any port matches (RFC 8252 §7.3), the RP picks a free one.
LOOPBACK_REDIRECT_URI = "http://127.0.0.1/callback"
LOOPBACK_POST_LOGOUT_URI = "http://127.0.0.1/logged-out"


def loopback_settings(settings):
    """The provider accepts http redirect URIs (loopback here; https only by default)."""
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER, "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    }


@contextmanager
def relying_party(*, issuer: str, client_id: str, client_secret: str,
                  scope: str = "openid profile children"):
    """Start rp.mjs; yield its base URL (http://127.0.0.1:port); stop it."""
    node = shutil.which("node")
    if node is None or not (PEER_DIR / "node_modules" / "openid-client").exists():
        pytest.fail("tests/peers/oidc needs node and `npm ci` there (see .ci/run)")
    process = subprocess.Popen(
        [node, "rp.mjs"], cwd=PEER_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ISSUER": issuer, "CLIENT_ID": client_id,
             "CLIENT_SECRET": client_secret, "SCOPE": scope, "PORT": "0"},
    )
    try:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"rp.mjs did not start: {process.stderr.read()}")
        yield f"http://127.0.0.1:{json.loads(line)['port']}"
    finally:
        process.terminate()
        process.wait(timeout=10)
