"""Every write of the academic assistance form: keyword-only arguments, one transaction
each, journaled. E-mails go through the outbox (notifications.services.email_enqueue, sent
after commit); the texts are templates (templates/assistance/email_*.txt).

The journal holds ids, the establishment's UAI, the category and counts — never the
family's name, address or message.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from core.journal import EventKind, journal_record
from notifications.emails import absolute_url
from notifications.services import email_enqueue
from pupils.models import Establishment

from .models import AssistanceReply, AssistanceRequest, Status

ACKNOWLEDGEMENT_PURPOSE = "assistance_acknowledgement"
REPLY_PURPOSE = "assistance_reply"


class AssistanceActionRefused(Exception):
    """An action the request's state does not allow, with the French reason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _form_url() -> str:
    """The assistance form, where a family writes again: the mails leave from an address
    that receives no reply."""
    return absolute_url(reverse("assistance:form"))


def _subject(assistance_request: AssistanceRequest, text: str) -> str:
    return f"{text} — {_('demande n° %(number)s') % {'number': assistance_request.pk}}"


@transaction.atomic
def assistance_request_submit(
    *,
    establishment: Establishment,
    category: str,
    last_name: str,
    first_name: str,
    email: str,
    mobile_phone: str,
    pupil_name: str,
    message: str,
    account: Account | None = None,
    request: HttpRequest | None = None,
) -> AssistanceRequest:
    """Write a family's request for the assistance of `establishment`'s academy and queue
    the acknowledgement e-mail to `email`. Values as cleaned by assistance.forms (names
    cleaned, phone E.164 or "", address lowercased). Limits are the caller's
    (assistance.limits, before this call)."""
    assistance_request = AssistanceRequest.objects.create(
        establishment=establishment, category=category, last_name=last_name,
        first_name=first_name, email=email, mobile_phone=mobile_phone, pupil_name=pupil_name,
        message=message, account=account,
    )
    journal_record(EventKind.ASSISTANCE_REQUEST_SUBMITTED, request=request, account=account,
                   assistance_request=assistance_request.pk,
                   establishment=establishment.uai, category=category)
    body = render_to_string("assistance/email_acknowledgement.txt", {
        "assistance_request": assistance_request,
        "academy": establishment.academy.name, "form_url": _form_url(),
    })
    email_enqueue(to=email, subject=_subject(assistance_request,
                                             _("Votre demande d'assistance ÉduConnect")),
                  body=body, purpose=ACKNOWLEDGEMENT_PURPOSE, account=account)
    return assistance_request


def _locked(assistance_request: AssistanceRequest) -> AssistanceRequest:
    return (AssistanceRequest.objects.select_for_update(of=("self",))
            .select_related("establishment__academy").get(pk=assistance_request.pk))


@transaction.atomic
def assistance_request_take(*, assistance_request: AssistanceRequest, actor: Account,
                            request: HttpRequest | None = None) -> AssistanceRequest:
    """The agent takes the request (another agent's is taken over). Raises
    AssistanceActionRefused on a closed request."""
    stored = _locked(assistance_request)
    if stored.status == Status.CLOSED:
        raise AssistanceActionRefused(_("Cette demande est close : rouvrez-en une nouvelle si "
                                        "la famille écrit à nouveau."))
    previous = stored.assignee_id
    stored.assignee = actor
    if stored.status == Status.NEW:
        stored.status = Status.TAKEN
    stored.updated_at = timezone.now()
    stored.save(update_fields=["assignee", "status", "updated_at"])
    journal_record(EventKind.ASSISTANCE_REQUEST_TAKEN, request=request, actor=actor,
                   account=stored.account, assistance_request=stored.pk,
                   taken_over=previous is not None and previous != actor.pk)
    return stored


@transaction.atomic
def assistance_request_answer(*, assistance_request: AssistanceRequest, actor: Account,
                              body: str, request: HttpRequest | None = None) -> AssistanceReply:
    """Send `body` to the family by e-mail (through the outbox) and keep it; the request is
    « Répondue » and taken by the agent. Raises AssistanceActionRefused on a closed request
    or an empty answer."""
    stored = _locked(assistance_request)
    body = (body or "").strip()
    if stored.status == Status.CLOSED:
        raise AssistanceActionRefused(_("Cette demande est close : la réponse n'a pas été "
                                        "envoyée."))
    if not body:
        raise AssistanceActionRefused(_("Écrivez la réponse à envoyer à la famille."))
    reply = AssistanceReply.objects.create(request=stored, author=actor, body=body)
    stored.status = Status.ANSWERED
    stored.assignee = actor
    stored.updated_at = reply.sent_at
    stored.save(update_fields=["status", "assignee", "updated_at"])
    text = render_to_string("assistance/email_reply.txt", {
        "assistance_request": stored, "reply": reply,
        "academy": stored.establishment.academy.name, "form_url": _form_url(),
    })
    email_enqueue(to=stored.email,
                  subject=_subject(stored, _("Réponse de l'assistance ÉduConnect")),
                  body=text, purpose=REPLY_PURPOSE, account=stored.account)
    journal_record(EventKind.ASSISTANCE_REQUEST_ANSWERED, request=request, actor=actor,
                   account=stored.account, assistance_request=stored.pk,
                   replies=stored.replies.count())
    return reply


@transaction.atomic
def assistance_request_close(*, assistance_request: AssistanceRequest, actor: Account,
                             request: HttpRequest | None = None) -> AssistanceRequest:
    """Close the request (no e-mail: the answer says what the family needs)."""
    stored = _locked(assistance_request)
    if stored.status == Status.CLOSED:
        return stored
    stored.status = Status.CLOSED
    stored.closed_at = stored.updated_at = timezone.now()
    stored.save(update_fields=["status", "closed_at", "updated_at"])
    journal_record(EventKind.ASSISTANCE_REQUEST_CLOSED, request=request, actor=actor,
                   account=stored.account, assistance_request=stored.pk)
    return stored
