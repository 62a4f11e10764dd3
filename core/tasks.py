"""Celery tasks of core: they call services, nothing else."""

from celery import shared_task

from .flows import flows_purge
from .tokens import link_tokens_purge


@shared_task(name="core.tasks.flows_purge_task")
def flows_purge_task() -> int:
    """Delete the flows of every kind older than their kind's retention."""
    return flows_purge()


@shared_task(name="core.tasks.link_tokens_purge_task")
def link_tokens_purge_task() -> int:
    """Delete the link tokens expired more than LINK_TOKEN_RETENTION_DAYS ago."""
    return link_tokens_purge()
