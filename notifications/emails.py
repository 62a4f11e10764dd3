"""The portal's e-mails: rendered from templates, written to the outbox in the caller's
transaction, sent by the worker side (notifications.services).

An e-mail named `x` is three templates in templates/emails/:

- `x_subject.txt`: the subject, one line (line breaks are joined, spaces squeezed);
- `x.txt`: the text part (rendered with autoescape off: it is not HTML);
- `x.html`: the HTML part, `{% extends "emails/base.html" %}` (lang="fr", the header
  « ÉduConnect », a footer saying the message is automatic).

Each is rendered with `context` plus EDUCONNECT_SITE_URL, ASSISTANCE_PHONE and ASSISTANCE_URL.
Links in e-mails are absolute: build them with `absolute_url(reverse(...))`, from the
EDUCONNECT_SITE_URL setting, never from the request's Host header (a forged Host would otherwise
send a family's reset link to the attacker's site: host-header poisoning).
"""

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation

from . import services
from .models import OutboundMessage

_SPACES = re.compile(r"\s+")


def absolute_url(path: str) -> str:
    """`path` (e.g. reverse(...) + "?…", starting with "/") on the portal's public address.

    Built from settings.SITE_URL (environment), e.g. "https://educonnect.example";
    raises ImproperlyConfigured when it is empty, ValueError when `path` is not a path.
    """
    base = (settings.SITE_URL or "").rstrip("/")
    if not base:
        raise ImproperlyConfigured("EDUCONNECT_SITE_URL is not set: links in e-mails need it")
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError("absolute_url expects a path starting with one /")
    return base + path


def _context(context: dict) -> dict:
    return {
        "SITE_URL": (settings.SITE_URL or "").rstrip("/"),
        "ASSISTANCE_PHONE": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "ASSISTANCE_URL": settings.EDUCONNECT_ASSISTANCE_URL,
        **context,
    }


def email_render(*, template: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of templates/emails/<template>…, in French (LANGUAGE_CODE)."""
    full = _context(context)
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/{template}_subject.txt", full)
        text = render_to_string(f"emails/{template}.txt", full)
        html = render_to_string(f"emails/{template}.html", full)
    subject = _SPACES.sub(" ", subject).strip()
    text = text.strip() + "\n"
    return subject, text, html


def email_send(*, to: str, template: str, context: dict, purpose: str,
               contains_secret: bool = False, account=None,
               flow_id=None) -> OutboundMessage:
    """Render the e-mail `template` for `to` and write its outbox row; returns the row.

    The row is written in the caller's transaction: a rollback sends nothing; the worker side
    sends it after commit (SMTP via NOTIFICATIONS_EMAIL_DELIVERY_BACKEND), retried on 4xx and
    timeouts. `contains_secret=True` for a message holding a link token or a code: its text
    and HTML are wiped from the table as soon as it has left. `purpose` names what triggered
    it (e.g. "password_reset_link"), read by the helpdesk. Sender: DEFAULT_FROM_EMAIL. The
    subject is kept after sending: never put a code or a link in it.
    Raises ValueError on an address with a line break or without "@"; a template that is
    missing raises TemplateDoesNotExist.
    """
    subject, text, html = email_render(template=template, context=context)
    return services.email_enqueue(
        to=to, subject=subject, body=text, html_body=html, purpose=purpose,
        contains_secret=contains_secret, account=account, flow_id=flow_id,
    )
