"""EMAIL_BACKEND of the project: whatever calls Django's mail API writes to the outbox.

Modelled on les-emplois' AsyncEmailBackend (itou/emails/tasks.py): `send_messages` sends
nothing itself; it writes outbox rows in the caller's transaction (a rolled-back action
sends nothing) and the worker side delivers them later through
NOTIFICATIONS_EMAIL_DELIVERY_BACKEND (SMTP in production), with the outbox's retries.
So a `send_mail` by Django (password reset of the admin, error mails) or by a library is
retried and never lost, exactly like the portal's own emails.

One row per recipient: To, Cc and Bcc addresses each get their own message, addressed to them
alone (recipients never see each other's address: these are families), with the text body,
the HTML alternative if any, the sender and the Reply-To addresses. Attachments and other
alternatives are refused (ValueError): the portal sends none, and a silent drop would lose
part of a message.
"""

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.db import transaction

from . import services

# The purpose recorded for mail that did not come through notifications.emails.email_send.
DJANGO_MAIL_PURPOSE = "django_mail"


def _html_alternative(message: EmailMessage) -> str:
    html = ""
    for content, mimetype in getattr(message, "alternatives", []) or []:
        if mimetype != "text/html" or html:
            raise ValueError("OutboxEmailBackend keeps one text/html alternative, no other")
        html = content
    if getattr(message, "content_subtype", "plain") == "html":
        # EmailMessage(content_subtype="html"): the body itself is HTML.
        return message.body
    return html


class OutboxEmailBackend(BaseEmailBackend):
    """`send_messages` writes one OutboundMessage per recipient; returns how many messages
    (EmailMessage objects) were accepted, like Django's backends."""

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        accepted = 0
        with transaction.atomic():
            for message in email_messages:
                recipients = message.recipients()
                if not recipients:
                    continue
                if message.attachments:
                    raise ValueError("OutboxEmailBackend does not send attachments")
                html = _html_alternative(message)
                text = message.body if message.content_subtype != "html" else ""
                for address in recipients:
                    services.email_enqueue(
                        to=address, subject=str(message.subject), body=text or html,
                        html_body=html, from_email=message.from_email or "",
                        reply_to=list(message.reply_to or []),
                        purpose=DJANGO_MAIL_PURPOSE,
                    )
                accepted += 1
        return accepted
