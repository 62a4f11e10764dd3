"""The first sign-in with a school letter in Chromium, axe on every page: the guardian with
the keyboard only, from the letter's identifier and provisional password to « Mes services »
through the link of the e-mail received by a real SMTP server on loopback; the pupil; an
expired letter; a provisional account sent back to its flow from « Mes services » and the
SSO endpoints."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AccountKind, AccountState
from tests.browser.a11y import assert_accessible
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.mailbox import link_from

LETTER_PASSWORD = "K7PMXW4R"
NEW_PASSWORD = "Goyave-Sucree-2031!"
ADDRESS = "armelle.hoarau@exemple.re"


def provisional(kind, *, identifier, first_name, last_name, days=60):
    account = AccountFactory(identifier=identifier, kind=kind, first_name=first_name,
                             last_name=last_name, state=AccountState.PROVISIONAL,
                             provisional_expires_at=timezone.now()
                             + datetime.timedelta(days=days))
    account.set_password(LETTER_PASSWORD)
    account.save()
    return account


@pytest.fixture
def mailbox(smtp_server, settings, live_server):
    settings.SITE_URL = live_server.url
    return smtp_server


@pytest.fixture
def guardian(transactional_db):
    """Armelle Hoarau's letter from a collège of Saint-Pierre: one son, Noah."""
    account = provisional(AccountKind.GUARDIAN, identifier="a.hoarau47", first_name="Armelle",
                          last_name="Hoarau")
    college = EstablishmentFactory(uai="9740471K", name="Collège Terrain Fleury")
    noah = PupilFactory(establishment=college, first_names="Noah", last_name="HOARAU",
                        birth_date=datetime.date(2013, 4, 2), level="5EME")
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=college, account=account,
                                              first_name="Armelle", last_name="HOARAU"),
        pupil=noah)
    return account


@pytest.fixture
def pupil(transactional_db):
    account = provisional(AccountKind.PUPIL, identifier="n.hoarau48", first_name="Noah",
                          last_name="Hoarau")
    PupilFactory(establishment=EstablishmentFactory(uai="9740472L", name="Collège Bois Joly"),
                 first_names="Noah", last_name="HOARAU", birth_date=datetime.date(2011, 9, 17),
                 account=account, level="3EME")
    return account


