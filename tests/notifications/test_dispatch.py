"""The dispatcher: the request writes rows only; the worker side hands them to Celery."""

import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from notifications import dispatch, services, sms, tasks
from notifications.models import MessageStatus, OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def through_the_dispatcher(settings):
    """Production mode: nothing is sent or published after commit by the request itself."""
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False


def test_the_request_publishes_nothing_to_the_broker(through_the_dispatcher,
                                                     django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.send_message, "apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                services.sms_enqueue(to="+33612345678", body="x", purpose="t")
                services.email_enqueue(to="a@example.org", subject="s", body="b", purpose="t")
    assert callbacks == []
    publish.assert_not_called()
    assert OutboundMessage.objects.filter(status=MessageStatus.QUEUED).count() == 2


def test_an_activation_match_publishes_nothing_from_the_request(
        through_the_dispatcher, client, django_capture_on_commit_callbacks):
    """Activation step 1 with a match: the SMS row is written, no broker is contacted, during
    the request or after its commit."""
    from django.urls import reverse

    from tests.factories import GuardianRecordFactory, PupilFactory, ResponsibilityFactory

    record = GuardianRecordFactory(last_name="BEN SAÏD", first_name="Nadia",
                                   mobile_phone="+262692123456")
    ResponsibilityFactory(guardian_record=record,
                          pupil=PupilFactory(establishment=record.establishment))
    with mock.patch.object(tasks.send_message, "apply_async") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("activation:start"), {
                "last_name": "Ben Saïd", "first_name": "Nadia", "phone": "0692 12 34 56"})
    assert response.status_code == 302
    publish.assert_not_called()
    assert OutboundMessage.objects.filter(recipient="+262692123456",
                                          status=MessageStatus.QUEUED).count() == 1


def test_dispatch_hands_the_due_rows_over_once(through_the_dispatcher):
    due = [services.sms_enqueue(to=f"+3361234567{n}", body=f"m{n}", purpose="t")
           for n in range(3)]
    later = services.sms_enqueue(to="+33698765432", body="later", purpose="t")
    OutboundMessage.objects.filter(pk=later.pk).update(
        next_attempt_at=timezone.now() + timedelta(seconds=30))

    with mock.patch.object(tasks.send_message, "delay") as delay:
        assert dispatch.dispatch_once() == 3
        # Leased: the next turn does not hand them over again.
        assert dispatch.dispatch_once() == 0
    assert sorted(call.args[0] for call in delay.call_args_list) == [m.pk for m in due]

    # A lease that ran out (the broker lost the task) makes the row due again.
    OutboundMessage.objects.filter(pk=due[0].pk).update(next_attempt_at=timezone.now())
    # Eager here: the task runs and sends.
    assert dispatch.dispatch_once() == 1
    assert [m.body for m in sms.outbox] == ["m0"]
    assert 29 < services.messages_next_due_in() <= 30 + 120


def test_a_broker_that_refuses_gives_the_rows_back(through_the_dispatcher, settings):
    settings.NOTIFICATIONS_DISPATCH_POLL_SECONDS = 5
    first = services.sms_enqueue(to="+33612345678", body="a", purpose="t")
    second = services.sms_enqueue(to="+33612345679", body="b", purpose="t")
    with mock.patch.object(tasks.send_message, "delay",
                           side_effect=[None, ConnectionError("broker down")]):
        assert dispatch.dispatch_once() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    # The first went to Celery (leased for the re-queue delay), the second is due in 5 s.
    assert first.next_attempt_at > timezone.now() + timedelta(seconds=100)
    assert timezone.now() < second.next_attempt_at <= timezone.now() + timedelta(seconds=5)
    assert second.status == MessageStatus.QUEUED


