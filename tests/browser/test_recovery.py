"""« Identifiant oublié ? » and « Mot de passe oublié ? » in Chromium, from the sign-in page,
with axe on every page: the identifier by SMS and by e-mail, the password by SMS (keyboard
only) and by e-mail (the link opened in another browser context), the pupil without an
e-mail address, the unknown identifier (and the code page's help when no SMS comes). SMS are
read from the file backend, e-mails from a real SMTP server on loopback (the `smtp_server`
fixture).
"""

import re
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import AccountKind
from accounts.recovery.masking import decoy_contacts
from notifications.sms import FileSMSBackend
from tests.browser.a11y import assert_accessible
from tests.factories import AccountFactory
from tests.mailbox import link_from, text_of

NEW_PASSWORD = "Vanille-Bourbon-2032!"
CODE = re.compile(r"mot de passe est ([A-Z0-9]{6})")


@pytest.fixture
def mailbox(smtp_server, settings, live_server):
    settings.SITE_URL = live_server.url
    return smtp_server


@pytest.fixture
def guardian(transactional_db):
    """Someone no other test types: a Mayotte number, a validated address."""
    return AccountFactory(identifier="a.madi31", first_name="Anchya", last_name="Madi",
                          phone="+262639401122", phone_verified=True,
                          email="anchya.madi@wanadoo.fr", email_verified=True)


def sms_bodies(folder, *, count=1, timeout=10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = FileSMSBackend.read_messages(file_path=folder)
        if len(messages) >= count:
            return [m.body for m in messages]
        time.sleep(0.1)
    raise AssertionError(f"expected {count} SMS")


def test_identifier_by_sms(page, live_server, sms_folder, guardian):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("link", name="Identifiant oublié ?").click()
    expect(page.get_by_role("heading", name="Je choisis comment recevoir mon identifiant"))\
        .to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Par SMS").click()
    page.get_by_label("Nom", exact=True).fill("MADI")
    page.get_by_label("Prénom", exact=True).fill("anchya")
    page.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill("0639 40 11 22")
    assert_accessible(page)
    page.get_by_role("button", name="Recevoir mon identifiant").click()
    expect(page.get_by_text("Si ces nom, prénom et numéro correspondent à un compte"))\
        .to_be_visible()
    assert_accessible(page)
    assert sms_bodies(sms_folder) == [
        "ÉduConnect : votre identifiant est A.MADI31. Connectez-vous avec cet identifiant et "
        "votre mot de passe."
    ]
    page.get_by_role("link", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Je me connecte avec mon compte ÉduConnect"))\
        .to_be_visible()


def test_password_by_sms_with_the_keyboard_only(page, live_server, sms_folder, guardian):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("link", name="Mot de passe oublié ?").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("textbox", name=re.compile("^Identifiant")).focus()
    page.keyboard.type("A.MADI31")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    sms_choice = page.get_by_label("Par SMS, un code au 0639 •• •• 22")
    expect(page.get_by_label("Par mail, un lien à a•••@w•••.fr")).to_be_visible()
    assert_accessible(page)
    sms_choice.focus()
    page.keyboard.press("Space")
    expect(sms_choice).to_be_checked()
    page.get_by_role("button", name="Recevoir").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    expect(page.get_by_text("0639\u00a0••\u00a0••\u00a022")).to_be_visible()
    assert_accessible(page)
    code = CODE.search(sms_bodies(sms_folder)[0]).group(1)
    page.get_by_label("Code de sécurité").focus()
    page.keyboard.type(code)
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()
    assert_accessible(page)
    checklist = page.locator("#id_password_error")
    page.get_by_label("Nouveau mot de passe", exact=True).focus()
    page.keyboard.type("madi")
    expect(checklist.locator('[data-rule="upper"]')).to_have_class(re.compile("fr-message--error"))
    page.keyboard.press("Control+A")
    page.keyboard.type(NEW_PASSWORD)
    expect(checklist.locator("[data-strength]")).to_have_text("Fort")
    page.get_by_label("Confirmation du nouveau mot de passe", exact=True).focus()
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Votre mot de passe a été modifié")).to_be_visible()
    assert_accessible(page)
    # The e-mail address is told (through the outbox), and the new password signs in.
    page.get_by_role("link", name="Se connecter").focus()
    page.keyboard.press("Enter")
    page.get_by_role("textbox", name=re.compile("^Identifiant")).fill("a.madi31")
    page.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Mot de passe", exact=True).press("Enter")
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()


def test_a_pupil_without_email_is_told_to_ask_the_school(page, live_server, sms_folder,
                                                         transactional_db):
    AccountFactory(identifier="k.abdallah05", kind=AccountKind.PUPIL, first_name="Kaïs",
                   last_name="Abdallah")
    page.goto(live_server.url + reverse("accounts:login", args=["eleve"]))
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_role("textbox", name=re.compile("^Identifiant")).fill("k.abdallah05")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(1)
    expect(page.get_by_text("demandez un nouveau mot de passe à votre établissement"))\
        .to_be_visible()
    assert_accessible(page)
    page.get_by_text(re.compile("^Par mail, un lien à ")).click()
    page.get_by_role("button", name="Recevoir").click()
    expect(page.get_by_role("heading", name="Consultez votre messagerie")).to_be_visible()
    expect(page.get_by_text("professeur principal", exact=False).first).to_be_visible()
    assert_accessible(page)


def test_a_parent_without_an_address_is_offered_the_sms_only(page, live_server, sms_folder,
                                                           transactional_db):
    """Tryout: T.MARTIN40 (a number, no address) was offered « Par mail, un lien à
    f•••@h•••.com » too, and no mail ever came. Only the SMS now, already chosen."""
    AccountFactory(identifier="t.martin40", first_name="Théo", last_name="Martin",
                   phone="+596696123456", phone_verified=True)
    page.goto(live_server.url + reverse("accounts:password_forgotten"))
    page.get_by_role("textbox", name=re.compile("^Identifiant")).fill("T.MARTIN40")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(1)
    expect(page.get_by_label("Par SMS, un code au 0696 •• •• 56")).to_be_checked()
    expect(page.get_by_text(re.compile("^Par mail"))).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Recevoir").click()
    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    assert len(sms_bodies(sms_folder)) == 1


def test_an_unknown_identifier_walks_the_same_pages_and_nothing_is_sent(
    page, live_server, sms_folder, guardian
):
    # An identifier whose decoy offers the SMS (a decoy may offer the e-mail only, as an
    # account may: accounts/recovery/masking.py), and the e-mail too: the code page's help
    # then advises starting again « Par mail ».
    unknown = next(f"p.inconnu{n}" for n in range(77, 1000)
                   if decoy_contacts(f"p.inconnu{n}").with_phone
                   and decoy_contacts(f"p.inconnu{n}").with_email)
    page.goto(live_server.url + reverse("accounts:password_forgotten"))
    page.get_by_role("textbox", name=re.compile("^Identifiant")).fill(unknown)
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    expect(page.get_by_label(re.compile(
        r"^Par SMS, un code au (?:0[67] •• •• ••|06\d\d •• ••) \d\d$"))).to_be_visible()
    assert_accessible(page)
    page.get_by_text(re.compile("^Par SMS")).click()
    page.get_by_role("button", name="Recevoir").click()
    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    expect(page.get_by_text("Si cet identifiant correspond à un compte")).to_be_visible()
    page.get_by_label("Code de sécurité").fill("K7PMX4")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#id_code_error")).to_contain_text(
        "Le code de sécurité saisi est incorrect")
    # The same words for every identifier say what to do when no SMS comes (an account
    # without a mobile number, as a school letter's): the e-mail, the assistance, the help.
    no_sms = page.locator("#no-sms-help")
    expect(no_sms).to_contain_text("Votre compte n'a peut-être pas de numéro de téléphone "
                                   "portable")
    expect(no_sms.get_by_role("link", name="formulaire d'assistance académique"))\
        .to_have_attribute("href", reverse("assistance:form"))
    expect(no_sms.get_by_role("link", name="Aide et assistance"))\
        .to_have_attribute("href", reverse("pages:help"))
    assert_accessible(page)
    assert FileSMSBackend.read_messages(file_path=sms_folder) == []
    no_sms.get_by_role("link", name="Recommencez").click()
    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()


def test_an_address_typed_as_identifier_is_refused_on_the_field(page, live_server, guardian):
    """The tryout's « helene.dupre@example.org » was offered « Par SMS, un code au … »: it is
    refused on the field, which points to « Identifiant oublié ? »."""
    page.goto(live_server.url + reverse("accounts:password_forgotten"))
    field = page.get_by_role("textbox", name=re.compile("^Identifiant"))
    field.fill("helene.dupre@example.org")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#id_identifier_error")).to_contain_text(
        "Vous avez saisi une adresse mail : saisissez votre identifiant ÉduConnect")
    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    expect(page.get_by_text(re.compile("^Par SMS"))).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("link", name="Identifiant oublié ?", exact=True).click()
    expect(page).to_have_url(re.compile(reverse("accounts:identifier_forgotten")))


