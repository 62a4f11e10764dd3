"""The demo's service (oidc_idp.demo) refuses a forged or tampered ID token: through its real
flow (a tile, the provider's authorization endpoint, the callback, the real token endpoint),
the token endpoint's answer altered on its way to the service. The guardian reads « Connexion
au service impossible » and the service keeps and shows nothing of her: no result in the
session, the userinfo endpoint never asked.

The service's HTTP calls (`requests`, over SITE_URL in the demo) are answered here by the
Django test client, the provider's own views."""

from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from backoffice.management.commands.demo_accounts import demo_service_register
from oidc_idp import demo
from tests import html
from tests.oidc_idp.conftest import family, sign_in  # noqa: F401
from tests.oidc_idp.peer import loopback_settings

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
REFUSED = "Le jeton d'identité reçu n'est pas valide."


class ProviderOverHttp:
    """What `requests` does for the demo service, answered by the provider's views (a
    Django test client of its own: no browser cookie), the token endpoint's ID token passed
    through `tamper` first. `calls`: the paths asked, in order."""

    RequestException = requests.RequestException

    def __init__(self, tamper):
        self.tamper = tamper
        self.server = Client()
        self.calls: list[str] = []

    @staticmethod
    def _answer(response):
        return SimpleNamespace(status_code=response.status_code,
                               json=lambda: json.loads(response.content))

    def post(self, url, *, data, timeout):
        path = urlsplit(url).path
        self.calls.append(path)
        response = self.server.post(path, data)
        body = json.loads(response.content)
        if response.status_code == 200 and "id_token" in body:
            body["id_token"] = self.tamper(body["id_token"])
        return SimpleNamespace(status_code=response.status_code, json=lambda: body)

    def get(self, url, *, timeout, headers=None):
        path = urlsplit(url).path
        self.calls.append(path)
        extra = {"HTTP_AUTHORIZATION": headers["Authorization"]} if headers else {}
        return self._answer(self.server.get(path, **extra))


@pytest.fixture
def demo_site(settings):
    settings.DEBUG = True
    settings.SITE_URL = SITE
    loopback_settings(settings)
    demo_service_register()


def open_the_tile(client, monkeypatch, tamper):
    """Signed in, a tile of the demo opened: the service's request, the provider's answer
    (its code) brought back to the callback, the code exchanged through `tamper`. Returns
    (the callback's response, the provider as the service reached it)."""
    provider = ProviderOverHttp(tamper)
    monkeypatch.setattr(demo, "requests", provider)
    sign_in(client)
    authorize = client.get(reverse("oidc_demo:start") + "?service=Accédez à l'ENT")
    assert authorize.status_code == 302
    answer = client.get(authorize["Location"])
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert answer["Location"].startswith(SITE + reverse("oidc_demo:callback") + "?")
    return client.get(answer["Location"]), provider


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


def test_an_untouched_token_signs_the_guardian_in_at_the_service(client, monkeypatch,
                                                                  demo_site, family):  # noqa: F811
    """The path the forged tokens take, with the provider's token as it is: signed in."""
    response, provider = open_the_tile(client, monkeypatch, tamper=lambda token: token)
    assert response.status_code == 302
    assert response["Location"] == reverse("oidc_demo:result")
    page = html.parse(client.get(response["Location"]))
    assert html.text(page.find("h1")) == "Service de démonstration : vous êtes connecté(e)"
    assert html.text(page.find(id="person")) == "Hélène Dupré-Lagarde"
    assert reverse("oauth2_provider:user-info") in provider.calls


@pytest.mark.parametrize("tamper", FORGED.values(), ids=FORGED.keys())
def test_a_forged_or_tampered_id_token_is_refused_and_nothing_is_released(
    client, monkeypatch, demo_site, family, tamper  # noqa: F811
):
    response, provider = open_the_tile(client, monkeypatch, tamper)

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
