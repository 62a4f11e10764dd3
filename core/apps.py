from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The machinery every business app stands on: flow engine, verification codes, rate
    limits, text normalisation, client IP, journal. It imports no business app."""

    name = "core"
    verbose_name = "Socle"
