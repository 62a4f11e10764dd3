"""Views of the SMS self-activation: parse, call a service, redirect or render. Nothing else.

The flow engine (core.flows) does the rest: every URL after step 1 carries the flow's id
and answers only to the browser that started a flow of this kind (anyone else gets the same
404); the row's step is the truth (another step's URL redirects to the flow's page); every
POST ends in a redirect, a refused one with its errors kept for the next GET, so that a
refresh never sends a code or a date twice.
"""

import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from phonenumber_field.phonenumber import to_python

from accounts.authn import (
    SignInMethod,
    provider_logout_remember,
    service_return,
    sign_in_methods_record,
)
from accounts.password_policy import new_password_context
from core.code_step import CodeStep, code_step_page, code_step_resend
from core.empty_pages import empty_page, empty_page_servable
from core.flows import (
    flow_bind,
    flow_for_request,
    flow_form,
    flow_form_refused,
    flow_home,
    flow_redirect_to_step,
    flow_view,
    session_flow_ids,
)
from core.models import Flow, FlowStatus
from core.normalization import mask_phone
from franceconnect.services import (
    franceconnect_logout_url,
    pending_identity,
    pending_identity_forget,
)

from . import messages as texts
from . import services
from .flows import ACTIVATION_CODE, FRANCECONNECT_LINK, SMS_ACTIVATION, ActivationData
from .forms import (
    LINK_YES,
    CodeForm,
    FranceConnectPhoneForm,
    IdentityForm,
    PasswordForm,
    PupilsForm,
)
from .selectors import (
    accounts_covering,
    activation_flow_just_started,
    pupil_links_for_records,
    pupils_left_out,
)

# --- Rendering ---------------------------------------------------------------------------


def _step_context(step: str, form=None, **extra) -> dict:
    # The template shows the errors with {% error_summary form %}.
    has_errors = form is not None and form.is_bound and bool(form.errors)
    return {
        "page_title": SMS_ACTIVATION.page_title(step, error=has_errors),
        **SMS_ACTIVATION.stepper(step),
        "form": form,
        **extra,
    }


def _assistance_context() -> dict:
    return {
        "assistance_phone": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "assistance_url": settings.EDUCONNECT_ASSISTANCE_URL,
        "assistance_host": settings.EDUCONNECT_ASSISTANCE_URL.removeprefix("https://"),
    }


def _titled(title: str) -> str:
    return _("%(page)s — %(flow)s") % {"page": title, "flow": SMS_ACTIVATION.title}


# --- Step 1 ------------------------------------------------------------------------------


def _identity_typed_in(request) -> dict:
    """« Précédent » from a later step (`?reprendre=<flow id>`, issue 13 §3): step 1 shows
    again what was typed in that flow (names, number in national form) — only for a flow this
    browser started; anything else is a blank form, as before."""
    try:
        flow_id = uuid.UUID(request.GET.get("reprendre", ""))
    except ValueError:
        return {}
    flow = flow_for_request(request, flow_id=flow_id, kind=SMS_ACTIVATION)
    if flow is None:
        return {}
    data = ActivationData.of(flow)
    number = to_python(str(flow.phone or ""))
    phone = number.as_national if number and number.is_valid() else str(flow.phone or "")
    return {"last_name": data.last_name, "first_name": data.first_name, "phone": phone}


