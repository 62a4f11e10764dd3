"""« Mon compte »: parse, call a service, redirect or render. Nothing else.

Every page is for a signed-in family or pupil account (staff have the back-office), except
the page a validation link opens (`email_validate`), which works signed out and from any
device: its GET only shows a button, its POST validates. The
change of e-mail address and of phone number ask for the password again when the session's
last sign-in or confirmation is older than ACCOUNT_REAUTHENTICATION_SECONDS
(`reauthentication_required`). The phone change runs on the flow engine (core.flows: bound
to the browser, the row's step is the truth, POST → redirect → GET).
"""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.code_step import CodeStep, code_step_page, code_step_resend
from core.flows import (
    flow_bind,
    flow_home,
    flow_not_found,
    flow_redirect_to_step,
    flow_view,
)
from core.models import Flow, FlowStatus
from core.normalization import mask_phone
from core.tokens import link_token_for_another_account, link_token_peek, link_token_used

from ..models import AccountKind, AccountState
from ..password_policy import new_password_context
from ..selectors import account_merged_into
from ..views import safe_next_url
from . import messages as texts
from . import services
from .flows import PHONE_CHANGE, PHONE_CHANGE_CODE
from .forms import CodeForm, CurrentPasswordForm, EmailChangeForm, PasswordChangeForm, PhoneForm
from .selectors import (
    EMAIL_CHANGE_PURPOSE,
    email_change_pending,
    email_link_dead_cause,
    email_to_check,
)


def masked_mobile(e164: str) -> str:
    """The product's mask (core.normalization.mask_phone: « 06 •• •• •• 12 ») with no-break
    spaces, so that the page never breaks the number across lines."""
    return mask_phone(str(e164)).replace(" ", "\u00a0")


# --- Access ------------------------------------------------------------------------------


def portal_account_required(view):
    """Signed in as a family or pupil account; staff go to the back-office."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.kind == AccountKind.STAFF:
            return redirect("admin:index")
        return view(request, *args, **kwargs)

    return wrapper


def reauthentication_required(view):
    """Asks for the password again (then comes back) when the session's last sign-in or
    confirmation is older than ACCOUNT_REAUTHENTICATION_SECONDS. A POST that arrives too late
    is not carried out: the person confirms, then finds the form again."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not services.recently_authenticated(request):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('accounts:my_account:reauthenticate')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper


def _context(request, current: str, title: str, form=None, **extra) -> dict:
    has_errors = form is not None and form.is_bound and bool(form.errors)
    page_title = _("%(page)s — Mon compte") % {"page": title}
    return {
        "page_title": _("Erreur : %(title)s") % {"title": page_title} if has_errors
        else page_title,
        "heading": title,
        "current": current,
        "account": request.user,
        "is_guardian": request.user.kind == AccountKind.GUARDIAN,
        "form": form,
        **extra,
    }


# --- Mes informations --------------------------------------------------------------------


@never_cache
@require_GET
@portal_account_required
def information(request):
    account = request.user
    pending = email_change_pending(account)
    context = _context(
        request, "information", _("Mes informations"),
        masked_phone=masked_mobile(str(account.phone)) if account.phone else "",
        pending_email=pending.payload["email"] if pending else "",
    )
    return render(request, "accounts/my_account/information.html", context)


# --- Re-authentication -------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@portal_account_required
def reauthenticate(request):
    next_url = safe_next_url(request) or reverse("accounts:my_account:information")
    form = CurrentPasswordForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.account_reauthenticate(account=request.user,
                                            password=form.cleaned_data["password"],
                                            request=request)
        except services.MyAccountRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
        else:
            return redirect(next_url)
    if form.errors:
        status = 400
    context = _context(request, "", _("Je confirme mon mot de passe"), form,
                       next=next_url,
                       minutes=max(1, round(settings.ACCOUNT_REAUTHENTICATION_SECONDS / 60)))
    return render(request, "accounts/my_account/reauthenticate.html", context, status=status)


