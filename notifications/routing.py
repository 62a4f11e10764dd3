"""Which Celery queue a task goes to, when the deployment separates them (CELERY_SEPARATE_QUEUES).

Three queues, each with its own workers (docker-compose.yml): `sms` (codes people are waiting
for, seconds matter), `email` (an SMTP server slow to answer must not hold the SMS back) and
`periodic` (beat's housekeeping: re-queue, purges). A send is routed by its message's channel,
read from the outbox row (one primary-key lookup per publish). Without the setting every task
goes to Celery's default queue, which one worker serves (the tests, a small installation).
"""

from __future__ import annotations

from .models import Channel, OutboundMessage

QUEUE_SMS = "sms"
QUEUE_EMAIL = "email"
QUEUE_PERIODIC = "periodic"

SEND_TASK = "notifications.tasks.send_message"
PERIODIC_TASKS = frozenset({
    "notifications.tasks.requeue_stale_messages",
    "core.tasks.flows_purge_task",
    "core.tasks.link_tokens_purge_task",
    "core.tasks.sessions_purge_task",
})


def task_route(name, args, kwargs, options, task=None, **kw) -> dict | None:
    """Celery router (CELERY_TASK_ROUTES): {"queue": …} for our tasks, None for the others.

    A send whose row is gone (purged) goes to the SMS queue: the task finds nothing and ends.
    """
    if name in PERIODIC_TASKS:
        return {"queue": QUEUE_PERIODIC}
    if name == SEND_TASK:
        message_id = (args or [None])[0] if args else (kwargs or {}).get("message_id")
        channel = (
            OutboundMessage.objects.filter(pk=message_id).values_list("channel", flat=True).first()
            if message_id is not None else None
        )
        return {"queue": QUEUE_EMAIL if channel == Channel.EMAIL else QUEUE_SMS}
    return None