def tab_to(page, locator, *, limit=80):
    """Press Tab until `locator` has the focus: it is reachable by the keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{locator} is not reachable with the Tab key")


def type_into(page, locator, text):
    tab_to(page, locator)
    page.keyboard.type(text)


def test_a_guardian_activates_with_the_keyboard_only(page, live_server, guardian, mailbox):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    type_into(page, page.get_by_label("Identifiant"), "A.HOARAU47")
    type_into(page, page.get_by_label("Mot de passe", exact=True), LETTER_PASSWORD)
    page.keyboard.press("Enter")

    # « Je renseigne mon adresse mail »: a mismatch first, named and linked to its field.
    expect(page.get_by_role("heading", name="Je renseigne mon adresse mail",
                                exact=True)).to_be_visible()
    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    assert_accessible(page)
    type_into(page, page.get_by_role("textbox", name=re.compile("^Adresse mail")), ADDRESS)
    type_into(page, page.get_by_label("Confirmation de l'adresse mail"), "armelle@exemple.re")
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile(r"^Erreur : Étape 1 sur 5"))
    expect(page.locator("#error-summary")).to_contain_text(
        "La confirmation ne correspond pas à l'adresse mail saisie.")
    assert_accessible(page)
    confirmation = page.get_by_label("Confirmation de l'adresse mail")
    tab_to(page, confirmation)
    page.keyboard.press("Control+A")
    page.keyboard.type(ADDRESS)
    page.keyboard.press("Enter")

    # « Je choisis mon nouveau mot de passe »: the live checklist.
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    expect(page.get_by_text("Votre identifiant est A.HOARAU47")).to_be_visible()
    assert_accessible(page)
    type_into(page, page.get_by_label("Mot de passe", exact=True), NEW_PASSWORD)
    expect(page.locator("#id_password_error [data-strength]")).to_have_text("Fort")
    type_into(page, page.get_by_label("Confirmation du mot de passe", exact=True), NEW_PASSWORD)
    page.keyboard.press("Enter")

    # « Je confirme mon lien avec les élèves »: one pupil, so no choice that would be
    # refused; the date typed confirms it, reached with the keyboard.
    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    expect(page.get_by_text("Collège Terrain Fleury", exact=True)).to_be_visible()
    assert_accessible(page)
    expect(page.get_by_role("radio")).to_have_count(0)
    expect(page.locator("#only-link-way-out")).to_be_visible()
    tab_to(page, page.get_by_role("textbox", name="Jour"))
    type_into(page, page.get_by_role("textbox", name="Jour"), "02")
    type_into(page, page.get_by_role("textbox", name="Mois"), "04")
    type_into(page, page.get_by_role("textbox", name="Année"), "2013")
    tab_to(page, page.get_by_role("button", name="Confirmer"))
    page.keyboard.press("Enter")

    # « Un mail a été envoyé », with « Renvoyer le mail » and the correction.
    expect(page.get_by_text("Un mail a été envoyé")).to_be_visible()
    expect(page.locator("#sent-to")).to_contain_text(ADDRESS)
    expect(page.get_by_role("button", name="J'ai fait une erreur de saisie dans mon adresse "
                                            "mail")).to_be_visible()
    assert_accessible(page)
    # « Mes services » is not open yet.
    page.goto(live_server.url + reverse("services_portal:my_services"))
    expect(page.get_by_text("Un mail a été envoyé")).to_be_visible()

    [message] = mailbox.wait_for(1)
    assert message["To"] == ADDRESS
    page.goto(link_from(message))
    expect(page.get_by_role("heading", level=1)).to_have_text("Je confirme mon adresse mail")
    assert_accessible(page)
    tab_to(page, page.get_by_role("button", name="Valider mon adresse mail et activer mon "
                                                 "compte"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre compte est activé")
    assert_accessible(page)
    tab_to(page, page.get_by_role("link", name="Accéder à mes services"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()
    assert_accessible(page)
    guardian.refresh_from_db()
    assert guardian.state == AccountState.ACTIVE and guardian.email_verified

    # The used link, opened again while signed in: nothing left to do, the way to « Mes
    # services » (not « Ce lien n'est plus valable » and « Se connecter »).
    page.goto(link_from(message))
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre compte est déjà activé")
    assert_accessible(page)
    tab_to(page, page.get_by_role("link", name="Accéder à mes services"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()


def test_a_pupil_activates_with_the_letter(page, live_server, pupil):
    page.goto(live_server.url + reverse("accounts:login", args=["eleve"]))
    page.get_by_label("Identifiant").fill("n.hoarau48")
    page.get_by_label("Mot de passe", exact=True).fill(LETTER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_text("Étape 1 sur 4")).to_be_visible()
    expect(page.locator("main .fr-tag")).to_have_text("Élève")
    assert_accessible(page)
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Suivant").click()

    expect(page.get_by_role("heading", name="Je confirme mon identité",
                            exact=True)).to_be_visible()
    assert_accessible(page)
    for name, value in (("Jour", "18"), ("Mois", "09"), ("Année", "2011")):
        page.get_by_role("textbox", name=name).fill(value)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "La date de naissance saisie est incorrecte. Il vous reste 4 essais.")
    expect(page.get_by_role("textbox", name="Jour")).to_have_accessible_description(
        re.compile("La date de naissance saisie est incorrecte"))
    assert_accessible(page)
    for name, value in (("Jour", "17"), ("Mois", "09"), ("Année", "2011")):
        page.get_by_role("textbox", name=name).fill(value)
    page.get_by_role("button", name="Confirmer").click()

    expect(page.get_by_text("Étape 3 sur 4")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Passer cette étape").click()
    # The step the stepper announced: « Étape 4 sur 4 : Mon compte est activé », then
    # « Mes services ».
    expect(page.get_by_text("Étape 4 sur 4")).to_be_visible()
    expect(page.get_by_role("heading", name="Votre compte est activé")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Accéder à mes services").click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()


def test_a_pupil_who_types_an_address_and_presses_enter_is_sent_the_validation_mail(
        page, live_server, pupil, mailbox):
    # Issue 9: « Passer cette étape » came first in the form, so Enter in the address
    # field pressed it and the account was activated without the address, silently.
    page.goto(live_server.url + reverse("accounts:login", args=["eleve"]))
    type_into(page, page.get_by_label("Identifiant"), "n.hoarau48")
    type_into(page, page.get_by_label("Mot de passe", exact=True), LETTER_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Étape 1 sur 4")).to_be_visible()
    type_into(page, page.get_by_label("Mot de passe", exact=True), NEW_PASSWORD)
    type_into(page, page.get_by_label("Confirmation du mot de passe", exact=True), NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Je confirme mon identité",
                            exact=True)).to_be_visible()
    type_into(page, page.get_by_role("textbox", name="Jour"), "17")
    type_into(page, page.get_by_role("textbox", name="Mois"), "09")
    type_into(page, page.get_by_role("textbox", name="Année"), "2011")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 3 sur 4")).to_be_visible()
    # The seed's order is kept, on screen and for Tab: the skip, then « Confirmer ».
    buttons = page.locator("main .fr-btns-group button")
    expect(buttons).to_have_text(["Passer cette étape", "Confirmer"])
    type_into(page, page.get_by_role("textbox", name=re.compile("^Adresse mail")),
              "noah.hoarau@exemple.re")
    type_into(page, page.get_by_label("Confirmation de l'adresse mail"),
              "noah.hoarau@exemple.re")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 4 sur 4")).to_be_visible()
    expect(page.get_by_role("heading", name="Votre compte est activé")).to_be_visible()
    expect(page.get_by_text("Un mail de validation a été envoyé à noah.hoarau@exemple.re")
           ).to_be_visible()
    assert_accessible(page)
    [message] = mailbox.wait_for(1)
    assert message["To"] == "noah.hoarau@exemple.re"
    pupil.refresh_from_db()
    assert pupil.state == AccountState.ACTIVE


def test_an_expired_letter_says_to_ask_the_school(page, live_server, guardian):
    guardian.provisional_expires_at = timezone.now() - datetime.timedelta(days=1)
    guardian.save()
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill("a.hoarau47")
    page.get_by_label("Mot de passe", exact=True).fill(LETTER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "Le mot de passe provisoire de votre courrier a expiré")
    expect(page.locator("#error-summary")).to_contain_text(
        "Demandez un nouveau courrier à l'école ou à l'établissement")
    assert_accessible(page)


def test_a_provisional_account_is_sent_back_to_its_flow(page, live_server, guardian):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill("a.hoarau47")
    page.get_by_label("Mot de passe", exact=True).fill(LETTER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    for path in (reverse("services_portal:my_services"),
                 reverse("accounts:my_account:information"),
                 "/idp/profile/SAML2/Unsolicited/SSO?providerId=https://ent.example.org",
                 "/oidc/authorize/?client_id=x&response_type=code&scope=openid"):
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", name="Je renseigne mon adresse mail",
                                exact=True)).to_be_visible()
    assert_accessible(page)
    # « Terminer plus tard » signs out; signing in again resumes.
    page.get_by_role("button", name="Terminer plus tard (se déconnecter)").click()
    expect(page.get_by_text("Vous êtes déconnecté(e) d'ÉduConnect.")).to_be_visible()


def test_the_address_step_offers_the_schools_address_and_warns_of_a_slip(page, live_server,
                                                                         guardian):
    """The school's roster holds « …@gmial.com » for Armelle: the step offers it in both
    fields and says where it comes from; sending it gets the slip warning once (keyboard,
    axe); sending it unchanged again goes on to the password."""
    guardian.guardian_records.update(email="armelle.hoarau@gmial.com")
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    type_into(page, page.get_by_label("Identifiant"), "A.HOARAU47")
    type_into(page, page.get_by_label("Mot de passe", exact=True), LETTER_PASSWORD)
    page.keyboard.press("Enter")
    address = page.get_by_role("textbox", name=re.compile("^Adresse mail"))
    expect(address).to_have_value("armelle.hoarau@gmial.com")
    expect(page.get_by_label("Confirmation de l'adresse mail")).to_have_value(
        "armelle.hoarau@gmial.com")
    expect(page.locator("#email-from-roster")).to_contain_text(
        "celle que l'établissement de votre enfant nous a transmise")
    assert_accessible(page)

    tab_to(page, page.get_by_role("button", name="Confirmer"))
    page.keyboard.press("Enter")
    warning = "Vérifiez votre adresse : vouliez-vous écrire armelle.hoarau@gmail.com ?"
    expect(page.locator("#error-summary")).to_contain_text(warning)
    expect(address).to_have_accessible_description(re.compile(re.escape(warning)))
    expect(address).to_have_value("armelle.hoarau@gmial.com")
    assert_accessible(page)

    # The family checks: the address is right after all (a real address is never blocked).
    confirmation = page.get_by_label("Confirmation de l'adresse mail")
    tab_to(page, confirmation)
    page.keyboard.press("Control+A")
    page.keyboard.type("armelle.hoarau@gmial.com")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Je choisis mon nouveau mot de passe",
                            exact=True)).to_be_visible()
