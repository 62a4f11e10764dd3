"""School letters (issue 9 §1): a secretary asks for the letters of pupils of her school; the
provisional accounts are made, one tagged A4 page per account holds that account's identifier
and password and nobody else's; the password is nowhere else (database, journal); a reissue
kills the old password; a record an active account covers gets no letter; the file is the
requester's only and is deleted once expired. Follow-up (§4): counts per level, lists, CSV."""

import csv
import datetime
import io
import os
import re
import subprocess
import sys
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import Account, AccountKind, AccountState, StaffRole
from core.models import JournalEvent
from notifications.models import OutboundMessage
from pupils import letters
from pupils.models import GuardianRecord, LetterRun, LetterRunStatus, Pupil
from tests.factories import (
    AccountFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

from .conftest import make_staff, sign_in

pytestmark = pytest.mark.django_db
IDENTIFIER = re.compile(r"Identifiant\s*:\s*([A-Z]\.[A-Z]+\d+)")
PASSWORD = re.compile(r"Mot de passe provisoire\s*:\s*([A-Z0-9]{8})")


@pytest.fixture(autouse=True)
def _setup(letters_here, settings):
    settings.LETTERS_CHUNK_SIZE = 2  # several parts merged even for a small class


@pytest.fixture
def class_6a(world):
    """Three pupils of 6EME at A1: Zoé Lefèvre (mother's record covered by an ACTIVE account),
    Noé Martin (two guardians, no account) and Inès Petit (one guardian with an e-mail)."""
    school = world.a1
    world.pupil_a1.level = world.pupil_a1_bis.level = "6EME"
    world.pupil_a1.save()
    world.pupil_a1_bis.save()
    ines = PupilFactory(establishment=school, ine="111111113AA", last_name="Petit",
                        first_names="Inès", level="6EME")
    other_level = PupilFactory(establishment=school, ine="111111114AA", last_name="Roux",
                               first_names="Léo", level="5EME")
    martin_mother = GuardianRecordFactory(establishment=school, last_name="Martin",
                                          first_name="Claire")
    martin_father = GuardianRecordFactory(establishment=school, last_name="Martin",
                                          first_name="Paul")
    petit = GuardianRecordFactory(establishment=school, last_name="Petit", first_name="Sarah",
                                  email="sarah.petit@exemple.fr")
    ResponsibilityFactory(guardian_record=martin_mother, pupil=world.pupil_a1_bis)
    ResponsibilityFactory(guardian_record=martin_father, pupil=world.pupil_a1_bis)
    ResponsibilityFactory(guardian_record=petit, pupil=ines)
    return {"pupils": [world.pupil_a1, world.pupil_a1_bis, ines], "other_level": other_level,
            "martin_mother": martin_mother, "martin_father": martin_father, "petit": petit}


def run_letters(secretary, school, pupils, delivery="paper"):
    run = letters.letter_run_request(establishment=school, actor=secretary,
                                     pupil_ids=[p.pk for p in pupils], delivery=delivery)
    assert letters.letter_runs_start() == 1
    run.refresh_from_db()
    assert run.status == LetterRunStatus.DONE, run.failure
    return run


def pages_of(run, secretary):
    with letters.letter_run_file_open(run=run, actor=secretary) as handle:
        data = handle.read()
    reader = PdfReader(io.BytesIO(data))
    return reader, [page.extract_text() for page in reader.pages]


def test_each_page_holds_its_own_account_identifier_and_password_and_nobody_elses(
        world, class_6a, secretary):
    run = run_letters(secretary, world.a1, class_6a["pupils"])
    _reader, texts = pages_of(run, secretary)

    # Zoé (pupil) and Noé, Inès (pupils); Claire, Paul Martin, Sarah Petit (guardians).
    # Hélène Lefèvre's record is covered by an ACTIVE account: no letter.
    assert len(texts) == 6 == run.pages
    assert (run.accounts_created, run.accounts_reissued, run.records_skipped) == (6, 0, 1)
    seen = {}
    for text in texts:
        assert len(IDENTIFIER.findall(text)) == 1 and len(PASSWORD.findall(text)) == 1, text
        identifier, password = IDENTIFIER.search(text)[1], PASSWORD.search(text)[1]
        assert set(password) <= set(letters.PASSWORD_ALPHABET)
        account = Account.objects.get(identifier=identifier.lower())
        assert account.state == AccountState.PROVISIONAL
        assert account.check_password(password)
        assert f"Bonjour {account.first_name} {account.last_name.upper()}" in text
        # The profile to choose on the sign-in page, as the page names it (issue 13): a
        # pupil's letter used on « Représentant légal » is refused as a wrong password.
        profile = "Élève" if account.kind == AccountKind.PUPIL else "Représentant légal"
        other = "Représentant légal" if account.kind == AccountKind.PUPIL else "Élève"
        assert re.search(rf"Profil à choisir\s*:\s*{profile}", text), text
        assert f"choisissez le profil « {profile} »" in " ".join(text.split())
        assert other not in text
        seen[identifier] = password
    assert len(seen) == 6 and len(set(seen.values())) == 6
    for text in texts:  # nobody else's credentials on a page
        assert sum(identifier in text for identifier in seen) == 1
        assert sum(password in text for password in seen.values()) == 1

    noe = Pupil.objects.select_related("account").get(pk=world.pupil_a1_bis.pk)
    claire = GuardianRecord.objects.select_related("account").get(pk=class_6a["martin_mother"].pk)
    assert noe.account.kind == AccountKind.PUPIL
    assert claire.account.kind == AccountKind.GUARDIAN
    claire_page = next(t for t in texts if claire.account.display_identifier in t)
    assert "Noé MARTIN" in claire_page  # the children concerned
    expected = timezone.now() + timedelta(days=92)
    assert abs(claire.account.provisional_expires_at - expected) < timedelta(minutes=5)
    assert GuardianRecord.objects.get(pk=world.rec_a1.pk).account == world.account_a1


def test_a_guardian_page_lists_each_child_after_its_bullet_and_ends_on_no_lone_bullet(
        world, class_6a, secretary):
    """Tryout of the letters: each guardian page's extracted text ended on a lone « • » (the
    list markers of the children, drawn after the page's text in a tagged PDF), and the
    children's names came without their bullet. A reader of the PDF meets them in order."""
    ResponsibilityFactory(guardian_record=class_6a["martin_mother"], pupil=world.pupil_a1)
    run = run_letters(secretary, world.a1, class_6a["pupils"])
    _reader, texts = pages_of(run, secretary)

    guardian_pages = [text for text in texts if "Représentant légal" in text]
    assert len(guardian_pages) == 3
    for text in guardian_pages:
        lines = [line.strip() for line in text.splitlines()]
        assert not [line for line in lines if line in {"•", "·", "-", "–"}], text
        assert lines[-1].endswith("courrier à personne."), text
    claire_page = next(text for text in guardian_pages if "Bonjour Claire MARTIN" in text)
    lines = [line.strip() for line in claire_page.splitlines()]
    concerning = lines.index("d'accéder aux services concernant :")
    assert lines[concerning + 1:concerning + 3] == ["• Zoé LEFÈVRE", "• Noé MARTIN"], lines


def test_the_pdf_is_tagged(world, class_6a, secretary):
    run = run_letters(secretary, world.a1, class_6a["pupils"])
    reader, _texts = pages_of(run, secretary)
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] is True or root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    assert root["/Lang"] == "fr"
    tree = root["/StructTreeRoot"]
    document = tree["/K"][0].get_object()
    assert document["/S"] == "/Document"
    sections = [kid.get_object() for kid in document["/K"]]
    page_ids = [page.indirect_reference.idnum for page in reader.pages]
    # One section per page, each pointing to its own page, headings inside.
    assert [s["/S"] for s in sections] == ["/Sect"] * len(page_ids)
    assert [s["/K"][0].get_object().raw_get("/Pg").idnum for s in sections] == page_ids
    keys = [page["/StructParents"] for page in reader.pages]
    assert len(set(keys)) == len(keys)  # parts merged without a clash in the parent tree
    nums = tree["/ParentTree"]["/Nums"]
    assert set(keys) <= set(nums[::2])


