"""In the demo, a tile of « Mes services » opens the demo's service signed in (oidc_idp.demo:
a relying party of the portal's own OpenID Connect provider, over HTTP), in Chromium, by
keyboard, axe on the service's page."""

import pytest
from playwright.sync_api import expect

from backoffice.management.commands.demo_accounts import _demo_service_url, demo_service_register
from oidc_idp.demo import DEMO_CLIENT_ID
from services_portal.models import Service
from tests.browser.a11y import assert_accessible
from tests.oidc_idp.conftest import PASSWORD, family  # noqa: F401
from tests.oidc_idp.peer import loopback_settings

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_demo_tile_opens_the_demo_service_signed_in(page, live_server, family, settings):  # noqa: F811
    settings.DEBUG = True
    settings.SITE_URL = live_server.url
    loopback_settings(settings)
    demo_service_register()
    Service.objects.create(title="Accédez à l'ENT", establishment=family.college,
                           url=_demo_service_url("Accédez à l'ENT (Collège Victor-Hugo)"),
                           oidc_client_id=DEMO_CLIENT_ID, position=1)

    page.goto(f"{live_server.url}/connexion/representant-legal/?next=/services/")
    page.get_by_label("Identifiant").focus()
    page.keyboard.type("h.duprelagarde12")
    page.get_by_label("Mot de passe", exact=True).focus()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")

    tile = page.get_by_role("link", name="Accédez à l'ENT")
    tile.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Service de démonstration : vous êtes connecté(e)")
    expect(page.get_by_text("Vous avez ouvert la tuile « Accédez à l'ENT (Collège "
                            "Victor-Hugo) »")).to_be_visible()
    expect(page.locator("#person")).to_have_text("Hélène Dupré-Lagarde")
    expect(page.get_by_text("H.DUPRELAGARDE12")).to_be_visible()
    expect(page.get_by_text("mot de passe", exact=True)).to_be_visible()
    children = ["Inès DUPRÉ-LAGARDE — École Jean-Jaurès (CE2)",
                "Lucas DUPRÉ-LAGARDE — Collège Victor-Hugo (5e)"]
    expect(page.locator("#children li")).to_have_text(children)
    assert_accessible(page)

    # A reload, and Back to the provider's answer, show the result again (a tryout read
    # « Connexion au service impossible » there: the code had already been used).
    page.reload()
    expect(page.locator("#children li")).to_have_text(children)
    page.get_by_role("link", name="Revenir à mes services").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
    page.go_back()
    expect(page.locator("#children li")).to_have_text(children)

    # Signed out, two tabs each open a tile and wait at the sign-in; signed in from the
    # first, it arrives at its service (the second tab's request did not replace its own).
    page.get_by_role("button", name="Se déconnecter").click()
    page.goto(_demo_service_url("Accédez à l'ENT (Collège Victor-Hugo)"))
    second = page.context.new_page()
    second.goto(_demo_service_url("Scolarité services"))
    page.get_by_role("link", name="Représentant légal").click()
    page.get_by_label("Identifiant").fill("h.duprelagarde12")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Service de démonstration : vous êtes connecté(e)")
    expect(page.get_by_text("Vous avez ouvert la tuile « Accédez à l'ENT (Collège "
                            "Victor-Hugo) »")).to_be_visible()
