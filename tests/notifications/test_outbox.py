"""The outbox: rows written with the caller's transaction, sent once after commit, retried."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from notifications import services, sms, tasks
from notifications.models import WIPED_BODY, Channel, MessageStatus, OutboundMessage
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CODE_SMS = "ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes."


class FlakyBackend(sms.BaseSMSBackend):
    """Fails with the queued errors first, then sends to the locmem outbox."""

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


def test_enqueue_in_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    class Boom(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                 contains_secret=True)
            raise Boom
    assert callbacks == []
    assert not OutboundMessage.objects.exists()
    assert sms.outbox == []


def test_enqueue_sends_once_after_commit_and_wipes_the_code(django_capture_on_commit_callbacks):
    account = AccountFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.sms_enqueue(to="+262692123456", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True,
                                       account=account)
        # Before commit: written, not sent.
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED
        assert message.body == CODE_SMS
        assert sms.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()

    assert sms.outbox == [sms.SentSMS(to="+262692123456", body=CODE_SMS)]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    assert message.provider_message_id.startswith("locmem:")
    # The code is gone from the database once it left.
    assert message.body == WIPED_BODY
    assert not OutboundMessage.objects.filter(body__contains="K7P2QX").exists()


def test_a_message_without_a_secret_keeps_its_text(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.sms_enqueue(to="+33612345678", body="Votre compte est activé.",
                                       purpose="account_activated")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.body == "Votre compte est activé."


@pytest.mark.parametrize("to", ["0612345678", "+33 6 12 34 56 78", "+0612345678", ""])
def test_enqueue_refuses_a_number_that_is_not_e164(to):
    with pytest.raises(ValueError, match=r"E\.164"):
        services.sms_enqueue(to=to, body="x", purpose="test")
    assert not OutboundMessage.objects.exists()


def test_email_enqueue_refuses_a_header_injection():
    with pytest.raises(ValueError):
        services.email_enqueue(to="a@example.org", subject="Objet\nBcc: b@example.org",
                               body="x", purpose="test")
    assert not OutboundMessage.objects.exists()


def test_the_task_run_twice_sends_once():
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    tasks.send_message.apply(args=[message.pk])
    tasks.send_message.apply(args=[message.pk])
    assert len(sms.outbox) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 1


def test_a_message_claimed_by_another_worker_is_not_sent_again():
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code")
    OutboundMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING,
                                                         sending_started_at=timezone.now())
    outcome = services.message_send(message_id=message.pk)
    assert outcome.status == "skipped"
    assert sms.outbox == []


def test_a_missing_row_is_skipped():
    assert services.message_send(message_id=987654).status == "skipped"


def test_transient_failure_is_retried_with_backoff_then_sent(flaky, settings):
    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 10
    flaky.errors = [sms.SMSTransientError("Twilio HTTP 503, code 20503")]
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)

    # First run, as a worker would: no Celery retry; the row is due again after the backoff.
    with mock.patch.object(tasks.send_message, "retry") as celery_retry:
        assert tasks.send_message.apply(args=[message.pk]).get() == MessageStatus.QUEUED
    celery_retry.assert_not_called()
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 1
    assert message.last_error == "Twilio HTTP 503, code 20503"
    assert message.body == CODE_SMS  # still needed for the next attempt
    # 10 s ± 20 % for the first retry: the dispatcher hands it over then, not before.
    assert timezone.now() + timedelta(seconds=7) < message.next_attempt_at
    assert message.next_attempt_at < timezone.now() + timedelta(seconds=13)
    assert services.messages_dispatch_due() == []
    assert 7 < services.messages_next_due_in() < 13
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert services.messages_dispatch_due() == [message.pk]

    # The retried task: sent this time.
    tasks.send_message.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.attempts == 2
    assert message.last_error == ""
    assert message.body == WIPED_BODY
    assert [m.body for m in sms.outbox] == [CODE_SMS]


def test_backoff_grows_exponentially_and_is_capped(settings):
    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 10
    settings.NOTIFICATIONS_RETRY_BACKOFF_MAX_SECONDS = 300
    with mock.patch("notifications.services.random.uniform", return_value=1.0):
        assert [services.retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 10)] == [
            10, 20, 40, 80, 160, 300, 300]


def test_an_eager_run_does_not_retry_inside_the_request(flaky):
    """The demo has no broker: a provider failure leaves the row queued, the request is fine."""
    flaky.errors = [sms.SMSTransientError("Twilio unreachable: ConnectionError")]
    message = services.sms_enqueue(to="+33612345678", body="x", purpose="test")
    result = tasks.send_message.apply(args=[message.pk])
    assert result.successful()
    assert flaky.calls == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.last_error == "Twilio unreachable: ConnectionError"


def test_a_failing_send_after_commit_does_not_break_the_caller(
        flaky, django_capture_on_commit_callbacks, caplog):
    flaky.errors = [RuntimeError("provider library bug with K7P2QX inside")]
    with django_capture_on_commit_callbacks(execute=True):
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True)
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    # Only the exception's type is recorded and logged: its text could quote the code.
    assert message.last_error == "Erreur inattendue : RuntimeError"
    assert "RuntimeError" in caplog.text
    assert "K7P2QX" not in caplog.text


def test_a_broker_that_is_down_does_not_break_the_caller(django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.send_message, "delay", side_effect=ConnectionError("broker")):
        with django_capture_on_commit_callbacks(execute=True):
            message = services.sms_enqueue(to="+33612345678", body="x", purpose="test")
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED  # the periodic requeue will send it


def test_permanent_failure_marks_the_message_failed_without_the_code(flaky):
    flaky.errors = [sms.SMSPermanentError("Twilio HTTP 400, code 21211")]
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    tasks.send_message.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.last_error == "Twilio HTTP 400, code 21211"
    assert message.attempts == 1
    assert message.body == WIPED_BODY
    assert flaky.calls == 1


def test_a_transient_failure_past_the_message_life_expires_it(flaky, settings):
    """No count limit any more (tests/notifications/test_outbox_faults.py): a transient
    failure whose next retry would fall after the code's lifetime ends the message."""
    settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = 5
    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 10
    flaky.errors = [sms.SMSTransientError(f"Twilio HTTP 503, try {n}") for n in range(5)]
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    outcomes = [services.message_send(message_id=message.pk) for _ in range(2)]
    assert [o.status for o in outcomes] == ["expired", "skipped"]
    assert outcomes[0].retry_in is None
    message.refresh_from_db()
    assert message.status == MessageStatus.EXPIRED
    assert message.attempts == 1
    assert "Twilio HTTP 503, try 0" in message.last_error
    assert message.body == WIPED_BODY
    assert flaky.calls == 1


