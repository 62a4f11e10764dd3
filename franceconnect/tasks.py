"""Celery tasks of the FranceConnect client: they call services, nothing else."""

from celery import shared_task

from .services import franceconnect_states_purge


@shared_task(name="franceconnect.tasks.states_purge_task")
def states_purge_task() -> int:
    """Delete the expired state rows (FRANCECONNECT_STATE_TTL_SECONDS after they were made)."""
    return franceconnect_states_purge()
