"""SMS self-activation in Chromium: from « Je n'ai pas de compte » to « Mes services », the
code read from the file SMS backend, axe on every page."""

import datetime
import re
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from core.models import Flow
from notifications.sms import FileSMSBackend
from tests.browser.a11y import assert_accessible
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")
PASSWORD = "Cartable-Vert-2024!"


@pytest.fixture
def family(transactional_db):
    """A family nobody typed in a test before: Guadeloupe number, two schools."""
    ecole = EstablishmentFactory(uai="9710101C", name="École primaire Les Flamboyants",
                                 kind="ecole")
    lycee = EstablishmentFactory(uai="9710202D", name="Lycée Baimbridge", kind="lycee")
    records = [
        GuardianRecordFactory(establishment=establishment, last_name="SAINT-ÉLOI",
                              first_name="Marie-Josée", mobile_phone="+590690281234")
        for establishment in (ecole, lycee)
    ]
    maelys = PupilFactory(establishment=ecole, first_names="Maëlys", last_name="SAINT-ÉLOI",
                          birth_date=datetime.date(2015, 6, 14))
    kenzo = PupilFactory(establishment=lycee, first_names="Kenzo", last_name="SAINT-ÉLOI",
                         birth_date=datetime.date(2009, 1, 30))
    ResponsibilityFactory(guardian_record=records[0], pupil=maelys)
    ResponsibilityFactory(guardian_record=records[1], pupil=kenzo)
    return {"pupils": {"Maëlys": maelys, "Kenzo": kenzo}}