def test_a_backend_error_quoting_the_body_is_scrubbed(flaky):
    flaky.errors = [sms.SMSPermanentError(f"refused: {CODE_SMS}")]
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    services.message_send(message_id=message.pk)
    message.refresh_from_db()
    assert "K7P2QX" not in message.last_error


def test_email_goes_through_the_same_outbox(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.email_enqueue(
            to="marie.dupont@example.org", subject="Votre code ÉduConnect",
            body="Votre code de confirmation est 482913.", purpose="email_confirmation",
            contains_secret=True)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["marie.dupont@example.org"]
    assert sent.subject == "Votre code ÉduConnect"
    assert "482913" in sent.body
    message.refresh_from_db()
    assert message.channel == Channel.EMAIL
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == sent.extra_headers["Message-ID"]
    assert message.body == WIPED_BODY


def test_smtp_errors_are_sorted_into_transient_and_permanent():
    import smtplib

    message = services.email_enqueue(to="a@example.org", subject="s", body="b", purpose="t")
    with mock.patch("django.core.mail.EmailMessage.send",
                    side_effect=smtplib.SMTPResponseException(451, b"try later")):
        outcome = services.message_send(message_id=message.pk)
    assert outcome.status == MessageStatus.QUEUED
    message.refresh_from_db()
    assert message.last_error == (
        "Refus temporaire du serveur de messagerie (SMTP 451), nouvel essai")

    # A recipient refused for now at RCPT TO (greylisting, full mailbox) is tried again too.
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    with mock.patch("django.core.mail.EmailMessage.send",
                    side_effect=smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"grey")})):
        outcome = services.message_send(message_id=message.pk)
    assert outcome.status == MessageStatus.QUEUED

    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    with mock.patch("django.core.mail.EmailMessage.send",
                    side_effect=smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no")})):
        outcome = services.message_send(message_id=message.pk)
    assert outcome.status == MessageStatus.FAILED


def _age(message, seconds: int) -> None:
    """Make a row look `seconds` old (freezegun is kept away from Celery's own clocks)."""
    past = timezone.now() - timedelta(seconds=seconds)
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=past, next_attempt_at=past)


