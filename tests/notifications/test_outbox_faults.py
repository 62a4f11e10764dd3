"""The outbox under faults (issue 12 §2): fencing of a stalled worker, the provider asked before
a message stuck « sending » is sent again, retries with no count limit, expiry journaled.

What a family would notice: the same code twice, or no code at all. What the helpdesk would
notice: a message that vanished instead of saying it expired."""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response

from core.journal import EventKind
from core.models import JournalEvent
from notifications import services, sms, tasks
from notifications.models import WIPED_BODY, MessageStatus, OutboundMessage
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CODE_SMS = "ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes."


def _take_over(message_id: int, *, timeout: int = 600) -> None:
    """What the periodic task does to a row whose worker looks dead: the row's claim is made
    older than the sending timeout, then requeue_stale_messages takes it back."""
    OutboundMessage.objects.filter(pk=message_id).update(
        sending_started_at=timezone.now() - timedelta(seconds=timeout + 60))
    report, ids = services.messages_requeue_stale()
    assert report.unstuck == 1 and ids == [message_id]


class StallingBackend(sms.LocmemSMSBackend):
    """Locmem, with a hook run at the moment a worker would freeze (SIGSTOP)."""

    on_send = None
    sends = 0

    def send(self, *, to, body):
        type(self).sends += 1
        result = super().send(to=to, body=body)
        hook, type(self).on_send = type(self).on_send, None
        if hook:
            hook()  # frozen after the provider accepted, before the row was updated
        return result


@pytest.fixture
def stalling(settings):
    settings.SMS_BACKEND = f"{__name__}.StallingBackend"
    settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = 600
    StallingBackend.on_send = None
    StallingBackend.sends = 0
    return StallingBackend


class TestFencing:
    def test_a_worker_resumed_after_its_claim_was_taken_over_does_not_send(self, stalling):
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True)
        real_claim = services._claim

        calls = []

        def claim_then_freeze(message_id):
            calls.append(message_id)
            claimed = real_claim(message_id)
            if len(calls) > 1:
                return claimed  # the second worker
            # The worker freezes here past the sending timeout; the row is taken back and a
            # second worker sends it.
            _take_over(message_id)
            assert services.message_send(message_id=message_id).status == MessageStatus.SENT
            return claimed

        with mock.patch.object(services, "_claim", side_effect=claim_then_freeze):
            outcome = services.message_send(message_id=message.pk)

        # The first worker, resumed, holds claim 1 while the row was claimed again (2): fenced.
        assert outcome.status == "fenced"
        assert sms.outbox == [sms.SentSMS(to="+33612345678", body=CODE_SMS)]
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.attempts == 2
        assert message.body == WIPED_BODY

    def test_a_stale_worker_cannot_overwrite_the_row_of_the_new_claim(self, stalling):
        """The first worker froze after the provider accepted; meanwhile a second attempt got
        a transient error and queued the row again. The resumed first worker records nothing:
        its claim is void."""
        message = services.sms_enqueue(to="+33612345678", body="Votre compte est activé.",
                                       purpose="account_activated")

        def freeze():
            _take_over(message.pk)
            OutboundMessage.objects.filter(pk=message.pk).update(
                status=MessageStatus.SENDING, attempts=2, sending_started_at=timezone.now())

        stalling.on_send = freeze
        services.message_send(message_id=message.pk)
        message.refresh_from_db()
        # Still the second claim's row: not marked sent by the first worker.
        assert (message.status, message.attempts) == (MessageStatus.SENDING, 2)


class TestProviderCheckBeforeResending:
    def test_a_message_the_provider_accepted_before_the_worker_froze_is_not_sent_again(
            self, stalling):
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True)
        stalling.on_send = lambda: _take_over(message.pk)
        services.message_send(message_id=message.pk)  # sent, then frozen, then taken over
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED
        assert message.check_provider_first is True

        # The next attempt asks the provider first: it has the message; nothing is sent.
        assert tasks.send_message.apply(args=[message.pk]).get() == MessageStatus.SENT
        assert stalling.sends == 1
        assert len(sms.outbox) == 1
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.check_provider_first is False
        assert message.body == WIPED_BODY
        assert message.provider_message_id == "locmem:found"

    def test_a_message_the_provider_never_got_is_sent_again_once(self, stalling):
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True)
        with mock.patch.object(services, "_still_ours", return_value=False):
            assert services.message_send(message_id=message.pk).status == "fenced"
        _take_over(message.pk)
        services.message_send(message_id=message.pk)
        assert sms.outbox == [sms.SentSMS(to="+33612345678", body=CODE_SMS)]
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT

    def test_an_email_has_no_lookup_and_is_sent_again(self, settings):
        """SMTP cannot be asked what it received: an e-mail whose worker stopped between the
        SMTP dialogue and the row's update is sent once more (docs/outbox.md bounds it)."""
        message = services.email_enqueue(to="a@example.org", subject="Lien", body="Bonjour",
                                         purpose="t")
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.SENDING, attempts=1)
        _take_over(message.pk)
        services.message_send(message_id=message.pk)
        assert len(mail.outbox) == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == (MessageStatus.SENT, 2)


