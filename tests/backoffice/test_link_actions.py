"""The links list's actions and pages write through pupils.services: journaled with their
author, all or nothing, and a refusal that comes at save time is a message, never a 500."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from core.models import JournalEvent
from pupils import services
from pupils.models import Pupil, Responsibility
from pupils.selectors import pupils_of_guardian_account
from tests.factories import GuardianRecordFactory, ResponsibilityFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:pupils_responsibility_changelist"


def act(client, action, *links):
    response = client.post(reverse(CHANGELIST), {"action": action,
                                                 "_selected_action": [x.pk for x in links]},
                           follow=True)
    return [str(m) for m in get_messages(response.wsgi_request)] or [
        str(m) for m in response.context["messages"]
    ]


def test_removing_links_is_journaled_and_says_what_changed(secretary_client, secretary, world):
    messages = act(secretary_client, "links_remove", world.link_a1)
    assert messages == ["1 lien retiré."]
    event = JournalEvent.objects.get(kind="pupils.link_removed")
    assert (event.actor, event.account) == (secretary, world.account_a1)
    assert event.data["link"] == world.link_a1.pk

    messages = act(secretary_client, "links_remove", world.link_a1)
    assert messages == ["Aucun lien retiré. 1 lien était déjà dans cet état : inchangé."]
    assert JournalEvent.objects.filter(kind="pupils.link_removed").count() == 1


def test_confirming_a_disputed_link_resolves_the_dispute(secretary_client, secretary, world):
    Responsibility.objects.filter(pk=world.link_a1.pk).update(status="disputed")
    act(secretary_client, "links_keep", world.link_a1)
    world.link_a1.refresh_from_db()
    assert world.link_a1.status == "active"
    event = JournalEvent.objects.get(kind="pupils.link_dispute_resolved")
    assert event.data["kept"] is True and event.actor == secretary
    assert world.link_a1.history.latest().history_change_reason == (
        "Lien contesté examiné par l'établissement"
    )


def test_confirming_tells_that_a_covered_record_shows_the_child_at_once(
    secretary_client, world
):
    Responsibility.objects.filter(pk=world.link_a1.pk).update(status="disputed")
    family = Client()
    family.force_login(world.account_a1)
    children_url = reverse("services_portal:my_children")
    assert "Zoé" not in family.get(children_url).content.decode()

    messages = act(secretary_client, "links_keep", world.link_a1)
    assert messages == [
        "1 lien confirmé. Pour 1 lien, la fiche du responsable est couverte par un compte "
        "ÉduConnect : l'enfant y apparaît dès maintenant."]
    assert world.pupil_a1 in pupils_of_guardian_account(world.account_a1)
    assert "Zoé" in family.get(children_url).content.decode()


def test_confirming_tells_that_an_uncovered_record_waits_for_the_family(secretary_client,
                                                                        world):
    # A guardian who disputed his only child at activation: his record stayed out of his
    # account (activation attaches the records of the children kept).
    record = GuardianRecordFactory(establishment=world.a1, last_name="Martin",
                                   first_name="Thomas")
    link = ResponsibilityFactory(guardian_record=record, pupil=world.pupil_a1_bis,
                                 status="disputed")
    messages = act(secretary_client, "links_keep", link, world.link_a1)
    assert messages == [
        "1 lien confirmé. 1 lien était déjà dans cet état : inchangé. Pour 1 lien, la fiche "
        "du responsable n'est couverte par aucun compte : l'enfant n'apparaîtra qu'après que "
        "le responsable l'aura ajouté lui-même (« Ajouter un enfant » dans son compte, ou "
        "activation de son compte). Aucun message ne lui est envoyé : prévenez-le si besoin."]
    link.refresh_from_db()
    assert link.status == "active"


def test_legal_representative_actions(secretary_client, world):
    act(secretary_client, "links_unset_legal", world.link_a1)
    world.link_a1.refresh_from_db()
    assert not world.link_a1.is_legal_representative
    act(secretary_client, "links_set_legal", world.link_a1)
    world.link_a1.refresh_from_db()
    assert world.link_a1.is_legal_representative
    assert JournalEvent.objects.filter(kind="pupils.link_legal_changed").count() == 2


def test_a_refusal_at_save_time_rolls_the_page_back_with_a_message(secretary_client, world,
                                                                   monkeypatch):
    # The pupil changes school (a roster import) between the page's check and its save: the
    # service's own check, on the locked rows, refuses; the page says so and keeps nothing.
    real_check = services.responsibility_add_validate
    calls = []

    def check_then_move_the_pupil(**kwargs):
        real_check(**kwargs)
        calls.append(kwargs)
        if len(calls) == 1:
            Pupil.objects.filter(pk=world.pupil_a1_bis.pk).update(establishment=world.b1)

    monkeypatch.setattr(services, "responsibility_add_validate", check_then_move_the_pupil)
    url = reverse("admin:pupils_responsibility_add")
    response = secretary_client.post(url, {"guardian_record": world.rec_a1.pk,
                                           "pupil": world.pupil_a1_bis.pk,
                                           "is_legal_representative": "on"})
    assert response.status_code == 302 and response.url == url
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages[0].startswith("Rien n'a été enregistré : Élève : choisissez un élève de "
                                  "l'établissement de cette fiche responsable")
    assert not Responsibility.objects.filter(pupil=world.pupil_a1_bis).exists()
    assert not JournalEvent.objects.filter(kind="pupils.link_added").exists()


def test_the_add_page_asks_no_state_a_new_link_is_active(secretary_client, secretary, world):
    body = secretary_client.get(reverse("admin:pupils_responsibility_add")).content.decode()
    assert 'name="status"' not in body
    response = secretary_client.post(reverse("admin:pupils_responsibility_add"), {
        "guardian_record": world.rec_a1.pk, "pupil": world.pupil_a1_bis.pk,
        "status": "removed",  # ignored: not a field of the add page
    })
    assert response.status_code == 302
    link = Responsibility.objects.get(pupil=world.pupil_a1_bis)
    assert link.status == "active"
    assert JournalEvent.objects.get(kind="pupils.link_added").actor == secretary


def test_the_helpdesk_reads_the_schools_fixes_in_the_accounts_file(national_client, secretary,
                                                                   world):
    services.guardian_record_contact_update(guardian_record=world.rec_a1,
                                            mobile_phone="07 98 76 54 32", email="",
                                            actor=secretary)
    page = national_client.get(reverse("admin:helpdesk_account", args=[world.account_a1.pk]))
    body = page.content.decode()
    assert "Coordonnées d&#x27;une fiche responsable corrigées par l&#x27;établissement" in body
    assert "téléphone portable, adresse mail" in body
    assert secretary.display_identifier in body  # who did it


def test_two_namesakes_are_told_apart_in_the_guardian_choice(secretary_client, world):
    # Two « Thomas MARTIN » of her school, and a third in another academy's school.
    first = GuardianRecordFactory(establishment=world.a1, last_name="Martin",
                                  first_name="Thomas", mobile_phone="+33612345678",
                                  email="thomas.martin@exemple.fr")
    second = GuardianRecordFactory(establishment=world.a1, last_name="MARTIN",
                                   first_name="Thomas", mobile_phone="", email="")
    GuardianRecordFactory(establishment=world.b1, last_name="Martin", first_name="Thomas",
                          mobile_phone="+33698765432")
    response = secretary_client.get(reverse("admin:autocomplete"), {
        "app_label": "pupils", "model_name": "responsibility",
        "field_name": "guardian_record", "term": "Martin"})
    texts = {int(item["id"]): item["text"] for item in response.json()["results"]}
    assert texts == {
        first.pk: "Thomas MARTIN — 06 •• •• •• 78 — t•••@exemple.fr — Collège Jules-Ferry "
                  "(0940001A)",
        second.pk: "Thomas MARTIN — sans coordonnées — Collège Jules-Ferry (0940001A)",
    }