class TestRequeue:
    def test_rows_left_queued_are_sent_again(self, settings):
        settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 120
        old = services.sms_enqueue(to="+33612345678", body="a", purpose="t")
        _age(old, 180)
        recent = services.sms_enqueue(to="+33612345679", body="b", purpose="t")
        _age(recent, 90)
        result = tasks.requeue_stale_messages.apply().get()
        assert result == {"requeued": 1, "unstuck": 0, "expired": 0}
        assert sms.outbox == [sms.SentSMS(to="+33612345678", body="a")]
        old.refresh_from_db()
        recent.refresh_from_db()
        assert old.status == MessageStatus.SENT
        assert recent.status == MessageStatus.QUEUED

    def test_a_requeued_row_is_not_picked_twice_before_it_is_due_again(self, settings):
        settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 120
        _age(services.sms_enqueue(to="+33612345678", body="a", purpose="t"), 180)
        with mock.patch.object(tasks.send_message, "delay") as delay:
            first = tasks.requeue_stale_messages.apply().get()
            second = tasks.requeue_stale_messages.apply().get()
        assert first["requeued"] == 1
        assert second["requeued"] == 0
        assert delay.call_count == 1

    def test_a_retry_that_is_not_yet_due_is_left_alone(self, flaky, settings):
        settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 120
        settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 300
        flaky.errors = [sms.SMSTransientError("Twilio HTTP 503, code 20503")]
        message = services.sms_enqueue(to="+33612345678", body="a", purpose="t")
        services.message_send(message_id=message.pk)
        OutboundMessage.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(seconds=600))
        assert tasks.requeue_stale_messages.apply().get()["requeued"] == 0

    def test_requeue_works_in_batches(self, settings):
        settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS = 120
        for n in range(7):
            _age(services.sms_enqueue(to=f"+3361234567{n}", body="a", purpose="t"), 180)
        report, ids = services.messages_requeue_stale(batch_size=3)
        assert report.requeued == 7
        assert len(set(ids)) == 7

    def test_a_row_stuck_in_sending_by_a_dead_worker_is_sent_again(self, settings):
        settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = 600
        stuck = services.sms_enqueue(to="+33612345678", body="a", purpose="t")
        OutboundMessage.objects.filter(pk=stuck.pk).update(
            status=MessageStatus.SENDING, attempts=1,
            sending_started_at=timezone.now() - timedelta(seconds=300))
        assert tasks.requeue_stale_messages.apply().get()["unstuck"] == 0
        assert sms.outbox == []
        OutboundMessage.objects.filter(pk=stuck.pk).update(
            sending_started_at=timezone.now() - timedelta(seconds=660))
        result = tasks.requeue_stale_messages.apply().get()
        assert result["unstuck"] == 1
        assert result["requeued"] == 1
        stuck.refresh_from_db()
        assert stuck.status == MessageStatus.SENT
        assert stuck.attempts == 2
        assert len(sms.outbox) == 1

    def test_a_code_that_could_not_leave_in_time_is_dropped_and_wiped(self, settings):
        settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = 1800
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True)
        _age(message, 1860)
        result = tasks.requeue_stale_messages.apply().get()
        assert result == {"requeued": 0, "unstuck": 0, "expired": 1}
        message.refresh_from_db()
        assert message.status == MessageStatus.EXPIRED
        assert message.body == WIPED_BODY
        assert sms.outbox == []


def test_a_late_secret_email_is_still_sent(settings):
    """A link e-mail held up past the SMS codes' limit is sent anyway (its page says whether
    the link still works): an e-mail is never dropped for being late."""
    settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = 1800
    message = services.email_enqueue(to="a@example.org", subject="Lien", body="http://x/r/T/",
                                     purpose="password_reset_email", contains_secret=True)
    _age(message, 7200)
    result = tasks.requeue_stale_messages.apply().get()
    assert result == {"requeued": 1, "unstuck": 0, "expired": 0}
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(mail.outbox) == 1


def test_the_requeue_task_is_scheduled():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["notifications-requeue"]
    assert entry["task"] == tasks.requeue_stale_messages.name
    assert entry["schedule"] <= settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS


def test_the_database_refuses_a_sent_secret_that_was_not_wiped():
    from django.db import IntegrityError

    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="t",
                                   contains_secret=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboundMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENT)


@pytest.mark.needs_postgres
def test_the_requeue_queries_use_the_partial_indexes():
    """With millions of sent rows, the periodic task reads only the few queued/sending ones."""
    from django.db import connection

    now = timezone.now()
    queued = (OutboundMessage.objects.filter(status=MessageStatus.QUEUED, next_attempt_at__lt=now)
              .order_by("next_attempt_at").values_list("pk", flat=True)[:500])
    sending = (OutboundMessage.objects.filter(status=MessageStatus.SENDING,
                                              sending_started_at__lt=now)
               .order_by("sending_started_at").values_list("pk", flat=True)[:500])
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plans = []
        for qs in (queued, sending):
            sql, params = qs.query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("SET enable_seqscan = on")
    assert "outbox_queued_due_idx" in plans[0]
    assert "outbox_sending_since_idx" in plans[1]


class TestDeployChecks:
    def _ids(self):
        from notifications.checks import outbox_ready_for_production

        return {e.id for e in outbox_ready_for_production(None)}

    def test_development_settings_fail_the_deploy_check(self, settings):
        settings.SMS_BACKEND = "notifications.sms.ConsoleSMSBackend"
        settings.CELERY_TASK_ALWAYS_EAGER = True
        assert self._ids() == {"notifications.E001", "notifications.E004"}

    def test_twilio_needs_its_credentials_and_https(self, settings):
        settings.SMS_BACKEND = "notifications.sms.TwilioSMSBackend"
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM = ""
        settings.SITE_URL = "http://educonnect.example"
        assert self._ids() == {"notifications.E002", "notifications.E003"}

    def test_production_settings_pass(self, settings):
        settings.SMS_BACKEND = "notifications.sms.TwilioSMSBackend"
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
        settings.TWILIO_AUTH_TOKEN = "token"
        settings.TWILIO_FROM = "+33700000000"
        settings.SITE_URL = "https://educonnect.example"
        assert self._ids() == set()
