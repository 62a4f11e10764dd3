"""Views of the first sign-in with a school letter: parse, call a service, redirect or render.

Every stage view runs for the signed-in provisional account only, on a flow of its kind
(guardian or pupil) bound to this browser and naming this account (anything else: the same
404 page); the row's step is the truth, as for every flow (core.flows). A provisional
account reaches nothing else (activation.provisional.middleware). The link's page works
signed out and from any device.
"""

from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import AccountKind, AccountState
from accounts.password_policy import new_password_context
from core.flows import (
    flow_bind,
    flow_finished_elsewhere_notice,
    flow_for_request,
    flow_form,
    flow_form_refused,
    flow_home,
    flow_not_found,
    flow_redirect_to_step,
    session_flow_ids,
)
from core.models import Flow, FlowStatus
from core.ratelimit import wait_text
from core.tokens import link_token_for_another_account
from pupils.selectors import guardian_roster_email

from ..flows import PROVISIONAL_GUARDIAN, PROVISIONAL_PUPIL, ProvisionalData
from ..forms import LINK_YES, PupilsForm
from ..services import ActivationRefused, PupilAnswer
from ..views import _file_pupil_errors
from . import messages as texts
from . import services
from .forms import ActivationEmailForm, BirthDateForm, ProvisionalPasswordForm

# --- Rendering ---------------------------------------------------------------------------


def _profile_label(account) -> str:
    return _("Élève") if account.kind == AccountKind.PUPIL else _("Représentant légal")


def _context(request, flow: Flow, step: str, form=None, **extra) -> dict:
    kind = services.kind_for(request.user)
    has_errors = form is not None and form.is_bound and bool(form.errors)
    return {
        "page_title": kind.page_title(step, error=has_errors),
        **kind.stepper(step),
        "form": form,
        "flow": flow,
        "account": request.user,
        "profile_label": _profile_label(request.user),
        "is_pupil": request.user.kind == AccountKind.PUPIL,
        # Which password signs in again (« Terminer plus tard »): the letter's until one is
        # chosen, then the one chosen.
        "password_chosen": ProvisionalData.of(flow).password_set,
        # A pupil past the identity step (its address step, optional): the account is
        # active, so signing in again leads to « Mes services », never back to this flow
        # (activation.provisional.middleware holds provisional accounts only); the address
        # is then given in « Mon compte ». The way out says so, not « Terminer plus tard ».
        "account_active": request.user.state == AccountState.ACTIVE,
        **extra,
    }


def _titled(title: str) -> str:
    return _("%(page)s — %(flow)s") % {"page": title, "flow": PROVISIONAL_GUARDIAN.title}


def _signed_in_active(request) -> bool:
    user = request.user
    return user.is_authenticated and user.state == AccountState.ACTIVE


def _already_active(request):
    """« Votre compte est déjà activé », leading to « Mes services »: for a signed-in ACTIVE
    account that opens a first sign-in page it no longer has (a flow this browser does not
    hold, a used or expired link). It depends on the signed-in account only, never on the
    flow or the link: a link tells nothing more than before. Signed out, those pages are
    unchanged (the flow's 404 page, « Ce lien n'est plus valable »)."""
    title = _("Votre compte est déjà activé")
    return render(request, "activation/provisional/already_active.html",
                  {"page_title": _titled(title), "heading": title})