# --- Modifier mon mot de passe -----------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@portal_account_required
def password(request):
    account = request.user
    form = PasswordChangeForm(request.POST if request.method == "POST" else None,
                              account=account)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            email_change_cancelled = services.my_account_password_change(
                account=account, current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["password"], request=request,
            )
        except services.MyAccountRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
        else:
            messages.success(request, _(
                "Votre mot de passe a été modifié. Utilisez-le à votre prochaine connexion : "
                "vos autres connexions en cours ont été fermées."
            ))
            if email_change_cancelled:
                # Deliberate (accounts.my_account.pending): a new password voids a pending
                # change of address. Said, so that the person asks for it again.
                messages.warning(request, _(
                    "Par sécurité, la modification de votre adresse mail qui attendait sa "
                    "validation a été annulée avec le changement de mot de passe : le lien "
                    "du mail envoyé ne fonctionne plus. Pour changer d'adresse, demandez-le "
                    "à nouveau dans « Modifier mon adresse mail »."
                ))
            return redirect("accounts:my_account:information")
    if form.errors:
        status = 400
    context = _context(request, "password", _("Modifier mon mot de passe"), form,
                       **new_password_context(first_name=form.account.first_name,
                                              last_name=form.account.last_name,
                                              identifier=form.account.identifier))
    return render(request, "accounts/my_account/password.html", context, status=status)


# --- Modifier mon numéro de téléphone (flow kind PHONE_CHANGE) ---------------------------


def _phone_flow_view(step: str | None = None):
    """flow_view, for the signed-in account that started the flow only."""

    def decorator(view):
        @portal_account_required
        @flow_view(PHONE_CHANGE, step=step)
        @wraps(view)
        def wrapper(request, flow: Flow, *args, **kwargs):
            if flow.account_id != request.user.pk:
                return flow_not_found(request, PHONE_CHANGE)
            return view(request, flow, *args, **kwargs)

        return wrapper

    return decorator


def _phone_context(request, step: str, form=None, **extra) -> dict:
    context = _context(request, "phone", _("Modifier mon numéro de téléphone"), form, **extra)
    has_errors = form is not None and form.is_bound and bool(form.errors)
    context.update(PHONE_CHANGE.stepper(step),
                   page_title=PHONE_CHANGE.page_title(step, error=has_errors))
    return context


@never_cache
@require_http_methods(["GET", "POST"])
@portal_account_required
@reauthentication_required
def phone(request):
    """The first stage: the new number. Its form starts the flow (a refused one starts
    nothing, so it answers directly)."""
    form = PhoneForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            flow, secret = services.phone_change_start(
                account=request.user, phone=form.cleaned_data["phone"], request=request,
            )
        except services.MyAccountRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
        else:
            flow_bind(request, flow, secret)
            return redirect("accounts:my_account:phone_code", flow_id=flow.id)
    if form.errors:
        status = 400
    account = request.user
    context = _phone_context(
        request, "number", form,
        masked_phone=masked_mobile(str(account.phone)) if account.phone else "",
    )
    return render(request, "accounts/my_account/phone.html", context, status=status)


@never_cache
@require_GET
@_phone_flow_view()
def phone_flow(request, flow: Flow):
    if flow.status == FlowStatus.COMPLETED:
        return redirect("accounts:my_account:phone_done", flow_id=flow.id)
    if flow.status != FlowStatus.OPEN or flow.is_expired():
        # Replaced: a newer change was started (services.phone_change_start); this one's
        # code, typed on a page left open, is refused here with the reason.
        replaced = flow.status == FlowStatus.REPLACED
        context = _phone_context(
            request, flow.step, replaced=replaced,
            masked_phone=masked_mobile(str(flow.phone)),
            idle_minutes=max(1, round(PHONE_CHANGE.idle_seconds / 60)),
        )
        context["page_title"] = (
            _("Modification remplacée — %(title)s") if replaced
            else _("Modification expirée — %(title)s")) % {"title": PHONE_CHANGE.title}
        return render(request, "accounts/my_account/phone_expired.html", context, status=410)
    return flow_redirect_to_step(flow)


def _phone_code_verify(*, request, flow: Flow, typed_code: str) -> None:
    services.phone_change_code_verify(flow_id=flow.id, account=request.user,
                                      typed_code=typed_code, request=request)


def _phone_code_resend(*, request, flow: Flow) -> None:
    services.phone_change_code_resend(flow_id=flow.id, account=request.user, request=request)