def test_no_provisional_password_in_the_database_or_the_journal(
        world, class_6a, secretary, transactional_db, settings):
    settings.LETTERS_RUN_ON_COMMIT = False
    run = run_letters(secretary, world.a1, class_6a["pupils"], delivery="email")
    _reader, texts = pages_of(run, secretary)
    passwords = [PASSWORD.search(text)[1] for text in texts]
    from django.core import mail

    # Committed, so the outbox has sent it already (locmem delivery here) and wiped its text.
    message = OutboundMessage.objects.get(recipient="sarah.petit@exemple.fr")
    assert message.contains_secret and message.status == "sent"
    assert PASSWORD.search(message.body) is None
    emailed = PASSWORD.search(mail.outbox[-1].body)[1]
    passwords.append(emailed)
    assert not any("Sarah" in text for text in texts)  # e-mailed, not printed
    settings_dict = connection.settings_dict
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", settings_dict["HOST"] or "127.0.0.1",
         "-p", str(settings_dict["PORT"] or 5432), "-U", settings_dict["USER"],
         settings_dict["NAME"]], capture_output=True, text=True, check=True,
        env={"PGPASSWORD": settings_dict.get("PASSWORD") or "", "PATH": "/usr/bin:/bin"},
    ).stdout
    assert "sarah.petit@exemple.fr" in dump  # the dump does see the data
    for password in passwords:
        assert password not in dump
    journal = "".join(str(event.data) for event in JournalEvent.objects.all())
    assert emailed not in journal
    issued = JournalEvent.objects.filter(kind="letters.issued").count()
    assert issued == 6
    done = JournalEvent.objects.get(kind="letters.run_done")
    assert done.actor == secretary
    assert (done.data["accounts_created"], done.data["emailed"], done.data["pages"]) == (6, 1, 5)