def provisional_view(step: str | None = None):
    """Like core.flows.flow_view, for the signed-in account's own first sign-in flow: the
    kind follows the account (guardian or pupil); a flow of another account, of another
    kind or of another browser gets the kind's 404 page; signed out: the profile choice."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, flow_id: UUID, *args, **kwargs):
            user = request.user
            if not user.is_authenticated or user.kind not in (AccountKind.GUARDIAN,
                                                              AccountKind.PUPIL):
                return redirect("accounts:profile_choice")
            kind = services.kind_for(user)
            flow = flow_for_request(request, flow_id=flow_id, kind=kind)
            if flow is None or flow.account_id != user.pk:
                if user.state == AccountState.ACTIVE:
                    return _already_active(request)
                return flow_not_found(request, kind)
            if step is not None and not flow.is_open_at(step):
                # An earlier step's page asked for again (Back, a tab left open) while the
                # flow is still open further on: its current step. A pupil is active from
                # the identity step on but still has the optional address step to go: Back
                # from it lands on it again, never on « déjà activé », which would drop it.
                if flow.status == FlowStatus.OPEN and not flow.is_expired():
                    return flow_home(flow)
                if request.method == "POST":
                    # Posted from a tab left open after the first sign-in was completed:
                    # its stage's words (the password step: that password was not saved).
                    flow_finished_elsewhere_notice(request, flow, posted_step=step)
                if user.state == AccountState.ACTIVE:
                    return _already_active(request)
                return flow_home(flow)
            return view(request, flow, *args, **kwargs)

        return wrapper

    return decorator


# --- Entry: start or resume --------------------------------------------------------------


@never_cache
@require_GET
def resume(request):
    """Where a signed-in provisional account is sent from anywhere (the middleware): its
    flow, started or found again and bound to this browser."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:profile_choice")
    if user.state != AccountState.PROVISIONAL:
        return redirect(settings.LOGIN_REDIRECT_URL)
    # This browser holds the account's open flow already (the usual case: the middleware
    # sends every other page here): straight to it, nothing written.
    kind = services.kind_for(user)
    for flow_id in reversed(session_flow_ids(request)):
        flow = flow_for_request(request, flow_id=flow_id, kind=kind)
        if flow is not None and flow.account_id == user.pk and flow.status == FlowStatus.OPEN \
                and not flow.is_expired():
            return flow_home(flow)
    flow, secret = services.provisional_flow_resume(account=user, request=request)
    flow_bind(request, flow, secret)
    return flow_home(flow)


@never_cache
@require_GET
@provisional_view()
def flow_page(request, flow: Flow):
    if flow.status == FlowStatus.COMPLETED:
        return redirect("activation:provisional_done", flow_id=flow.id)
    if flow.status == FlowStatus.BLOCKED:
        context = _context(request, flow, flow.step)
        # The real rule, in words (flows.WRONG_DATES_PER_ACCOUNT): this journey ended after
        # ACTIVATION_MAX_WRONG_DATES wrong dates; going back to the site (the session goes on:
        # the middleware sends every page to resume) starts another while the
        # account's 24-hour window has room, else the block holds until a place frees.
        dates = services.provisional_wrong_dates(request.user)
        context.update(page_title=_titled(_("Activation bloquée")), step=None,
                       dates=dates, window=wait_text(dates.window_seconds),
                       wait=wait_text(dates.retry_after) if dates.full else "",
                       **_assistance_context())
        return render(request, "activation/provisional/blocked.html", context)
    if flow.is_expired():
        # Signed in with the password: a new flow takes over where this one stopped.
        return redirect("activation:provisional")
    return flow_redirect_to_step(flow)


def _assistance_context() -> dict:
    return {
        "assistance_phone": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "assistance_url": settings.EDUCONNECT_ASSISTANCE_URL,
        "assistance_host": settings.EDUCONNECT_ASSISTANCE_URL.removeprefix("https://"),
    }


# --- The address -------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@provisional_view(step="email")
def email(request, flow: Flow):
    account = request.user
    is_pupil = account.kind == AccountKind.PUPIL

    def factory(posted):
        return ActivationEmailForm(posted, required=not is_pupil)

    if request.method == "POST":
        skip = is_pupil and "skip" in request.POST
        form = factory(None if skip else request.POST)
        if skip or form.is_valid():
            address = "" if skip else form.cleaned_data["email"]
            try:
                if is_pupil:
                    services.provisional_pupil_email(flow_id=flow.id, account=account,
                                                     email=address, request=request)
                else:
                    services.provisional_email_set(flow_id=flow.id, account=account,
                                                   email=address, request=request)
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ProvisionalRefused as refusal:
                form = factory(request.POST)
                form.is_valid()
                form.add_error(refusal.field or None, refusal.message)
            else:
                # The pupil's last step, « Mon compte est activé », says what happened
                # (done): the stepper announced it.
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, factory)
    data = ProvisionalData.of(flow)
    from_roster = False
    if not form.is_bound and data.email:
        # Back from the next step: the address given, in both fields (as the roster's
        # below), so that « Confirmer » alone goes on — never one prefilled and the other
        # empty, which would be refused as a mismatch.
        form = factory(None)
        form.initial = {"email": data.email, "email_confirm": data.email}
    elif not form.is_bound and not is_pupil:
        # The address the school gave for this guardian, offered in both fields (a family
        # whose address is right just confirms it; still editable, and still checked for a
        # slip in its domain when sent).
        roster_email = guardian_roster_email(account).strip().lower()
        if roster_email:
            form = factory(None)
            form.initial = {"email": roster_email, "email_confirm": roster_email}
            from_roster = True
    context = _context(request, flow, "email", form, from_roster=from_roster)
    return render(request, "activation/provisional/email.html", context)