class FakeTwilioHttp(HttpClient):
    """Answers twilio's HTTP calls from a list; records them. No network."""

    def __init__(self, responses):
        super().__init__(logger=None, is_async=False)
        self.responses = list(responses)
        self.requests = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "params": params, "data": data})
        status, payload = self.responses.pop(0)
        return Response(status, json.dumps(payload))


def _twilio_message(body, sid="SM" + "b" * 32, created="Sun, 29 Nov 2026 08:00:00 +0000"):
    return {"sid": sid, "status": "delivered", "body": body, "to": "+33612345678",
            "from": "+33700000000", "date_created": created, "account_sid": "AC" + "1" * 32}


def _page(messages):
    return {"messages": messages, "next_page_uri": None, "page": 0, "page_size": 50,
            "uri": "/2010-04-01/Accounts/x/Messages.json?PageSize=50&Page=0"}


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKEND = "notifications.sms.TwilioSMSBackend"
    settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.TWILIO_FROM = "+33700000000"
    settings.SITE_URL = "https://educonnect.example"
    http = FakeTwilioHttp([])
    with mock.patch("notifications.services.get_sms_backend",
                    return_value=sms.TwilioSMSBackend(http_client=http)):
        yield http


def _stuck_code_sms(created_at):
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, attempts=1, created_at=created_at)
    _take_over(message.pk)
    return message


