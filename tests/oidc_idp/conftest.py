"""Fixtures of the OpenID Connect provider's tests: a guardian with two children in two
schools (an école and a collège), registered clients, and the steps of the code flow."""

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.urls import reverse
from jwcrypto import jwk, jwt
from oauth2_provider.models import AbstractApplication, get_application_model

from oidc_idp.models import ClientPolicy
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

Application = get_application_model()

PASSWORD = "Demo-Parent-2026!"
REDIRECT_URI = "https://ent.example.org/oidc/callback"
POST_LOGOUT_URI = "https://ent.example.org/au-revoir"
CLIENT_SECRET = "secret-du-service-de-test-" + "x" * 30


def make_client(*, name="ENT Île-de-France", client_id=None, scopes=("profile", "children"),
                skip_authorization=True, redirect_uris=REDIRECT_URI, sector="",
                client_type=AbstractApplication.CLIENT_CONFIDENTIAL):
    application = Application.objects.create(
        name=name, client_id=client_id or secrets.token_urlsafe(16),
        client_secret=CLIENT_SECRET, hash_client_secret=True, client_type=client_type,
        authorization_grant_type=AbstractApplication.GRANT_AUTHORIZATION_CODE,
        algorithm=AbstractApplication.RS256_ALGORITHM, redirect_uris=redirect_uris,
        post_logout_redirect_uris=POST_LOGOUT_URI, skip_authorization=skip_authorization,
    )
    ClientPolicy.objects.create(application=application, scopes=list(scopes),
                                sector_identifier=sector)
    return application


@pytest.fixture
def family(db):
    college = EstablishmentFactory(uai="0750001A", name="Collège Victor-Hugo", kind="college")
    ecole = EstablishmentFactory(uai="0750002B", name="École Jean-Jaurès", kind="ecole")
    account = AccountFactory(identifier="h.duprelagarde12", first_name="Hélène",
                             last_name="Dupré-Lagarde", password=PASSWORD)
    children = []
    for school, first_names, level in [(college, "Lucas", "5EME"), (ecole, "Inès", "CE2")]:
        pupil = PupilFactory(first_names=first_names, last_name="DUPRÉ-LAGARDE",
                             establishment=school, level=level)
        ResponsibilityFactory(
            guardian_record=GuardianRecordFactory(establishment=school, account=account),
            pupil=pupil,
        )
        children.append(pupil)
    return SimpleNamespace(account=account, lucas=children[0], ines=children[1],
                           college=college, ecole=ecole)


@pytest.fixture
def service(db):
    return make_client()


@dataclass
class AuthRequest:
    """One authorization request as a relying party makes it (PKCE S256, state, nonce)."""

    client_id: str
    scope: str = "openid profile children"
    redirect_uri: str = REDIRECT_URI
    verifier: str = ""
    state: str = ""
    nonce: str = ""
    method: str = "S256"

    def __post_init__(self):
        self.verifier = self.verifier or secrets.token_urlsafe(48)
        self.state = self.state or secrets.token_urlsafe(12)
        self.nonce = self.nonce or secrets.token_urlsafe(12)

    @property
    def challenge(self) -> str:
        if self.method == "plain":
            return self.verifier
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(self, **overrides) -> str:
        params = {
            "response_type": "code", "client_id": self.client_id, "scope": self.scope,
            "redirect_uri": self.redirect_uri, "state": self.state, "nonce": self.nonce,
            "code_challenge": self.challenge, "code_challenge_method": self.method,
        }
        params.update(overrides)
        params = {key: value for key, value in params.items() if value is not None}
        return f"{reverse('oauth2_provider:authorize')}?{urlencode(params)}"


def sign_in(client, *, identifier="h.duprelagarde12", password=PASSWORD, next_url=""):
    """Through the real sign-in form (so the session records the method)."""
    url = reverse("accounts:login", args=["representant-legal"])
    data = {"identifier": identifier, "password": password}
    if next_url:
        data["next"] = next_url
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def query_of(location: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def authorize(client, request: AuthRequest, **overrides) -> dict:
    """GET the authorization endpoint (signed in, trusted client): the redirect's query."""
    response = client.get(request.url(**overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith(request.redirect_uri + "?")
    return query_of(response["Location"])


def basic_auth(client_id: str, secret: str = CLIENT_SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def exchange(client, request: AuthRequest, code: str, *, verifier=None, secret=CLIENT_SECRET):
    return client.post(
        reverse("oauth2_provider:token"),
        {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri,
         "code_verifier": request.verifier if verifier is None else verifier},
        HTTP_AUTHORIZATION=basic_auth(request.client_id, secret),
    )


def verified_claims(client, id_token: str) -> dict:
    """The ID token's claims, its RS256 signature checked against the published JWKS."""
    keys = jwk.JWKSet.from_json(client.get(reverse("oauth2_provider:jwks-info")).content)
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"])
    return json.loads(token.claims)
