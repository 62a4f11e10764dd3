"""A guardian signs in at a service through ÉduConnect's OpenID Connect provider, in Chromium,
keyboard only on our pages, axe on each of them; the service is the openid-client relying
party of tests/peers/oidc (PKCE, ID token and userinfo checked by the library)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible
from tests.oidc_idp.conftest import CLIENT_SECRET, PASSWORD, family, make_client  # noqa: F401
from tests.oidc_idp.peer import LOOPBACK_REDIRECT_URI, loopback_settings, relying_party

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _http_on_loopback(settings):
    loopback_settings(settings)


def test_guardian_signs_in_at_a_service_and_consents_once(page, live_server, family):  # noqa: F811
    service = make_client(name="ENT Île-de-France", skip_authorization=False,
                          redirect_uris=LOOPBACK_REDIRECT_URI)
    with relying_party(issuer=live_server.url, client_id=service.client_id,
                       client_secret=CLIENT_SECRET) as rp:
        page.goto(f"{rp}/login")
        # ÉduConnect's profile choice, the service's request kept as `next`.
        expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
        assert re.search(r"/\?next=/oidc/authorize/", page.url)
        assert_accessible(page)
        page.get_by_role("link", name="Représentant légal").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Je me connecte avec mon compte ÉduConnect"
        )
        assert_accessible(page)

        # Keyboard only: type, Tab, type, Enter.
        page.get_by_label("Identifiant").focus()
        page.keyboard.type("H.DUPRELAGARDE12")
        page.get_by_label("Mot de passe", exact=True).focus()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")

        # A service that is not a national one asks the guardian's agreement, once.
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Se connecter à « ENT Île-de-France »"
        )
        expect(page.get_by_text("Vos enfants : nom, prénom, établissement (UAI) et niveau")) \
            .to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Autoriser et continuer").focus()
        page.keyboard.press("Enter")

        # At the service, signed in, with the children.
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Service de test : vous êtes connecté(e)"
        )
        expect(page.locator("#person")).to_have_text("Hélène Dupré-Lagarde")
        expect(page.locator("#children li")).to_have_text([
            "Inès DUPRÉ-LAGARDE — CE2 (0750002B)", "Lucas DUPRÉ-LAGARDE — 5EME (0750001A)",
        ])

        # Again: no sign-in (the session is open), no question (agreed): straight back.
        page.goto(f"{rp}/login")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Service de test : vous êtes connecté(e)"
        )


def test_a_request_for_an_unregistered_address_shows_a_french_page(
    page, live_server, family  # noqa: F811
):
    service = make_client(name="ENT", redirect_uris=LOOPBACK_REDIRECT_URI)
    page.goto(f"{live_server.url}/oidc/authorize/?response_type=code&client_id="
              f"{service.client_id}&redirect_uri=https%3A%2F%2Fevil.example%2F&scope=openid"
              "&code_challenge=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
              "&code_challenge_method=S256")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion au service impossible")
    expect(page.locator("main")).to_contain_text(
        "L'adresse de retour demandée par ce service n'est pas enregistrée"
    )
    expect(page).to_have_title(re.compile(r"^Connexion au service impossible — ÉduConnect"))
    assert page.url.startswith(live_server.url)
    assert_accessible(page)