@never_cache
@require_http_methods(["GET", "POST"])
def start(request):
    """Step 1 has no flow yet: its form answers directly (a refused step 1 counts nothing,
    so a refresh that posts it again spends nothing). A signed-in family has its account
    already: it is sent to « Mes services »."""
    if request.user.is_authenticated and not request.user.is_staff:
        return redirect("services_portal:my_services")
    if empty_page_servable(request):
        # The empty form, the same for every newcomer but the CSRF token: rendered once per
        # process and language (core.empty_pages; about 3 ms of CPU per activation).
        return empty_page(request, "activation:identity", lambda csrf_token: render_to_string(
            "activation/identity.html",
            {**_step_context("identity", IdentityForm()), "csrf_token": csrf_token},
            request=request))
    form = IdentityForm(request.POST or None, initial=_identity_typed_in(request))
    if request.method == "POST" and form.is_valid():
        recent = activation_flow_just_started(
            flow_ids=session_flow_ids(request),
            phone=form.cleaned_data["phone"],
            last_name=form.cleaned_data["last_name"],
            first_name=form.cleaned_data["first_name"],
            within_seconds=ACTIVATION_CODE.resend_cooldown_seconds,
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
            if refusal.retry_after:
                # Too many codes asked from this address: the same page, as a 429.
                response = render(request, "activation/identity.html",
                                  _step_context("identity", form), status=429)
                response["Retry-After"] = str(refusal.retry_after)
                return response
        else:
            flow_bind(request, flow, secret)
            return redirect("activation:code", flow_id=flow.id)
    return render(request, "activation/identity.html", _step_context("identity", form))


# --- A flow's own page: where every other URL sends a flow that is not at its step -------


@never_cache
@require_GET
@flow_view(SMS_ACTIVATION)
def flow_page(request, flow: Flow):
    if flow.status == FlowStatus.COMPLETED:
        return redirect("activation:done", flow_id=flow.id)
    context = {"flow": flow, **_assistance_context()}
    if flow.status == FlowStatus.ALREADY_ACTIVE:
        context["accounts"] = accounts_covering(ActivationData.of(flow).matched_record_ids)
        context["page_title"] = _titled(_("Vous avez déjà un compte ÉduConnect"))
        return render(request, "activation/already_active.html", context)
    if flow.status == FlowStatus.BLOCKED:
        # What holds now: this journey only, or the number's window (until when).
        context["dates_block"] = services.dates_block_read(flow)
        context["page_title"] = _titled(_("Activation bloquée pour ce numéro")
                                        if context["dates_block"].window
                                        else _("Activation arrêtée"))
        return render(request, "activation/blocked.html", context)
    if flow.is_expired():
        context["page_title"] = _titled(_("Activation expirée"))
        context["idle_minutes"] = max(1, round(SMS_ACTIVATION.idle_seconds / 60))
        return render(request, "activation/expired.html", context, status=410)
    return flow_redirect_to_step(flow)


# --- Step 2 ------------------------------------------------------------------------------


def _sms_code_verify(*, request, flow: Flow, typed_code: str) -> None:
    services.activation_code_verify(flow_id=flow.id, typed_code=typed_code, request=request)


def _sms_code_resend(*, request, flow: Flow) -> None:
    # Whether the SMS really left is not told: the page is the same for a number no school
    # knows and for a number that got a code moments ago.
    services.activation_code_resend(flow_id=flow.id, request=request)


def _no_code_help(first: str) -> str:
    """The words under « Je n'ai pas reçu le code par SMS » of the activations: `first`, then
    the number's own limit (ACTIVATION_MAX_SENDS_PER_PHONE codes per
    ACTIVATION_PHONE_WINDOW_SECONDS), said to everybody alike — whoever asked for the codes,
    a parent who asked several times, or someone else who knows the name and the number,
    gets no more SMS before the window ends — so that silence is never a dead end and tells
    nothing about an account (the assistance can lift it: « Débloquer »)."""
    return f"{first} {texts.message_phone_limit_rule()}"


CODE_STEP = CodeStep(
    kind=SMS_ACTIVATION, stage="code", purpose=ACTIVATION_CODE,
    resend_url_name="activation:resend", template="activation/code.html",
    form_class=CodeForm, verify=_sms_code_verify, resend=_sms_code_resend,
    resent_message=lambda flow: texts.message_code_resent(mask_phone(str(flow.phone))),
    context=lambda request, flow, form: _step_context("code", form),
    refused=services.ActivationRefused, rotate_session=True, heading_level=3,
    no_code_help=lazy(lambda: _no_code_help(_(
        "Rien reçu après quelques minutes ? Vérifiez les nom, prénom et numéro saisis : le "
        "numéro doit être celui de la fiche de renseignements remise à l'école. S'ils sont "
        "justes, contactez l'école ou l'établissement de votre enfant : il peut corriger ses "
        "informations.")), str)(),
    no_code_help_template="activation/_code_no_sms.html",
    validity_notice=True,
)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(SMS_ACTIVATION, step="code")
def code(request, flow: Flow):
    return code_step_page(request, flow, step=CODE_STEP)


@never_cache
@require_POST
@flow_view(SMS_ACTIVATION)
def resend(request, flow: Flow):
    return code_step_resend(request, flow, step=CODE_STEP)


# --- Step 3 ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(SMS_ACTIVATION, step="pupils")
def pupils(request, flow: Flow):
    data = ActivationData.of(flow)
    links = pupil_links_for_records(data.matched_record_ids)
    if request.method == "POST":
        form = PupilsForm(request.POST, links=links)
        if form.is_valid():
            answers = [
                services.PupilAnswer(pupil_id=link.pupil.pk, is_legal_representative=legal,
                                     birth_date=birth_date)
                for link, legal, birth_date in form.answers
            ]
            try:
                services.activation_pupils_confirm(
                    flow_id=flow.id, answers=answers, request=request
                )
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ActivationRefused as refusal:
                flow.refresh_from_db()
                if flow.status != FlowStatus.OPEN:
                    return flow_home(flow)
                _file_pupil_errors(form, refusal)
            else:
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, lambda posted: PupilsForm(posted, links=links))
    # The nearer of the journey's and the number's limits (one read, no hit).
    left = services.wrong_dates_left(flow, data)
    context = _step_context(
        "pupils", form, flow=flow, rows=form.rows, only_link=len(links) == 1,
        wrong_dates=data.wrong_dates, remaining_dates=left.count, dates_left=left,
        link_yes=LINK_YES,
    )
    return render(request, "activation/pupils.html", context)


