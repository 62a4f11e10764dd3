"""The page of a letter run says what was chosen, in French counts: a letter remade for one
account (« Refaire la lettre ») is « 1 compte choisi un par un », without an « Élèves
choisis 0 » line; pupils chosen with their guardians are counted « 1 élève choisi »,
« 2 élèves choisis » (core.french.plural_count: the singular for 0 and 1)."""

import pytest
from bs4 import BeautifulSoup

from pupils import letters
from pupils.models import LetterRun

from . import test_letters
from .conftest import sign_in

class_6a = test_letters.class_6a  # the class of 6EME at A1 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("letters_here")]


def summary(client, run) -> dict[str, str]:
    page = BeautifulSoup(client.get(f"/gestion/lettres/{run.pk}/").content.decode(),
                         "html.parser")
    lines = page.select_one("dl.summary")
    return {" ".join(dt.get_text().split()): " ".join(dt.find_next_sibling("dd").get_text()
                                                      .split())
            for dt in lines.find_all("dt")}


def test_a_letter_remade_for_one_parent_counts_one_account_and_no_pupil(
        world, class_6a, secretary, client):
    letters.letters_issue(establishment=world.a1, actor=secretary,
                          guardian_record_ids=[class_6a["martin_mother"].pk])
    sign_in(client, secretary)
    response = client.post("/gestion/suivi-des-comptes/", {
        "etablissement": world.a1.pk, "qui": "responsables",
        "id": class_6a["martin_mother"].pk, "confirmer": "oui"})
    assert response.status_code == 302
    lines = summary(client, LetterRun.objects.get())
    assert lines["Compte choisi un par un"] == "1"
    assert not [label for label in lines if label.startswith("Élève")], lines


def test_a_pupils_letter_remade_alone_is_one_account_chosen(world, class_6a, secretary, client):
    letters.letters_issue(establishment=world.a1, actor=secretary,
                          pupil_ids=[world.pupil_a1_bis.pk])
    sign_in(client, secretary)
    client.post("/gestion/suivi-des-comptes/", {
        "etablissement": world.a1.pk, "qui": "eleves", "id": world.pupil_a1_bis.pk,
        "confirmer": "oui"})
    lines = summary(client, LetterRun.objects.get())
    assert lines["Compte choisi un par un"] == "1"
    assert not [label for label in lines if label.startswith("Élève")], lines


@pytest.mark.parametrize(("chosen", "label"), [(1, "Élève choisi"), (2, "Élèves choisis")])
def test_pupils_chosen_with_their_guardians_are_counted_in_french(
        world, class_6a, secretary, client, chosen, label):
    run = letters.letter_run_request(
        establishment=world.a1, actor=secretary,
        pupil_ids=[p.pk for p in class_6a["pupils"][1:1 + chosen]])
    sign_in(client, secretary)
    lines = summary(client, run)
    assert lines[label] == str(chosen), lines
    assert not [name for name in lines if name.startswith("Compte") and "choisi" in name]


def test_two_accounts_chosen_one_by_one_are_plural(world, class_6a, secretary, client):
    run = letters.letter_run_request(
        establishment=world.a1, actor=secretary,
        guardian_record_ids=[class_6a["martin_mother"].pk, class_6a["martin_father"].pk])
    sign_in(client, secretary)
    lines = summary(client, run)
    assert lines["Comptes choisis un par un"] == "2"
    assert not [label for label in lines if label.startswith("Élève")], lines
