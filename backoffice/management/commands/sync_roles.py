"""`manage.py sync_roles`: make the back-office groups hold exactly the permissions declared
in accounts/roles.py. Idempotent; also run after every `migrate`."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from backoffice.roles import MissingPermissions, roles_sync


class Command(BaseCommand):
    help = gettext_lazy(
        "Crée ou met à jour les groupes du back-office et leurs permissions (accounts/roles.py)."
    )

    def handle(self, *args, **options):
        try:
            result = roles_sync(strict=True)
        except MissingPermissions as exc:
            raise CommandError(str(exc)) from exc
        for group, count in result.items():
            self.stdout.write(
                gettext("%(group)s : %(count)s permission(s)") % {"group": group, "count": count}
            )
