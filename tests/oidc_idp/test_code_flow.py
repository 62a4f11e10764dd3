"""The authorization code flow with PKCE, end to end through our URLs (Django's test client
plays the browser and the service): discovery, sign-in started by the service, the code, the
ID token (checked against the JWKS), userinfo, the journal."""

import time

import pytest
from django.urls import reverse

from core.journal import EventKind
from core.models import JournalEvent
from oidc_idp.claims import ACR_PASSWORD, pairwise_sub
from tests.oidc_idp.conftest import (
    AuthRequest,
    authorize,
    exchange,
    make_client,
    query_of,
    sign_in,
    verified_claims,
)

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]


def test_discovery_names_one_issuer_code_flow_only_s256_and_pairwise(client):
    document = client.get("/.well-known/openid-configuration").json()
    issuer = "http://testserver"
    assert document["issuer"] == issuer
    assert document["authorization_endpoint"] == f"{issuer}/oidc/authorize/"
    assert document["token_endpoint"] == f"{issuer}/oidc/token/"
    assert document["userinfo_endpoint"] == f"{issuer}/oidc/userinfo/"
    assert document["jwks_uri"] == f"{issuer}/oidc/jwks/"
    assert document["end_session_endpoint"] == f"{issuer}/oidc/logout/"
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["subject_types_supported"] == ["pairwise"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(document["scopes_supported"]) == {"openid", "profile", "children"}
    assert {"children", "affiliation", "amr", "acr"} <= set(document["claims_supported"])
    keys = client.get(document["jwks_uri"].removeprefix(issuer)).json()["keys"]
    assert [(key["kty"], key["alg"], key["use"]) for key in keys] == [("RSA", "RS256", "sig")]
    assert "d" not in keys[0]  # the public half only


def test_sign_in_started_by_a_service_returns_to_it_with_a_code(client, family, service):
    request = AuthRequest(service.client_id)
    response = client.get(request.url())
    # Not signed in: the profile choice, with the authorization request as `next`.
    assert response.status_code == 302
    login = response["Location"]
    assert login.startswith(reverse("accounts:profile_choice") + "?next=")
    next_url = query_of(login)["next"]
    assert next_url == request.url()

    response = sign_in(client, next_url=next_url)
    assert response["Location"] == next_url
    query = authorize(client, request)
    assert query["state"] == request.state
    assert query["iss"] == "http://testserver"  # RFC 9207
    assert query["code"]
    event = JournalEvent.objects.get(kind=EventKind.OIDC_AUTHORIZED)
    assert event.account == family.account
    assert event.data["client_id"] == service.client_id
    assert event.data["methods"] == ["pwd"]
    assert event.data["scopes"] == ["children", "openid", "profile"]


def test_the_code_gives_a_signed_id_token_and_userinfo_with_the_children(
    client, family, service
):
    sign_in(client)
    request = AuthRequest(service.client_id)
    code = authorize(client, request)["code"]
    before = int(time.time())

    response = exchange(client, request, code)
    assert response.status_code == 200, response.content
    tokens = response.json()
    claims = verified_claims(client, tokens["id_token"])
    assert claims["iss"] == "http://testserver"
    assert claims["aud"] == service.client_id
    assert claims["nonce"] == request.nonce
    assert claims["sub"] == pairwise_sub(sector=service.client_id, kind="account",
                                         pk=family.account.pk)
    assert claims["sub"] != str(family.account.pk)
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PASSWORD
    assert before - 60 <= claims["auth_time"] <= before
    assert claims["given_name"] == "Hélène" and claims["family_name"] == "Dupré-Lagarde"
    assert claims["identifier"] == "h.duprelagarde12"
    assert claims["affiliation"] == ["resp1d", "resp2d"]
    children = {child["given_name"]: child for child in claims["children"]}
    assert set(children) == {"Lucas", "Inès"}
    assert children["Lucas"]["school_uai"] == "0750001A"
    assert children["Lucas"]["level"] == "5EME"
    assert children["Inès"]["school_uai"] == "0750002B"
    assert children["Inès"]["level"] == "CE2"
    assert children["Lucas"]["sub"] != children["Inès"]["sub"]

    userinfo = client.get(reverse("oauth2_provider:user-info"),
                          HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 200
    info = userinfo.json()
    assert info["sub"] == claims["sub"]
    assert info["children"] == claims["children"]

    released = JournalEvent.objects.filter(kind=EventKind.OIDC_CLAIMS_RELEASED).order_by("id")
    assert [event.data["via"] for event in released] == ["id_token", "userinfo"]
    for event in released:
        assert event.account == family.account
        assert event.data["client_id"] == service.client_id
        assert sorted(event.data["children"]) == sorted([family.lucas.pk, family.ines.pk])
        assert "token" not in str(event.data).lower().replace("id_token", "")


def test_only_the_scopes_asked_are_released(client, family, service):
    sign_in(client)
    request = AuthRequest(service.client_id, scope="openid")
    code = authorize(client, request)["code"]
    claims = verified_claims(client, exchange(client, request, code).json()["id_token"])
    assert "children" not in claims and "given_name" not in claims
    assert claims["amr"] == ["pwd"]
    event = JournalEvent.objects.get(kind=EventKind.OIDC_CLAIMS_RELEASED)
    assert event.data["children"] == []


def test_sub_is_stable_per_service_and_differs_between_services(client, family, service):
    other = make_client(name="Livret scolaire")
    same_sector = make_client(name="ENT, second site", sector=service.client_id)
    sign_in(client)

    def sub_for(application):
        request = AuthRequest(application.client_id, scope="openid")
        code = authorize(client, request)["code"]
        return verified_claims(client, exchange(client, request, code).json()["id_token"])["sub"]

    first = sub_for(service)
    assert sub_for(service) == first
    assert sub_for(other) != first
    assert sub_for(same_sector) == first
    assert len(first) == 43


def test_consent_is_asked_for_a_service_that_is_not_a_trusted_national_one(client, family):
    application = make_client(name="Cantine en ligne", skip_authorization=False,
                              scopes=("profile",))
    sign_in(client)
    request = AuthRequest(application.client_id, scope="openid profile")
    page = client.get(request.url())
    assert page.status_code == 200
    text = page.content.decode()
    assert "Se connecter à « Cantine en ligne »" in text
    assert "Vos nom, prénom, identifiant ÉduConnect et profil" in text

    form = {key: value for key, value in page.context["form"].initial.items() if value}
    refused = client.post(request.url(), form)
    assert refused.status_code == 302
    assert query_of(refused["Location"])["error"] == "access_denied"

    allowed = client.post(request.url(), {**form, "allow": "1"})
    assert allowed.status_code == 302
    assert "code" in query_of(allowed["Location"])
    # Asked once: the next authorization goes straight back (a live token holds the scopes).
    exchange(client, request, query_of(allowed["Location"])["code"])
    again = AuthRequest(application.client_id, scope="openid profile")
    assert "code" in authorize(client, again)
