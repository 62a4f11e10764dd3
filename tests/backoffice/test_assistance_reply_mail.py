"""The mail of the helpdesk's answer (tryout of an academy's agent): written by a person, it
reads as one to answer, but leaves from an address that receives no reply. It says so, as
the portal's other mails do (« cette adresse ne reçoit pas les réponses »), and where to go
instead: the assistance form, with the request's number. The acknowledgement says the same."""

import pytest
from django.core import mail

from notifications.emails import absolute_url
from tests.backoffice.test_assistance_queue import QUEUE, _roles, submit  # noqa: F401

pytestmark = pytest.mark.django_db

NO_REPLY = "Ne répondez pas à ce mail : cette adresse ne reçoit pas les réponses."


def where_to_go(number) -> str:
    return (f"Pour compléter votre demande, envoyez une nouvelle demande d'assistance en "
            f"indiquant le n° {number} : {absolute_url('/assistance/')}")


def test_the_answer_says_not_to_reply_and_where_to_write_instead(
        helpdesk_client, world, django_capture_on_commit_callbacks):
    from django.test import Client

    item = submit(Client(), django_capture_on_commit_callbacks, school="0940001A")
    [acknowledgement] = mail.outbox
    ack = " ".join(acknowledgement.body.split())
    assert NO_REPLY in ack and where_to_go(item.pk) in ack
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        helpdesk_client.post(f"{QUEUE}{item.pk}/prendre/")
        helpdesk_client.post(f"{QUEUE}{item.pk}/repondre/", {
            "body": "Bonjour, l'établissement a corrigé votre numéro : recommencez."})
    [answer] = mail.outbox
    text = " ".join(answer.body.split())
    assert "l'établissement a corrigé votre numéro" in text
    assert NO_REPLY in text and where_to_go(item.pk) in text
    # Said after the agent's words, not before them.
    assert text.index("recommencez.") < text.index(NO_REPLY)