CODE_STEP = CodeStep(
    kind=PHONE_CHANGE, stage="code", purpose=PHONE_CHANGE_CODE,
    resend_url_name="accounts:my_account:phone_resend",
    template="accounts/my_account/phone_code.html",
    form_class=CodeForm, verify=_phone_code_verify, resend=_phone_code_resend,
    resent_message=lambda flow: texts.message_code_resent(mask_phone(str(flow.phone))),
    context=lambda request, flow, form: _phone_context(request, "code", form),
    # Every refusal of the code is about the code field (services.phone_change_code_verify).
    refused=services.MyAccountRefused, rotate_session=True,
)


@never_cache
@require_http_methods(["GET", "POST"])
@_phone_flow_view(step="code")
def phone_code(request, flow: Flow):
    return code_step_page(request, flow, step=CODE_STEP)


@never_cache
@require_POST
@_phone_flow_view()
def phone_resend(request, flow: Flow):
    return code_step_resend(request, flow, step=CODE_STEP)


@never_cache
@require_GET
@_phone_flow_view()
def phone_done(request, flow: Flow):
    if flow.status != FlowStatus.COMPLETED:
        return flow_home(flow)
    context = _phone_context(
        request, "done", None, flow=flow,
        masked_phone=masked_mobile(str(flow.phone)),
        old_phone_told=bool((flow.data or {}).get(services.OLD_PHONE_TOLD)),
    )
    context["page_title"] = _("Votre numéro de téléphone a été modifié — Mon compte")
    return render(request, "accounts/my_account/phone_done.html", context)


# --- Modifier mon adresse mail -----------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@portal_account_required
@reauthentication_required
def email(request):
    """The new address and its confirmation (FAQ §11); with a change pending, its state,
    « Renvoyer l'email de validation » and « J'ai fait une erreur de saisie dans mon adresse
    mail » (FAQ §8), which shows the form again (`?corriger=1`)."""
    account = request.user
    form = EmailChangeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        new_email = form.cleaned_data["email"]
        try:
            services.email_change_request(account=account, email=new_email, request=request)
        except services.MyAccountRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
        else:
            messages.success(request, texts.message_email_requested(
                new_email, old_told=services.email_change_notices(account).current_address
                and account.email.strip().lower() != new_email))
            return redirect("accounts:my_account:email")
    if form.errors:
        status = 400
    pending = email_change_pending(account)
    correcting = request.GET.get("corriger") == "1"
    context = _context(
        request, "email", _("Modifier mon adresse mail"), form,
        pending_email=pending.payload["email"] if pending else "",
        show_form=pending is None or correcting or form.is_bound,
        days=max(1, round(settings.EMAIL_CHANGE_LINK_TTL_SECONDS / 86400)),
        notices=services.email_change_notices(account),
    )
    return render(request, "accounts/my_account/email.html", context, status=status)


@never_cache
@require_POST
@portal_account_required
def email_resend(request):
    try:
        sent_to = services.email_change_resend(account=request.user, request=request)
    except services.MyAccountRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, texts.message_email_resent(sent_to))
    return redirect("accounts:my_account:email")


@never_cache
@require_POST
@portal_account_required
def email_cancel(request):
    if services.email_change_cancel(account=request.user, request=request):
        messages.success(request, texts.message_email_cancelled())
    return redirect("accounts:my_account:email")


