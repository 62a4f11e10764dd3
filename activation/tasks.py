"""Celery tasks of activation: they call services, nothing else."""

from celery import shared_task

from .services import activation_flows_purge


@shared_task(name="activation.tasks.activation_flows_purge_task")
def activation_flows_purge_task() -> int:
    return activation_flows_purge()