def _file_pupil_errors(form: PupilsForm, refusal: services.ActivationRefused) -> None:
    rows = {row.link.pupil.pk: row for row in form.rows}
    for pupil_id, (part, message) in refusal.field_errors.items():
        row = rows.get(pupil_id)
        if row is None:
            continue
        target = row.day if part == services.PupilField.BIRTH_DATE else row.link_field
        # No radio group (one pupil): a refusal of the link is the form's own message.
        form.add_error(target.name if target is not None else None, message)
    if refusal.message:
        form.add_error(None, refusal.message)


# --- Step 4 ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(SMS_ACTIVATION, step="password")
def password(request, flow: Flow):
    if request.method == "POST" and request.POST.get("action") == "back":
        try:
            services.activation_step_back(flow_id=flow.id)
        except services.FlowUnavailable:
            pass
        return flow_home(flow)
    first_name, last_name = services.account_owner_names(flow)

    def password_form(posted):
        return PasswordForm(posted, first_name=first_name, last_name=last_name)

    if request.method == "POST":
        form = password_form(request.POST)
        if form.is_valid():
            def sign_in(account):
                login(request, account, backend="accounts.backends.IdentifierBackend")
                # Proven by a code sent to the phone, then a password chosen (RFC 8176).
                sign_in_methods_record(request, SignInMethod.SMS, SignInMethod.PASSWORD)

            try:
                services.activation_account_create(
                    flow_id=flow.id, password=form.cleaned_data["password"], request=request,
                    sign_in=sign_in,
                )
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ActivationRefused as refusal:
                flow.refresh_from_db()
                if flow.status != FlowStatus.OPEN:
                    return flow_home(flow)
                form.add_error("password", refusal.message)
            else:
                return redirect("activation:done", flow_id=flow.id)
        # The password never reaches the session: the page comes back with the errors only.
        return flow_form_refused(request, flow, form,
                                 secret_fields=("password", "password_confirm"))
    form = flow_form(request, flow, password_form)
    context = _step_context(
        "password", form, flow=flow,
        **new_password_context(first_name=first_name, last_name=last_name),
        # No identifier yet (given at the next step): the names rule names the names only.
        names_only_rule=True,
    )
    return render(request, "activation/password.html", context)


# --- Step 5 ------------------------------------------------------------------------------