def test_identifier_by_email(page, live_server, sms_folder, mailbox, guardian):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("link", name="Identifiant oublié ?").click()
    page.get_by_role("link", name="Par mail").click()
    page.get_by_role("textbox", name=re.compile("^Adresse mail")).fill("Anchya.Madi@wanadoo.fr")
    assert_accessible(page)
    page.get_by_role("button", name="Recevoir mon identifiant").click()
    expect(page.get_by_text("Si cette adresse est l'adresse mail validée d'un compte"))\
        .to_be_visible()
    assert_accessible(page)
    [message] = mailbox.wait_for(1)
    assert "- A.MADI31" in text_of(message)
    page.goto(link_from(message))
    expect(page.get_by_role("heading", name="Je sélectionne mon profil")).to_be_visible()


def test_password_by_email_with_the_link_opened_on_another_device(
    page, browser, live_server, sms_folder, mailbox, guardian
):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("link", name="Mot de passe oublié ?").click()
    page.get_by_role("textbox", name=re.compile("^Identifiant")).fill("a.madi31")
    page.get_by_role("button", name="Suivant").click()
    page.get_by_text("Par mail, un lien à a•••@w•••.fr").click()
    page.get_by_role("button", name="Recevoir").click()
    expect(page.get_by_role("heading", name="Consultez votre messagerie")).to_be_visible()
    assert_accessible(page)

    [message] = mailbox.wait_for(1)
    phone = browser.new_context().new_page()  # the mail is read on another device
    phone.goto(link_from(message))
    expect(phone.get_by_role("button", name="Choisir un nouveau mot de passe")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_role("button", name="Choisir un nouveau mot de passe").click()
    expect(phone.get_by_text("Étape 4 sur 5")).to_be_visible()
    assert_accessible(phone)
    phone.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    phone.get_by_label("Confirmation du nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Valider").click()
    expect(phone.get_by_role("heading", name="Votre mot de passe a été modifié")).to_be_visible()
    assert_accessible(phone)
    # The number is told by SMS; the link served once.
    assert "a été modifié" in sms_bodies(sms_folder)[0]
    phone.goto(link_from(message))
    expect(phone.get_by_role("heading", name="Ce lien n'est plus valable")).to_be_visible()
    assert_accessible(phone)
    phone.context.close()
