"""The demo's service (oidc_idp.demo): absent outside the demo, and a French page, never a
500, when the provider's answer is not one it waits for. Its whole path, through the real
provider, is tests/browser/test_demo_service.py."""

import pytest
from django.urls import reverse

from oidc_idp.demo import DEMO_CLIENT_ID, SESSION_KEY

pytestmark = pytest.mark.django_db


def test_outside_the_demo_the_service_does_not_exist(client, settings):
    settings.DEBUG = False
    assert client.get(reverse("oidc_demo:start")).status_code == 404
    assert client.get(reverse("oidc_demo:callback") + "?code=x&state=y").status_code == 404


def test_a_tile_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(client, settings):
    settings.DEBUG = True
    response = client.get(reverse("oidc_demo:start") + "?service=Scolarité services")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(reverse("oauth2_provider:authorize") + "?")
    (state, kept), = client.session[SESSION_KEY].items()
    for part in (f"client_id={DEMO_CLIENT_ID}", f"state={state}",
                 f"nonce={kept['nonce']}", "code_challenge_method=S256",
                 "scope=openid+profile+children"):
        assert part in location
    assert kept["service"] == "Scolarité services"


@pytest.mark.parametrize("query", ["?code=abc&state=not-the-one", "?error=access_denied"])
def test_an_answer_this_browser_did_not_ask_for_gets_a_french_page(client, settings, query):
    settings.DEBUG = True
    client.get(reverse("oidc_demo:start"))
    response = client.get(reverse("oidc_demo:callback") + query)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Connexion au service impossible" in page
    assert "Revenir à mes services" in page


def test_two_tabs_each_keep_their_own_request(client, settings):
    settings.DEBUG = True
    client.get(reverse("oidc_demo:start") + "?service=A")
    client.get(reverse("oidc_demo:start") + "?service=B")
    assert [kept["service"] for kept in client.session[SESSION_KEY].values()] == ["A", "B"]


def test_the_result_page_without_a_sign_in_at_the_service_leads_to_my_services(client,
                                                                                settings):
    settings.DEBUG = True
    response = client.get(reverse("oidc_demo:result"))
    assert response.status_code == 302
    assert response["Location"] == reverse("services_portal:my_services")


def test_an_answer_from_another_issuer_is_refused(client, settings):
    settings.DEBUG = True
    client.get(reverse("oidc_demo:start"))
    (state,) = client.session[SESSION_KEY]
    response = client.get(reverse("oidc_demo:callback"),
                          {"code": "abc", "state": state, "iss": "https://evil.example"})
    assert response.status_code == 400
    assert "ne vient pas d&#x27;ÉduConnect" in response.content.decode()
