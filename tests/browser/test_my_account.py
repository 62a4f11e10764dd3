"""« Mon compte » in Chromium, axe on every page: the password change driven by the keyboard
only, the phone change with the code read from the file SMS backend, « Mes enfants »."""

import re
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from notifications.sms import FileSMSBackend
from tests.browser.a11y import assert_accessible
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.mailbox import link_from, text_of

PASSWORD = "Goyave-Sucree-2024!"
NEW_PASSWORD = "Mangue-Verte-2026?"
CODE_IN_SMS = re.compile(r"saisissez le code ([A-Z0-9]{6})")


@pytest.fixture
def family(transactional_db):
    """Josiane Lapierre, Martinique number, a daughter at a collège of Fort-de-France."""
    account = AccountFactory(identifier="j.lapierre21", first_name="Josiane",
                             last_name="Lapierre", password=PASSWORD, phone="+596696112233",
                             email="josiane.lapierre@example.org", email_verified=True)
    college = EstablishmentFactory(uai="9720003E", name="Collège Tartane")
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=college, account=account,
                                              first_name="Josiane", last_name="LAPIERRE"),
        pupil=PupilFactory(first_names="Océane", last_name="LAPIERRE", establishment=college,
                           level="4EME"),
    )
    return account


def read_sms(folder, *, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = FileSMSBackend.read_messages(file_path=folder)
        if len(messages) >= count:
            return messages
        time.sleep(0.1)
    raise AssertionError(f"expected {count} SMS files")


def sign_in(page, live_server, password=PASSWORD):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill("j.lapierre21")
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()


def tab_to(page, locator, *, limit=60):
    """Press Tab until `locator` has the focus: it is reachable by the keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{locator} is not reachable with the Tab key")


def test_password_change_with_the_keyboard_only(page, live_server, family):
    sign_in(page, live_server)
    assert_accessible(page)

    # The header's « Mon compte », reached and followed with the keyboard.
    tab_to(page, page.get_by_role("link", name="Mon compte"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes informations")
    expect(page.locator("#identifier")).to_have_text("J.LAPIERRE21")
    expect(page.locator("#phone span")).to_have_text("0696\u00a0••\u00a0••\u00a033")
    assert_accessible(page)

    tab_to(page, page.get_by_role("link", name="Modifier mon mot de passe").first)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier mon mot de passe")
    assert_accessible(page)

    # A wrong current password first: the error is named and linked to the field.
    tab_to(page, page.get_by_label("Mot de passe actuel"))
    page.keyboard.type("Pas-le-bon-1!")
    tab_to(page, page.get_by_label("Nouveau mot de passe", exact=True))
    page.keyboard.type(NEW_PASSWORD)
    checklist = page.locator("#id_password_error")
    expect(checklist.locator("[data-strength]")).to_have_text("Fort")
    tab_to(page, page.get_by_label("Confirmation du nouveau mot de passe", exact=True))
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile(r"^Erreur : Modifier mon mot de passe"))
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Le mot de passe actuel est incorrect.")
    expect(page.get_by_label("Mot de passe actuel")).to_have_accessible_description(
        re.compile("Le mot de passe actuel est incorrect"))
    assert_accessible(page)

    # The right one: back to « Mes informations » with the confirmation.
    tab_to(page, page.get_by_label("Mot de passe actuel"))
    page.keyboard.type(PASSWORD)
    tab_to(page, page.get_by_label("Nouveau mot de passe", exact=True))
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, page.get_by_label("Confirmation du nouveau mot de passe", exact=True))
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes informations")
    expect(page.get_by_role("status")).to_contain_text("Votre mot de passe a été modifié.")
    assert_accessible(page)

    # The new password signs in.
    page.get_by_role("button", name="Se déconnecter").click()
    sign_in(page, live_server, password=NEW_PASSWORD)


def test_phone_change_with_the_code_from_the_sms(page, live_server, family, sms_folder):
    sign_in(page, live_server)
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name="Modifier mon numéro de téléphone").first.click()
    expect(page.get_by_text("Étape 1 sur 3")).to_be_visible()
    assert_accessible(page)

    # A landline first: refused with its fix.
    field = page.get_by_role("textbox", name=re.compile("Nouveau numéro de téléphone portable"))
    field.fill("05 96 12 34 56")
    page.get_by_role("button", name="Recevoir un code par SMS").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "n'est pas un numéro de téléphone portable valide")
    assert_accessible(page)
    field.fill("0696 44 55 66")
    page.get_by_role("button", name="Recevoir un code par SMS").click()

    expect(page.get_by_text("Étape 2 sur 3")).to_be_visible()
    expect(page.get_by_text("0696 •• •• 66")).to_be_visible()
    assert_accessible(page)
    message = read_sms(sms_folder, count=1)[0]
    assert message.to == "+596696445566"
    code = CODE_IN_SMS.search(message.body).group(1)
    page.get_by_label("Code de sécurité").fill(code)
    page.get_by_role("button", name="Valider mon nouveau numéro").click()

    expect(page.get_by_text("Étape 3 sur 3")).to_be_visible()
    expect(page.get_by_role("heading", name="Votre numéro de téléphone a été modifié")
           ).to_be_visible()
    assert_accessible(page)
    notice = read_sms(sms_folder, count=2)[-1]
    assert notice.to == "+596696112233"
    assert "a été remplacé" in notice.body

    page.get_by_role("link", name="Retour à mes informations").click()
    expect(page.locator("#phone span")).to_have_text("0696\u00a0••\u00a0••\u00a066")


def test_my_children_and_the_reauthentication(page, live_server, family, settings):
    settings.ACCOUNT_REAUTHENTICATION_SECONDS = 0  # every change asks for the password
    sign_in(page, live_server)
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name="Mes enfants", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes enfants")
    row = page.get_by_role("row", name=re.compile("Océane LAPIERRE"))
    expect(row).to_contain_text("Collège Tartane")
    expect(row).to_contain_text("4e")
    expect(row).not_to_contain_text("4EME")
    assert_accessible(page)

    page.get_by_role("link", name="Modifier mon numéro de téléphone").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Je confirme mon mot de passe")
    assert_accessible(page)
    page.get_by_label("Mot de passe", exact=True).fill("Pas-le-bon-1!")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#error-summary")).to_contain_text("Le mot de passe actuel est incorrect")
    assert_accessible(page)
    settings.ACCOUNT_REAUTHENTICATION_SECONDS = 300
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Étape 1 sur 3")).to_be_visible()


def test_email_change_with_the_link_from_the_received_mail(page, live_server, family, settings,
                                                           smtp_server, browser):
    settings.SITE_URL = live_server.url
    sign_in(page, live_server)
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name="Modifier mon adresse mail").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifier mon adresse mail")
    assert_accessible(page)

    # A mismatched confirmation first.
    new_address = page.get_by_role("textbox", name=re.compile("^Nouvelle adresse mail"))
    new_address.fill("josiane.l@exemple.fr")
    page.get_by_label("Confirmation de la nouvelle adresse mail").fill("josiane.l@exemple.com")
    page.get_by_role("button", name="Modifier mon adresse mail").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "La confirmation ne correspond pas à l'adresse mail saisie.")
    assert_accessible(page)
    page.get_by_label("Confirmation de la nouvelle adresse mail").fill("josiane.l@exemple.fr")
    page.get_by_role("button", name="Modifier mon adresse mail").click()

    expect(page.get_by_role("status")).to_contain_text("Votre demande est enregistrée.")
    expect(page.get_by_role("heading", name="Un mail a été envoyé")).to_be_visible()
    assert_accessible(page)
    messages = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert "josiane.l@exemple.fr" in text_of(messages["josiane.lapierre@example.org"])
    link = link_from(messages["josiane.l@exemple.fr"])

    # The link opened on another device, signed out: a page with a button.
    other = browser.new_context()
    phone = other.new_page()
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Je valide ma nouvelle adresse mail")
    assert_accessible(phone)
    phone.get_by_role("button", name="Valider mon adresse mail").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Votre adresse mail est validée")
    assert_accessible(phone)
    other.close()

    page.goto(live_server.url + reverse("accounts:my_account:information"))
    expect(page.locator("#email")).to_contain_text("josiane.l@exemple.fr")
    expect(page.locator("#email")).to_contain_text("Validée")


def test_the_current_password_as_the_new_one_is_refused_on_its_field(page, live_server,
                                                                     family):
    """The password typed again as the new one: the error names the new-password field,
    is linked to it and the summary points at it; axe on the refused page."""
    sign_in(page, live_server)
    page.goto(live_server.url + reverse("accounts:my_account:password"))
    page.get_by_label("Mot de passe actuel").fill(PASSWORD)
    page.get_by_label("Nouveau mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation du nouveau mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Modifier mon mot de passe").click()
    expect(page).to_have_title(re.compile(r"^Erreur : Modifier mon mot de passe"))
    expect(page.locator("#error-summary")).to_contain_text(
        "Nouveau mot de passe : Ce mot de passe est déjà celui de votre compte.")
    expect(page.get_by_label("Nouveau mot de passe", exact=True)
           ).to_have_accessible_description(
        re.compile("différent de votre mot de passe actuel"))
    assert_accessible(page)


def test_a_slip_in_the_address_domain_is_warned_about_once(page, live_server, family,
                                                           settings, smtp_server):
    """« gmial.com »: the page says which address was probably meant, on the field and in
    the error summary; sending the same address again (keyboard only) is accepted."""
    settings.SITE_URL = live_server.url
    sign_in(page, live_server)
    page.goto(live_server.url + reverse("accounts:my_account:email"))
    page.get_by_role("textbox", name=re.compile("^Nouvelle adresse mail")).fill(
        "josiane.l@gmial.com")
    page.get_by_label("Confirmation de la nouvelle adresse mail").fill("josiane.l@gmial.com")
    page.get_by_role("button", name="Modifier mon adresse mail").click()
    warning = "Vérifiez votre adresse : vouliez-vous écrire josiane.l@gmail.com ?"
    expect(page.locator("#error-summary")).to_contain_text(warning)
    address = page.get_by_role("textbox", name=re.compile("^Nouvelle adresse mail"))
    expect(address).to_have_value("josiane.l@gmial.com")
    expect(address).to_have_accessible_description(re.compile(re.escape(warning)))
    assert_accessible(page)

    tab_to(page, page.get_by_label("Confirmation de la nouvelle adresse mail"))
    page.keyboard.type("josiane.l@gmial.com")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Votre demande est enregistrée.")
    assert_accessible(page)
