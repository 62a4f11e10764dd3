"""« Mes actions » of the back-office's index lists a secretary's own letter runs (a fresh-eyes
tryout found only helpdesk actions there): when, for which school and which class or level,
how many pupils, its state, and a link to the run's page (its PDF while it is kept)."""

from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from backoffice.selectors import HELPDESK_ACTIONS_SHOWN
from core.models import JournalEvent
from pupils import letters
from pupils.models import LetterRun
from tests import html

from .conftest import make_staff, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("letters_here")]


@pytest.fixture
def class_6a(world):
    """Zoé and Noé of A1, in class 6A (level 6e)."""
    pupils = [world.pupil_a1, world.pupil_a1_bis]
    for pupil in pupils:
        pupil.level, pupil.division = "6EME", "6A"
        pupil.save()
    return pupils


def my_actions(client) -> list:
    index = html.parse(client.get(reverse("admin:index")))
    mine = index.find(id="helpdesk-actions")
    return [] if mine is None else mine.find_all("li")


def test_a_secretarys_letter_run_appears_in_her_actions_with_a_link_to_it(
    secretary_client, secretary, world, class_6a
):
    response = secretary_client.post(reverse("admin:letters_new"), {
        "etablissement": world.a1.pk, "classe": "6A", "remise": "paper",
        "eleves": [p.pk for p in class_6a]})
    assert response.status_code == 302
    run = LetterRun.objects.get()
    assert letters.letter_runs_start() == 1

    [line] = my_actions(secretary_client)
    text = html.text(line)
    assert "Lettres demandées par l'établissement" in text
    assert "Collège Jules-Ferry" in text
    assert "classe 6A" in text
    assert "2 élèves" in text
    assert "Terminé" in text
    assert timezone.localtime(run.created_at).strftime("%d/%m/%Y") in text
    link = line.find("a")
    assert link["href"] == reverse("admin:letter_run", args=[run.pk])
    # The link leads to the run's page, where her PDF is offered.
    page = unescape(secretary_client.get(link["href"]).content.decode())
    assert "Télécharger le PDF des lettres" in page
    assert "Aucune action pour l'instant" not in html.text(
        html.parse(secretary_client.get(reverse("admin:index"))).find(id="recent-actions-module"))


def test_a_run_of_a_level_says_the_level_and_only_her_own_runs_are_listed(
    client, secretary, world, class_6a
):
    colleague = make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Collegue")
    letters.letter_run_request(establishment=world.a1, actor=colleague,
                               pupil_ids=[class_6a[0].pk])
    world.pupil_a1_bis.division = "6B"
    world.pupil_a1_bis.save()
    mine = letters.letter_run_request(establishment=world.a1, actor=secretary,
                                      pupil_ids=[p.pk for p in class_6a])

    sign_in(client, secretary)
    [line] = my_actions(client)
    text = html.text(line)
    assert "niveau 6e" in text and "2 élèves" in text and "En attente" in text
    assert line.find("a")["href"] == reverse("admin:letter_run", args=[mine.pk])

    sign_in(client, colleague)
    [line] = my_actions(client)
    assert "1 élève" in html.text(line) and "classe 6A" in html.text(line)


def test_her_runs_are_listed_newest_first_as_many_as_the_other_actions(
    secretary_client, secretary, world, class_6a
):
    runs = [letters.letter_run_request(establishment=world.a1, actor=secretary,
                                       pupil_ids=[class_6a[0].pk])
            for _ in range(HELPDESK_ACTIONS_SHOWN + 2)]
    # Each request a minute after the previous one.
    start = timezone.now() - timedelta(hours=1)
    for n, run in enumerate(runs):
        JournalEvent.objects.filter(kind="letters.run_requested", data__letter_run=run.pk
                                    ).update(at=start + timedelta(minutes=n))

    lines = my_actions(secretary_client)
    assert [line.find("a")["href"] for line in lines] == [
        reverse("admin:letter_run", args=[run.pk])
        for run in reversed(runs[-HELPDESK_ACTIONS_SHOWN:])]


def test_a_helpdesk_agents_actions_are_unchanged(helpdesk_client, helpdesk_agent, world,
                                                 secretary, class_6a):
    letters.letter_run_request(establishment=world.a1, actor=secretary,
                               pupil_ids=[class_6a[0].pk])
    assert my_actions(helpdesk_client) == []