def test_an_emailed_letter_is_wiped_from_the_outbox_once_sent(world, class_6a, secretary,
                                                              smtp_server):
    from notifications.services import message_send

    run_letters(secretary, world.a1, class_6a["pupils"], delivery="email")
    message = OutboundMessage.objects.get(recipient="sarah.petit@exemple.fr")
    assert PASSWORD.search(message.body)  # queued: the text is there until it leaves
    message_send(message_id=message.pk)
    smtp_server.wait_for(1, timeout=10)
    received = smtp_server.messages[0]
    from tests.mailbox import text_of

    assert PASSWORD.search(text_of(received))
    # A guardian's letter (only guardians' are e-mailed): the profile to choose at sign-in.
    assert re.search(r"Profil à choisir\s*:\s*Représentant légal", text_of(received))
    # The school named as an establishment, whatever kind it is (no « de Collège »).
    assert (" ".join(received["Subject"].split())
            == f"Votre compte ÉduConnect, de la part de l'établissement {world.a1.name}")
    assert "enfants sous votre responsabilité permet de simplifier" in text_of(received)
    message.refresh_from_db()
    assert PASSWORD.search(message.body) is None


def test_a_reissue_makes_a_new_password_and_kills_the_old_one(world, class_6a, secretary):
    first, counts = letters.letters_issue(establishment=world.a1, actor=secretary,
                                          pupil_ids=[world.pupil_a1_bis.pk])
    assert counts.created == 1
    account = Account.objects.get(pk=first[0].account_id)
    assert account.check_password(first[0].password)

    again, counts = letters.letters_issue(establishment=world.a1, actor=secretary,
                                          pupil_ids=[world.pupil_a1_bis.pk])
    assert (counts.created, counts.reissued) == (0, 1)
    assert again[0].account_id == account.pk and again[0].identifier == first[0].identifier
    account.refresh_from_db()
    assert not account.check_password(first[0].password)
    assert account.check_password(again[0].password)


def test_a_record_or_pupil_covered_by_an_active_account_gets_no_letter(world, class_6a,
                                                                      secretary):
    zoe = world.pupil_a1
    zoe.account = AccountFactory(identifier="z.lefevre10", kind=AccountKind.PUPIL)
    zoe.save()
    before = world.account_a1.password
    made, counts = letters.letters_issue(establishment=world.a1, actor=secretary,
                                         pupil_ids=[zoe.pk], guardian_record_ids=[world.rec_a1.pk])
    assert made == [] and counts.skipped == 2
    world.account_a1.refresh_from_db()
    assert world.account_a1.password == before and world.account_a1.state == AccountState.ACTIVE
    addressees = letters.letter_addressees(establishment=world.a1, pupil_ids=[zoe.pk])
    assert addressees.total == 0 and addressees.skipped == 2


