"""The demo's service (oidc_idp.demo) refuses a forged or tampered ID token: through its real
flow (a tile, the provider's authorization endpoint, the callback, the real token endpoint),
the token endpoint's answer altered on its way to the service. The guardian reads « Connexion
au service impossible » and the service keeps and shows nothing of her: no result in the
session, the userinfo endpoint never asked.

The service talks to the provider over real HTTP, as in the demo: its address (SITE_URL) is a
proxy on loopback (`TamperingProxy`) in front of the live server, which passes every request
on unchanged, Host included (the provider's `iss` is read from it), and alters the ID token
of the token endpoint's answer on its way back."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.urls import reverse

from backoffice.management.commands.demo_accounts import demo_service_register
from oidc_idp import demo
from tests import html
from tests.oidc_idp.conftest import family, sign_in  # noqa: F401
from tests.oidc_idp.peer import loopback_settings

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

REFUSED = "Le jeton d'identité reçu n'est pas valide."
# Hop-by-hop headers, and the ones the proxy writes itself.
NOT_FORWARDED = {"connection", "content-length", "keep-alive", "transfer-encoding",
                 "accept-encoding"}


class TamperingProxy:
    """An HTTP server on loopback in front of `upstream` (the live server): each request
    passed on as it came (method, path, headers with Host, body), each answer passed back,
    but for the ID token of a JSON answer to a POST (the token endpoint's), given to
    `tamper` first. `calls`: the paths asked, in order; `url`: its address."""

    def __init__(self, upstream: str):
        self.tamper = lambda token: token
        self.calls: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.calls.append(urlsplit(self.path).path)
                answer = requests.request(
                    self.command, upstream + self.path, data=body, timeout=10,
                    allow_redirects=False,
                    headers={name: value for name, value in self.headers.items()
                             if name.lower() not in NOT_FORWARDED})
                content = answer.content
                if (self.command == "POST" and answer.status_code == 200
                        and answer.headers.get("Content-Type", "").startswith(
                            "application/json")):
                    data = json.loads(content)
                    if "id_token" in data:
                        data["id_token"] = proxy.tamper(data["id_token"])
                        content = json.dumps(data).encode()
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in NOT_FORWARDED | {"content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(live_server, settings):
    """The demo on the proxy's address: the provider reached through it, the demo service
    registered with its redirect URI there."""
    proxy = TamperingProxy(live_server.url)
    settings.DEBUG = True
    settings.SITE_URL = proxy.url
    loopback_settings(settings)
    demo_service_register()
    yield proxy
    proxy.stop()


def open_the_tile(client, provider, tamper):
    """Signed in, a tile of the demo opened: the service's request, the provider's answer
    (its code) brought back to the callback, the code exchanged over HTTP through `tamper`.
    Returns the callback's response."""
    provider.tamper = tamper
    # The browser is on the portal's address too: the authorization answer's `iss` (RFC 9207)
    # is read from its Host, as the ID token's is from the service's requests.
    client.defaults["HTTP_HOST"] = urlsplit(provider.url).netloc
    sign_in(client)
    authorize = client.get(reverse("oidc_demo:start") + "?service=Accédez à l'ENT")
    assert authorize.status_code == 302
    answer = client.get(authorize["Location"])
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert answer["Location"].startswith(provider.url + reverse("oidc_demo:callback") + "?")
    return client.get(answer["Location"])


# --- Ways to forge or tamper with the ID token --------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str):
    _header, payload, signature = token.split(".")
    padded = payload + "=" * (-len(payload) % 4)
    return (jwt.get_unverified_header(token),
            json.loads(base64.urlsafe_b64decode(padded)), signature)


def _signed_by_the_provider(token: str, **changes) -> str:
    """The token's claims changed and signed again with the provider's real key (as its
    own kid): only the claim checks can refuse it."""
    header, claims, _signature = _parts(token)
    claims.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del claims[key]
    return jwt.encode(claims, django_settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"],
                      algorithm="RS256", headers={"kid": header["kid"]})


def other_key_same_kid(token):
    header, claims, _signature = _parts(token)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = forger.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": header["kid"]})


def claims_changed_signature_kept(token):
    header_part, _payload, signature = token.split(".")
    _header, claims, _ = _parts(token)
    claims["sub"] = "quelqu-un-d-autre"
    return ".".join([header_part, _b64(json.dumps(claims).encode()), signature])


def signature_altered(token):
    head, payload, signature = token.rsplit(".", 2)
    flipped = ("A" if signature[10] != "A" else "B")
    return ".".join([head, payload, signature[:10] + flipped + signature[11:]])


def algorithm_none(token):
    header, claims, _signature = _parts(token)
    return ".".join([_b64(json.dumps({"alg": "none", "kid": header["kid"]}).encode()),
                     _b64(json.dumps(claims).encode()), ""])


def hmac_with_a_guessed_secret(token):
    header, claims, _signature = _parts(token)
    return jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": header["kid"]})


def unknown_kid(token):
    _header, claims, _signature = _parts(token)
    return jwt.encode(claims, django_settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"],
                      algorithm="RS256", headers={"kid": "cle-inconnue"})


FORGED = {
    "signed by another key under the provider's kid": other_key_same_kid,
    "claims changed, the signature kept": claims_changed_signature_kept,
    "one character of the signature changed": signature_altered,
    "alg none, no signature": algorithm_none,
    "HS256 with a guessed secret": hmac_with_a_guessed_secret,
    "a kid the JWKS does not publish": unknown_kid,
    "not a JWT at all": lambda token: "pas-un-jeton",
    "audience of another service": lambda token: _signed_by_the_provider(
        token, aud="ent-d-un-autre-service"),
    "audience list naming another party too, no azp": lambda token: _signed_by_the_provider(
        token, aud=[demo.DEMO_CLIENT_ID, "ent-d-un-autre-service"], azp=None),
    "authorized party another service": lambda token: _signed_by_the_provider(
        token, azp="ent-d-un-autre-service"),
    "no audience": lambda token: _signed_by_the_provider(token, aud=None),
    "issuer another provider": lambda token: _signed_by_the_provider(
        token, iss="https://faux-educonnect.example"),
    "no issuer": lambda token: _signed_by_the_provider(token, iss=None),
    "nonce of another request": lambda token: _signed_by_the_provider(
        token, nonce="nonce-d-une-autre-demande"),
    "no nonce": lambda token: _signed_by_the_provider(token, nonce=None),
    "nonce not a string": lambda token: _signed_by_the_provider(token, nonce=12345),
    "expired": lambda token: _signed_by_the_provider(
        token, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
}


def test_an_untouched_token_signs_the_guardian_in_at_the_service(client, provider,
                                                                  family):  # noqa: F811
    """The path the forged tokens take, with the provider's token as it is: signed in."""
    response = open_the_tile(client, provider, tamper=lambda token: token)
    assert response.status_code == 302
    assert response["Location"] == reverse("oidc_demo:result")
    page = html.parse(client.get(response["Location"]))
    assert html.text(page.find("h1")) == "Service de démonstration : vous êtes connecté(e)"
    assert html.text(page.find(id="person")) == "Hélène Dupré-Lagarde"
    assert reverse("oauth2_provider:token") in provider.calls
    assert reverse("oauth2_provider:user-info") in provider.calls


@pytest.mark.parametrize("tamper", FORGED.values(), ids=FORGED.keys())
def test_a_forged_or_tampered_id_token_is_refused_and_nothing_is_released(
    client, provider, family, tamper  # noqa: F811
):
    response = open_the_tile(client, provider, tamper)

    assert response.status_code == 400
    page = html.parse(response)
    assert html.text(page.find("h1")) == "Connexion au service impossible"
    assert REFUSED in html.text(page)
    assert "Revenir à mes services" in html.text(page)
    text = html.text(page)
    for released in ("Hélène", "Dupré-Lagarde", "Lucas", "Inès", "H.DUPRELAGARDE12",
                     "vous êtes connecté(e)"):
        assert released not in text
    # The service asked nothing more of the provider and kept nothing: no result to show.
    assert reverse("oauth2_provider:user-info") not in provider.calls
    assert demo.RESULT_KEY not in client.session
    assert client.get(reverse("oidc_demo:result"))["Location"] == reverse(
        "services_portal:my_services")
