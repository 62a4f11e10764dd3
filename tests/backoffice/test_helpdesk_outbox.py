"""The helpdesk file tells an expired message from a sent one (issue 12 §2): a code that could
not leave in time says so in the messages table and in the journal, never its text."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_an_expired_code_shows_as_expired_in_the_account_file(helpdesk_client, world, settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    account = world.account_a1
    message = services.sms_enqueue(to="+33611223344", body="Votre code est K7P2QX.",
                                   purpose="activation_code", contains_secret=True,
                                   account=account)
    OutboundMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=1),
        next_attempt_at=timezone.now() - timedelta(hours=1),
        last_error="Twilio HTTP 503, code 20503")
    services.messages_requeue_stale()

    body = helpdesk_client.get(reverse("admin:helpdesk_account", args=[account.pk])).content
    body = body.decode()
    assert "Expiré : non envoyé à temps" in body
    assert "SMS ou mail non envoyé à temps (expiré)" in body
    assert "K7P2QX" not in body