def test_pupils_of_another_school_are_refused(world, secretary):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refusal:
        letters.letter_run_request(establishment=world.a1, actor=secretary,
                                   pupil_ids=[world.pupil_b1.pk])
    assert "n'est pas de cet établissement" in str(refusal.value)
    assert not LetterRun.objects.exists()


# --- Back-office pages ------------------------------------------------------------------


def test_secretary_makes_letters_of_a_level_from_the_back_office(world, class_6a, secretary,
                                                                 client):
    sign_in(client, secretary)
    page = client.get("/gestion/lettres/", {"niveau": "6EME"}).content.decode()
    assert "PETIT Inès" in page and "ROUX" not in page  # the level chosen only
    response = client.post("/gestion/lettres/", {
        "etablissement": world.a1.pk, "niveau": "6EME", "remise": "paper",
        "eleves": [p.pk for p in class_6a["pupils"]]})
    assert response.status_code == 302
    run = LetterRun.objects.get()
    assert response["Location"] == f"/gestion/lettres/{run.pk}/"
    asked = unescape(client.get(response["Location"]).content.decode())
    # The message tells what was done (asked for), so it never contradicts « Terminé ».
    assert "Les lettres ont été demandées" in asked and "en préparation" not in asked
    assert f"Lettres — {world.a1.name}" in asked and "Lettres de " not in asked
    progress = client.get(f"/gestion/lettres/{run.pk}/avancement/").json()
    assert progress["status"] == "queued" and progress["finished"] is False
    letters.letter_runs_start()
    assert client.get(f"/gestion/lettres/{run.pk}/avancement/").json()["percent"] == 100
    download = client.get(f"/gestion/lettres/{run.pk}/pdf/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert "no-store" in download["Cache-Control"]
    assert len(PdfReader(io.BytesIO(b"".join(download.streaming_content))).pages) == 6
    assert JournalEvent.objects.filter(kind="letters.file_downloaded", actor=secretary).exists()


def test_no_pupil_ticked_gives_a_french_error(world, class_6a, secretary, client):
    sign_in(client, secretary)
    response = client.post("/gestion/lettres/", {"etablissement": world.a1.pk,
                                                 "niveau": "6EME", "remise": "paper"})
    assert response.status_code == 400
    assert "cochez au moins un élève" in response.content.decode()


def test_other_schools_and_other_secretaries_cannot_see_or_download(world, class_6a,
                                                                    secretary, client):
    run = run_letters(secretary, world.a1, class_6a["pupils"])
    colleague = make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Collegue")
    elsewhere = make_staff(StaffRole.SECRETARY, establishments=[world.b1], last_name="Ailleurs")

    sign_in(client, elsewhere)
    assert client.get(f"/gestion/lettres/{run.pk}/").status_code == 404
    assert client.get(f"/gestion/lettres/{run.pk}/pdf/").status_code == 404
    refused = client.post("/gestion/lettres/", {
        "etablissement": world.a1.pk, "eleves": [world.pupil_a1.pk]})
    assert refused.status_code == 400
    assert "cet établissement n&#x27;est pas l&#x27;un des vôtres" in refused.content.decode()
    assert LetterRun.objects.count() == 1

    sign_in(client, colleague)  # same school: sees the run, not the passwords
    page = client.get(f"/gestion/lettres/{run.pk}/").content.decode()
    assert "Seule la personne qui a demandé ces lettres" in page
    assert client.get(f"/gestion/lettres/{run.pk}/pdf/").status_code == 404
    assert not JournalEvent.objects.filter(kind="letters.file_downloaded").exists()


def test_the_file_expires_and_is_deleted(world, class_6a, secretary, client, settings):
    run = run_letters(secretary, world.a1, class_6a["pupils"])
    path = settings.LETTERS_DIR / run.file_name
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert letters.letter_files_purge() == 0  # not yet
    later = run.file_expires_at + timedelta(seconds=1)
    assert letters.letter_files_purge(now=later) == 1
    assert not path.exists()
    run.refresh_from_db()
    assert run.file_name == ""
    sign_in(client, secretary)
    assert client.get(f"/gestion/lettres/{run.pk}/pdf/").status_code == 410
    assert JournalEvent.objects.filter(kind="letters.file_deleted").count() == 1


def test_a_file_past_its_time_is_refused_even_before_the_purge(world, class_6a, secretary):
    run = run_letters(secretary, world.a1, class_6a["pupils"])
    LetterRun.objects.filter(pk=run.pk).update(file_expires_at=timezone.now())
    run.refresh_from_db()
    with pytest.raises(letters.LetterFileGone):
        letters.letter_run_file_open(run=run, actor=secretary)


def _assert_failed_without_file(run, settings):
    run.refresh_from_db()
    assert run.status == LetterRunStatus.FAILED and run.file_name == ""
    assert "demandez les lettres à nouveau" in run.failure
    assert list(settings.LETTERS_DIR.iterdir()) == []
    assert JournalEvent.objects.filter(kind="letters.run_failed").exists()


def test_a_failed_run_leaves_no_file(world, class_6a, secretary, monkeypatch, settings):
    """In the run's own process (LETTERS_RENDER_PROCESSES = 0), WeasyPrint raises."""
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    settings.LETTERS_RENDER_PROCESSES = 0
    monkeypatch.setattr(letters.pdf_render, "pdf_write", broken)
    run = letters.letter_run_request(establishment=world.a1, actor=secretary,
                                     pupil_ids=[p.pk for p in class_6a["pupils"]])
    letters.letter_runs_start()
    _assert_failed_without_file(run, settings)


@pytest.mark.parametrize("renderer", [
    "import sys; sys.exit(3)",  # dies at once (a crash, the OOM killer)
    "import sys; sys.stdin.buffer.readline(); print('error MemoryError', flush=True)",
])
def test_a_renderer_process_that_dies_or_fails_fails_the_run_without_a_file(
        world, class_6a, secretary, monkeypatch, settings, renderer):
    settings.LETTERS_RENDER_PROCESSES = 2
    monkeypatch.setattr(letters, "RENDERER_COMMAND", (sys.executable, "-c", renderer))
    run = letters.letter_run_request(establishment=world.a1, actor=secretary,
                                     pupil_ids=[p.pk for p in class_6a["pupils"]])
    letters.letter_runs_start()
    _assert_failed_without_file(run, settings)


def test_the_renderer_processes_render_the_run_and_exit(world, class_6a, secretary,
                                                        settings):
    """Two renderer processes, parts of 2 letters: the merged file has every page, in the
    print order (pupils, then guardian records), and no renderer is left running."""
    settings.LETTERS_RENDER_PROCESSES = 2
    pupil_ids = [p.pk for p in class_6a["pupils"]]
    run = letters.letter_run_request(establishment=world.a1, actor=secretary,
                                     pupil_ids=pupil_ids)
    letters.letter_runs_start()
    run.refresh_from_db()
    assert run.status == LetterRunStatus.DONE and run.pages == run.total > 2
    order = letters.letter_addressees(establishment=world.a1, pupil_ids=pupil_ids)
    expected = [Pupil.objects.get(pk=pk).account.display_identifier
                for pk in order.pupil_ids] + \
               [GuardianRecord.objects.get(pk=pk).account.display_identifier
                for pk in order.guardian_record_ids]
    reader = PdfReader(settings.LETTERS_DIR / run.file_name)
    printed = [IDENTIFIER.search(page.extract_text()).group(1) for page in reader.pages]
    assert printed == expected
    assert _renderer_processes() == []


def _renderer_processes() -> list[int]:
    """The pids of this process's children running pupils.pdf_render (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"pupils.pdf_render" in cmdline:
            found.append(int(entry.name))
    return found


# --- Follow-up (§4) -----------------------------------------------------------------------


def test_follow_up_counts_lists_and_csv(world, class_6a, secretary, helpdesk_agent, client):
    _made, _counts = letters.letters_issue(
        establishment=world.a1, actor=secretary, pupil_ids=[world.pupil_a1_bis.pk],
        guardian_record_ids=[class_6a["martin_mother"].pk, class_6a["martin_father"].pk])
    paul = GuardianRecord.objects.get(pk=class_6a["martin_father"].pk).account
    Account.objects.filter(pk=paul.pk).update(
        provisional_expires_at=timezone.now() - timedelta(days=1))
    sign_in(client, secretary)
    page = client.get("/gestion/suivi-des-comptes/").content.decode()
    from bs4 import BeautifulSoup

    table = BeautifulSoup(page, "html.parser").find(id="follow-up-counts")
    rows = {tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
            for tr in table.tbody.find_all("tr")}
    # 6EME: pupils Zoé (none), Noé (provisional), Inès (none); guardians Hélène (active),
    # Claire (provisional), Paul (expired), Sarah (none).
    assert rows["6e"] == ["0", "1", "0", "2", "0", "1", "1", "1", "1", "0"]
    assert rows["5e"] == ["0", "0", "0", "1", "0", "0", "0", "0", "0", "0"]

    listing = client.get("/gestion/suivi-des-comptes/", {
        "qui": "responsables", "etat": "expired"}).content.decode()
    assert "MARTIN Paul" in listing and "MARTIN Claire" not in listing
    export = client.get("/gestion/suivi-des-comptes/", {
        "qui": "responsables", "niveau": "6EME", "format": "csv"})
    assert export["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Nom", "Prénom", "Niveau", "Identifiant", "État du compte"]
    by_name = {(line[0], line[1]): line for line in lines[1:]}
    assert by_name[("MARTIN", "Paul")][3] == paul.display_identifier
    assert by_name[("MARTIN", "Paul")][4] == "mot de passe provisoire expiré"
    assert by_name[("LEFÈVRE", "Hélène")][4] == "compte actif"
    assert len(lines) == 5

    sign_in(client, helpdesk_agent)  # the academy's helpdesk: any school of Créteil
    assert "MARTIN" in client.get("/gestion/suivi-des-comptes/", {
        "etablissement": world.a1.pk, "qui": "responsables"}).content.decode()
    outside = client.get("/gestion/suivi-des-comptes/", {"etablissement": world.b1.pk,
                                                         "format": "csv"})
    assert "Lefèvre".upper() not in outside.content.decode("utf-8", "replace")  # Lyon: not hers
    # The helpdesk follows but does not make letters.
    assert client.get("/gestion/lettres/").status_code == 403


def test_follow_up_is_scoped_for_a_secretary(world, class_6a, client):
    elsewhere = make_staff(StaffRole.SECRETARY, establishments=[world.b1], last_name="Ailleurs")
    sign_in(client, elsewhere)
    page = client.get("/gestion/suivi-des-comptes/", {"etablissement": world.a1.pk})
    assert "MARTIN" not in page.content.decode()
    assert "Collège Jules-Ferry" not in page.content.decode()


def test_letter_dates_read_in_french(world, class_6a, secretary):
    made, _ = letters.letters_issue(establishment=world.a1, actor=secretary,
                                    pupil_ids=[world.pupil_a1_bis.pk])
    text = PdfReader(io.BytesIO(letters.letters_pdf_render(
        made, establishment=world.a1))).pages[0].extract_text()
    expires = timezone.localtime(made[0].expires_at).date()
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre"]
    assert f"{expires.day} {months[expires.month - 1]} {expires.year}" in " ".join(text.split())
    assert isinstance(expires, datetime.date)


def test_levels_read_in_words_in_letters_and_follow_up(world, class_6a, secretary, client):
    # Rosters write « 6EME », « 5EME »; the family side reads « 6e », « 5e » (levels.py).
    from bs4 import BeautifulSoup

    sign_in(client, secretary)
    for url, extra in (("/gestion/lettres/", {"niveau": "6EME"}),
                       ("/gestion/suivi-des-comptes/", {"niveau": "6EME"})):
        page = BeautifulSoup(client.get(url, extra).content.decode(), "html.parser")
        select = page.find("select", attrs={"name": "niveau"})
        options = [(o.get("value"), o.get_text(strip=True)) for o in select.find_all("option")
                   if o.get("value")]
        assert options == [("6EME", "6e"), ("5EME", "5e")], url
        assert "6EME" not in page.get_text() and "5EME" not in page.get_text(), url
    listing = BeautifulSoup(client.get("/gestion/suivi-des-comptes/", {
        "qui": "responsables"}).content.decode(), "html.parser").get_text()
    assert "6EME" not in listing and "6e" in listing
