"""Every bad request is refused — a French page when there is no registered address to
answer to, else the standard OAuth error at the registered redirect_uri — and journaled;
never a 500, never a redirect to an address the service did not register."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from core.journal import EventKind
from core.models import JournalEvent
from tests.factories import AccountFactory
from tests.html import main, parse, text
from tests.oidc_idp.conftest import (
    REDIRECT_URI,
    AuthRequest,
    authorize,
    exchange,
    make_client,
    query_of,
    sign_in,
)

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

Grant = get_grant_model()


def _refusal():
    return JournalEvent.objects.filter(kind=EventKind.OIDC_REFUSED).latest("id")


def _page_text(response) -> str:
    return text(main(parse(response)))


@pytest.mark.parametrize("signed_in", [False, True])
def test_an_unknown_client_gets_a_french_page_before_any_sign_in(client, family, signed_in):
    if signed_in:
        sign_in(client)
    response = client.get(AuthRequest("inconnu").url())
    assert response.status_code == 400
    assert "Ce service n'est pas enregistré auprès d'ÉduConnect" in _page_text(response)
    event = _refusal()
    assert event.data["reason"] == "unknown_client"
    assert event.data["client_id"] == "inconnu"
    assert event.account == (family.account if signed_in else None)


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/callback",
    REDIRECT_URI + "/../autre",
    REDIRECT_URI + "?next=https://evil.example",
    "https://ent.example.org:8443/oidc/callback",
])
def test_a_redirect_uri_not_registered_is_never_followed(client, family, service, redirect_uri):
    for signed_in in (False, True):
        if signed_in:
            sign_in(client)
        response = client.get(AuthRequest(service.client_id, redirect_uri=redirect_uri).url())
        assert response.status_code == 400
        assert "Location" not in response
        assert "L'adresse de retour demandée par ce service n'est pas enregistrée" in (
            _page_text(response)
        )
        assert _refusal().data["reason"] == "redirect_uri_not_registered"


def test_a_scope_the_client_was_not_given_is_refused_with_invalid_scope(client, family):
    application = make_client(name="Cantine", scopes=("profile",))
    sign_in(client)
    request = AuthRequest(application.client_id, scope="openid profile children")
    response = client.get(request.url())
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    query = query_of(response["Location"])
    assert query["error"] == "invalid_scope"
    assert query["state"] == request.state
    assert query["iss"] == "http://testserver"  # RFC 9207, errors too
    event = _refusal()
    assert event.data["reason"] == "invalid_scope"
    assert event.account == family.account
    assert not Grant.objects.exists()


def test_a_client_without_policy_may_ask_openid_only(client, family, service):
    service.policy.delete()
    service.refresh_from_db()
    sign_in(client)
    assert "code" in authorize(client, AuthRequest(service.client_id, scope="openid"))
    refused = authorize(client, AuthRequest(service.client_id, scope="openid profile"))
    assert refused["error"] == "invalid_scope"


@pytest.mark.parametrize("overrides", [
    {"code_challenge": None, "code_challenge_method": None},
    {"code_challenge_method": "plain"},
    {"response_type": "token"},
    {"response_type": "id_token"},
])
def test_pkce_s256_and_the_code_flow_are_required(client, family, service, overrides):
    sign_in(client)
    request = AuthRequest(service.client_id)
    if overrides.get("code_challenge_method") == "plain":
        request.method = "plain"
    query = authorize(client, request, **overrides)
    assert "code" not in query
    assert query["error"] in {"invalid_request", "unsupported_response_type", "unauthorized_client"}
    assert not Grant.objects.exists()
    assert _refusal().data["endpoint"] == "authorize"


def test_a_wrong_verifier_a_replayed_code_and_an_expired_code_are_refused(
    client, family, service
):
    sign_in(client)
    request = AuthRequest(service.client_id)
    code = authorize(client, request)["code"]
    wrong = exchange(client, request, code, verifier="x" * 50)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    event = _refusal()
    assert event.data == {"endpoint": "token", "error": "invalid_grant",
                          "reason": "invalid_grant", "client_id": service.client_id}

    request = AuthRequest(service.client_id)
    code = authorize(client, request)["code"]
    assert exchange(client, request, code).status_code == 200
    replayed = exchange(client, request, code)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"

    request = AuthRequest(service.client_id)
    code = authorize(client, request)["code"]
    Grant.objects.filter(code=code).update(
        expires=timezone.now() - datetime.timedelta(seconds=1)
    )
    expired = exchange(client, request, code)
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"
    assert JournalEvent.objects.filter(kind=EventKind.OIDC_REFUSED).count() == 3


def test_a_wrong_client_secret_is_refused(client, family, service):
    sign_in(client)
    request = AuthRequest(service.client_id)
    code = authorize(client, request)["code"]
    response = exchange(client, request, code, secret="pas-le-bon")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert _refusal().data["client_id"] == service.client_id


def test_a_back_office_account_cannot_sign_in_to_a_service(client, service):
    staff = AccountFactory(kind="staff", identifier="a.martin1", is_staff=True)
    client.force_login(staff, backend="accounts.backends.IdentifierBackend")
    response = client.get(AuthRequest(service.client_id).url())
    assert response.status_code == 403
    assert "Un compte de l'espace de gestion ne permet pas" in _page_text(response)
    assert _refusal().data["reason"] == "staff_account"


def test_a_tampered_consent_form_is_refused_with_a_page(client, family):
    application = make_client(skip_authorization=False)
    sign_in(client)
    response = client.post(reverse("oauth2_provider:authorize"),
                           {"client_id": application.client_id})
    assert response.status_code == 400
    assert "incomplète ou invalide" in _page_text(response)


def test_a_bearer_token_that_is_not_ours_gets_401_at_userinfo(client):
    response = client.get(reverse("oauth2_provider:user-info"),
                          HTTP_AUTHORIZATION="Bearer pas-un-jeton")
    assert response.status_code == 401


def test_prompt_none_without_a_session_answers_login_required(client, family, service):
    request = AuthRequest(service.client_id)
    response = client.get(request.url(prompt="none"))
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT_URI + "?")
    query = query_of(response["Location"])
    assert query["error"] == "login_required" and query["state"] == request.state
    assert _refusal().data["reason"] == "login_required"
    sign_in(client)
    assert "code" in authorize(client, request, prompt="none")


def test_prompt_none_where_consent_is_needed_answers_consent_required(client, family):
    application = make_client(skip_authorization=False)
    sign_in(client)
    request = AuthRequest(application.client_id)
    query = authorize(client, request, prompt="none")
    assert query["error"] == "consent_required" and query["state"] == request.state


@pytest.mark.parametrize("query", [
    "",
    "client_id=",
    "response_type=code",
    "response_type=code&client_id={client_id}",
    "response_type=code&client_id={client_id}&redirect_uri=" + REDIRECT_URI,
    "response_type=code&client_id={client_id}&client_id=autre&redirect_uri=" + REDIRECT_URI,
    "response_type=code&client_id={client_id}&redirect_uri=" + REDIRECT_URI
    + "&scope=openid&code_challenge=x&code_challenge_method=S256&claims=%7Bpas-du-json",
    "response_type=code&client_id={client_id}&redirect_uri=" + REDIRECT_URI
    + "&scope=openid&code_challenge=x&code_challenge_method=S512",
    "response_type=code&client_id={client_id}&redirect_uri=" + REDIRECT_URI
    + "&scope=openid&code_challenge=x&code_challenge_method=S256&prompt=none+login",
    "response_type=code&client_id={client_id}&redirect_uri=" + REDIRECT_URI
    + "&scope=openid&code_challenge=x&code_challenge_method=S256&request=eyJ",
    "response_type=code&client_id={client_id}&redirect_uri=" + REDIRECT_URI
    + "&scope=%00&code_challenge=x&code_challenge_method=S256",
])
@pytest.mark.parametrize("signed_in", [False, True])
def test_no_authorization_request_gets_a_500(client, family, service, query, signed_in):
    if signed_in:
        sign_in(client)
    response = client.get(reverse("oauth2_provider:authorize") + "?"
                          + query.format(client_id=service.client_id))
    assert response.status_code in {302, 400}, response.status_code
    if response.status_code == 302:
        location = response["Location"]
        assert location.startswith((REDIRECT_URI + "?", "/?next=")), location


@pytest.mark.parametrize("data", [
    {},
    {"grant_type": "authorization_code"},
    {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI},
    {"grant_type": "password", "username": "h.duprelagarde12", "password": "x"},
    {"grant_type": "client_credentials"},
    {"grant_type": "refresh_token", "refresh_token": "x"},
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "x"},
])
def test_no_token_request_gets_a_500(client, family, service, data):
    from tests.oidc_idp.conftest import basic_auth

    for headers in ({}, {"HTTP_AUTHORIZATION": basic_auth(service.client_id)},
                    {"HTTP_AUTHORIZATION": "Basic !!!"}):
        response = client.post(reverse("oauth2_provider:token"), data, **headers)
        assert 400 <= response.status_code < 500, (response.status_code, response.content)


@pytest.mark.parametrize("query", [
    "", "client_id=inconnu", "post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
    "id_token_hint=a.b.c", "id_token_hint=%00", "client_id={client_id}&id_token_hint=x",
])
def test_no_logout_request_gets_a_500(client, family, service, query):
    sign_in(client)
    response = client.get(reverse("oauth2_provider:rp-initiated-logout") + "?"
                          + query.format(client_id=service.client_id))
    assert response.status_code in {200, 302, 400}, response.status_code


def test_a_verified_client_secret_is_remembered_a_wrong_one_never(client, family, service,
                                                                  settings):
    from unittest import mock

    from oauth2_provider.oauth2_validators import OAuth2Validator

    sign_in(client)
    with mock.patch.object(OAuth2Validator, "_check_secret", autospec=True,
                           side_effect=OAuth2Validator._check_secret) as hashed:
        for _ in range(3):
            request = AuthRequest(service.client_id)
            assert exchange(client, request, authorize(client, request)["code"]).status_code \
                == 200
        assert hashed.call_count == 1  # then from the cache
        for _ in range(2):
            request = AuthRequest(service.client_id)
            code = authorize(client, request)["code"]
            assert exchange(client, request, code, secret="faux").status_code == 401
        assert hashed.call_count == 3  # a wrong secret is always hashed
        settings.OIDC_CLIENT_SECRET_CACHE_SECONDS = 0
        request = AuthRequest(service.client_id)
        assert exchange(client, request, authorize(client, request)["code"]).status_code == 200
        assert hashed.call_count == 4
