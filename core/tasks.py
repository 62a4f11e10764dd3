"""Celery tasks of core: they call services, nothing else."""

from celery import shared_task

from .flows import flows_purge


@shared_task(name="core.tasks.flows_purge_task")
def flows_purge_task() -> int:
    """Delete the flows of every kind older than their kind's retention."""
    return flows_purge()
