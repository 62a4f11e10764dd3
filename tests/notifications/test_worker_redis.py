"""The outbox with a real Celery worker, a real Redis broker and the real dispatcher.

CELERY_TEST_BROKER_URL names the broker (CI: redis://127.0.0.1:6379/14). The worker and the
dispatcher (notifications/dispatch.py, LISTEN/NOTIFY on PostgreSQL) run in threads of this
process and read the committed rows of the test database (transactional_db), exactly as in
production they read the web node's commits. The "request" (the test) only writes rows.
"""

import os
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from educonnect.celery import app
from notifications import dispatch, services, sms, tasks
from notifications.models import WIPED_BODY, MessageStatus, OutboundMessage

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "redis://127.0.0.1:6379/5")

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db(transaction=True)]


def _broker_missing() -> str | None:
    import redis

    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"needs a Redis broker at CELERY_TEST_BROKER_URL={BROKER_URL}: {exc}"
    return None


class TaskCounter:
    """Counts send_message runs finished by the worker, to wait for them without sleeping."""

    def __init__(self):
        self.done = 0
        self._cond = threading.Condition()

    def __call__(self, sender=None, **kwargs):
        if sender is not None and sender.name == tasks.send_message.name:
            # The worker thread's own connection: closed so the test database can be dropped.
            connection.close()
            with self._cond:
                self.done += 1
                self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 20.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.done >= n, timeout), (
                f"the worker finished {self.done} task(s) of {n} within {timeout}s")


def _forget_broker_pools(*, close: bool) -> None:
    """Celery keeps the connection and producer pools of the first broker it used (eager
    `.delay()` calls of other tests made them for the default URL)."""
    if close:
        from kombu import pools

        pools.reset()  # closes them and empties kombu's registry (a closed pool stays in it)
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextmanager
def redis_worker(concurrency: int = 1, pool: str = "solo"):
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    reason = _broker_missing()
    if reason:
        pytest.skip(reason)
    # The app's default queue: Celery caches its routing table on first use, so a queue
    # renamed here would not be the one `.delay()` publishes to. The broker database is this
    # test's own (CELERY_TEST_BROKER_URL); it is emptied before and after.
    queue = app.conf.task_default_queue
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=BROKER_URL, task_always_eager=False)
    _forget_broker_pools(close=False)
    counter = TaskCounter()
    task_postrun.connect(counter, weak=False)
    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
        with start_worker(app, concurrency=concurrency, pool=pool, perform_ping_check=False,
                          shutdown_timeout=20):
            yield counter
    finally:
        task_postrun.disconnect(counter)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
        _forget_broker_pools(close=True)
        app.conf.update(saved)


@contextmanager
def dispatcher(settings, poll: float = 5.0):
    """The dispatcher in a thread, as `manage.py outbox_dispatch` runs it; the request side
    in production mode (nothing sent or published after commit)."""
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    stop = threading.Event()

    def run():
        try:
            dispatch.run(stop=stop, poll_seconds=poll)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="outbox-dispatcher")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _wait_status(message_id: int, status: str, timeout: float = 20.0) -> OutboundMessage:
    deadline = time.monotonic() + timeout
    while True:
        message = OutboundMessage.objects.get(pk=message_id)
        if message.status == status or time.monotonic() > deadline:
            return message
        time.sleep(0.05)


CODE_SMS = "ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes."


def test_a_worker_sends_the_committed_message_once_even_when_its_task_runs_twice(settings):
    with redis_worker() as finished, dispatcher(settings):
        with transaction.atomic():
            message = services.sms_enqueue(to="+262692123456", body=CODE_SMS,
                                           purpose="activation_code", contains_secret=True)
            # Inside the transaction nothing has reached the broker yet.
            assert finished.done == 0
        finished.wait_for(1)
        sent = _wait_status(message.pk, MessageStatus.SENT)
        assert sent.status == MessageStatus.SENT
        assert sent.body == WIPED_BODY
        assert sms.outbox == [sms.SentSMS(to="+262692123456", body=CODE_SMS)]

        # The same task delivered again (broker redelivery, periodic requeue, a human).
        tasks.send_message.delay(message.pk)
        tasks.send_message.delay(message.pk)
        finished.wait_for(3)

    assert len(sms.outbox) == 1
    sent.refresh_from_db()
    assert sent.attempts == 1


def test_a_rolled_back_enqueue_never_reaches_the_worker(settings):
    with redis_worker() as finished, dispatcher(settings):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.sms_enqueue(to="+33612345678", body="x", purpose="t")
            raise RuntimeError("the action failed")
        # A committed message after it, to know the worker has drained its queue.
        later = services.sms_enqueue(to="+33698765432", body="y", purpose="t")
        finished.wait_for(1)
        assert _wait_status(later.pk, MessageStatus.SENT).status == MessageStatus.SENT
    assert sms.outbox == [sms.SentSMS(to="+33698765432", body="y")]


@pytest.mark.needs_postgres
def test_concurrent_duplicate_tasks_send_once(settings):
    """Four copies of the task at once on four worker threads: the row lock lets one send."""
    settings.NOTIFICATIONS_SEND_ON_COMMIT = False
    message = services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                                   contains_secret=True)
    with redis_worker(concurrency=4, pool="threads") as finished:
        for _ in range(4):
            tasks.send_message.delay(message.pk)
        finished.wait_for(4)
    assert len(sms.outbox) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 1)


@pytest.mark.needs_postgres
def test_commit_to_sent_latency_through_dispatcher_broker_and_worker(settings):
    """The figure of the README: from the commit of the row to the provider's acceptance,
    through NOTIFY, the dispatcher, Redis and the worker (poll 30 s: only NOTIFY is fast)."""
    latencies = []
    with redis_worker() as finished, dispatcher(settings, poll=30.0):
        for n in range(20):
            with transaction.atomic():
                message = services.sms_enqueue(to="+33612345678", body=f"m{n}", purpose="t")
            committed = time.monotonic()
            finished.wait_for(n + 1)
            sent = _wait_status(message.pk, MessageStatus.SENT)
            assert sent.status == MessageStatus.SENT
            latencies.append(time.monotonic() - committed)
    latencies.sort()
    print(f"\ncommit → sent through dispatcher + Redis + worker, 20 messages: median "
          f"{latencies[10] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    assert len(sms.outbox) == 20
    assert latencies[10] < 1.0


def test_a_failed_attempt_is_handed_over_again_when_due(settings):
    """A transient failure: the row is due again after the backoff, and the dispatcher (not a
    Celery retry) hands it over then."""
    from tests.notifications.test_outbox import FlakyBackend

    settings.SMS_BACKEND = "tests.notifications.test_outbox.FlakyBackend"
    settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS = 1
    FlakyBackend.errors = [sms.SMSTransientError("Twilio HTTP 503, code 20503")]
    FlakyBackend.calls = 0
    with redis_worker() as finished, dispatcher(settings, poll=30.0):
        message = services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                       purpose="activation_code", contains_secret=True)
        finished.wait_for(2, timeout=20)
        sent = _wait_status(message.pk, MessageStatus.SENT)
    assert (sent.status, sent.attempts, FlakyBackend.calls) == (MessageStatus.SENT, 2, 2)
    assert sms.outbox == [sms.SentSMS(to="+33612345678", body=CODE_SMS)]