def test_nothing_queued_means_nothing_due():
    assert services.messages_next_due_in() is None
    assert dispatch.dispatch_once() == 0


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_is_woken_by_the_commit_not_by_its_poll(settings):
    """A 30 s poll: only PostgreSQL's NOTIFY at commit can wake it within a second. A rolled
    back row wakes nothing and is never handed over."""
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    handed: list[tuple[int, float]] = []
    arrived = threading.Event()

    def record(message_id):
        handed.append((message_id, time.monotonic()))
        arrived.set()

    stop = threading.Event()
    with mock.patch.object(tasks.send_message, "delay", side_effect=record):
        thread = threading.Thread(target=_run_and_close, args=(stop, 30.0))
        thread.start()
        try:
            time.sleep(0.5)  # the dispatcher is listening, the outbox is empty
            with pytest.raises(RuntimeError), transaction.atomic():
                services.sms_enqueue(to="+33612345678", body="rolled back", purpose="t")
                raise RuntimeError
            assert not arrived.wait(1.0)

            latencies = []
            for n in range(10):
                arrived.clear()
                with transaction.atomic():
                    message = services.sms_enqueue(to="+33612345678", body=f"m{n}", purpose="t")
                committed = time.monotonic()
                assert arrived.wait(2.0), "the commit did not wake the dispatcher"
                assert handed[-1][0] == message.pk
                latencies.append(handed[-1][1] - committed)
        finally:
            stop.set()
            thread.join(timeout=35)
    assert len(handed) == 10
    latencies.sort()
    print(f"\ncommit → handed to Celery: median {latencies[5] * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms")
    assert latencies[5] < 0.5


def _run_and_close(stop, poll):
    try:
        dispatch.run(stop=stop, poll_seconds=poll)
    finally:
        connection.close()


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_survives_a_broker_outage_and_hands_over_later(settings):
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    settings.NOTIFICATIONS_DISPATCH_POLL_SECONDS = 0.2
    outcomes = [ConnectionError("broker down"), ConnectionError("broker down"), None]
    handed = threading.Event()

    def publish(message_id):
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        handed.set()

    stop = threading.Event()
    with mock.patch.object(tasks.send_message, "delay", side_effect=publish):
        thread = threading.Thread(target=_run_and_close, args=(stop, 0.2))
        thread.start()
        try:
            services.sms_enqueue(to="+33612345678", body="x", purpose="t")
            assert handed.wait(5), "the message was not handed over after the outage"
        finally:
            stop.set()
            thread.join(timeout=5)
    assert outcomes == []


def test_the_command_runs_the_dispatcher():
    with mock.patch.object(dispatch, "run") as run:
        call_command("outbox_dispatch")
    assert isinstance(run.call_args.kwargs["stop"], threading.Event)


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_reconnects_when_its_listening_connection_is_cut(settings, caplog):
    """PostgreSQL restarted or a proxy cut the idle LISTEN connection: the dispatcher logs,
    reconnects, LISTENs again and is woken by the next commit (a 30 s poll: only a new
    LISTEN can hand the row over within seconds)."""
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    handed = threading.Event()
    stop = threading.Event()
    with mock.patch.object(tasks.send_message, "delay", side_effect=lambda _id: handed.set()):
        thread = threading.Thread(target=_run_and_close, args=(stop, 30.0))
        thread.start()
        try:
            time.sleep(0.5)
            with connection.cursor() as cursor:
                deadline = time.monotonic() + 5
                cut = 0
                while not cut and time.monotonic() < deadline:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                        [f"LISTEN {dispatch.CHANNEL}%"])
                    cut = len(cursor.fetchall())
                    time.sleep(0.1)
            assert cut, "the dispatcher's LISTEN connection was not found"
            # It notices within a second, pauses 2 s, then LISTENs again.
            time.sleep(dispatch.ERROR_PAUSE_SECONDS + 2.0)
            services.sms_enqueue(to="+33612345678", body="after the cut", purpose="t")
            assert handed.wait(5), "no hand-over after the LISTEN connection was cut"
        finally:
            stop.set()
            thread.join(timeout=5)
    assert "Outbox dispatcher: OperationalError" in caplog.text
