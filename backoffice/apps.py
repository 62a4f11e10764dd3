"""The back-office: Django admin for staff, behind password + TOTP, with the helpdesk pages.

This module stays import-light: Django imports it while populating the app registry, to
read BackOfficeAdminConfig (it replaces "django.contrib.admin" in INSTALLED_APPS, so that
`admin.site` is our BackOfficeSite and every ModelAdmin registers on it).
"""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_migrate(sender, using="default", **kwargs):
    # post_migrate is sent app by app, and this receiver may run before auth's own
    # create_permissions for an app: wait for the last app, make sure every permission
    # exists (idempotent), then sync the groups.
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # post_migrate is sent only to apps that have a models module.
    configs = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.label != configs[-1].label:
        return
    for config in configs:
        create_permissions(config, verbosity=0, using=using)
    from backoffice.roles import roles_sync

    roles_sync(strict=False)


class BackofficeConfig(AppConfig):
    """The back-office app: admin classes of every business model, staff sign-in, roles,
    helpdesk. It may import every business app; no business app imports it."""

    name = "backoffice"
    verbose_name = _("Espace de gestion")

    def ready(self):
        # Staff TOTP seeds are encrypted at rest (backoffice/totp_keys.py).
        from backoffice.totp_keys import install

        install()


class BackOfficeAdminConfig(AdminConfig):
    default_site = "backoffice.site.BackOfficeSite"

    def ready(self):
        super().ready()
        from django.db.models.signals import post_migrate

        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="backoffice.sync_roles")
