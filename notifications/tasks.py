"""Celery tasks of the outbox: they take ids and call notifications.services."""

import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, ignore_result=True)
def send_message(self, message_id: int) -> str:
    """Send one outbox message; safe to run any number of times (sends once).

    The number of attempts is counted on the row (NOTIFICATIONS_MAX_ATTEMPTS), not by Celery,
    so that attempts made through the periodic requeue count too.
    """
    outcome = services.message_send(message_id=message_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        # An eager run (the demo, without a broker) would retry at once inside the user's
        # request: there the row simply stays queued for the periodic task.
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


@shared_task(ignore_result=True)
def requeue_stale_messages() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): a lost broker message is not a lost SMS."""
    report, ids = services.messages_requeue_stale()
    for message_id in ids:
        send_message.delay(message_id)
    return {"requeued": report.requeued, "unstuck": report.unstuck, "expired": report.expired}
