from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The machinery every business app stands on: flow engine, verification codes, rate
    limits, text normalisation, client IP, journal. It imports no business app."""

    name = "core"
    verbose_name = _("Socle")