@never_cache
@require_http_methods(["GET", "POST"])
def email_validate(request, token: str):
    """The page a validation link opens: the GET only looks at the link (mail scanners open
    links), the button's POST validates. Works signed out and from any device. Signed in as
    another account than the link's, the page says so and offers to sign out (its words
    speak of « votre compte »), and a POST validates nothing.

    A link whose account was since closed by a merge (« Mes enfants », families) says so on
    the GET already, and what to do (sign in with the account kept, set the address in
    « Mon compte »), without naming the kept account: 410, nothing validated. A link that
    already served (opened again, or its button sent twice) says so, with the address it
    validated — which its holder typed and received — and the way to sign in: 200. A dead
    link (replaced, cancelled, expired) opened by its own account, signed in, says which
    (selectors.email_link_dead_cause) and leads to « Modifier mon adresse mail », where a
    new mail is asked; signed out or as another account, the page's general words: 410."""
    title = _("Je valide ma nouvelle adresse mail")
    row = link_token_peek(token=token, purpose=EMAIL_CHANGE_PURPOSE)
    if row is not None and row.account.state == AccountState.CLOSED \
            and account_merged_into(row.account) is not None:
        title = _("Valider une adresse mail")
        return render(request, "accounts/my_account/email_validate.html", {
            "page_title": title, "heading": title, "another_account": False,
            "closed_by_merge": True,
        }, status=410)
    if link_token_for_another_account(request, row):
        title = _("Valider une adresse mail")
        return render(request, "accounts/my_account/email_validate.html", {
            "page_title": title, "heading": title, "another_account": True,
        }, status=409 if request.method == "POST" else 200)
    if request.method == "POST":
        account = services.email_change_validate(token=token, request=request)
        if account is not None:
            return redirect("accounts:my_account:email_validated")
        row = None
    used = link_token_used(token=token, purpose=EMAIL_CHANGE_PURPOSE) if row is None else None
    if used is not None:
        title = _("Votre adresse mail est validée")
        return render(request, "accounts/my_account/email_validate.html", {
            "page_title": title, "heading": title, "another_account": False,
            "used_email": used.payload.get("email", ""),
        })
    context = {"page_title": title, "heading": title, "another_account": False,
               "token": token, "new_email": row.payload["email"] if row else ""}
    if row is None and request.user.is_authenticated:
        # A dead link opened by its own account, signed in: why (if the token tells it),
        # and straight to where a new mail is asked. Anyone else reads the general words.
        context["dead_cause"] = email_link_dead_cause(token=token, account=request.user)
    return render(request, "accounts/my_account/email_validate.html", context,
                  status=200 if row else 410)


@never_cache
@require_GET
def email_validated(request):
    title = _("Votre adresse mail est validée")
    context = {"page_title": title, "heading": title}
    return render(request, "accounts/my_account/email_validated.html", context)


# --- Vérifier mon adresse mail (at sign-in, FAQ §7) -------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@portal_account_required
def email_check(request):
    """Asked right after signing in when the account's address is not validated (FAQ §7):
    « Je garde cette adresse » (a new validation e-mail to it) or a corrected address (the
    e-mail goes there), or « Plus tard » — the services are open meanwhile, except what needs
    the validated address (« Mot de passe oublié ? » by e-mail). Then on to `next`. Same
    limits as « Modifier mon adresse mail » (email_change_request).

    A corrected address is a change of address: it asks for the password again past
    ACCOUNT_REAUTHENTICATION_SECONDS after the sign-in, as « Modifier mon adresse mail »
    does (reauthentication_required), or a session left open would let anyone give the
    account their own address, then reset its password by e-mail (ASVS 4.0.3 V3.7.1).
    « Je garde cette adresse » sends to the address already on the account: no password."""
    account = request.user
    next_url = safe_next_url(request) or reverse(settings.LOGIN_REDIRECT_URL)
    address = email_to_check(account)
    if not address:
        return redirect(next_url)
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "correct" and not services.recently_authenticated(request):
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('accounts:my_account:reauthenticate')}?{query}")
    # A validation mail already sent to this address (the school letter's activation, « Mon
    # compte »…) and still valid: the page says so first; asking again sends one more, the
    # earlier links staying valid (email_change_resend: mails arrive late).
    pending = email_change_pending(account)
    if pending is not None and pending.payload.get("email") != address:
        pending = None
    form = EmailChangeForm(request.POST if action == "correct" else None)
    status = 200
    if action == "keep" or (action == "correct" and form.is_valid()):
        chosen = address if action == "keep" else form.cleaned_data["email"]
        resend = action == "keep" and pending is not None
        try:
            if resend:
                services.email_change_resend(account=account, request=request)
            else:
                services.email_change_request(account=account, email=chosen, request=request)
        except services.MyAccountRefused as refusal:
            if action == "keep":
                messages.error(request, refusal.message)
                return redirect(next_url)
            form.add_error(refusal.field or None, refusal.message)
        else:
            messages.success(request, texts.message_email_resent(chosen) if resend
                             else texts.message_email_requested(chosen, old_told=False))
            return redirect(next_url)
    if form.errors:
        status = 400
    # The owner's own address, in full, as the paragraph below writes it.
    already_sent = (texts.message_email_already_sent(address, pending.created_at)
                    if pending is not None else "")
    context = _context(request, "email", _("Vérifiez votre adresse mail"), form,
                       address=address, next_url=next_url, already_sent=already_sent)
    return render(request, "accounts/my_account/email_check.html", context, status=status)
