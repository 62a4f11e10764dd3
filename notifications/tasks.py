"""Celery tasks of the outbox: they take ids and call notifications.services."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def send_message(message_id: int) -> str:
    """Send one outbox message; safe to run any number of times (sends once).

    A transient failure is not retried by Celery (`self.retry(max_retries=None)` is a trap:
    a later `retry()` without the argument falls back to the task's max_retries, 3 by
    default): the row goes back to `queued` with its next_attempt_at moved by the backoff
    (services.retry_delay), and the dispatcher hands it over again when it is due, with no
    limit on the count until the message's useful life is over (then it is expired).
    """
    return services.message_send(message_id=message_id).status


@shared_task(ignore_result=True)
def requeue_stale_messages() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): a lost broker message is not a lost SMS."""
    report, ids = services.messages_requeue_stale()
    for message_id in ids:
        send_message.delay(message_id)
    return {"requeued": report.requeued, "unstuck": report.unstuck, "expired": report.expired}