@never_cache
@require_GET
@flow_view(SMS_ACTIVATION)
def done(request, flow: Flow):
    if flow.status != FlowStatus.COMPLETED:
        return flow_home(flow)
    # Issue 11 §2: the records were attached to the account the family already had (no
    # password was chosen, no session opened): the page says so and leads to the sign-in.
    data = ActivationData.of(flow)
    attached = data.attach_account_id is not None
    # The account step 4 just signed in is request.user already: no second query for it.
    user = request.user
    account = user if user.is_authenticated and user.pk == flow.account_id else flow.account
    # The children answered « Je ne suis pas le représentant légal » (their link disputed):
    # named, with what happens next and how to add them back after a mis-tap. Looked up
    # only when step 3 kept some « non » (an attach disputes at once and keeps none).
    left_out = (pupils_left_out(flow_id=flow.id)
                if data.disputed_link_ids or attached else [])
    # The children confirmed at step 3, for « votre enfant » or « vos enfants » (seed 000's
    # screen speaks of one child: « la scolarité de votre enfant »).
    children = len(set(data.confirmed_pupil_ids))
    context = _step_context("done", None, flow=flow, account=account, attached=attached,
                            left_out=left_out, children=children)
    context["page_title"] = _titled(
        ngettext("Votre enfant a été rattaché à votre compte",
                 "Vos enfants ont été rattachés à votre compte", children) if attached
        else _("Votre compte a été activé avec succès"))
    context["services_url"] = reverse("services_portal:my_services")
    # A service sent this person to sign in (OpenID Connect): offer to go back to it.
    context["service_return"] = service_return(request)
    return render(request, "activation/done.html", context)



# --- The first link of a FranceConnect identity (FRANCECONNECT_LINK) ------------------------
#
# The same steps and rules as above, for an identity FranceConnect vouched for and no
# account knows yet (franceconnect.views.callback sends it here with the identity kept in
# the session): the number, the code, the birth dates; then signed in, the identity linked.


