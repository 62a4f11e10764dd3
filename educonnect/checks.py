"""Deployment checks: `manage.py check --deploy` fails on settings unfit for production."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_not_the_demo_one(app_configs, **kwargs):
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        return [
            Error(
                "DJANGO_SECRET_KEY is the embedded demo key.",
                hint="Set DJANGO_SECRET_KEY to a long random value.",
                id="educonnect.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def shared_counters_in_production(app_configs, **kwargs):
    if not settings.REDIS_URL:
        return [
            Error(
                "REDIS_URL is not set: attempt counters and sessions would not be shared "
                "between web nodes.",
                hint="Set REDIS_URL to the production Redis.",
                id="educonnect.E002",
            )
        ]
    return []
