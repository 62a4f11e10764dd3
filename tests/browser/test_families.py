"""« Mes enfants » in Chromium, axe on every page (issue 11): a parent with two accounts merges
them (the other account's children listed, « Annuler » then « Confirmer le regroupement », by
keyboard) and sees every child in « Mes services »; a merge with names that differ is refused; a
new child imported for an active parent appears after sign-in; a parent adds a child by SMS
proof."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from core.journal import EventKind
from core.models import JournalEvent
from pupils.roster_import import roster_import
from tests.browser.a11y import assert_accessible
from tests.browser.test_activation import fill_pupil
from tests.browser.test_my_account import read_sms
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.pupils.test_roster_import import row, write_roster

PASSWORD = "Baobab-Rouge-2024!"
OTHER_PASSWORD = "Fleuve-Niger-2025?"
CODE_IN_SMS = re.compile(r"ajouter un enfant à votre compte est ([A-Z0-9]{6})")


def child(account, *, first_names, school, phone, guardian=("Awa", "DIALLO"),
          birth_date=datetime.date(2015, 2, 14)):
    record = GuardianRecordFactory(establishment=school, first_name=guardian[0],
                                   last_name=guardian[1], mobile_phone=phone, account=account)
    pupil = PupilFactory(establishment=school, first_names=first_names, last_name="DIALLO",
                         birth_date=birth_date)
    ResponsibilityFactory(guardian_record=record, pupil=pupil)
    return pupil


@pytest.fixture
def two_accounts(transactional_db):
    """Awa Diallo gave the école one number (Moussa) and the collège another (Fatou): she
    has two accounts."""
    kept = AccountFactory(identifier="a.diallo3", first_name="Awa", last_name="Diallo",
                          password=PASSWORD, phone="+33611223344", phone_verified=True)
    other = AccountFactory(identifier="a.diallo4", first_name="AWA", last_name="DIALLO",
                           password=OTHER_PASSWORD, phone="+33655667788", phone_verified=True)
    child(kept, first_names="Moussa", phone="+33611223344",
          school=EstablishmentFactory(name="École Louise-Michel", kind="ecole"))
    child(other, first_names="Fatou", phone="+33655667788",
          school=EstablishmentFactory(name="Collège Aimé-Césaire"))
    return kept, other


def sign_in(page, live_server, identifier="a.diallo3", password=PASSWORD):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()


def open_my_children(page):
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_role("link", name="Mes enfants", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes enfants")


def merge_form_sent(page, live_server):
    """Signed in, « Ajouter des enfants depuis un autre compte » sent with a.diallo4's
    identifier and password."""
    sign_in(page, live_server)
    open_my_children(page)
    page.get_by_role("link", name="Ajouter des enfants depuis un autre compte").click()
    page.get_by_label("Identifiant de l'autre compte").fill("a.diallo4")
    page.get_by_label("Mot de passe de l'autre compte").fill(OTHER_PASSWORD)
    page.get_by_role("button", name="Ajouter les enfants de cet autre compte").click()


def test_a_parent_with_two_accounts_merges_them_and_sees_every_child(page, live_server,
                                                                      two_accounts):
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Moussa DIALLO")).to_be_visible()
    expect(page.get_by_role("heading", name="Fatou DIALLO")).to_have_count(0)
    open_my_children(page)
    page.get_by_role("link", name="Ajouter des enfants depuis un autre compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ajouter des enfants depuis un autre compte")
    expect(page.get_by_text("vérifié auprès des établissements")).to_be_visible()
    assert_accessible(page)

    # A wrong password first: the sign-in's refusal, on the password field.
    page.get_by_label("Identifiant de l'autre compte").fill("A.DIALLO4")
    page.get_by_label("Mot de passe de l'autre compte").fill("Mauvais-2024!")
    page.get_by_role("button", name="Ajouter les enfants de cet autre compte").click()
    expect(page.locator("#error-summary")).to_contain_text("Identifiant ou mot de passe incorrect")
    assert_accessible(page)

    # The right pair: the confirmation lists the other account's child, says what the merge
    # does; nothing has changed yet. Annuler (by keyboard) leaves both accounts as they were.
    page.get_by_label("Mot de passe de l'autre compte").fill(OTHER_PASSWORD)
    page.get_by_role("button", name="Ajouter les enfants de cet autre compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirmer le regroupement des comptes")
    expect(page.locator("#merge-children-table tbody tr")).to_have_count(1)
    expect(page.locator("#merge-children-table tbody tr")).to_contain_text("Fatou")
    expect(page.locator("#merge-children-table tbody tr")).to_contain_text(
        "Collège Aimé-Césaire")
    expect(page.get_by_text("Le compte A.DIALLO4 sera fermé")).to_be_visible()
    expect(page.get_by_text("ne peut pas être annulé")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirmer le regroupement").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Annuler")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes enfants")
    expect(page.get_by_text("Le regroupement est annulé")).to_be_visible()
    expect(page.locator("#children-table tbody tr")).to_have_count(1)

    # Again, confirmed by keyboard this time.
    page.get_by_role("link", name="Ajouter des enfants depuis un autre compte").click()
    page.get_by_label("Identifiant de l'autre compte").fill("A.DIALLO4")
    page.get_by_label("Mot de passe de l'autre compte").fill(OTHER_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirmer le regroupement des comptes")
    page.get_by_role("button", name="Confirmer le regroupement").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes enfants")
    expect(page.get_by_text("Les enfants du compte A.DIALLO4 ont été ajoutés")).to_be_visible()
    expect(page.locator("#children-table tbody tr")).to_have_count(2)
    assert_accessible(page)

    page.goto(live_server.url + reverse("services_portal:my_services"))
    expect(page.get_by_role("heading", name="Moussa DIALLO")).to_be_visible()
    expect(page.get_by_role("heading", name="Fatou DIALLO")).to_be_visible()
    assert_accessible(page)

    # The other account signs in no more: its right password is told it was merged, and
    # into which account.
    page.get_by_role("button", name="Se déconnecter").click()
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill("a.diallo4")
    page.get_by_label("Mot de passe", exact=True).fill(OTHER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#error-summary")).to_contain_text(
        "Ce compte a été regroupé avec un autre de vos comptes")
    expect(page.locator("#error-summary")).to_contain_text(
        "Connectez-vous avec l'identifiant A.DIALLO3")
    assert_accessible(page)


def test_a_merge_confirmed_in_one_tab_is_told_done_in_the_other_and_after_back(
        page, live_server, two_accounts):
    """Two tabs on the same confirmation: the first confirms; the second's « Confirmer le
    regroupement » says the démarche is done and shows its result (every child listed),
    and so does Back to the confirmation in the first tab — never « délai dépassé », and
    nothing is merged twice."""
    merge_form_sent(page, live_server)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirmer le regroupement des comptes")
    second = page.context.new_page()
    second.goto(page.url)
    expect(second.get_by_role("heading", level=1)).to_have_text(
        "Confirmer le regroupement des comptes")

    page.get_by_role("button", name="Confirmer le regroupement").click()
    expect(page.get_by_text("Les enfants du compte A.DIALLO4 ont été ajoutés")).to_be_visible()

    second.get_by_role("button", name="Confirmer le regroupement").click()
    expect(second.get_by_role("heading", level=1)).to_have_text("Mes enfants")
    expect(second.get_by_text("Cette démarche est déjà terminée")).to_be_visible()
    expect(second.get_by_text("Les enfants du compte A.DIALLO4 ont été ajoutés")).to_be_visible()
    expect(second.get_by_text("Le délai pour confirmer")).to_have_count(0)
    expect(second.locator("#children-table tbody tr")).to_have_count(2)
    assert_accessible(second)
    second.close()

    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes enfants")
    expect(page.get_by_text("Cette démarche est déjà terminée")).to_be_visible()
    expect(page.get_by_text("Le délai pour confirmer")).to_have_count(0)
    assert JournalEvent.objects.filter(kind=EventKind.ACCOUNTS_MERGED).count() == 1


def test_a_merge_with_names_that_differ_is_refused(page, live_server, two_accounts):
    _kept, other = two_accounts
    other.first_name = "Aminata"
    other.save()
    merge_form_sent(page, live_server)
    expect(page.locator("#error-summary")).to_contain_text(
        "Les deux comptes ne sont pas au même nom")
    assert_accessible(page)
    page.goto(live_server.url + reverse("services_portal:my_services"))
    expect(page.get_by_role("heading", name="Fatou DIALLO")).to_have_count(0)


def test_a_new_child_imported_for_an_active_parent_appears_after_sign_in(page, live_server,
                                                                         transactional_db,
                                                                         tmp_path):
    account = AccountFactory(identifier="h.duprelagarde1", first_name="Hélène",
                             last_name="Dupré-Lagarde", password=PASSWORD)
    child(account, first_names="Zoé", phone="+33612345678",
          guardian=("Hélène", "DUPRÉ-LAGARDE"),
          school=EstablishmentFactory(uai="0750009Z", kind="ecole"))
    # The collège's roster lists Lucas with the same guardian, number and address.
    roster_import(path=write_roster(tmp_path, [row(responsable_email="")]))

    sign_in(page, live_server, identifier="h.duprelagarde1")
    expect(page.get_by_text("Un nouvel enfant a été rattaché à votre compte")).to_be_visible()
    expect(page.get_by_role("heading", name="Lucas DUPRÉ-LAGARDE")).to_be_visible()
    expect(page.get_by_role("heading", name="Zoé DIALLO")).to_be_visible()
    assert_accessible(page)
    page.reload()
    expect(page.get_by_text("Un nouvel enfant a été rattaché à votre compte")).to_have_count(0)


def test_a_parent_adds_a_child_by_sms_proof(page, live_server, two_accounts, sms_folder):
    maternelle = EstablishmentFactory(name="École maternelle Les Baobabs", kind="ecole")
    nour = child(None, first_names="Nour", phone="+33781234567", school=maternelle,
                 birth_date=datetime.date(2020, 9, 3))
    sign_in(page, live_server)
    open_my_children(page)
    page.get_by_role("link", name="Ajouter un enfant", exact=True).click()
    expect(page.get_by_text("Étape 1 sur 4")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("textbox", name=re.compile("Numéro de téléphone portable")).fill(
        "07 81 23 45 67")
    page.get_by_role("button", name="Recevoir un code par SMS").click()
    expect(page.get_by_text("Étape 2 sur 4")).to_be_visible()
    assert_accessible(page)
    message = read_sms(sms_folder, count=1)[0]
    assert message.to == "+33781234567"
    page.get_by_label("Code de sécurité").fill(CODE_IN_SMS.search(message.body).group(1))
    page.get_by_role("button", name="Valider").click()

    expect(page.get_by_text("Étape 3 sur 4")).to_be_visible()
    expect(page.get_by_role("heading", name="Nour")).to_be_visible()
    assert_accessible(page)
    fill_pupil(page, "Nour", nour.birth_date.replace(year=2019))  # a wrong year first
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#error-summary")).to_be_visible()
    assert_accessible(page)
    fill_pupil(page, "Nour", nour.birth_date)
    page.get_by_role("button", name="Confirmer").click()

    expect(page.get_by_role("heading", name="L'enfant a été rattaché à votre compte")
           ).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Accéder à mes services").click()
    expect(page.get_by_role("heading", name="Nour DIALLO")).to_be_visible()
