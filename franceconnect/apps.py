from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FranceConnectConfig(AppConfig):
    name = "franceconnect"
    verbose_name = _("FranceConnect")
