"""Which queue each task goes to when the deployment separates them (CELERY_SEPARATE_QUEUES):
codes by SMS never wait behind e-mails, housekeeping never behind either."""

import pytest
from django.core.mail import send_mail

from notifications import routing, services
from notifications.models import Channel, OutboundMessage

pytestmark = pytest.mark.django_db


def test_an_sms_goes_to_the_sms_queue():
    sms = services.sms_enqueue(to="+33612345678", body="x", purpose="t")
    assert routing.task_route(routing.SEND_TASK, [sms.pk], {}, {}) == {"queue": "sms"}
    assert routing.task_route(routing.SEND_TASK, [], {"message_id": sms.pk}, {}) == {
        "queue": "sms"}


def test_an_email_of_the_outbox_goes_to_the_email_queue():
    send_mail("Objet", "Texte", None, ["famille@example.org"])
    email = OutboundMessage.objects.get(channel=Channel.EMAIL)
    assert routing.task_route(routing.SEND_TASK, (email.pk,), {}, {}) == {"queue": "email"}


@pytest.mark.parametrize("name", sorted(routing.PERIODIC_TASKS))
def test_periodic_tasks_go_to_the_periodic_queue(name):
    assert routing.task_route(name, [], {}, {}) == {"queue": "periodic"}


def test_other_tasks_keep_the_default_route():
    assert routing.task_route("celery.chord_unlock", [], {}, {}) is None


def test_a_send_whose_row_is_gone_goes_to_the_sms_queue():
    # The task will find nothing and end; the router must not fail the publish.
    assert routing.task_route(routing.SEND_TASK, [10**12], {}, {}) == {"queue": "sms"}
