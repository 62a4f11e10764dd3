"""Celery tasks of core: they call services, nothing else."""

from importlib import import_module

from celery import shared_task
from django.conf import settings

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


@shared_task(name="core.tasks.sessions_purge_task")
def sessions_purge_task() -> None:
    """Delete the expired sessions kept in the database (Django's `clearsessions`: the
    session engine's clear_expired; a no-op for engines without a table)."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
