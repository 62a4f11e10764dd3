"""A helpdesk action and its reason are kept where the agent looks for them: the journal of
the file it concerns (a guardian record has neither account nor flow to hang it on) and
« Mes actions » of the back-office's index."""

from html import unescape

import pytest
from django.urls import reverse

from activation.flows import WRONG_DATES_PER_PHONE
from core import ratelimit
from tests import html

pytestmark = pytest.mark.django_db

REASON = "Date de naissance corrigée par l'école le 4/09"


def test_an_unblock_and_its_reason_appear_in_the_records_journal_and_my_actions(
    helpdesk_client, world
):
    for _ in range(10):
        ratelimit.hit(WRONG_DATES_PER_PHONE, "+33622334455")  # world.rec_a2, no account
    url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])
    helpdesk_client.post(url + "debloquer/", {"unblock-reason": REASON})

    page = html.parse(helpdesk_client.get(url))
    journal = html.text(page.find("caption", string=lambda s: s and "Journal" in s)
                        .find_parent("table"))
    assert "Activation débloquée par l'assistance" in journal
    assert REASON in journal

    index = html.parse(helpdesk_client.get(reverse("admin:index")))
    mine = index.find(id="helpdesk-actions")
    assert mine is not None
    assert "Activation débloquée par l'assistance" in html.text(mine)
    assert REASON in html.text(mine)
    assert mine.find("a")["href"] == url
    assert "Aucune action pour l'instant" not in unescape(str(index))


def test_a_secretary_without_helpdesk_actions_still_reads_no_action(secretary_client):
    index = html.parse(secretary_client.get(reverse("admin:index")))
    assert index.find(id="helpdesk-actions") is None
    assert "Aucune action pour l'instant." in html.text(index.find(id="recent-actions-module"))


def test_handling_an_assistance_request_appears_in_my_actions(
    helpdesk_client, world, django_capture_on_commit_callbacks
):
    from django.test import Client

    from tests.backoffice.test_assistance_queue import submit

    item = submit(Client(), django_capture_on_commit_callbacks, school="0940001A")
    queue = f"/gestion/demandes/{item.pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        helpdesk_client.post(queue + "prendre/")
        helpdesk_client.post(queue + "repondre/", {"body": "Bonjour, recommencez l'activation."})
        helpdesk_client.post(queue + "clore/")

    index = html.parse(helpdesk_client.get(reverse("admin:index")))
    mine = index.find(id="helpdesk-actions")
    assert mine is not None
    text = html.text(mine)
    for label in ("Demande d'assistance prise en charge",
                  "Réponse envoyée à une demande d'assistance", "Demande d'assistance close"):
        assert label in text
    assert f"demande d'assistance n° {item.pk}" in text
    assert all(link["href"] == queue for link in mine.find_all("a"))
    # The family's own submission is not the agent's action.
    assert "Demande d'assistance envoyée par une famille" not in text


def test_a_record_covered_by_an_active_account_gives_no_activation_advice(
    helpdesk_client, world
):
    page = html.parse(helpdesk_client.get(
        reverse("admin:helpdesk_record", args=[world.rec_a1.pk])))
    text = html.text(page)
    assert ("Cette fiche est couverte par le compte actif H.LEFEVRE12 : le parent se connecte "
            "avec son identifiant et son mot de passe ; il n'y a pas d'activation à faire."
            ) in text
    notice = page.find(id="active-account")
    assert notice.find("a")["href"] == reverse("admin:helpdesk_account",
                                               args=[world.account_a1.pk])
    assert "Je n'ai pas de compte" not in text
    assert "Débloquer l'activation" not in text
    assert "Renvoyer le SMS" not in text
