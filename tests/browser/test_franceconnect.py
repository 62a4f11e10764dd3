"""FranceConnect in Chromium, against the loopback FranceConnect v2 (tests/peers/franceconnect):
a guardian nobody has seen signs in with FranceConnect, links the identity with the SMS code
and the birth dates, signs out through FranceConnect's end-session endpoint, then signs in
again with FranceConnect alone; axe on each of our pages."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from franceconnect.models import FranceConnectLink
from tests.browser.a11y import assert_accessible
from tests.browser.test_activation import fill_pupil, read_code
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.franceconnect.peer import franceconnect_peer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fc(settings, live_server):
    settings.SITE_URL = live_server.url
    with franceconnect_peer(site=live_server.url) as peer:
        peer.configure(settings)
        peer.control(identity="3_melaine")
        yield peer


@pytest.fixture
def family(transactional_db):
    """Mélaine Trois (FranceConnect: TROIS Mélaine Évelyne), mobile in La Réunion, mother of
    Naël at the collège de Kawéni."""
    college = EstablishmentFactory(uai="9760370A", name="Collège de Kawéni")
    record = GuardianRecordFactory(establishment=college, last_name="TROIS",
                                   first_name="Mélaine", mobile_phone="+262692451278")
    nael = PupilFactory(establishment=college, first_names="Naël", last_name="TROIS",
                        birth_date=datetime.date(2013, 9, 2))
    ResponsibilityFactory(guardian_record=record, pupil=nael)
    return {"Naël": nael}


def test_first_link_then_sign_out_then_franceconnect_alone(page, live_server, sms_folder, fc,
                                                           family):
    sign_in_url = live_server.url + reverse("accounts:login", args=["representant-legal"])
    page.goto(sign_in_url)
    expect(page.get_by_role("heading", name="Je me connecte avec FranceConnect")).to_be_visible()
    what_is = page.get_by_role("link", name=re.compile("Qu'est-ce que FranceConnect"))
    expect(what_is).to_have_attribute("target", "_blank")
    expect(what_is).to_have_attribute("title", re.compile("nouvelle fenêtre"))
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("S'identifier avec.*FranceConnect")).click()

    # Back from FranceConnect: first time, the number given to the school.
    expect(page.get_by_text("FranceConnect vous a identifié(e)")).to_be_visible()
    expect(page.get_by_text("Étape 1 sur 4")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill("0692 45 12 78")
    page.get_by_role("button", name="Suivant").click()

    expect(page.get_by_text("Vérifiez vos SMS")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code de sécurité").fill(read_code(sms_folder))
    page.get_by_role("button", name="Suivant").click()

    expect(page.get_by_text("Étape 3 sur 4")).to_be_visible()
    assert_accessible(page)
    fill_pupil(page, "Naël", family["Naël"].birth_date)
    page.get_by_role("button", name="Confirmer").click()

    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    identifier = page.locator("#identifier").inner_text()
    assert re.fullmatch(r"M\.TROIS\d{2}", identifier)  # as screens and letters print it
    assert_accessible(page)
    page.get_by_role("link", name="Accéder à mes services").click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()
    expect(page.get_by_text("Naël")).to_be_visible()
    assert FranceConnectLink.objects.get().account.display_identifier == identifier

    # Sign out: ÉduConnect, then FranceConnect's end-session, then back here.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté(e) d'ÉduConnect et de FranceConnect.")) \
        .to_be_visible()
    assert page.url.startswith(live_server.url)
    assert fc.counters()["end_session_hits"] >= 1
    assert_accessible(page)

    # Again, FranceConnect alone.
    page.goto(sign_in_url)
    page.get_by_role("button", name=re.compile("S'identifier avec.*FranceConnect")).click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()
    expect(page.get_by_text("Naël")).to_be_visible()

    # « Mon compte » shows the link.
    page.goto(live_server.url + reverse("franceconnect:my_account"))
    expect(page.get_by_text("Votre compte est associé à votre identité FranceConnect")) \
        .to_be_visible()
    assert_accessible(page)


def test_a_forged_token_is_refused_in_french(page, live_server, fc, family):
    fc.control(tamper={"id_token": {"key": "foreign"}})
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("button", name=re.compile("S'identifier avec.*FranceConnect")).click()
    alert = page.get_by_text(re.compile("La réponse de FranceConnect n'a pas pu être vérifiée"))
    expect(alert).to_be_visible()
    expect(page.get_by_role("heading", name="Je me connecte avec mon compte ÉduConnect")) \
        .to_be_visible()
    assert_accessible(page)
