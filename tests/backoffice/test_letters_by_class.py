"""Letters chosen by class (issue 9 §1: « by level or class, or one by one »): a secretary
picks one of her school's classes on « Lettres des comptes provisoires », sees that class's
pupils only, unticks one, and the letters are made for the ticked ones; another school's
class is never offered nor shown. The follow-up lists filter by class too, and the pupil
page of the back-office shows and fixes the class."""

import io

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from pypdf import PdfReader

from core.models import JournalEvent
from pupils import letters
from pupils.models import LetterRun, Pupil
from tests.factories import GuardianRecordFactory, PupilFactory, ResponsibilityFactory

from .conftest import sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("letters_here")]


@pytest.fixture
def classes(world):
    """At A1 (Collège Jules-Ferry), level 6EME: 6B has Ambre Quesnel and Yanis Ferrand (one
    guardian each), 6C has Lou Bastide; at B1 (another school) a pupil of class « 6B » too,
    and one of class « TZ9 » that A1 has not."""
    school = world.a1
    ambre = PupilFactory(establishment=school, ine="555555551AA", last_name="Quesnel",
                         first_names="Ambre", level="6EME", division="6B")
    yanis = PupilFactory(establishment=school, ine="555555552AA", last_name="Ferrand",
                         first_names="Yanis", level="6EME", division="6B")
    lou = PupilFactory(establishment=school, ine="555555553AA", last_name="Bastide",
                       first_names="Lou", level="6EME", division="6C")
    for pupil, first_name in ((ambre, "Odile"), (yanis, "Karim"), (lou, "Maud")):
        record = GuardianRecordFactory(establishment=school, last_name=pupil.last_name,
                                       first_name=first_name)
        ResponsibilityFactory(guardian_record=record, pupil=pupil)
    elsewhere = PupilFactory(establishment=world.b1, ine="555555554AA", last_name="Vidal",
                             first_names="Nils", level="6EME", division="6B")
    PupilFactory(establishment=world.b1, ine="555555555AA", last_name="Orsini",
                 first_names="Léna", level="TLE", division="TZ9")
    return {"ambre": ambre, "yanis": yanis, "lou": lou, "elsewhere": elsewhere}


def _pupil_rows(page: str) -> dict[str, str]:
    """{pupil's name: the checkbox's value} of the page's pupil table."""
    soup = BeautifulSoup(page, "html.parser")
    return {row.th.get_text(strip=True): row.find("input", type="checkbox")["value"]
            for row in soup.select("form[method=post] tbody tr")}


def test_the_class_menu_offers_her_schools_classes_only(world, classes, secretary, client):
    sign_in(client, secretary)
    soup = BeautifulSoup(client.get("/gestion/lettres/").content, "html.parser")
    options = [o["value"] for o in soup.select("select#id_classe option")]
    assert options == ["", "6B", "6C"]  # not B1's « TZ9 »
    assert soup.find("label", attrs={"for": "id_classe"}).get_text(strip=True) == "Classe"


def test_a_class_shows_its_pupils_and_the_ticked_ones_get_letters(world, classes, secretary,
                                                                  client):
    sign_in(client, secretary)
    page = client.get("/gestion/lettres/", {"classe": "6B"}).content.decode()
    rows = _pupil_rows(page)
    # 6B of A1 only: not Lou (6C), not Nils (6B of another school), not the world's pupils.
    assert set(rows) == {"QUESNEL Ambre", "FERRAND Yanis"}
    assert "Élèves de la classe 6B" in page
    response = client.post("/gestion/lettres/", {
        "etablissement": world.a1.pk, "classe": "6B", "remise": "paper",
        "eleves": [rows["QUESNEL Ambre"]]})  # Yanis unticked: one by one
    assert response.status_code == 302
    run = LetterRun.objects.get()
    assert run.pupil_ids == [classes["ambre"].pk]
    assert JournalEvent.objects.get(kind="letters.run_requested").data["pupils"] == 1
    letters.letter_runs_start()
    with letters.letter_run_file_open(run=LetterRun.objects.get(), actor=secretary) as handle:
        text = [p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages]
    assert len(text) == 2  # Ambre and her mother Odile
    assert any("Ambre QUESNEL" in t for t in text) and any("Odile QUESNEL" in t for t in text)
    assert not any("FERRAND" in t for t in text)
    yanis = Pupil.objects.get(pk=classes["yanis"].pk)
    assert yanis.account_id is None


def test_level_and_class_together_narrow_the_list(world, classes, secretary, client):
    sign_in(client, secretary)
    rows = _pupil_rows(client.get("/gestion/lettres/", {"niveau": "6EME", "classe": "6C"})
                       .content.decode())
    assert set(rows) == {"BASTIDE Lou"}
    rows = _pupil_rows(client.get("/gestion/lettres/", {"niveau": "6EME"}).content.decode())
    assert {"QUESNEL Ambre", "FERRAND Yanis", "BASTIDE Lou"} <= set(rows)


def test_another_schools_class_shows_nobody_and_its_pupils_are_refused(world, classes,
                                                                       secretary, client):
    sign_in(client, secretary)
    page = client.get("/gestion/lettres/", {"classe": "TZ9"}).content.decode()
    assert _pupil_rows(page) == {} and "ORSINI" not in page
    response = client.post("/gestion/lettres/", {
        "etablissement": world.a1.pk, "classe": "6B", "remise": "paper",
        "eleves": [classes["elsewhere"].pk]})
    assert response.status_code == 400
    assert "n&#x27;est pas de cet établissement" in response.content.decode()
    assert not LetterRun.objects.exists()


def test_the_follow_up_filters_by_class(world, classes, secretary, client):
    sign_in(client, secretary)
    page = client.get("/gestion/suivi-des-comptes/", {"classe": "6C"}).content.decode()
    listing = BeautifulSoup(page, "html.parser").find(id="follow-up-list")
    names = [th.get_text(strip=True) for th in listing.tbody.find_all("th")]
    assert names == ["BASTIDE Lou"]
    guardians = client.get("/gestion/suivi-des-comptes/", {
        "classe": "6B", "qui": "responsables", "format": "csv"}).content.decode("utf-8-sig")
    assert "QUESNEL;Odile" in guardians and "FERRAND;Karim" in guardians
    assert "BASTIDE" not in guardians


def test_the_pupil_page_shows_and_fixes_the_class(world, classes, secretary, client):
    sign_in(client, secretary)
    pupil = classes["lou"]
    url = reverse("admin:pupils_pupil_change", args=[pupil.pk])
    assert 'value="6C"' in client.get(url).content.decode()
    data = {
        "last_name": pupil.last_name, "first_names": pupil.first_names,
        "birth_date": pupil.birth_date.strftime("%d/%m/%Y"), "division": "  6B ",
        "responsibilities-TOTAL_FORMS": "0", "responsibilities-INITIAL_FORMS": "0",
        "responsibilities-MIN_NUM_FORMS": "0", "responsibilities-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    pupil.refresh_from_db()
    assert pupil.division == "6B"
    assert pupil.history.latest().history_user == secretary
    event = JournalEvent.objects.get(kind="pupils.pupil_division_updated")  # « Classe … corrigée »
    assert event.data["changed"] == ["division"] and event.actor == secretary
    listing = client.get(reverse("admin:pupils_pupil_changelist")).content.decode()
    assert "6B" in listing

    response = client.post(url, {**data, "division": "6" * 41})
    assert response.status_code == 200
    assert "au plus 40 caractères" in response.content.decode()
    pupil.refresh_from_db()
    assert pupil.division == "6B"
