"""A guardian opens each child's ENT from « Mes services » in Chromium and lands signed in at
a loopback SAML service provider (pysaml2) that receives the released attributes."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from saml_idp import services
from saml_idp.attributes import DEFAULT_RELEASE
from saml_idp.models import ServiceProvider
from services_portal.models import EstablishmentMessage, Service
from tests.browser.a11y import assert_accessible
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.saml_idp.loopback import LoopbackSP

PASSWORD = "Demo-Parent-2026!"


@pytest.fixture
def ent():
    with LoopbackSP(sign_requests=True, encrypt=True) as server:
        yield server


@pytest.fixture
def family(transactional_db, ent):
    xml = ent.sp.metadata_xml()
    provider = services.service_provider_save(
        provider=ServiceProvider(name="ENT de l'académie", metadata_xml=xml,
                                 released_attributes=list(DEFAULT_RELEASE)),
        metadata=services.metadata_read(xml), actor=None)
    account = AccountFactory(identifier="h.martin12", first_name="Hélène", last_name="Martin",
                             password=PASSWORD)
    for uai, school, first_names, level, national_id in [
        ("0750001A", "Collège Victor-Hugo", "Lucas", "5EME", "1234567"),
        ("0750002B", "Lycée Ampère", "Jade", "TLE", "7654321"),
    ]:
        establishment = EstablishmentFactory(uai=uai, name=school)
        ResponsibilityFactory(
            guardian_record=GuardianRecordFactory(establishment=establishment, account=account),
            pupil=PupilFactory(first_names=first_names, last_name="MARTIN", level=level,
                               establishment=establishment, national_id=national_id,
                               academy_code="01"),
        )
        Service.objects.create(title="Accédez à l'ENT", establishment=establishment,
                               url=f"https://ent.example.test/{uai}",
                               saml_service_provider=provider)
        EstablishmentMessage.objects.create(
            # The product's date (Paris).
            establishment=establishment, starts_on=timezone.localdate(),
            ends_on=timezone.localdate(),
            text="Lorsque le compte est activé, vous pouvez directement vous connecter sur l'ENT.")
    return account


def test_guardian_opens_each_childs_ent_signed_in(page, live_server, family, ent):
    page.goto(f"{live_server.url}/services/")
    page.get_by_role("link", name="Représentant légal").click()
    page.get_by_label("Identifiant").fill("h.martin12")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
    expect(page.locator("section.edu-child h3")).to_have_text(["Jade MARTIN", "Lucas MARTIN"])
    expect(page.get_by_text("Lycée Ampère — niveau : Terminale")).to_be_visible()
    expect(page.get_by_text("Collège Victor-Hugo — niveau : 5e")).to_be_visible()
    # One message per school, the school named (each child is at a school of their own here).
    expect(page.locator(".edu-school-message h4")).to_have_text([
        "Message de l'établissement Lycée Ampère",
        "Message de l'établissement Collège Victor-Hugo"])
    expect(page.get_by_role("navigation", name="Menu principal")).to_be_attached()
    assert_accessible(page)

    # Keyboard only: Lucas's ENT tile, then Enter.
    lucas = page.get_by_role("list", name="Services de Lucas")
    lucas.get_by_role("link", name="Accédez à l'ENT").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue sur l'ENT, Hélène")
    assert page.url.startswith(ent.sp.base_url)
    assert ent.errors == []
    received = ent.received[-1]
    assert received["relay_state"] == "https://ent.example.test/0750001A"
    assert received["ava"]["FrEduCtPersonAffiliation"] == ["resp2d"]
    assert sorted(received["ava"]["FrEduCtRefId"]) == [
        "{AAF}01|0750001A|1234567", "{AAF}01|0750002B|7654321"]
    assert received["ava"]["sn"] == ["Martin"]

    # Back, and Jade's.
    page.go_back()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
    page.get_by_role("list", name="Services de Jade").get_by_role(
        "link", name="Accédez à l'ENT").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue sur l'ENT, Hélène")
    assert ent.received[-1]["relay_state"] == "https://ent.example.test/0750002B"
    assert ent.received[-1]["name_id"] == received["name_id"]


def test_an_unknown_service_gets_a_french_error_page(page, live_server, family):
    page.goto(f"{live_server.url}/idp/profile/SAML2/Unsolicited/SSO?providerId=https://x.test/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion au service impossible")
    expect(page.get_by_text(re.compile("n'est pas reconnu par ÉduConnect"))).to_be_visible()
    assert_accessible(page)


def test_a_signed_in_guardian_opens_the_ent_from_the_ent_by_the_post_binding(
    page, live_server, transactional_db, settings
):
    """The ENT's own « Se connecter avec ÉduConnect » (SP-initiated, POST binding): the
    cross-site POST arrives without the session cookie (SameSite=Lax); the IdP carries on
    with a GET that has it, so a signed-in guardian is not asked to sign in again."""
    settings.SITE_URL = live_server.url
    with LoopbackSP(sign_requests=False, encrypt=True) as ent:
        xml = ent.sp.metadata_xml()
        services.service_provider_save(
            provider=ServiceProvider(name="ENT", metadata_xml=xml,
                                     released_attributes=list(DEFAULT_RELEASE)),
            metadata=services.metadata_read(xml), actor=None)
        AccountFactory(identifier="h.martin12", first_name="Hélène", last_name="Martin",
                       password=PASSWORD)
        page.goto(f"{live_server.url}/connexion/representant-legal/")
        page.get_by_label("Identifiant").fill("h.martin12")
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")

        page.goto(f"{ent.sp.base_url}/ent/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue sur l'ENT, Hélène")
        assert ent.errors == []
        assert ent.received[-1]["in_response_to"] == ent.server.request_ids[-1]


def test_a_guardian_not_yet_signed_in_signs_in_and_lands_at_the_ent(
    page, live_server, transactional_db, settings
):
    """From the ENT, not signed in: the request waits while the guardian signs in, then the
    ENT receives the answer to its own request."""
    settings.SITE_URL = live_server.url
    with LoopbackSP(sign_requests=False, encrypt=False) as ent:
        xml = ent.sp.metadata_xml()
        services.service_provider_save(
            provider=ServiceProvider(name="ENT", metadata_xml=xml,
                                     released_attributes=list(DEFAULT_RELEASE)),
            metadata=services.metadata_read(xml), actor=None)
        AccountFactory(identifier="h.martin12", first_name="Hélène", last_name="Martin",
                       password=PASSWORD)
        page.goto(f"{ent.sp.base_url}/ent/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
        assert_accessible(page)
        page.get_by_role("link", name="Représentant légal").click()
        page.get_by_label("Identifiant").fill("h.martin12")
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue sur l'ENT, Hélène")
        assert ent.errors == []
        assert ent.received[-1]["in_response_to"] == ent.server.request_ids[-1]
