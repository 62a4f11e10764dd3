"""Views of the SMS self-activation: parse, call a service, render. Nothing else.

Every URL after step 1 carries the flow's id and answers only to the browser that started
the flow (a secret in its session, whose hash is on the row); anyone else gets the same 404
as for an unknown id. The row's step is the truth: asking for another step's URL redirects
to the flow's current page.
"""

from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.password_policy import password_rules_for_js, personal_parts, rule_results, strength
from core.normalization import mask_phone

from . import services
from .forms import LINK_YES, CodeForm, IdentityForm, PasswordForm, PupilsForm
from .models import ActivationFlow, FlowStatus, FlowStep
from .selectors import (
    accounts_covering,
    activation_flow_just_started,
    pupil_links_for_records,
)

SESSION_FLOWS = "activation_flows"
# A session remembers its last few flows (two tabs, a restart), not an unbounded list.
MAX_FLOWS_PER_SESSION = 5
TOTAL_STEPS = len(FlowStep.choices)
STEP_URLS = {
    FlowStep.CODE: "activation:code",
    FlowStep.PUPILS: "activation:pupils",
    FlowStep.PASSWORD: "activation:password",
    FlowStep.DONE: "activation:done",
}


# --- Session binding ---------------------------------------------------------------------


def _remember_flow(request, flow: ActivationFlow, secret: str) -> None:
    flows = dict(request.session.get(SESSION_FLOWS, {}))
    flows[str(flow.id)] = secret
    while len(flows) > MAX_FLOWS_PER_SESSION:
        flows.pop(next(iter(flows)))
    request.session[SESSION_FLOWS] = flows


class FlowNotFound(Exception):
    """Unknown id, another browser's flow, or a session that ended: one answer for all."""


def _flow_for_request(request, flow_id: UUID) -> ActivationFlow:
    secret = request.session.get(SESSION_FLOWS, {}).get(str(flow_id))
    if not secret:
        raise FlowNotFound
    flow = ActivationFlow.objects.filter(pk=flow_id).select_related("account").first()
    if flow is None or not services.session_secret_matches(flow, secret):
        raise FlowNotFound
    return flow


def _not_found(request):
    context = {
        "page_title": "Page d'activation non disponible — Activation du compte",
        "idle_minutes": round(settings.ACTIVATION_FLOW_IDLE_SECONDS / 60),
    }
    return render(request, "activation/not_found.html", context, status=404)