def _fc_context(step: str, form=None, **extra) -> dict:
    has_errors = form is not None and form.is_bound and bool(form.errors)
    return {
        "page_title": FRANCECONNECT_LINK.page_title(step, error=has_errors),
        **FRANCECONNECT_LINK.stepper(step),
        "form": form,
        "franceconnect": True,
        **extra,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def fc_phone(request):
    """Step « phone »: no flow yet, its form starts one for the FranceConnect identity
    waiting in the session (none: back to the sign-in page)."""
    identity = pending_identity(request)
    if identity is None:
        messages.error(request, texts.message_franceconnect_expired())
        return redirect("accounts:login", "representant-legal")
    form = FranceConnectPhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            flow, secret = services.activation_franceconnect_start(
                sub=identity.sub, family_name=identity.family_name,
                given_name=identity.given_name,
                preferred_username=identity.preferred_username,
                phone=form.cleaned_data["phone"], request=request,
            )
        except services.ActivationRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            flow_bind(request, flow, secret)
            return redirect("activation:fc_code", flow_id=flow.id)
    context = _fc_context("phone", form, identity=identity)
    return render(request, "activation/franceconnect/phone.html", context)


@never_cache
@require_GET
@flow_view(FRANCECONNECT_LINK)
def fc_flow_page(request, flow: Flow):
    if flow.status == FlowStatus.COMPLETED:
        return redirect("activation:fc_done", flow_id=flow.id)
    context = {"flow": flow, "franceconnect": True, **_assistance_context()}
    if flow.status == FlowStatus.ALREADY_ACTIVE:
        context["accounts"] = accounts_covering(ActivationData.of(flow).matched_record_ids)
        context["page_title"] = _titled(_("Vous avez déjà un compte ÉduConnect"))
        return render(request, "activation/already_active.html", context)
    if flow.status == FlowStatus.BLOCKED:
        # What holds now: this journey only, or the number's window (until when).
        context["dates_block"] = services.dates_block_read(flow)
        context["page_title"] = _titled(_("Activation bloquée pour ce numéro")
                                        if context["dates_block"].window
                                        else _("Activation arrêtée"))
        return render(request, "activation/blocked.html", context)
    if flow.is_expired():
        context["page_title"] = _titled(_("Activation expirée"))
        context["idle_minutes"] = max(1, round(FRANCECONNECT_LINK.idle_seconds / 60))
        return render(request, "activation/expired.html", context, status=410)
    return flow_redirect_to_step(flow)


def _fc_code_verify(*, request, flow: Flow, typed_code: str) -> None:
    services.activation_code_verify(flow_id=flow.id, typed_code=typed_code, request=request,
                                    kind=FRANCECONNECT_LINK)


def _fc_code_resend(*, request, flow: Flow) -> None:
    services.activation_code_resend(flow_id=flow.id, request=request, kind=FRANCECONNECT_LINK)


FC_CODE_STEP = CodeStep(
    kind=FRANCECONNECT_LINK, stage="code", purpose=ACTIVATION_CODE,
    resend_url_name="activation:fc_resend", template="activation/franceconnect/code.html",
    form_class=CodeForm, verify=_fc_code_verify, resend=_fc_code_resend,
    resent_message=lambda flow: texts.message_franceconnect_code_resent(
        mask_phone(str(flow.phone))),
    context=lambda request, flow, form: _fc_context("code", form),
    refused=services.ActivationRefused,
    no_code_help=lazy(lambda: _no_code_help(_(
        "Rien reçu après quelques minutes ? Vérifiez le numéro saisi : il doit être celui de "
        "la fiche de renseignements remise à l'école. S'il est juste, contactez l'école ou "
        "l'établissement de votre enfant : il peut corriger ses informations.")), str)(),
    no_code_help_template="activation/_code_no_sms.html",
    validity_notice=True,
)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(FRANCECONNECT_LINK, step="code")
def fc_code(request, flow: Flow):
    return code_step_page(request, flow, step=FC_CODE_STEP)


@never_cache
@require_POST
@flow_view(FRANCECONNECT_LINK)
def fc_resend(request, flow: Flow):
    return code_step_resend(request, flow, step=FC_CODE_STEP)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(FRANCECONNECT_LINK, step="pupils")
def fc_pupils(request, flow: Flow):
    data = ActivationData.of(flow)
    links = pupil_links_for_records(data.matched_record_ids)
    if request.method == "POST":
        form = PupilsForm(request.POST, links=links)
        if form.is_valid():
            answers = [
                services.PupilAnswer(pupil_id=link.pupil.pk, is_legal_representative=legal,
                                     birth_date=birth_date)
                for link, legal, birth_date in form.answers
            ]
            try:
                flow = services.activation_franceconnect_pupils_confirm(
                    flow_id=flow.id, answers=answers, request=request
                )
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ActivationRefused as refusal:
                flow.refresh_from_db()
                if flow.status != FlowStatus.OPEN:
                    return flow_home(flow)
                _file_pupil_errors(form, refusal)
            else:
                if flow.status == FlowStatus.COMPLETED:
                    _fc_sign_in(request, flow)
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, lambda posted: PupilsForm(posted, links=links))
    # The nearer of the journey's and the number's limits (one read, no hit).
    left = services.wrong_dates_left(flow, data)
    context = _fc_context(
        "pupils", form, flow=flow, rows=form.rows, only_link=len(links) == 1,
        wrong_dates=data.wrong_dates, remaining_dates=left.count, dates_left=left,
        link_yes=LINK_YES,
    )
    return render(request, "activation/franceconnect/pupils.html", context)


def _fc_sign_in(request, flow: Flow) -> None:
    """The identity is linked: sign the account in, as FranceConnect and the SMS code
    proved it; FranceConnect's logout will follow ours."""
    identity = pending_identity(request)
    login(request, flow.account, backend="accounts.backends.IdentifierBackend")
    sign_in_methods_record(request, SignInMethod.FRANCECONNECT, SignInMethod.SMS)
    if identity is not None:
        provider_logout_remember(request, franceconnect_logout_url(id_token=identity.id_token))
    pending_identity_forget(request)


@never_cache
@require_GET
@flow_view(FRANCECONNECT_LINK)
def fc_done(request, flow: Flow):
    if flow.status != FlowStatus.COMPLETED:
        return flow_home(flow)
    # The children answered « Je ne suis pas le représentant légal » (disputed at once, as
    # an attach does): named on the last page with the way to add them back, as the SMS
    # activation's.
    context = _fc_context("done", None, flow=flow, account=flow.account,
                          left_out=pupils_left_out(flow_id=flow.id))
    context["page_title"] = _titled(_("Votre compte a été activé avec succès"))
    context["services_url"] = reverse("services_portal:my_services")
    context["service_return"] = service_return(request)
    context["has_password"] = flow.account.has_usable_password()
    return render(request, "activation/franceconnect/done.html", context)
