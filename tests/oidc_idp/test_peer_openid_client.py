"""A real relying party — openid-client from npm, OpenID-certified — signs a guardian in
through the whole code flow with PKCE against the live server, checks the ID token (its RS256
signature against our JWKS, issuer, audience, nonce, lifetime) and reads userinfo and the
children; then signs them out (RP-initiated logout).

Python's `requests` plays the browser (the Playwright test does it with Chromium)."""

import re

import pytest
import requests

from core.journal import EventKind
from core.models import JournalEvent
from oidc_idp.claims import pairwise_sub
from tests.oidc_idp.conftest import CLIENT_SECRET, PASSWORD, make_client
from tests.oidc_idp.peer import (
    LOOPBACK_POST_LOGOUT_URI,
    LOOPBACK_REDIRECT_URI,
    loopback_settings,
    relying_party,
)

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db(transaction=True)]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _http_on_loopback(settings):
    loopback_settings(settings)
    # `requests` (rightly) keeps Secure cookies off http://: the test server is plain http.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


def test_openid_client_signs_the_guardian_in_with_pkce_and_reads_the_children(
    live_server, family
):
    service = make_client(name="ENT de test", redirect_uris=LOOPBACK_REDIRECT_URI)
    service.post_logout_redirect_uris = LOOPBACK_POST_LOGOUT_URI
    service.save(update_fields=["post_logout_redirect_uris"])
    browser = requests.Session()
    with relying_party(issuer=live_server.url, client_id=service.client_id,
                       client_secret=CLIENT_SECRET) as rp:
        # The service sends the guardian to ÉduConnect: our profile choice, `next` kept.
        page = browser.get(f"{rp}/login", timeout=10)
        assert page.url.startswith(f"{live_server.url}/?next=/oidc/authorize/")
        sign_in_url = f"{live_server.url}/connexion/representant-legal/"
        next_url = page.url.split("?next=", 1)[1]
        form = browser.get(sign_in_url, params={"next": requests.utils.unquote(next_url)},
                           timeout=10)
        token = CSRF.search(form.text).group(1)
        landed = browser.post(form.url, timeout=10, data={
            "csrfmiddlewaretoken": token, "identifier": "H.DUPRELAGARDE12",
            "password": PASSWORD, "next": requests.utils.unquote(next_url),
        }, headers={"Referer": form.url})
        # Signed in, back at the service, which checked everything.
        assert landed.url.startswith(f"{rp}/callback?"), landed.text[:500]
        result = browser.get(f"{rp}/result", timeout=10).json()
        assert "error" not in result, result
        claims, userinfo = result["claims"], result["userinfo"]
        assert claims["iss"] == live_server.url
        assert claims["aud"] == service.client_id
        assert claims["sub"] == pairwise_sub(sector=service.client_id, kind="account",
                                             pk=family.account.pk)
        assert claims["amr"] == ["pwd"]
        assert userinfo["sub"] == claims["sub"]
        assert userinfo["affiliation"] == ["resp1d", "resp2d"]
        assert sorted((c["given_name"], c["school_uai"], c["level"])
                      for c in userinfo["children"]) == [
            ("Inès", "0750002B", "CE2"), ("Lucas", "0750001A", "5EME"),
        ]
        assert "Lucas DUPRÉ-LAGARDE — 5EME (0750001A)" in landed.text

        # The service signs the guardian out of ÉduConnect and gets them back.
        out = browser.get(f"{rp}/logout", timeout=10)
        assert out.url.startswith(f"{rp}/logged-out?state=bye")
        mine = browser.get(f"{live_server.url}/services/", timeout=10)
        assert mine.url.startswith(f"{live_server.url}/?next=/services/")

    kinds = list(JournalEvent.objects.filter(kind__startswith="oidc.")
                 .order_by("id").values_list("kind", flat=True))
    assert kinds == [EventKind.OIDC_AUTHORIZED, EventKind.OIDC_CLAIMS_RELEASED,
                     EventKind.OIDC_CLAIMS_RELEASED, EventKind.OIDC_LOGOUT]


def test_openid_client_is_refused_a_scope_the_service_was_not_given(live_server, family):
    service = make_client(name="Cantine", scopes=("profile",),
                          redirect_uris=LOOPBACK_REDIRECT_URI)
    browser = requests.Session()
    with relying_party(issuer=live_server.url, client_id=service.client_id,
                       client_secret=CLIENT_SECRET) as rp:
        # Checked before anyone is asked to sign in: straight back with invalid_scope.
        page = browser.get(f"{rp}/login", timeout=10)
        assert page.url.startswith(f"{rp}/callback?error=invalid_scope")
        assert page.status_code == 400
        assert browser.get(f"{rp}/result", timeout=10).json()["oauth_error"] == "invalid_scope"
    assert JournalEvent.objects.filter(kind=EventKind.OIDC_REFUSED,
                                       data__reason="invalid_scope").exists()
