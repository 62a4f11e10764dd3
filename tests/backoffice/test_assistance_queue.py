"""The assistance requests in the back-office (issue 16 §6): a request reaches the helpdesk
of the right academy, is linked to the records it concerns, is taken, answered by e-mail and
closed, every step journaled; a secretary reads her school's requests; nobody else's."""

from html import unescape

import pytest
from django.core import mail
from django.urls import reverse

from assistance.models import AssistanceReply, AssistanceRequest, Category, Status
from backoffice.roles import roles_sync
from core.models import JournalEvent
from tests import html

from .conftest import make_staff, sign_in

pytestmark = pytest.mark.django_db
QUEUE = "/gestion/demandes/"


@pytest.fixture(autouse=True)
def _roles(db):
    roles_sync()


def submit(client, capture, *, school, **values):
    data = {"school": school, "category": Category.PHONE_UNKNOWN, "last_name": "Lefèvre",
            "first_name": "Hélène", "email": "helene@example.org", "mobile_phone": "",
            "pupil_name": "Zoé", "message": "Mon numéro n'est pas reconnu.", **values}
    with capture(execute=True):
        response = client.post("/assistance/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return AssistanceRequest.objects.latest("pk")


def test_a_request_reaches_the_helpdesk_of_its_academy_and_is_answered(
    client, helpdesk_client, world, django_capture_on_commit_callbacks
):
    from django.test import Client

    family = Client()
    item = submit(family, django_capture_on_commit_callbacks, school="0940001A")  # Créteil
    other = submit(family, django_capture_on_commit_callbacks, school="0690001C")  # Lyon
    mail.outbox.clear()

    queue = helpdesk_client.get(QUEUE).content.decode()
    assert f"/gestion/demandes/{item.pk}/" in queue
    assert f"/gestion/demandes/{other.pk}/" not in queue  # another academy's
    assert helpdesk_client.get(f"{QUEUE}{other.pk}/").status_code == 404

    page = helpdesk_client.get(f"{QUEUE}{item.pk}/").content.decode()
    # Linked to the record of that school with the same name, and to its account.
    assert f"/gestion/assistance/fiches/{world.rec_a1.pk}/" in page
    assert "H.LEFEVRE12" in page

    with django_capture_on_commit_callbacks(execute=True):
        helpdesk_client.post(f"{QUEUE}{item.pk}/prendre/")
        response = helpdesk_client.post(f"{QUEUE}{item.pk}/repondre/", {
            "body": "Bonjour, l'établissement a corrigé votre numéro : recommencez l'activation."})
    assert response.status_code == 302
    assert "La réponse a été envoyée par mail à la famille." in unescape(
        helpdesk_client.get(response["Location"]).content.decode())
    item.refresh_from_db()
    assert item.status == Status.ANSWERED and item.assignee.last_name == "Assistance"
    [email] = mail.outbox
    assert email.to == ["helene@example.org"]
    assert "l'établissement a corrigé votre numéro" in email.body
    assert AssistanceReply.objects.get().request == item

    helpdesk_client.post(f"{QUEUE}{item.pk}/clore/")
    item.refresh_from_db()
    assert item.status == Status.CLOSED and item.closed_at is not None
    assert f"/gestion/demandes/{item.pk}/" not in helpdesk_client.get(QUEUE).content.decode()
    kinds = list(JournalEvent.objects.filter(data__assistance_request=item.pk)
                 .order_by("pk").values_list("kind", flat=True))
    assert kinds == ["assistance.request_submitted", "assistance.request_taken",
                     "assistance.request_answered", "assistance.request_closed"]


def test_an_empty_answer_is_refused_on_its_field(helpdesk_client, world,
                                                 django_capture_on_commit_callbacks):
    from django.test import Client

    item = submit(Client(), django_capture_on_commit_callbacks, school="0940001A")
    mail.outbox.clear()
    response = helpdesk_client.post(f"{QUEUE}{item.pk}/repondre/", {"body": "  "})
    assert response.status_code == 400
    assert "Réponse : écrivez la réponse à envoyer à la famille." in response.content.decode()
    assert not mail.outbox and not AssistanceReply.objects.exists()


def test_an_answer_with_a_bidirectional_control_is_refused_on_its_field(
        helpdesk_client, world, django_capture_on_commit_callbacks):
    """A right-to-left override would show the family another text than the one written."""
    from django.test import Client

    item = submit(Client(), django_capture_on_commit_callbacks, school="0940001A")
    mail.outbox.clear()
    response = helpdesk_client.post(f"{QUEUE}{item.pk}/repondre/",
                                    {"body": "Votre code est \u202e4321."})
    assert response.status_code == 400
    assert ("Réponse : ce texte contient un caractère invisible qui change le sens d'affichage "
            "des mots (souvent ajouté par un copier-coller). Saisissez-le de nouveau au clavier "
            "plutôt que de le coller.") in unescape(response.content.decode())
    assert not mail.outbox and not AssistanceReply.objects.exists()


def test_a_secretary_reads_her_schools_requests_but_does_not_handle_them(
    client, world, secretary, django_capture_on_commit_callbacks
):
    from django.test import Client

    mine = submit(Client(), django_capture_on_commit_callbacks, school="0940001A")
    other_school = submit(Client(), django_capture_on_commit_callbacks, school="0940002B")
    sign_in(client, secretary)
    queue = client.get(QUEUE).content.decode()
    assert f"/gestion/demandes/{mine.pk}/" in queue
    assert f"/gestion/demandes/{other_school.pk}/" not in queue
    page = unescape(client.get(f"{QUEUE}{mine.pk}/").content.decode())
    assert "Mon numéro n'est pas reconnu." in page and "Envoyer la réponse" not in page
    refused = client.post(f"{QUEUE}{mine.pk}/repondre/", {"body": "x"})
    assert refused.status_code == 403
    body = unescape(refused.content.decode())
    assert "Accès refusé" in body and "Forbidden" not in body  # French, never Django's page


def test_another_academys_helpdesk_sees_nothing(client, world,
                                               django_capture_on_commit_callbacks):
    from django.test import Client

    item = submit(Client(), django_capture_on_commit_callbacks, school="0940001A")
    lyon = make_staff("helpdesk", academy=world.academy_b, last_name="Lyon")
    sign_in(client, lyon)
    assert f"/gestion/demandes/{item.pk}/" not in client.get(QUEUE).content.decode()
    assert client.get(f"{QUEUE}{item.pk}/").status_code == 404
    assert client.post(f"{QUEUE}{item.pk}/clore/").status_code == 404


def test_the_state_filter_names_states_not_verbs(helpdesk_client, world):
    # « Close » was Django admin's own msgid: its French catalogue made it the verb « Fermer ».
    page = html.parse(helpdesk_client.get(reverse("admin:assistance_queue")))
    options = [html.text(option) for option in page.find_all("option")]
    assert "Fermée" in options
    assert "Fermer" not in options


def test_an_unknown_state_is_named_and_an_empty_state_says_which(helpdesk_client, world):
    page = unescape(helpdesk_client.get(QUEUE, {"etat": "fermee"}).content.decode())
    assert ("État : choisissez un état de la liste ; toutes les demandes ouvertes sont "
            "affichées.") in page

    page = unescape(helpdesk_client.get(QUEUE, {"etat": Status.CLOSED}).content.decode())
    assert "Aucune demande fermée dans votre périmètre." in page
    assert "Aucune demande dans votre périmètre." not in page
    page = unescape(helpdesk_client.get(QUEUE, {"etat": "fermee"}).content.decode())
    assert "Aucune demande dans votre périmètre." in page