# --- The new password --------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@provisional_view(step="password")
def password(request, flow: Flow):
    account = request.user
    is_pupil = account.kind == AccountKind.PUPIL
    # « Précédent » and « Garder ce mot de passe » (a guardian's only): the flow moves, then
    # its page is shown wherever it stands (a flow ended meanwhile included).
    move = {"back": services.provisional_step_back,
            "keep": services.provisional_password_keep}.get(
        request.POST.get("action", "") if request.method == "POST" else "")
    if move is not None and not is_pupil:
        try:
            move(flow_id=flow.id, account=account)
        except services.FlowUnavailable:
            pass
        return flow_home(flow)

    def factory(posted):
        return ProvisionalPasswordForm(posted, first_name=account.first_name,
                                       last_name=account.last_name,
                                       identifier=account.identifier)

    if request.method == "POST":
        form = factory(request.POST)
        if form.is_valid():
            try:
                services.provisional_password_set(
                    flow_id=flow.id, account=account, password=form.cleaned_data["password"],
                    request=request,
                )
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ProvisionalRefused as refusal:
                form.add_error("password", refusal.message)
            else:
                return flow_home(flow)
        return flow_form_refused(request, flow, form,
                                 secret_fields=("password", "password_confirm"))
    form = flow_form(request, flow, factory)
    context = _context(
        request, flow, "password", form,
        **new_password_context(first_name=account.first_name, last_name=account.last_name,
                               identifier=account.identifier),
        action_url=reverse("activation:provisional_password", args=[flow.id]),
        back_possible=not is_pupil,
        keep_possible=not is_pupil and ProvisionalData.of(flow).password_set,
    )
    return render(request, "activation/provisional/password.html", context)


# --- Guardian: the pupils ----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@provisional_view(step="pupils")
def pupils(request, flow: Flow):
    account = request.user
    data = ProvisionalData.of(flow)
    links = services.guardian_pupil_links(account)
    if request.method == "POST" and request.POST.get("action") == "back":
        try:
            services.provisional_step_back(flow_id=flow.id, account=account, step="pupils")
        except services.FlowUnavailable:
            pass
        return flow_home(flow)
    if request.method == "POST":
        form = PupilsForm(request.POST, links=links)
        if form.is_valid():
            answers = [PupilAnswer(pupil_id=link.pupil.pk, is_legal_representative=legal,
                                   birth_date=birth_date)
                       for link, legal, birth_date in form.answers]
            try:
                services.provisional_pupils_confirm(flow_id=flow.id, account=account,
                                                    answers=answers, request=request)
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ProvisionalRefused as refusal:
                flow.refresh_from_db()
                if flow.status != FlowStatus.OPEN:
                    return flow_home(flow)
                _file_pupil_errors(form, ActivationRefused(
                    refusal.message, field_errors=refusal.field_errors))
            else:
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, lambda posted: PupilsForm(posted, links=links))
    remaining = settings.ACTIVATION_MAX_WRONG_DATES - data.wrong_dates
    context = _context(
        request, flow, "pupils", form, rows=form.rows, only_link=len(links) == 1,
        wrong_dates=data.wrong_dates, remaining_dates=max(remaining, 0), link_yes=LINK_YES,
        action_url=reverse("activation:provisional_pupils", args=[flow.id]),
    )
    return render(request, "activation/provisional/pupils.html", context)


# --- Guardian: the e-mail sent -----------------------------------------------------------


@never_cache
@require_GET
@provisional_view(step="sent")
def sent(request, flow: Flow):
    context = _context(request, flow, "sent", None, email=ProvisionalData.of(flow).email)
    return render(request, "activation/provisional/sent.html", context)


@never_cache
@require_POST
@provisional_view(step="sent")
def resend(request, flow: Flow):
    try:
        address = services.provisional_link_resend(flow_id=flow.id, account=request.user,
                                                   request=request)
    except services.FlowUnavailable:
        return flow_home(flow)
    except services.ProvisionalRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, texts.message_link_resent(address))
    return flow_home(flow)


@never_cache
@require_POST
@provisional_view(step="sent")
def correct(request, flow: Flow):
    try:
        services.provisional_email_correct(flow_id=flow.id, account=request.user)
    except services.FlowUnavailable:
        pass
    return flow_home(flow)