def read_code(folder, *, count=1, timeout=10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = FileSMSBackend.read_messages(file_path=folder)
        if len(messages) >= count:
            return CODE_IN_SMS.search(messages[-1].body).group(1)
        time.sleep(0.1)
    raise AssertionError("no SMS file was written")


def fill_identity(page, *, last_name, first_name, phone):
    expect(page.get_by_role("heading", name="Je confirme mon identité", exact=True)).to_be_visible()
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_label("Prénom", exact=True).fill(first_name)
    page.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill(phone)
    assert_accessible(page)
    page.get_by_role("button", name="Suivant").click()


def to_the_pupils_step(page, live_server, sms_folder):
    """Steps 1 and 2 for Marie-Josée SAINT-ÉLOI (the `family`): the page of step 3."""
    page.goto(live_server.url + reverse("activation:start"))
    fill_identity(page, last_name="SAINT-ÉLOI", first_name="Marie-Josée", phone="+590690281234")
    page.get_by_label("Code de sécurité").fill(read_code(sms_folder))
    page.get_by_role("button", name="Suivant").click()


def fill_pupil(page, first_name, birth_date, *, legal=True):
    section = page.locator("section", has=page.get_by_role("heading", name=first_name))
    label = ("Je suis le représentant légal de cet élève" if legal
             else "Je ne suis pas le représentant légal de cet élève")
    if section.get_by_role("radio").count() == 0:
        # One pupil found: no choice, the birth date confirms (activation.forms.PupilsForm).
        assert legal, "one pupil alone cannot be answered « Je ne suis pas »"
        expect(page.get_by_text("Un seul élève", exact=False).first).to_be_visible()
    else:
        # The DSFR draws the radio on its label, which is what a person clicks.
        section.get_by_text(label, exact=True).click()
        expect(section.get_by_label(label, exact=True)).to_be_checked()
    if birth_date:
        section.get_by_role("textbox", name="Jour").fill(f"{birth_date.day:02d}")
        section.get_by_role("textbox", name="Mois").fill(f"{birth_date.month:02d}")
        section.get_by_role("textbox", name="Année").fill(str(birth_date.year))


def test_whole_flow_from_sign_in_to_my_services(page, live_server, sms_folder, family):
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_role("link", name="Je n'ai pas de compte").click()

    # Step 1: Guadeloupe number typed in local form.
    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    fill_identity(page, last_name="Saint Eloi", first_name="marie josée", phone="0690 28 12 34")

    # Step 2: the code from the SMS file.
    expect(page.get_by_text("Vérifiez vos SMS")).to_be_visible()
    expect(page.get_by_text("0690 •• •• 34")).to_be_visible()
    assert_accessible(page)
    code = read_code(sms_folder)
    page.get_by_label("Code de sécurité").fill(code.lower())
    page.get_by_role("button", name="Suivant").click()

    # Step 3: both children, both schools.
    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    expect(page.get_by_text("École primaire Les Flamboyants", exact=True)).to_be_visible()
    expect(page.get_by_text("Lycée Baimbridge", exact=True)).to_be_visible()
    assert_accessible(page)
    for name, pupil in family["pupils"].items():
        fill_pupil(page, name, pupil.birth_date)
    page.get_by_role("button", name="Confirmer").click()

    # Step 4: the live checklist, the strength word, show/hide.
    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()
    assert_accessible(page)
    password = page.get_by_label("Mot de passe", exact=True)
    password.press_sequentially("abc")
    checklist = page.locator("#id_password_error")
    expect(checklist.locator('[data-rule="upper"]')).to_have_class(re.compile("fr-message--error"))
    expect(checklist.locator('[data-rule="lower"]')).to_have_class(re.compile("fr-message--valid"))
    expect(checklist.locator("[data-strength]")).to_have_text("Faible")
    # The names rule is in the list from the start, with the five, and checked live.
    personal = checklist.locator('[data-rule="personal"]')
    expect(personal).to_be_visible()
    expect(personal).to_have_class(re.compile("fr-message--valid"))
    password.fill("Saint-Eloi-2024!")  # meets the five rules, but is her name
    password.dispatch_event("input")
    expect(personal).to_have_class(re.compile("fr-message--error"))
    expect(personal).to_contain_text("non respecté")
    expect(checklist.locator("[data-strength]")).to_have_text("Faible")
    password.fill(PASSWORD)
    password.dispatch_event("input")
    expect(checklist.locator("[data-strength]")).to_have_text("Fort")
    expect(checklist.locator('[data-rule="upper"]')).to_have_class(re.compile("fr-message--valid"))
    expect(personal).to_have_class(re.compile("fr-message--valid"))
    expect(page.locator("#id_password_status")).to_have_text(
        "6 règles respectées sur 6. Niveau de sécurité : fort.")
    page.locator("label[for='id_password-show']").click()
    expect(password).to_have_attribute("type", "text")
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(PASSWORD)
    assert_accessible(page)
    page.get_by_role("button", name="Suivant").click()

    # Step 5: the identifier, then « Mes services » with both children.
    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    identifier = page.locator("#identifier").inner_text()
    # In the one form the letters, « Mes services » and « Mon compte » print (issue 13 §3).
    assert re.fullmatch(r"M\.SAINTELOI\d{2}", identifier)
    assert_accessible(page)
    page.get_by_role("link", name="Accéder à mes services").click()
    expect(page.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()
    expect(page.get_by_text(f"Votre identifiant ÉduConnect : {identifier}")).to_be_visible()
    expect(page.get_by_text("Maëlys")).to_be_visible()
    expect(page.get_by_text("Kenzo")).to_be_visible()
    assert_accessible(page)


def test_a_non_by_mistake_is_corrected_with_precedent(page, live_server, sms_folder, family):
    """Tryout: « non » tapped by mistake for Kenzo, then « Précédent » on the password step.
    Step 3 showed Maëlys alone with « Un seul élève a été trouvé pour ce numéro », and the
    account ended without Kenzo. Now both come back, and the account covers both."""
    to_the_pupils_step(page, live_server, sms_folder)

    pupils = family["pupils"]
    fill_pupil(page, "Maëlys", pupils["Maëlys"].birth_date)
    fill_pupil(page, "Kenzo", None, legal=False)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()
    page.get_by_role("button", name="Précédent").click()

    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    expect(page.get_by_role("heading", name="Kenzo")).to_be_visible()
    expect(page.get_by_text("Un seul élève a été trouvé", exact=False)).to_have_count(0)
    assert_accessible(page)
    for name, pupil in pupils.items():
        fill_pupil(page, name, pupil.birth_date)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    page.get_by_role("link", name="Accéder à mes services").click()
    expect(page.get_by_text("Maëlys")).to_be_visible()
    expect(page.get_by_text("Kenzo")).to_be_visible()
    assert pupils["Kenzo"].responsibilities.get().status == "active"


def test_the_last_page_names_the_child_left_out(page, live_server, sms_folder, family):
    """« non » kept for Kenzo: the last page names him, says the school examines the link,
    and leads to « Ajouter un enfant »; accessible (axe)."""
    to_the_pupils_step(page, live_server, sms_folder)
    pupils = family["pupils"]
    fill_pupil(page, "Maëlys", pupils["Maëlys"].birth_date)
    fill_pupil(page, "Kenzo", None, legal=False)
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmation du mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Suivant").click()

    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    left_out = page.locator("#left-out")
    expect(left_out.get_by_role("heading")).to_have_text(
        "Un enfant n'a pas été rattaché à votre compte")
    expect(left_out).to_contain_text("Kenzo")
    assert_accessible(page)
    left_out.get_by_role("link", name="Ajouter un enfant").click()
    expect(page.get_by_role("heading", name="Ajouter un enfant").first).to_be_visible()


def test_unknown_number_sees_the_same_pages_and_gets_no_sms(page, live_server, sms_folder,
                                                             family):
    page.goto(live_server.url + reverse("activation:start"))
    fill_identity(page, last_name="Saint Eloi", first_name="Marie-Josée", phone="0690 28 99 34")
    expect(page.get_by_text("Vérifiez vos SMS")).to_be_visible()
    expect(page.get_by_text("0690 •• •• 34")).to_be_visible()
    page.get_by_label("Code de sécurité").fill("K7PMX4")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#id_code_error")).to_contain_text(
        "Le code de sécurité saisi est incorrect"
    )
    expect(page.get_by_label("Code de sécurité")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    # The page came from a GET: reloading it sends nothing again and spends no attempt.
    page.reload()
    expect(page.get_by_text("Vérifiez vos SMS")).to_be_visible()
    expect(page.locator("#id_code_error .fr-message--error")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    assert Flow.objects.get().wrong_codes == 1
    assert FileSMSBackend.read_messages(file_path=sms_folder) == []


def test_a_name_with_an_emoji_is_refused_on_its_field_and_sends_nothing(page, live_server,
                                                                        sms_folder, family):
    page.goto(live_server.url + reverse("activation:start"))
    fill_identity(page, last_name="Saint Eloi 🌴", first_name="Marie-Josée",
                  phone="0690 28 12 34")
    expect(page.locator("#error-summary")).to_contain_text(
        "Votre nom ne peut contenir que des lettres, accentuées ou non, des espaces, des traits "
        "d'union, des apostrophes et le point d'une abréviation (« St. ») : retirez les "
        "chiffres, symboles et émojis.")
    expect(page.get_by_label("Nom", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    assert FileSMSBackend.read_messages(file_path=sms_folder) == []


def test_wrong_dates_are_refused_then_the_flow_stops(page, live_server, sms_folder, family):
    to_the_pupils_step(page, live_server, sms_folder)

    kenzo = family["pupils"]["Kenzo"]
    for attempt in range(1, 6):
        # Five different wrong dates: the same one typed again would count once.
        wrong = datetime.date(2009, 1, 20 + attempt)
        fill_pupil(page, "Maëlys", None, legal=False)
        if attempt == 2:
            # A whole date typed into « Jour », « Mois » and « Année » left empty: the
            # input keeps it and the server reads it (a wrong date, counted as such).
            fill_pupil(page, "Kenzo", None)
            section = page.locator("section", has=page.get_by_role("heading", name="Kenzo"))
            for name in ("Jour", "Mois", "Année"):
                section.get_by_role("textbox", name=name).fill("")
            section.get_by_role("textbox", name="Jour").press_sequentially(
                f"{wrong:%d/%m/%Y}")
        else:
            fill_pupil(page, "Kenzo", wrong)
        page.get_by_role("button", name="Confirmer").click()
        if attempt == 2:
            expect(page.get_by_text("Encore 3 dates incorrectes possibles.").first)\
                .to_be_visible()
        if attempt == 1:
            kenzo_section = page.locator("section", has=page.get_by_role("heading", name="Kenzo"))
            expect(kenzo_section.get_by_text(
                "La date de naissance saisie est incorrecte. Encore 4 dates "
                "incorrectes possibles avant le blocage de l'activation."))\
                .to_be_visible()
            day = kenzo_section.get_by_role("textbox", name="Jour")
            expect(day).to_have_attribute("aria-invalid", "true")
            assert_accessible(page)
    blocked = page.get_by_role("heading", name=re.compile("trop de dates de naissance"))
    expect(blocked).to_be_visible()
    expect(page.get_by_text("0 809 54 06 06", exact=False).first).to_be_visible()
    assert_accessible(page)
    assert kenzo.responsibilities.get().status == "active"


def test_already_active_and_unavailable_pages(page, live_server, sms_folder, family):
    from pupils.models import GuardianRecord
    from tests.factories import AccountFactory

    account = AccountFactory(identifier="m.sainteloi42")
    GuardianRecord.objects.update(account=account)
    page.goto(live_server.url + reverse("activation:start"))
    fill_identity(page, last_name="Saint-Éloi", first_name="Marie-Josée", phone="0690281234")
    page.get_by_label("Code de sécurité").fill(read_code(sms_folder))
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_role("heading", name="Vous avez déjà un compte ÉduConnect")).to_be_visible()
    expect(page.get_by_text("m.sainteloi42")).to_be_visible()
    assert_accessible(page)

    # The same flow's URL in a fresh browser context: nothing, but a way to start again.
    url = page.url
    other = page.context.browser.new_context()
    try:
        stranger = other.new_page()
        response = stranger.goto(url)
        assert response.status == 404
        expect(stranger.get_by_role("link", name="Recommencer l'activation")).to_be_visible()
        assert_accessible(stranger)
    finally:
        other.close()


def test_the_password_step_in_a_second_tab_reads_that_the_account_is_activated(
        page, live_server, sms_folder, family):
    """Two tabs at step 4: the first finishes (and signs in: a new CSRF token), the second
    submits after it and reads the result, not « Session expirée… recommencez »."""
    page.goto(live_server.url + reverse("activation:start"))
    fill_identity(page, last_name="Saint-Éloi", first_name="Marie-Josée", phone="0690 28 12 34")
    page.get_by_label("Code de sécurité").fill(read_code(sms_folder))
    page.get_by_role("button", name="Suivant").click()
    for name, pupil in family["pupils"].items():
        fill_pupil(page, name, pupil.birth_date)
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()

    second = page.context.new_page()
    second.goto(page.url)
    expect(second.get_by_text("Étape 4 sur 5")).to_be_visible()
    for tab in (page, second):
        tab.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        tab.get_by_label("Confirmation du mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()

    second.get_by_role("button", name="Suivant").click()
    expect(second.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    expect(second.get_by_text("Le mot de passe saisi dans cette page n'a pas été "
                              "enregistré")).to_be_visible()
    expect(second.get_by_text("Session expirée")).to_have_count(0)
    assert_accessible(second)
