"""Deployment checks of the outbox: `manage.py check --deploy` fails on settings that would
print codes in the logs, make the web request wait for the SMS provider, or lose reports."""

from django.conf import settings
from django.core.checks import Error, Tags, register

DEVELOPMENT_SMS_BACKENDS = {
    "notifications.sms.ConsoleSMSBackend",
    "notifications.sms.FileSMSBackend",
    "notifications.sms.DemoSMSBackend",
    "notifications.sms.LocmemSMSBackend",
}


@register(Tags.security, deploy=True)
def outbox_ready_for_production(app_configs, **kwargs):
    errors = []
    if settings.SMS_BACKEND in DEVELOPMENT_SMS_BACKENDS:
        errors.append(Error(
            f"SMS_BACKEND is {settings.SMS_BACKEND}: codes would be written to the console or "
            "to files instead of being sent.",
            hint="Set SMS_BACKEND=notifications.sms.TwilioSMSBackend and the TWILIO_* variables.",
            id="notifications.E001",
        ))
    if settings.SMS_BACKEND == "notifications.sms.TwilioSMSBackend":
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
                   if not getattr(settings, name)]
        if missing:
            errors.append(Error(f"Twilio is selected but {', '.join(missing)} is not set.",
                                id="notifications.E002"))
        if not settings.SITE_URL.startswith("https://"):
            errors.append(Error(
                "EDUCONNECT_SITE_URL is not https: Twilio's delivery reports (and their "
                "signature) would travel in clear.",
                hint="Set EDUCONNECT_SITE_URL to the public https address of the portal.",
                id="notifications.E003",
            ))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        errors.append(Error(
            "CELERY_BROKER_URL is not set: SMS and emails would be sent inside the web request.",
            hint="Set CELERY_BROKER_URL and run a Celery worker and Celery beat.",
            id="notifications.E004",
        ))
    return errors


DEVELOPMENT_EMAIL_BACKENDS = {
    "notifications.mail.DemoEmailBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    # The outbox itself: delivering through it would write the message back to the outbox.
    "notifications.backends.OutboxEmailBackend",
}


@register(Tags.security, deploy=True)
def email_ready_for_production(app_configs, **kwargs):
    """Links in e-mails must point at the real portal over https (they carry single-use
    tokens), and e-mails must really leave."""
    errors = []
    if not settings.SITE_URL.startswith("https://"):
        errors.append(Error(
            "EDUCONNECT_SITE_URL is missing or not https: links in e-mails (password reset, "
            "address validation) would be wrong or travel in clear.",
            hint="Set EDUCONNECT_SITE_URL to the public https address of the portal, e.g. "
            "https://educonnect.example.",
            id="notifications.E005",
        ))
    if settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND in DEVELOPMENT_EMAIL_BACKENDS:
        errors.append(Error(
            f"NOTIFICATIONS_EMAIL_DELIVERY_BACKEND is "
            f"{settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND}: e-mails would not be sent.",
            hint="Leave it unset (SMTP with EMAIL_HOST, EMAIL_PORT…) or name a real backend.",
            id="notifications.E006",
        ))
    return errors