def flow_view(step: FlowStep | None = None):
    """Views of one flow, called with the flow bound to this browser.

    An unknown id, another browser's flow or an ended session all give the same 404 page.
    With `step`, a flow that is not open at that step goes to its own page instead, which
    sends it to its current step: typing a later step's URL never skips one.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, flow_id: UUID, *args, **kwargs):
            try:
                flow = _flow_for_request(request, flow_id)
            except FlowNotFound:
                return _not_found(request)
            if step is not None and not _at_step(flow, step):
                return _flow_home(flow)
            return view(request, flow, *args, **kwargs)

        return wrapper

    return decorator


def _flow_home(flow: ActivationFlow) -> HttpResponseRedirect:
    return redirect("activation:flow", flow_id=flow.id)


def _at_step(flow: ActivationFlow, step: FlowStep) -> bool:
    return flow.status == FlowStatus.OPEN and flow.step == step and not flow.is_expired()


# --- Rendering ---------------------------------------------------------------------------


def _step_context(step: FlowStep, form=None, **extra) -> dict:
    next_step = FlowStep(step + 1).label if step < FlowStep.DONE else ""
    title = f"Étape {step} sur {TOTAL_STEPS} : {step.label} — Activation du compte"
    summary = []
    if form is not None and form.is_bound:
        form.link_errors()
        summary = form.error_summary()
    return {
        "page_title": f"Erreur : {title}" if summary else title,
        "step": int(step),
        "step_title": step.label,
        "next_step_title": next_step,
        "total_steps": TOTAL_STEPS,
        "form": form,
        "error_summary": summary,
        **extra,
    }


def _assistance_context() -> dict:
    return {
        "assistance_phone": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "assistance_url": settings.EDUCONNECT_ASSISTANCE_URL,
        "assistance_host": settings.EDUCONNECT_ASSISTANCE_URL.removeprefix("https://"),
    }


# --- Step 1 ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def start(request):
    form = IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        recent = activation_flow_just_started(
            flow_ids=list(request.session.get(SESSION_FLOWS, {})),
            phone=form.cleaned_data["phone"],
            last_name=form.cleaned_data["last_name"],
            first_name=form.cleaned_data["first_name"],
            within_seconds=settings.ACTIVATION_RESEND_COOLDOWN_SECONDS,
        )
        if recent is not None:
            return redirect("activation:code", flow_id=recent.id)
        try:
            flow, secret = services.activation_flow_start(
                last_name=form.cleaned_data["last_name"],
                first_name=form.cleaned_data["first_name"],
                phone=form.cleaned_data["phone"],
                request=request,
            )
        except services.ActivationRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            _remember_flow(request, flow, secret)
            return redirect("activation:code", flow_id=flow.id)
    return render(
        request, "activation/identity.html", _step_context(FlowStep.IDENTITY, form)
    )


# --- A flow's own page: where every other URL sends a flow that is not at its step -------


@never_cache
@require_http_methods(["GET"])
@flow_view()
def flow_page(request, flow: ActivationFlow):
    if flow.status == FlowStatus.COMPLETED:
        return redirect("activation:done", flow_id=flow.id)
    context = {"flow": flow, **_assistance_context()}
    if flow.status == FlowStatus.ALREADY_ACTIVE:
        context["accounts"] = accounts_covering(flow.matched_record_ids)
        context["page_title"] = "Vous avez déjà un compte ÉduConnect — Activation du compte"
        return render(request, "activation/already_active.html", context)
    if flow.status == FlowStatus.BLOCKED:
        context["page_title"] = "Activation bloquée — Activation du compte"
        return render(request, "activation/blocked.html", context)
    if flow.is_expired():
        context["page_title"] = "Activation expirée — Activation du compte"
        context["idle_minutes"] = round(settings.ACTIVATION_FLOW_IDLE_SECONDS / 60)
        return render(request, "activation/expired.html", context, status=410)
    return redirect(STEP_URLS[FlowStep(flow.step)], flow_id=flow.id)


# --- Step 2 ------------------------------------------------------------------------------


def _code_page(request, flow: ActivationFlow, form: CodeForm):
    context = _step_context(
        FlowStep.CODE, form,
        flow=flow,
        # Non-breaking spaces: the number never breaks across two lines.
        masked_phone=mask_phone(flow.phone).replace(" ", "\u00a0"),
        code_minutes=round(settings.ACTIVATION_CODE_TTL / 60),
    )
    return render(request, "activation/code.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(step=FlowStep.CODE)
def code(request, flow: ActivationFlow):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            flow = services.activation_code_verify(
                flow_id=flow.id, typed_code=form.cleaned_data["code"], request=request
            )
        except services.FlowUnavailable:
            return _flow_home(flow)
        except services.ActivationRefused as refusal:
            form.add_error("code", refusal.message)
        else:
            return _flow_home(flow)
    return _code_page(request, flow, form)


@never_cache
@require_POST
@flow_view()
def resend(request, flow: ActivationFlow):
    try:
        services.activation_code_resend(flow_id=flow.id, request=request)
    except services.FlowUnavailable:
        return _flow_home(flow)
    except services.ActivationRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            f"Un nouveau code de sécurité vient de vous être envoyé au {mask_phone(flow.phone)}. "
            "Le code précédent n'est plus valable.",
        )
    return redirect("activation:code", flow_id=flow.id)


# --- Step 3 ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(step=FlowStep.PUPILS)
def pupils(request, flow: ActivationFlow):
    links = pupil_links_for_records(flow.matched_record_ids)
    form = PupilsForm(request.POST or None, links=links)
    if request.method == "POST" and form.is_valid():
        answers = [
            services.PupilAnswer(pupil_id=link.pupil.pk, is_legal_representative=legal,
                                 birth_date=birth_date)
            for link, legal, birth_date in form.answers
        ]
        try:
            flow = services.activation_pupils_confirm(
                flow_id=flow.id, answers=answers, request=request
            )
        except services.FlowUnavailable:
            return _flow_home(flow)
        except services.ActivationRefused as refusal:
            flow.refresh_from_db()
            if flow.status != FlowStatus.OPEN:
                return _flow_home(flow)
            _file_pupil_errors(form, refusal)
        else:
            return _flow_home(flow)
    remaining = settings.ACTIVATION_MAX_WRONG_DATES - flow.wrong_dates
    context = _step_context(
        FlowStep.PUPILS, form, flow=flow, rows=form.rows, only_link=len(links) == 1,
        wrong_dates=flow.wrong_dates, remaining_dates=max(remaining, 0), link_yes=LINK_YES,
    )
    return render(request, "activation/pupils.html", context)


def _file_pupil_errors(form: PupilsForm, refusal: services.ActivationRefused) -> None:
    rows = {row.link.pupil.pk: row for row in form.rows}
    for pupil_id, message in refusal.field_errors.items():
        row = rows.get(pupil_id)
        if row is None:
            continue
        if message == services.MESSAGE_DATE_WRONG:
            form.add_error(row.day.name, message)
        else:
            form.add_error(row.link_field.name, message)
    if refusal.message:
        form.add_error(None, refusal.message)


# --- Step 4 ------------------------------------------------------------------------------


def _password_page(request, flow: ActivationFlow, form: PasswordForm):
    typed = form.data.get("password", "") if form.is_bound else ""
    first_name, last_name = form.first_name, form.last_name
    checklist = [
        {"key": rule.key, "label": rule.label, "state": (ok if form.is_bound else None)}
        for rule, ok in rule_results(typed)
    ]
    js_config = password_rules_for_js()
    js_config["personal"] = sorted(personal_parts(first_name=first_name, last_name=last_name))
    context = _step_context(
        FlowStep.PASSWORD, form, flow=flow, checklist=checklist,
        strength=strength(typed) if typed else "", password_js=js_config,
    )
    return render(request, "activation/password.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(step=FlowStep.PASSWORD)
def password(request, flow: ActivationFlow):
    if request.method == "POST" and request.POST.get("action") == "back":
        try:
            services.activation_step_back(flow_id=flow.id)
        except services.FlowUnavailable:
            pass
        return _flow_home(flow)
    first_name, last_name = services.account_owner_names(flow)
    form = PasswordForm(request.POST or None, first_name=first_name, last_name=last_name)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.activation_account_create(
                flow_id=flow.id, password=form.cleaned_data["password"], request=request
            )
        except services.FlowUnavailable:
            return _flow_home(flow)
        except services.ActivationRefused as refusal:
            flow.refresh_from_db()
            if flow.status != FlowStatus.OPEN:
                return _flow_home(flow)
            form.add_error("password", refusal.message)
        else:
            login(request, account, backend="accounts.backends.IdentifierBackend")
            return redirect("activation:done", flow_id=flow.id)
    return _password_page(request, flow, form)


# --- Step 5 ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET"])
@flow_view()
def done(request, flow: ActivationFlow):
    if flow.status != FlowStatus.COMPLETED:
        return _flow_home(flow)
    context = _step_context(FlowStep.DONE, None, flow=flow, account=flow.account)
    context["page_title"] = "Votre compte a été activé avec succès — Activation du compte"
    context["services_url"] = reverse("services_portal:my_services")
    return render(request, "activation/done.html", context)
