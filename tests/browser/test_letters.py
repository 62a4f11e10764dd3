"""School letters in Chromium (issue 9 §1, §4): a secretary chooses a level, makes the letters
of its pupils and their guardians, watches the progress bar while the worker makes them,
downloads the PDF (one page per account, with its own credentials); then the follow-up page
counts them per level and exports the list as CSV. axe on each page."""

import csv
import datetime
import io
import re
import threading

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import Account, AccountState, StaffRole
from backoffice.services import staff_create
from pupils import letters
from pupils.models import GuardianRecord, LetterRun
from tests.browser.a11y import assert_accessible
from tests.browser.test_backoffice import STAFF_PASSWORD, sign_in_back_office
from tests.factories import (
    AcademyFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

IDENTIFIER = re.compile(r"Identifiant\s*:\s*([A-Z]\.[A-Z]+\d+)")
PASSWORD = re.compile(r"Mot de passe provisoire\s*:\s*([A-Z0-9]{8})")


@pytest.fixture
def college(transactional_db, settings, tmp_path):
    settings.LETTERS_DIR = tmp_path / "letters"
    settings.LETTERS_RUN_ON_COMMIT = False  # the « worker » below starts the run
    settings.LETTERS_CHUNK_SIZE = 1  # the bar moves letter by letter
    academy = AcademyFactory(name="Créteil")
    school = EstablishmentFactory(uai="0940021K", name="Collège Paul-Éluard", academy=academy)
    yasmine = PupilFactory(establishment=school, last_name="Benali", first_names="Yasmine",
                           level="4EME", birth_date=datetime.date(2011, 3, 8))
    tom = PupilFactory(establishment=school, last_name="Girard", first_names="Tom",
                       level="4EME", birth_date=datetime.date(2011, 6, 1))
    PupilFactory(establishment=school, last_name="Morel", first_names="Lina", level="3EME")
    mother = GuardianRecordFactory(establishment=school, last_name="Benali", first_name="Samia")
    ResponsibilityFactory(guardian_record=mother, pupil=yasmine)
    father = GuardianRecordFactory(establishment=school, last_name="Girard", first_name="Marc")
    ResponsibilityFactory(guardian_record=father, pupil=tom)
    secretary = staff_create(
        first_name="Claire", last_name="Bonnet", email="claire.bonnet@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.SECRETARY, establishments=[school])
    device = TOTPDevice.objects.create(user=secretary, name="Téléphone", confirmed=True)
    return {"school": school, "secretary": secretary, "device": device}


def worker_when_asked():
    """What Celery beat's `letter_runs_start` does, in a thread: waits for the run the page
    asks for, then makes it (its own database connection)."""
    def run():
        try:
            for _ in range(300):
                if LetterRun.objects.filter(status="queued").exists():
                    letters.letter_runs_start()
                    return
                threading.Event().wait(0.1)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_secretary_makes_the_letters_of_a_level_and_downloads_them(page, live_server,
                                                                     college):
    sign_in_back_office(page, live_server, college["secretary"].identifier,
                        device=college["device"])
    page.get_by_role("link", name="Lettres des comptes provisoires").first.click()
    expect(page.get_by_role("heading", name="Lettres des comptes provisoires")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Niveau").select_option("4EME")
    page.get_by_role("button", name="Afficher les élèves").click()
    expect(page.get_by_label("BENALI Yasmine")).to_be_checked()
    expect(page.get_by_label("GIRARD Tom")).to_be_checked()
    expect(page.get_by_text("MOREL")).to_have_count(0)  # another level
    assert_accessible(page)

    worker = worker_when_asked()
    page.get_by_role("button", name="Faire les lettres").click()
    expect(page.get_by_text("Les lettres ont été demandées")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Avancement")).to_be_visible()
    assert_accessible(page)
    # The bar fills as the worker goes, then the page offers the file.
    download_link = page.get_by_role("link", name=re.compile("Télécharger le PDF des lettres"))
    expect(download_link).to_be_visible(timeout=60_000)
    worker.join(timeout=5)
    expect(page.get_by_role("progressbar", name="Avancement")).to_have_attribute("value", "100")
    expect(download_link).to_contain_text("4 pages")
    expect(page.get_by_role("status")).to_have_text("Terminé : 4 lettres sur 4.")
    assert_accessible(page)

    with page.expect_download() as waiting:
        download_link.click()
    data = open(waiting.value.path(), "rb").read()
    reader = PdfReader(io.BytesIO(data))
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    texts = [p.extract_text() for p in reader.pages]
    assert len(texts) == 4  # Yasmine, Tom, Samia, Marc
    for text in texts:
        identifier = IDENTIFIER.search(text)[1]
        account = Account.objects.get(identifier=identifier.lower())
        assert account.state == AccountState.PROVISIONAL
        assert account.check_password(PASSWORD.search(text)[1])
    assert any("Yasmine BENALI" in text and "Bonjour Samia BENALI" in text for text in texts)

    # Follow-up: the level's counts, the list of provisional accounts, the CSV.
    page.goto(f"{live_server.url}/gestion/")
    page.get_by_role("link", name="Suivi des comptes").first.click()
    counts = page.locator("#follow-up-counts")
    expect(counts.get_by_role("row", name=re.compile(r"^4e\b"))).to_contain_text("2")
    assert_accessible(page)
    page.get_by_label("Qui").select_option("responsables")
    page.get_by_label("État du compte").select_option("provisional")
    page.get_by_role("button", name="Afficher").click()
    listing = page.locator("#follow-up-list")
    expect(listing.get_by_role("row", name=re.compile("BENALI Samia"))).to_contain_text(
        "lettre remise, compte non activé")
    assert_accessible(page)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Exporter cette liste (CSV)").click()
    rows = list(csv.reader(io.StringIO(open(waiting.value.path(), encoding="utf-8-sig").read()),
                           delimiter=";"))
    assert [row[:2] for row in rows[1:]] == [["BENALI", "Samia"], ["GIRARD", "Marc"]]

    # « Refaire la lettre » of Samia alone (keyboard only): her password is renewed, not
    # Marc's nor the pupils'; the run page shows its one page.
    before = {IDENTIFIER.search(text)[1].lower(): PASSWORD.search(text)[1] for text in texts}
    remake = listing.get_by_role("button", name="Refaire la lettre de BENALI Samia")
    expect(remake).to_have_accessible_description(re.compile("à ce seul compte"))
    remake.focus()
    page.keyboard.press("Enter")
    # First a page that names the account and asks to confirm; nothing is made yet.
    expect(page.get_by_role("heading", name="Refaire la lettre de BENALI Samia ?")
           ).to_be_visible()
    samia_account = GuardianRecord.objects.get(first_name="Samia").account
    expect(page.locator("#reissue-consequence")).to_contain_text(
        f"BENALI Samia (identifiant {samia_account.display_identifier})")
    confirm = page.get_by_role("button", name="Confirmer : refaire la lettre de BENALI Samia")
    expect(confirm).to_have_accessible_description(re.compile("ne fonctionnera plus"))
    assert not LetterRun.objects.filter(total=1).exists()
    assert_accessible(page)
    # « Annuler » goes back to the list, still nothing made; then again, and confirm.
    page.get_by_role("link", name="Annuler").focus()
    page.keyboard.press("Enter")
    expect(listing.get_by_role("row", name=re.compile("BENALI Samia"))).to_be_visible()
    assert not LetterRun.objects.filter(total=1).exists()
    listing.get_by_role("button", name="Refaire la lettre de BENALI Samia").focus()
    page.keyboard.press("Enter")
    worker = worker_when_asked()
    confirm.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("La nouvelle lettre de BENALI Samia a été demandée")
           ).to_be_visible()
    one_letter = page.get_by_role("link", name="Télécharger le PDF des lettres (1 page)")
    expect(one_letter).to_be_visible(timeout=60_000)
    expect(page.get_by_role("status")).to_have_text("Terminé : 1 lettre sur 1.")
    worker.join(timeout=5)
    assert_accessible(page)
    with page.expect_download() as waiting:
        one_letter.click()
    (text,) = [p.extract_text() for p in PdfReader(waiting.value.path()).pages]
    assert "Bonjour Samia BENALI" in text
    still = {identifier for identifier, password in before.items()
             if Account.objects.get(identifier=identifier).check_password(password)}
    samia = IDENTIFIER.search(text)[1].lower()
    assert still == set(before) - {samia}
    assert Account.objects.get(identifier=samia).check_password(PASSWORD.search(text)[1])
