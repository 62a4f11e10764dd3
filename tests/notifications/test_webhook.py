"""Twilio's status callback: signed, idempotent, never moving a message backwards."""

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from notifications.models import WIPED_BODY, MessageStatus, OutboundMessage

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token"
SID = "SM" + "b" * 32


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SITE_URL = "https://educonnect.example"


@pytest.fixture
def sent_message():
    return OutboundMessage.objects.create(
        channel="sms", recipient="+33612345678", body=WIPED_BODY, contains_secret=True,
        purpose="activation_code", status=MessageStatus.SENT, provider_message_id=SID,
        provider_status="queued", attempts=1)


def _post(client, params, *, token=TOKEN, signature=None):
    url = reverse("notifications:twilio_status")
    if signature is None:
        signature = RequestValidator(token).compute_signature(
            "https://educonnect.example" + url, params)
    return client.post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)


def _callback(status, sid=SID, **extra):
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "1" * 32,
            "To": "+33612345678", "From": "+33700000000", **extra}


def test_a_signed_delivery_report_updates_the_message(client, sent_message):
    response = _post(client, _callback("delivered"))
    assert response.status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED
    assert sent_message.provider_status == "delivered"


def test_a_failed_delivery_report_keeps_the_error_code(client, sent_message):
    assert _post(client, _callback("undelivered", ErrorCode="30003")).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.UNDELIVERED
    assert sent_message.last_error == "Rapport de distribution : code 30003"


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_a_bad_or_missing_signature_is_refused(client, sent_message, signature):
    response = _post(client, _callback("delivered"), signature=signature)
    assert response.status_code == 403
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.SENT


def test_a_signature_made_with_another_token_is_refused(client, sent_message):
    assert _post(client, _callback("delivered"), token="other-token").status_code == 403


def test_tampered_parameters_are_refused(client, sent_message):
    url = reverse("notifications:twilio_status")
    signature = RequestValidator(TOKEN).compute_signature(
        "https://educonnect.example" + url, _callback("sent"))
    response = client.post(url, _callback("delivered"), HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403


def test_without_a_configured_token_every_callback_is_refused(client, settings, sent_message):
    settings.TWILIO_AUTH_TOKEN = ""
    assert _post(client, _callback("delivered"), token="").status_code == 403


def test_get_is_not_allowed(client):
    assert client.get(reverse("notifications:twilio_status")).status_code == 405


def test_a_replayed_report_changes_nothing(client, sent_message):
    assert _post(client, _callback("delivered")).status_code == 200
    sent_message.refresh_from_db()
    updated_at = sent_message.updated_at
    assert _post(client, _callback("delivered")).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED
    assert sent_message.updated_at == updated_at


def test_a_late_report_never_moves_delivered_back_to_sent(client, sent_message):
    for status in ("sent", "delivered", "sent", "queued", "sending", "failed"):
        assert _post(client, _callback(status)).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED
    assert sent_message.provider_status == "delivered"


def test_reports_in_order_walk_the_message_forward(client, sent_message):
    _post(client, _callback("sent"))
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.provider_status) == (MessageStatus.SENT, "sent")
    _post(client, _callback("delivered"))
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.DELIVERED


def test_an_unknown_sid_gets_the_same_answer_and_changes_nothing(client, sent_message):
    response = _post(client, _callback("delivered", sid="SM" + "c" * 32))
    assert response.status_code == 200
    assert response.content == b""
    sent_message.refresh_from_db()
    assert sent_message.status == MessageStatus.SENT


def test_an_unknown_status_word_changes_nothing(client, sent_message):
    assert _post(client, _callback("teleported")).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.provider_status == "queued"


@pytest.mark.needs_postgres
def test_the_webhook_lookup_uses_an_index(sent_message):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM notifications_outboundmessage WHERE provider_message_id = %s",
            [SID])
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "outbox_provider_id_idx" in plan
