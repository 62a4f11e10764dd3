"""`manage.py outbox_dispatch`: the long-running process that hands the outbox to Celery.

Run one (or more, for redundancy) next to the Celery workers; see notifications/dispatch.py
and the README (« Comment les messages partent »).
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_lazy

from notifications import dispatch


class Command(BaseCommand):
    help = gettext_lazy(
        "Remet à Celery les SMS et courriels de la file d'envoi dès leur enregistrement "
        "(LISTEN/NOTIFY de PostgreSQL), et les nouveaux essais à leur échéance."
    )

    def handle(self, *args, **options):
        dispatch.run_forever_with_signals()
