"""Celery tasks of pupils: they call services, nothing else."""

from celery import shared_task

from .letters import letter_files_purge, letter_run_execute, letter_runs_start


@shared_task(name="pupils.tasks.letter_run_task")
def letter_run_task(run_id: int) -> None:
    """Make the letters of one queued run (pupils.letters.letter_run_execute)."""
    letter_run_execute(run_id=run_id)


@shared_task(name="pupils.tasks.letter_runs_start_task")
def letter_runs_start_task() -> int:
    """Start the queued letter runs (Celery beat, every LETTERS_START_EVERY_SECONDS)."""
    return letter_runs_start()


@shared_task(name="pupils.tasks.letter_files_purge_task")
def letter_files_purge_task() -> int:
    """Delete the letter files past their availability (LETTERS_FILE_TTL_SECONDS)."""
    return letter_files_purge()