# --- Pupil: identity ---------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@provisional_view(step="identity")
def identity(request, flow: Flow):
    if request.method == "POST":
        form = BirthDateForm(request.POST)
        if form.is_valid():
            try:
                services.provisional_identity_confirm(
                    flow_id=flow.id, account=request.user, birth_date=form.birth_date,
                    request=request)
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.ProvisionalRefused as refusal:
                form.add_error("jour", refusal.message)
            else:
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, BirthDateForm)
    data = ProvisionalData.of(flow)
    context = _context(request, flow, "identity", form, wrong_dates=data.wrong_dates,
                       remaining_dates=max(settings.ACTIVATION_MAX_WRONG_DATES
                                           - data.wrong_dates, 0))
    return render(request, "activation/provisional/identity.html", context)


# --- Done --------------------------------------------------------------------------------


@never_cache
@require_GET
@provisional_view()
def done(request, flow: Flow):
    """The last step, « Mon compte est activé ». The guardian's is the page the e-mail's
    link leads to (validated); the pupil's is shown here, once the optional address step is
    done or skipped, as its stepper announced (« Étape 4 sur 4 »), with the address the
    validation mail went to, if any, and « Accéder à mes services »."""
    if flow.status != FlowStatus.COMPLETED:
        return flow_home(flow)
    if flow.kind == PROVISIONAL_PUPIL.name:
        address = ProvisionalData.of(flow).email
        context = _context(request, flow, "done", heading=_("Votre compte est activé"),
                           message=texts.message_pupil_email_sent(address) if address
                           else texts.message_pupil_activated())
        return render(request, "activation/provisional/pupil_done.html", context)
    return redirect("activation:provisional_validated")


# --- The link of the e-mail (signed in or not, any device) -------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def validate(request, token: str):
    """The page the e-mail's link opens: the GET only looks at the link (mail scanners open
    links), the button's POST validates the address and activates the account. Signed in
    as another account than the link's, the page says so and offers to sign out (its words
    speak of « votre compte »), and a POST activates nothing. A link that already served
    (opened again, or its button sent twice) says so, with the address it validated — which
    its holder typed and received — and the way to sign in, not « Ce lien n'est plus
    valable ».

    A link that can no longer work because its account changed after the e-mail left —
    closed (activated by SMS or FranceConnect, merged, closed by the helpdesk), locked,
    activated with another link, or a new letter issued (services.provisional_link_gone) —
    says so on the GET already, why in the family's words and what to do, with the way on;
    its POST says the same and changes nothing: 410 both, as a merged account's address
    link (accounts.my_account.views.email_validate). Never the other account's identifier.
    Signed in and active, a link whose account is already active keeps « Votre compte est
    déjà activé »."""
    title = _("Je confirme mon adresse mail")
    gone = services.provisional_link_gone(token)
    signed_in_active = _signed_in_active(request)
    if gone is not None and not (gone == services.LinkGone.ACTIVE and signed_in_active):
        title = _("Confirmer une adresse mail")
        return render(request, "activation/provisional/validate.html", {
            "page_title": _titled(title), "heading": title, "email": "",
            "another_account": False, "gone": gone.value, "signed_in": signed_in_active,
        }, status=410)
    row = services.provisional_link_peek(token)
    if link_token_for_another_account(request, row):
        title = _("Confirmer une adresse mail")
        return render(request, "activation/provisional/validate.html", {
            "page_title": _titled(title), "heading": title, "email": "",
            "another_account": True,
        }, status=409 if request.method == "POST" else 200)
    if request.method == "POST":
        account = services.provisional_email_validate(token=token, request=request)
        if account is not None:
            return redirect("activation:provisional_validated")
        address = ""
    else:
        address = row.payload.get("email", "") if row else ""
    if not address and _signed_in_active(request):
        return _already_active(request)
    used = services.provisional_link_used(token) if not address else None
    if used is not None:
        title = _("Votre compte est activé")
        return render(request, "activation/provisional/validate.html", {
            "page_title": _titled(title), "heading": title, "email": "",
            "another_account": False, "used_email": used.payload.get("email", ""),
        })
    context = {"page_title": _titled(title), "heading": title, "email": address,
               "another_account": False}
    return render(request, "activation/provisional/validate.html", context,
                  status=200 if address else 410)


@never_cache
@require_GET
def validated(request):
    title = _("Votre compte est activé")
    signed_in = _signed_in_active(request)
    context = {"page_title": _titled(title), "heading": title, "signed_in": signed_in}
    return render(request, "activation/provisional/validated.html", context)