class TestTwilioLookup:
    def test_twilio_has_it_the_sid_is_recorded_and_nothing_is_posted(self, twilio):
        created = timezone.now() - timedelta(minutes=11)
        message = _stuck_code_sms(created)
        twilio.responses = [(200, _page([
            _twilio_message("Un autre SMS", sid="SM" + "c" * 32),
            _twilio_message(CODE_SMS, created=created.strftime("%a, %d %b %Y %H:%M:%S +0000")),
        ]))]
        assert services.message_send(message_id=message.pk).status == MessageStatus.SENT
        [lookup] = twilio.requests
        assert lookup["method"] == "GET"
        assert lookup["params"]["To"] == "+33612345678"
        assert lookup["params"]["From"] == "+33700000000"
        message.refresh_from_db()
        assert message.provider_message_id == "SM" + "b" * 32
        assert message.provider_status == "delivered"
        assert message.body == WIPED_BODY

    def test_twilio_has_only_an_older_copy_of_the_text_so_it_is_sent(self, twilio):
        message = _stuck_code_sms(timezone.now() - timedelta(minutes=11))
        older = (timezone.now() - timedelta(days=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        twilio.responses = [
            (200, _page([_twilio_message(CODE_SMS, created=older)])),
            (201, _twilio_message(CODE_SMS, sid="SM" + "d" * 32) | {"status": "queued"}),
        ]
        assert services.message_send(message_id=message.pk).status == MessageStatus.SENT
        assert [r["method"] for r in twilio.requests] == ["GET", "POST"]
        message.refresh_from_db()
        assert message.provider_message_id == "SM" + "d" * 32

    def test_twilio_cannot_say_so_the_message_waits_and_is_not_sent_blind(self, twilio):
        message = _stuck_code_sms(timezone.now() - timedelta(minutes=11))
        twilio.responses = [(503, {"status": 503, "code": 20503, "message": "down"})]
        outcome = services.message_send(message_id=message.pk)
        assert outcome.status == MessageStatus.QUEUED
        assert [r["method"] for r in twilio.requests] == ["GET"]
        message.refresh_from_db()
        assert message.check_provider_first is True  # asked again next time
        assert message.body == CODE_SMS
        assert message.last_error.startswith("Twilio lookup failed")


class FlakyBackend(sms.BaseSMSBackend):
    errors: list = []
    calls = 0

    def send(self, *, to, body):
        type(self).calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return sms.LocmemSMSBackend().send(to=to, body=body)


@pytest.fixture
def flaky(settings):
    settings.SMS_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.errors = []
    FlakyBackend.calls = 0
    return FlakyBackend


def test_retries_have_no_count_limit_while_the_message_is_worth_sending(flaky, settings):
    """Far more than Celery's default 3 retries and the old 5 attempts: 40 transient errors
    (a long outage), then the provider is back and the code leaves."""
    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 1
    settings.NOTIFICATIONS_RETRY_BACKOFF_MAX_SECONDS = 5
    flaky.errors = [sms.SMSTransientError("Twilio HTTP 503, code 20503")] * 40
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    with mock.patch.object(tasks.send_message, "retry") as celery_retry:
        outcomes = [tasks.send_message.apply(args=[message.pk]).get() for _ in range(41)]
    celery_retry.assert_not_called()
    assert outcomes == [MessageStatus.QUEUED] * 40 + [MessageStatus.SENT]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 41)
    assert sms.outbox == [sms.SentSMS(to="+33612345678", body=CODE_SMS)]


def _expired_events():
    return list(JournalEvent.objects.filter(kind=EventKind.MESSAGE_EXPIRED.value))


class TestExpiry:
    def test_a_code_whose_next_retry_falls_after_its_lifetime_expires_and_says_so(
            self, flaky, settings):
        settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = 1800
        settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 300
        account = AccountFactory()
        flaky.errors = [sms.SMSTransientError("Twilio HTTP 503, code 20503")]
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True,
                                       account=account)
        OutboundMessage.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(minutes=28))
        assert services.message_send(message_id=message.pk).status == MessageStatus.EXPIRED
        message.refresh_from_db()
        assert message.status == MessageStatus.EXPIRED
        assert message.body == WIPED_BODY
        assert "Twilio HTTP 503" in message.last_error
        [event] = _expired_events()
        assert event.account == account
        assert event.data["message_id"] == message.pk
        assert event.data["purpose"] == "activation_code"
        assert event.data["attempts"] == 1
        assert "K7P2QX" not in json.dumps(event.data)
        assert EventKind(event.kind).label == "SMS ou mail non envoyé à temps (expiré)"

    def test_a_row_claimed_after_its_lifetime_is_expired_not_sent(self, settings):
        settings.NOTIFICATIONS_SMS_MAX_AGE_SECONDS = 6 * 3600
        message = services.sms_enqueue(to="+33612345678", body="Votre compte est activé.",
                                       purpose="account_activated")
        OutboundMessage.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(hours=7))
        assert services.message_send(message_id=message.pk).status == "skipped"
        assert sms.outbox == []
        message.refresh_from_db()
        assert message.status == MessageStatus.EXPIRED
        assert message.body == "Votre compte est activé."  # no secret: the text stays
        assert len(_expired_events()) == 1

    def test_the_periodic_task_expires_each_kind_after_its_own_lifetime(self, settings):
        settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = 1800
        settings.NOTIFICATIONS_SMS_MAX_AGE_SECONDS = 6 * 3600
        settings.NOTIFICATIONS_EMAIL_MAX_AGE_SECONDS = 48 * 3600
        flow_id = "8c6f2f2e-6a57-4a43-9f0b-3c1d7c2b8a11"

        def aged(message, seconds):
            past = timezone.now() - timedelta(seconds=seconds)
            OutboundMessage.objects.filter(pk=message.pk).update(created_at=past,
                                                                 next_attempt_at=past)
            return message

        code = aged(services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="code",
                                         contains_secret=True, flow_id=flow_id), 1860)
        notice = aged(services.sms_enqueue(to="+33612345679", body="Compte activé.",
                                           purpose="account_activated"), 7 * 3600)
        old_mail = aged(services.email_enqueue(to="a@example.org", subject="s", body="b",
                                               purpose="t", contains_secret=True), 49 * 3600)
        late_mail = aged(services.email_enqueue(to="b@example.org", subject="s", body="b",
                                                purpose="t"), 2 * 3600)
        young_notice = aged(services.sms_enqueue(to="+33612345670", body="Compte activé.",
                                                 purpose="account_activated"), 3 * 3600)

        result = tasks.requeue_stale_messages.apply().get()
        assert result == {"requeued": 2, "unstuck": 0, "expired": 3}
        statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
        assert statuses[code.pk] == statuses[notice.pk] == statuses[old_mail.pk] == "expired"
        assert statuses[late_mail.pk] == statuses[young_notice.pk] == "sent"
        assert OutboundMessage.objects.get(pk=code.pk).body == WIPED_BODY
        assert OutboundMessage.objects.get(pk=old_mail.pk).body == WIPED_BODY
        events = {e.data["message_id"]: e for e in _expired_events()}
        assert set(events) == {code.pk, notice.pk, old_mail.pk}
        assert str(events[code.pk].flow_id) == flow_id
        assert "aucun essai" in OutboundMessage.objects.get(pk=code.pk).last_error
