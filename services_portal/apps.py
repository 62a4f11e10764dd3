from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesPortalConfig(AppConfig):
    name = "services_portal"
    verbose_name = _("Services")
