"""A school letter's validation link after the family activated by SMS instead, in Chromium
on a phone's screen, axe on the page: the tryout's case. The link's page says at once that it
no longer works, why and what to do, with the way on — in the browser signed in with the
new account (« Accéder à mes services ») and signed out (« Se connecter », « Identifiant
oublié ? ») — and no button that would fail."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import AccountKind, AccountState
from pupils import letters
from pupils.models import GuardianRecord
from tests.browser.a11y import assert_accessible
from tests.browser.test_activation import fill_identity, fill_pupil, read_code
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.mailbox import link_from

ADDRESS = "josiane.payet@exemple.re"
CHOSEN_WITH_LETTER = "Letchi-Rouge-2031!"
CHOSEN_BY_SMS = "Vanille-Bourbon-2031!"


@pytest.fixture
def sms_folder(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    return settings.SMS_FILE_PATH


@pytest.fixture
def mailbox(smtp_server, settings, live_server):
    settings.SITE_URL = live_server.url
    return smtp_server


@pytest.fixture
def letter(transactional_db):
    """Josiane Payet's letter from a collège of Saint-Paul: one daughter, Léa; the school
    also has her mobile number, so she can activate by SMS too."""
    college = EstablishmentFactory(uai="9740581M", name="Collège Jean Albany")
    record = GuardianRecordFactory(establishment=college, last_name="PAYET",
                                   first_name="Josiane", mobile_phone="+262692554433")
    lea = PupilFactory(establishment=college, first_names="Léa", last_name="PAYET",
                       birth_date=datetime.date(2012, 5, 21), level="5EME")
    ResponsibilityFactory(guardian_record=record, pupil=lea)
    secretary = AccountFactory(identifier="s.secretaire58", kind=AccountKind.STAFF)
    (made,), _counts = letters.letters_issue(establishment=college, actor=secretary,
                                              guardian_record_ids=[record.pk])
    return {"record": record, "lea": lea, "identifier": made.identifier,
            "password": made.password}


def test_the_letter_link_after_an_sms_activation_says_why_and_where_to_go(
        page, live_server, letter, mailbox, sms_folder):
    page.set_viewport_size({"width": 390, "height": 844})
    # With the letter: address, password, Léa's birth date; the mail leaves.
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill(letter["identifier"])
    page.get_by_label("Mot de passe", exact=True).fill(letter["password"])
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    page.get_by_role("textbox", name=re.compile("^Adresse mail")).fill(ADDRESS)
    page.get_by_label("Confirmation de l'adresse mail").fill(ADDRESS)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    page.get_by_label("Mot de passe", exact=True).fill(CHOSEN_WITH_LETTER)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(CHOSEN_WITH_LETTER)
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    fill_pupil(page, "Léa", letter["lea"].birth_date)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Un mail a été envoyé")).to_be_visible()
    [message] = mailbox.wait_for(1)
    link = link_from(message)

    # The mail is slow; meanwhile Josiane activates by SMS, on the same phone.
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("link", name="Je n'ai pas de compte").click()
    fill_identity(page, last_name="Payet", first_name="Josiane", phone="0692 55 44 33")
    page.get_by_label("Code de sécurité").fill(read_code(sms_folder))
    page.get_by_role("button", name="Suivant").click()
    fill_pupil(page, "Léa", letter["lea"].birth_date)
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_label("Mot de passe", exact=True).fill(CHOSEN_BY_SMS)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(CHOSEN_BY_SMS)
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    new_identifier = page.locator("#identifier").inner_text()
    account = GuardianRecord.objects.get(pk=letter["record"].pk).account
    assert account.state == AccountState.ACTIVE

    # The mail arrives; the old link, signed in with the new account: why, and the way on.
    page.goto(link)
    expect(page.get_by_role("heading", level=2)).to_have_text("Ce lien ne fonctionne plus")
    alert = page.locator("main .fr-alert", has=page.get_by_role(
        "heading", name="Ce lien ne fonctionne plus"))
    expect(alert).to_contain_text("votre compte ÉduConnect a été activé d'une autre façon "
                                  "(par SMS ou avec FranceConnect)")
    expect(alert).to_contain_text("Si vous êtes connecté avec ce compte, vous n'avez plus "
                                  "rien à faire.")
    expect(page.locator("main")).not_to_contain_text(new_identifier)
    expect(page.locator("main")).not_to_contain_text(new_identifier.lower())
    expect(page.get_by_role("button", name="Valider mon adresse mail et activer mon "
                                           "compte")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("link", name="Accéder à mes services").click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()

    # Signed out (another device): the same words, « Se connecter » and « Identifiant
    # oublié ? », no dead end.
    page.context.clear_cookies()
    response = page.goto(link)
    assert response.status == 410
    expect(alert).to_contain_text("Connectez-vous avec l'identifiant et le mot de passe "
                                  "choisis lors de cette activation.")
    assert_accessible(page)
    expect(page.get_by_role("link", name="Identifiant oublié ?")).to_be_visible()
    page.get_by_role("link", name="Se connecter").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("accounts:profile_choice")) + "$"))
