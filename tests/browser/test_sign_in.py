"""Signing in through the real pages, in Chromium, checked with axe.

The live server runs with the test settings: DEBUG off, so the session and CSRF cookies are
`Secure` — this also proves that Chromium keeps Secure cookies on http://localhost.
"""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.a11y import assert_accessible
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

PASSWORD = "Demo-Parent-2026!"


@pytest.fixture
def family(transactional_db):
    account = AccountFactory(identifier="h.duprelagarde12", first_name="Hélène",
                             last_name="Dupré-Lagarde", password=PASSWORD)
    for school, first_names in [("Collège Victor-Hugo", "Lucas"),
                                ("École élémentaire Jean-Jaurès", "Inès")]:
        establishment = EstablishmentFactory(name=school)
        ResponsibilityFactory(
            guardian_record=GuardianRecordFactory(establishment=establishment, account=account),
            pupil=PupilFactory(first_names=first_names, last_name="DUPRÉ-LAGARDE",
                               establishment=establishment),
        )
    return account


def test_guardian_signs_in_with_an_upper_case_identifier(page, live_server, family):
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
    assert_accessible(page)

    page.get_by_role("link", name="Représentant légal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Je me connecte avec mon compte ÉduConnect"
    )
    expect(page).to_have_title(re.compile(r"^Je me connecte .* Représentant légal"))
    assert_accessible(page)

    # The DSFR show/hide box works (the DSFR script is loaded and finds our markup).
    password = page.get_by_label("Mot de passe", exact=True)
    password.fill(PASSWORD)
    show = page.locator("label[for=id_password-show]")  # what the user clicks: « Afficher »
    show.click()
    expect(page.get_by_label("Afficher le mot de passe")).to_be_checked()
    expect(password).to_have_attribute("type", "text")
    show.click()
    expect(password).to_have_attribute("type", "password")

    # A wrong password: the generic message, the form kept, the page still accessible.
    page.get_by_label("Identifiant").fill("H.DUPRELAGARDE12")
    password.fill("Pas-le-bon-1!")
    page.get_by_role("button", name="Se connecter").click()
    # One alert, the error summary inside <main>; the refusal describes both fields.
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.locator("main [role=alert]#error-summary")).to_contain_text(
        "Identifiant ou mot de passe incorrect."
    )
    expect(page).to_have_title(re.compile(r"^Erreur – Je me connecte"))
    expect(page.get_by_label("Identifiant")).to_have_value("H.DUPRELAGARDE12")
    for field in (page.get_by_label("Identifiant"), password):
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(
            re.compile(r"^Identifiant ou mot de passe incorrect\.")
        )
    assert_accessible(page)

    # The right password, identifier as a school letter prints it.
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
    children = page.locator("section.edu-child h3")
    expect(children).to_have_text(["Inès DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"])
    expect(page.get_by_text("Collège Victor-Hugo")).to_be_visible()
    expect(page.get_by_text("École élémentaire Jean-Jaurès")).to_be_visible()
    assert_accessible(page)

    cookies = {c["name"]: c for c in page.context.cookies()}
    session_cookie = cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["secure"] is settings.SESSION_COOKIE_SECURE is True
    assert session_cookie["httpOnly"] is True

    # Sign out from the header: back to the profile choice, and the services are closed.
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
    expect(page.locator("main [role=status]")).to_have_text("Vous êtes déconnecté(e) d'ÉduConnect.")
    page.goto(f"{live_server.url}/services/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
    assert page.url.endswith("/?next=/services/")


def test_sign_in_works_without_javascript(browser, live_server, family):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/connexion/representant-legal/")
        # The show/hide box needs the script: it is not offered without it.
        expect(page.get_by_label("Afficher le mot de passe")).to_be_hidden()
        page.get_by_label("Identifiant").fill("h.duprelagarde12")
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
        page.get_by_role("button", name="Se déconnecter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
    finally:
        context.close()


def test_pupil_signs_in_through_the_pupil_profile(page, live_server, transactional_db):
    from accounts.models import AccountKind

    account = AccountFactory(identifier="l.duprelagarde41", kind=AccountKind.PUPIL,
                             first_name="Lucas", last_name="Dupré-Lagarde", password=PASSWORD)
    PupilFactory(first_names="Lucas", last_name="DUPRÉ-LAGARDE", account=account,
                 establishment=EstablishmentFactory(name="Collège Victor-Hugo"))

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Élève").click()
    expect(page).to_have_title(re.compile(r"^Je me connecte .* Élève"))
    # « Je n'ai pas de compte » is the guardians' SMS activation: not offered to pupils.
    expect(page.get_by_role("link", name=re.compile("Je n'ai pas de compte"))).to_have_count(0)
    page.get_by_label("Identifiant").fill("L.DuPreLagarde41")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
    expect(page.get_by_role("heading", name="Mon établissement")).to_be_visible()
    expect(page.get_by_text("Collège Victor-Hugo")).to_be_visible()
    assert_accessible(page)


def test_the_owner_signs_in_on_their_device_while_another_browser_is_refused(
    browser, live_server, family, settings
):
    """Issue 8 §5: guessing from elsewhere slows down browsers without the account's device
    cookie, never the owner's own browser."""
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 3
    url = f"{live_server.url}/connexion/representant-legal/"
    owner, attacker = browser.new_context(), browser.new_context()
    try:
        # The owner signed in on this browser before (it received its device cookie).
        phone = owner.new_page()
        phone.goto(url)
        phone.get_by_label("Identifiant").fill("h.duprelagarde12")
        phone.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        phone.get_by_role("button", name="Se connecter").click()
        expect(phone.get_by_role("heading", level=1)).to_have_text("Mes services")
        phone.get_by_role("button", name="Se déconnecter").click()

        # Another browser spends the identifier's attempts, then is refused even with the
        # right password, and told how long to wait.
        other = attacker.new_page()
        other.goto(url)
        for _ in range(3):
            other.get_by_label("Identifiant").fill("h.duprelagarde12")
            other.get_by_label("Mot de passe", exact=True).fill("Pas-le-bon-1!")
            other.get_by_role("button", name="Se connecter").click()
            expect(other.get_by_role("alert")).to_contain_text(
                "Identifiant ou mot de passe incorrect.")
        other.get_by_label("Identifiant").fill("h.duprelagarde12")
        other.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        other.get_by_role("button", name="Se connecter").click()
        alert = other.locator("main [role=alert]#error-summary")
        expect(alert).to_contain_text("Connexion momentanément suspendue")
        expect(alert).to_contain_text(re.compile(r"réessayez dans 1[45] minutes"))
        expect(alert).to_contain_text(
            "Depuis un navigateur où vous vous êtes déjà connecté(e) à ce compte, la connexion "
            "reste possible sans attendre.")
        expect(other).to_have_title(re.compile(r"^Erreur – Je me connecte"))
        assert_accessible(other)

        # The owner, on their own browser, with the keyboard only, signs in at once.
        phone.goto(url)
        phone.get_by_label("Identifiant").focus()
        phone.keyboard.type("h.duprelagarde12")
        phone.keyboard.press("Tab")
        expect(phone.get_by_label("Mot de passe", exact=True)).to_be_focused()
        phone.keyboard.type(PASSWORD)
        phone.keyboard.press("Enter")
        expect(phone.get_by_role("heading", level=1)).to_have_text("Mes services")
    finally:
        owner.close()
        attacker.close()
