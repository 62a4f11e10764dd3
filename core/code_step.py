"""The step « Je saisis le code de sécurité reçu par SMS », once for every flow that has one.

The SMS activation, the FranceConnect first link, « Ajouter un enfant », the phone change of
« Mon compte » and « Mot de passe oublié ? » by SMS all ask for a code sent by SMS, offer to
send another one, and go on once it is right. Each declares its step as a `CodeStep`
(in its views module: the step needs the app's services) and its two views call
`code_step_page` and `code_step_resend`; the page template writes its own lead sentence and
buttons around `{% include "components/code_step.html" %}` (the form, « Je n'ai pas reçu
le code par SMS » with its resend, and the code's own time limit).

What the step does, for every flow alike:

- GET: the form (with the errors of the POST refused just before, core.flows.flow_form),
  the code's lifetime in minutes and the seconds left before every code of the flow has
  expired (core.codes.code_seconds_left: the codes' real expiry, not 30 minutes from the
  page's load). The page warns `CODE_EXPIRY_WARNING_SECONDS` before (static/js/code-expiry.js)
  and offers « Recevoir un nouveau code » right there; once expired it says so and offers
  the same resend (issue 13 §2, RGAA 13.1, WCAG 2.2.1). Expired (`code_expired` in the
  context), the page's lead no longer says that a code was just sent (the templates show
  components/code_step_expired_lead.html instead) and « Recevoir un nouveau code » is the
  only resend on the page: « Renvoyer le SMS » is left out, and the expired code's message
  (core.code_messages.message_code_expired) names that very button.
- POST: the caller's `verify`; refused, its message goes on the code field and the page
  comes back by a redirect (POST → redirect → GET); right, the session key is renewed when
  the step says so (`rotate_session`) and the flow's home page says where to go next.
- « Renvoyer le SMS »: the caller's `resend`, within its limits; refused, its message;
  otherwise the caller's words (which never tell whether the number is known).

A flow whose number matched nothing has codes made the same way (never sent): its page shows
the same words, the same count and the same warning (issue 8 §6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from .codes import CodePurpose, code_seconds_left
from .flowkinds import FlowKind
from .flows import (
    FlowUnavailable,
    flow_form,
    flow_form_refused,
    flow_home,
    flow_session_rotate,
)
from .models import Flow
from .normalization import mask_phone


@dataclass(frozen=True)
class CodeStep:
    """One flow's code step: what differs from one flow to another.

    - `kind`, `stage`: the flow kind and the name of its code stage;
    - `purpose`: the code purpose (its lifetime is shown and counted);
    - `resend_url_name`: the URL name of the resend (takes `flow_id`); the page's own URL is
      the stage's;
    - `template`: the page, which includes components/code_step.html;
    - `form_class`: the form, with one field `code`;
    - `verify(request=, flow=, typed_code=)`: the app's service; raises `refused` (its
      `message` is put on the code field) or core.flows.FlowUnavailable (to the flow's home);
    - `resend(request=, flow=)`: the app's service, same exceptions;
    - `resent_message(flow)`: what the page says after a resend;
    - `context(request, flow, form)`: the page's own context (title, stepper, layout); it
      may set `masked_phone` (by default the flow's number, masked);
    - `rotate_session`: a new session key once the code is right (the code proved something
      the session now holds: a signed-in account's new number, a password reset);
    - `heading_level` (2 or 3; 0: no heading), `no_code_help` (the words under « Je n'ai
      pas reçu le code par SMS », may be empty), `no_code_help_template` (a template
      included right after them, with the page's context, for help that holds links; may
      be empty), `validity_notice` (the boxed « Attention : le code n'est valable que
      pendant N minutes ! » of the activation's seeds): the page's layout.
    """

    kind: FlowKind
    stage: str
    purpose: CodePurpose
    resend_url_name: str
    template: str
    form_class: type[Form]
    verify: Callable[..., object]
    resend: Callable[..., object]
    resent_message: Callable[[Flow], str]
    context: Callable[[HttpRequest, Flow, Form], dict]
    refused: type[Exception]
    rotate_session: bool = False
    heading_level: int = 2
    no_code_help: str = ""
    no_code_help_template: str = ""
    validity_notice: bool = False

    def __post_init__(self):
        self.kind.stage(self.stage)  # a stage the kind declares
        if self.heading_level not in (0, 2, 3):
            raise ValueError("A code step's heading is of level 2 or 3 (0: none)")

    @property
    def url_name(self) -> str:
        return self.kind.stage(self.stage).url_name


def code_expiry_warning_seconds(purpose: CodePurpose) -> int:
    """How long before the code expires the page warns (CODE_EXPIRY_WARNING_SECONDS, at most
    half the code's lifetime so that a short-lived code is not « about to expire » at once)."""
    return min(int(settings.CODE_EXPIRY_WARNING_SECONDS), purpose.ttl_seconds // 2)


def code_step_page(request: HttpRequest, flow: Flow, *, step: CodeStep) -> HttpResponse:
    """The code page of `flow` (open at `step.stage`, as the caller's flow_view checked):
    GET renders it, POST checks the code. See the module's docstring."""
    if request.method == "POST":
        form = step.form_class(request.POST)
        if form.is_valid():
            try:
                step.verify(request=request, flow=flow, typed_code=form.cleaned_data["code"])
            except FlowUnavailable:
                return flow_home(flow)
            except step.refused as refusal:
                form.add_error("code", refusal.message)
            else:
                if step.rotate_session:
                    flow_session_rotate(request)
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, step.form_class)
    context = {"flow": flow, **step.context(request, flow, form)}
    if "masked_phone" not in context:
        # Non-breaking spaces: the number never breaks across two lines.
        context["masked_phone"] = mask_phone(str(flow.phone or "")).replace(" ", "\u00a0")
    minutes = step.purpose.ttl_minutes
    warn_seconds = code_expiry_warning_seconds(step.purpose)
    seconds_left = code_seconds_left(flow=flow, purpose=step.purpose)
    context["code_minutes"] = minutes
    # Every code has expired: the page no longer says that one was just sent, and offers one
    # resend only, the alert's « Recevoir un nouveau code » (the expired code's message names it).
    context["code_expired"] = seconds_left == 0
    context["code_step"] = {
        "action": reverse(step.url_name, kwargs={"flow_id": flow.id}),
        "resend_url": reverse(step.resend_url_name, kwargs={"flow_id": flow.id}),
        "form": form,
        "heading_level": step.heading_level,
        "no_code_help": step.no_code_help,
        "no_code_help_template": step.no_code_help_template,
        "validity_notice": step.validity_notice,
        "minutes": minutes,
        "seconds_left": seconds_left,
        "expired": seconds_left == 0,
        "warn_seconds": warn_seconds,
        "warn_minutes": max(1, round(warn_seconds / 60)),
    }
    return render(request, step.template, context)


def code_step_resend(request: HttpRequest, flow: Flow, *, step: CodeStep) -> HttpResponse:
    """« Renvoyer le SMS » (POST): one more code within the step's limits, then back to the
    code page with what happened. Whether the SMS really left is never told."""
    try:
        step.resend(request=request, flow=flow)
    except FlowUnavailable:
        return flow_home(flow)
    except step.refused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, step.resent_message(flow))
    return redirect(step.url_name, flow_id=flow.id)
