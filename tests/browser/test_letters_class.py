"""The end-to-end check of issue 9 (« What will be checked »), in Chromium with axe on each page.

A school made by the test, with names drawn at random (nobody has seen them, the demo's are
not used): a secretary makes, in the back-office, the letters of one class; the PDF she
downloads is read (pypdf) for a guardian's and a pupil's identifier and provisional
password; in fresh browser contexts the guardian (keyboard only) and the pupil complete
their first sign-in; the guardian's validation e-mail reaches a real SMTP server on
loopback (aiosmtpd; the outbox hands it over on commit, as in the other browser tests), its
link activates the account, which reaches « Mes services ». Then the secretary reissues the
letters of a pupil of the class not activated yet: the old password no longer signs in, the
new one does. Finally no provisional password is anywhere in the database (pg_dump).
"""

import datetime
import io
import random
import re
import subprocess

import pytest
from django.db import connection
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import Account, AccountState, StaffRole
from backoffice.services import staff_create
from tests.browser.a11y import assert_accessible
from tests.browser.test_backoffice import STAFF_PASSWORD, sign_in_back_office
from tests.browser.test_letters import worker_when_asked
from tests.browser.test_provisional import tab_to, type_into
from tests.factories import (
    AcademyFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.mailbox import link_from

IDENTIFIER = re.compile(r"Identifiant\s*:\s*([A-Z]\.[A-Z]+\d+)")
PASSWORD = re.compile(r"Mot de passe provisoire\s*:\s*([A-Z0-9]{8})")
NEW_PASSWORD = "Ardoise-Bleue-2047!"
SYLLABLES = ("ba", "lo", "mi", "ré", "du", "ka", "vé", "no", "sa", "ti", "ga", "zu", "pé",
             "ri", "fo", "lu", "ché", "mo", "dra", "vin")


def made_up_name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


@pytest.fixture
def mailbox(smtp_server, settings, live_server):
    settings.SITE_URL = live_server.url
    return smtp_server


@pytest.fixture
def school(transactional_db, settings, tmp_path):
    """A collège with class « 4C » (two pupils, each with one legal representative) and
    « 4D » (one pupil), all names made up for this run."""
    settings.LETTERS_DIR = tmp_path / "letters"
    settings.LETTERS_RUN_ON_COMMIT = False  # the « worker » thread starts the run
    rng = random.Random()
    names = set()
    while len(names) < 7:
        names.add(made_up_name(rng, 3))
    first, second, third, mother, father, other_parent, school_name = sorted(names)
    academy = AcademyFactory(name=f"Académie {made_up_name(rng, 2)}")
    establishment = EstablishmentFactory(uai="0310777K", name=f"Collège {school_name}",
                                         academy=academy)
    pupils = {
        "guardians_child": PupilFactory(
            establishment=establishment, last_name=first.upper(), first_names=mother[::-1]
            .capitalize(), level="4EME", division="4C", birth_date=datetime.date(2012, 5, 17)),
        "pupil": PupilFactory(
            establishment=establishment, last_name=second.upper(),
            first_names=father[::-1].capitalize(), level="4EME", division="4C",
            birth_date=datetime.date(2012, 1, 29)),
        "other_class": PupilFactory(
            establishment=establishment, last_name=third.upper(), first_names="Éloan",
            level="4EME", division="4D", birth_date=datetime.date(2012, 7, 3)),
    }
    guardian = GuardianRecordFactory(establishment=establishment, last_name=first.upper(),
                                     first_name=mother)
    ResponsibilityFactory(guardian_record=guardian, pupil=pupils["guardians_child"])
    pupils_parent = GuardianRecordFactory(establishment=establishment,
                                          last_name=second.upper(), first_name=other_parent)
    ResponsibilityFactory(guardian_record=pupils_parent, pupil=pupils["pupil"])
    other_record = GuardianRecordFactory(establishment=establishment, last_name=third.upper(),
                                         first_name=father)
    ResponsibilityFactory(guardian_record=other_record, pupil=pupils["other_class"])
    secretary = staff_create(
        first_name="Odette", last_name=made_up_name(rng, 3),
        email="secretariat.4c@ac-exemple.fr", password=STAFF_PASSWORD,
        role=StaffRole.SECRETARY, establishments=[establishment])
    device = TOTPDevice.objects.create(user=secretary, name="Téléphone", confirmed=True)
    return {"establishment": establishment, "pupils": pupils, "guardian": guardian,
            "secretary": secretary, "device": device,
            "address": f"{mother.lower()}.{first.lower()}@exemple.fr".replace("é", "e")}


def letters_of_class(page, live_server, division: str, *, untick=(), tick=()) -> list[str]:
    """In the back-office: the class's letters made and downloaded; the PDF's page texts."""
    page.goto(f"{live_server.url}/gestion/")
    page.get_by_role("link", name="Lettres des comptes provisoires").first.click()
    expect(page.get_by_role("heading", name="Lettres des comptes provisoires")).to_be_visible()
    page.get_by_label("Classe").select_option(division)
    page.get_by_role("button", name="Afficher les élèves").click()
    expect(page.get_by_role("group", name=f"Élèves de la classe {division}")).to_be_visible()
    assert_accessible(page)
    for label in untick:
        page.get_by_label(label).uncheck()
    for label in tick:
        page.get_by_label(label).check()
    worker = worker_when_asked()
    page.get_by_role("button", name="Faire les lettres").click()
    download_link = page.get_by_role("link", name=re.compile("Télécharger le PDF des lettres"))
    expect(download_link).to_be_visible(timeout=60_000)
    worker.join(timeout=5)
    assert_accessible(page)
    with page.expect_download() as waiting:
        download_link.click()
    with open(waiting.value.path(), "rb") as pdf:
        return [p.extract_text() for p in PdfReader(io.BytesIO(pdf.read())).pages]


def credentials(texts: list[str], greeting: str) -> tuple[str, str]:
    """(identifier, provisional password) of the one page that greets `greeting`."""
    [text] = [t for t in texts if f"Bonjour {greeting}" in t]
    return IDENTIFIER.search(text)[1], PASSWORD.search(text)[1]


def sign_in(page, live_server, who: str, identifier: str, password: str) -> None:
    page.goto(live_server.url + reverse("accounts:login", args=[who]))
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_a_class_letters_activate_a_guardian_and_a_pupil_and_a_reissue_kills_the_old(
        page, browser, live_server, school, mailbox):
    pupils, guardian_record = school["pupils"], school["guardian"]
    child, pupil = pupils["guardians_child"], pupils["pupil"]
    sign_in_back_office(page, live_server, school["secretary"].identifier,
                        device=school["device"])

    # --- The secretary makes the letters of class 4C -----------------------------------
    texts = letters_of_class(page, live_server, "4C")
    assert len(texts) == 4  # the two pupils of 4C and their two parents; not 4D
    assert not any(pupils["other_class"].last_name in t for t in texts)
    guardian_id, guardian_password = credentials(
        texts, f"{guardian_record.first_name} {guardian_record.last_name}")
    pupil_id, pupil_password = credentials(texts, f"{pupil.first_name} {pupil.last_name}")
    first_letters = {IDENTIFIER.search(t)[1]: PASSWORD.search(t)[1] for t in texts}
    assert len(set(first_letters.values())) == 4

    # --- The guardian, keyboard only, in a browser of her own ---------------------------
    guardian_context = browser.new_context()
    home = guardian_context.new_page()
    home.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    assert_accessible(home)
    type_into(home, home.get_by_label("Identifiant"), guardian_id)
    type_into(home, home.get_by_label("Mot de passe", exact=True), guardian_password)
    home.keyboard.press("Enter")
    expect(home.get_by_role("heading", name="Je renseigne mon adresse mail",
                            exact=True)).to_be_visible()
    assert_accessible(home)
    type_into(home, home.get_by_role("textbox", name=re.compile("^Adresse mail")),
              school["address"])
    type_into(home, home.get_by_label("Confirmation de l'adresse mail"), school["address"])
    home.keyboard.press("Enter")
    expect(home.get_by_text("Étape 2 sur 5")).to_be_visible()
    assert_accessible(home)
    type_into(home, home.get_by_label("Mot de passe", exact=True), NEW_PASSWORD)
    type_into(home, home.get_by_label("Confirmation du mot de passe", exact=True), NEW_PASSWORD)
    home.keyboard.press("Enter")
    expect(home.get_by_text("Étape 3 sur 5")).to_be_visible()
    expect(home.get_by_text(school["establishment"].name, exact=True)).to_be_visible()
    assert_accessible(home)
    # One child on the letter: the birth date alone confirms (no « Je suis … » choice).
    type_into(home, home.get_by_role("textbox", name="Jour"), f"{child.birth_date.day:02d}")
    type_into(home, home.get_by_role("textbox", name="Mois"), f"{child.birth_date.month:02d}")
    type_into(home, home.get_by_role("textbox", name="Année"), str(child.birth_date.year))
    tab_to(home, home.get_by_role("button", name="Confirmer"))
    home.keyboard.press("Enter")
    expect(home.get_by_text("Un mail a été envoyé")).to_be_visible()
    expect(home.locator("#sent-to")).to_contain_text(school["address"])
    assert_accessible(home)

    # The e-mail, received by the SMTP server on loopback; its link, followed.
    [message] = mailbox.wait_for(1)
    assert message["To"] == school["address"]
    home.goto(link_from(message))
    expect(home.get_by_role("heading", level=1)).to_have_text("Je confirme mon adresse mail")
    assert_accessible(home)
    tab_to(home, home.get_by_role("button", name="Valider mon adresse mail et activer mon "
                                                 "compte"))
    home.keyboard.press("Enter")
    expect(home.get_by_role("heading", level=1)).to_have_text("Votre compte est activé")
    assert_accessible(home)
    tab_to(home, home.get_by_role("link", name="Accéder à mes services"))
    home.keyboard.press("Enter")
    expect(home.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()
    assert_accessible(home)
    guardian_account = Account.objects.get(identifier=guardian_id.lower())
    assert guardian_account.state == AccountState.ACTIVE and guardian_account.email_verified
    guardian_context.close()

    # --- The pupil, in another browser --------------------------------------------------
    pupil_context = browser.new_context()
    desk = pupil_context.new_page()
    sign_in(desk, live_server, "eleve", pupil_id, pupil_password)
    expect(desk.get_by_text("Étape 1 sur 4")).to_be_visible()
    assert_accessible(desk)
    desk.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    desk.get_by_label("Confirmation du mot de passe", exact=True).fill(NEW_PASSWORD)
    desk.get_by_role("button", name="Suivant").click()
    expect(desk.get_by_role("heading", name="Je confirme mon identité",
                            exact=True)).to_be_visible()
    assert_accessible(desk)
    for name, value in (("Jour", f"{pupil.birth_date.day:02d}"),
                        ("Mois", f"{pupil.birth_date.month:02d}"),
                        ("Année", str(pupil.birth_date.year))):
        desk.get_by_role("textbox", name=name).fill(value)
    desk.get_by_role("button", name="Confirmer").click()
    expect(desk.get_by_text("Étape 3 sur 4")).to_be_visible()
    assert_accessible(desk)
    desk.get_by_role("button", name="Passer cette étape").click()
    expect(desk.get_by_text("Étape 4 sur 4")).to_be_visible()
    desk.get_by_role("link", name="Accéder à mes services").click()
    expect(desk.get_by_role("heading", name="Mes services", exact=True)).to_be_visible()
    assert_accessible(desk)
    assert Account.objects.get(identifier=pupil_id.lower()).state == AccountState.ACTIVE
    pupil_context.close()

    # --- A reissue: class 4C again. The pupil who activated comes unticked (and with him
    # his parent's letter); the guardian is active: no letter. Her daughter's own pupil
    # account still waits: its letter is made again, with a new password.
    # Her letter was handed out: she comes unticked (main's rule), the secretary ticks her.
    texts = letters_of_class(page, live_server, "4C",
                             tick=[f"{child.last_name.upper()} {child.first_name}"])
    assert len(texts) == 1
    reissued_id, new_password = credentials(texts, f"{child.first_name} {child.last_name}")
    old_password = first_letters[reissued_id]
    assert new_password != old_password
    letters_again = {IDENTIFIER.search(t)[1]: PASSWORD.search(t)[1] for t in texts}
    assert set(letters_again) < set(first_letters)  # the same accounts, new passwords

    later = browser.new_context()
    again = later.new_page()
    sign_in(again, live_server, "eleve", reissued_id, old_password)
    expect(again.locator("#error-summary")).to_contain_text(
        "Identifiant ou mot de passe incorrect.")
    assert_accessible(again)
    sign_in(again, live_server, "eleve", reissued_id, new_password)
    expect(again.get_by_text("Étape 1 sur 4")).to_be_visible()
    later.close()

    # --- No provisional password anywhere in the database -------------------------------
    settings_dict = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", settings_dict["HOST"] or "127.0.0.1",
         "-p", str(settings_dict["PORT"] or 5432), "-U", settings_dict["USER"],
         settings_dict["NAME"]], capture_output=True, text=True, check=True,
        env={"PGPASSWORD": settings_dict.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert school["address"] in dump and guardian_id.lower() in dump  # it does see the data
    for password in [*first_letters.values(), *letters_again.values()]:
        assert password not in dump
