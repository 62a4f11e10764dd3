"""Views of « Identifiant oublié ? » and « Mot de passe oublié ? »: parse, call a service,
redirect or render.

Every page reads the same whatever was typed (services.py says how the work is kept the
same). The password recovery runs on the flow engine (core.flows): each URL after the
identifier carries the flow's id and answers only to the browser holding it; the row's step
is the truth; every POST ends in a redirect (a refused one with its errors kept for the next
GET), so a refresh never sends a code twice. The one exception is the e-mail link, which is
opened wherever the mail is read: its page (GET) only shows a button; the POST spends the
token and binds the flow to that browser.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.code_step import CodeStep, code_step_page, code_step_resend
from core.flows import (
    flow_bind,
    flow_form,
    flow_form_refused,
    flow_home,
    flow_redirect_to_step,
    flow_view,
)
from core.models import Flow, FlowStatus
from core.tokens import link_token_for_another_account

from ..limits import device_cookie_set
from ..models import AccountKind
from ..password_policy import new_password_context
from ..views import PROFILES, Profile
from . import messages as texts
from . import services
from .flows import PASSWORD_RECOVERY, PASSWORD_RESET_SMS, Channel, RecoveryData
from .forms import (
    ChannelForm,
    CodeForm,
    IdentifierByEmailForm,
    IdentifierBySmsForm,
    NewPasswordForm,
    RecoveryIdentifierForm,
)

GUARDIAN_SLUG = "representant-legal"
# The steps a person sees: the code and the link are one step, whichever was chosen.
STEPS = ("identifier", "channel", ("code", "link"), "password", "done")


def _profile(request) -> Profile:
    """The profile of the sign-in page the person came from (`?profil=`), guardian by
    default: it decides the channels offered and where « Se connecter » leads."""
    return PROFILES.get(request.GET.get("profil", ""), PROFILES[GUARDIAN_SLUG])


def _profile_for_kind(kind: str) -> Profile:
    return next((p for p in PROFILES.values() if p.kind == kind), PROFILES[GUARDIAN_SLUG])


def _with_profile(url: str, profile: Profile) -> str:
    return f"{url}?{urlencode({'profil': profile.slug})}"


def _titled(page: str, flow_title: str) -> str:
    return _("%(page)s — %(flow)s") % {"page": page, "flow": flow_title}


def _common(profile: Profile, **extra) -> dict:
    return {
        "profile_label": profile.label,
        "is_pupil": profile.kind == AccountKind.PUPIL,
        "sign_in_url": reverse("accounts:login", args=[profile.slug]),
        **extra,
    }


# --- « Identifiant oublié ? » ------------------------------------------------------------

def _identifier_page(request, template: str, *, heading: str, form=None, status=200, **extra):
    profile = _profile(request)
    error = form is not None and form.is_bound and bool(form.errors)
    title = _titled(heading, _("Identifiant oublié"))
    context = _common(
        profile, form=form, heading=heading,
        page_title=_("Erreur : %(title)s") % {"title": title} if error else title,
        choice_url=_with_profile(reverse("accounts:identifier_forgotten"), profile),
        sms_url=_with_profile(reverse("accounts:identifier_forgotten_sms"), profile),
        email_url=_with_profile(reverse("accounts:identifier_forgotten_email"), profile),
        **extra,
    )
    return render(request, template, context, status=status)


@never_cache
@require_GET
def identifier_forgotten(request):
    """« Identifiant oublié ? »: choose to receive it by SMS or by mail (FAQ §4)."""
    return _identifier_page(request, "accounts/recovery/identifier_choice.html",
                            heading=_("Je choisis comment recevoir mon identifiant"))


def _identifier_form_view(request, *, form_class, template, heading, channel, send):
    form = form_class(request.POST or None)
    status, retry_after = 200, 0
    if request.method == "POST" and form.is_valid():
        try:
            send(form.cleaned_data, request)
        except services.RecoveryRefused as refusal:
            form.add_error(None, refusal.message)
            status, retry_after = 429, refusal.retry_after
        else:
            url = reverse("accounts:identifier_forgotten_sent")
            return HttpResponseRedirect(
                f"{url}?{urlencode({'canal': channel, 'profil': _profile(request).slug})}"
            )
    response = _identifier_page(request, template, heading=heading, form=form, status=status)
    if status == 429:
        response["Retry-After"] = str(max(retry_after, 1))  # RFC 9110 §10.2.3
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def identifier_forgotten_sms(request):
    return _identifier_form_view(
        request, form_class=IdentifierBySmsForm, template="accounts/recovery/identifier_sms.html",
        heading=_("Je reçois mon identifiant par SMS"), channel=Channel.SMS,
        send=lambda data, req: services.identifier_reminder_by_sms(
            last_name=data["last_name"], first_name=data["first_name"], phone=data["phone"],
            request=req,
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def identifier_forgotten_email(request):
    return _identifier_form_view(
        request, form_class=IdentifierByEmailForm,
        template="accounts/recovery/identifier_email.html",
        heading=_("Je reçois mon identifiant par mail"), channel=Channel.EMAIL,
        send=lambda data, req: services.identifier_reminder_by_email(
            email=data["email"], request=req,
        ),
    )


@never_cache
@require_GET
def identifier_forgotten_sent(request):
    """The page after the request, the same whatever matched (issue 8 §2, §6)."""
    by_email = request.GET.get("canal") == Channel.EMAIL
    return _identifier_page(
        request, "accounts/recovery/identifier_sent.html",
        heading=_("Votre demande a été prise en compte"), by_email=by_email,
    )


# --- « Mot de passe oublié ? » -----------------------------------------------------------


# A pupil gets the link by mail only (no SMS: their account has no number to prove): their
# pages never speak of a code. A parent chooses at the channel step, so the step after it is
# named by both ways until one is chosen.
PUPIL_STEP_LABELS = {"channel": gettext_lazy("Je reçois un lien par mail")}
GUARDIAN_CODE_OR_LINK = gettext_lazy(
    "Je saisis le code reçu par SMS ou j'ouvre le lien reçu par mail")


def _step_label(step: str, kind: str) -> str:
    """The title of `step` on the pages of a profile of account `kind`."""
    if kind == AccountKind.PUPIL and step in PUPIL_STEP_LABELS:
        return PUPIL_STEP_LABELS[step]
    return PASSWORD_RECOVERY.stage(step).label


def _stepper(step: str, kind: str) -> dict:
    position = next(i for i, s in enumerate(STEPS, start=1)
                    if step == s or (isinstance(s, tuple) and step in s))
    following = STEPS[position] if position < len(STEPS) else None
    if isinstance(following, tuple):
        # The code (SMS) or the link (mail): a pupil has the link only.
        next_title = (_step_label("link", kind) if kind == AccountKind.PUPIL
                      else GUARDIAN_CODE_OR_LINK)
    else:
        next_title = _step_label(following, kind) if following else ""
    return {
        "step": position,
        "step_title": _step_label(step, kind),
        "next_step_title": next_title,
        "total_steps": len(STEPS),
    }


def _step_context(step: str, profile: Profile, form=None, **extra) -> dict:
    stepper = _stepper(step, profile.kind)
    title = _("Étape %(position)s sur %(total)s : %(label)s — %(title)s") % {
        "position": stepper["step"], "total": stepper["total_steps"],
        "label": stepper["step_title"], "title": PASSWORD_RECOVERY.title,
    }
    error = form is not None and form.is_bound and bool(form.errors)
    return _common(
        profile, **stepper, form=form,
        page_title=_("Erreur : %(title)s") % {"title": title} if error else title,
        restart_url=_with_profile(reverse("accounts:password_forgotten"), profile),
        **extra,
    )


def _flow_profile(flow: Flow) -> Profile:
    return _profile_for_kind(RecoveryData.of(flow).profile)


@never_cache
@require_http_methods(["GET", "POST"])
def password_forgotten(request):
    """« Mot de passe oublié ? », step 1: the identifier. It starts the flow whatever it is:
    the next page is the same for an identifier that is no account."""
    profile = _profile(request)
    form = RecoveryIdentifierForm(request.POST or None)
    status, retry_after = 200, 0
    if request.method == "POST" and form.is_valid():
        try:
            flow, secret = services.password_recovery_start(
                identifier=form.cleaned_data["identifier"], profile=profile.kind,
                request=request,
            )
        except services.RecoveryRefused as refusal:
            form.add_error(None, refusal.message)
            status, retry_after = 429, refusal.retry_after
        else:
            flow_bind(request, flow, secret)
            return redirect("accounts:password_recovery_channel", flow_id=flow.id)
    response = render(request, "accounts/recovery/password_identifier.html",
                      _step_context("identifier", profile, form), status=status)
    if status == 429:
        response["Retry-After"] = str(max(retry_after, 1))
    return response


@never_cache
@require_GET
@flow_view(PASSWORD_RECOVERY)
def flow_page(request, flow: Flow):
    """The flow's own page: where every URL sends a flow that is not at its step."""
    if flow.status == FlowStatus.COMPLETED:
        return redirect("accounts:password_recovery_done", flow_id=flow.id)
    if flow.is_expired() or flow.status != FlowStatus.OPEN:
        profile = _flow_profile(flow)
        # Ended by a newer request of the account, or by a new password.
        replaced = services.password_recovery_replaced(flow)
        context = _common(
            profile, flow=flow,
            page_title=_titled(_("Demande remplacée") if replaced
                               else _("Demande arrêtée") if flow.status == FlowStatus.REPLACED
                               else _("Demande expirée"), PASSWORD_RECOVERY.title),
            password_changed=flow.status == FlowStatus.REPLACED and not replaced,
            replaced=replaced,
            idle_minutes=max(1, round(PASSWORD_RECOVERY.idle_seconds / 60)),
            restart_url=_with_profile(reverse("accounts:password_forgotten"), profile),
        )
        return render(request, "accounts/recovery/expired.html", context, status=410)
    return flow_redirect_to_step(flow)


def _channel_labels(data: RecoveryData) -> dict[str, str]:
    """The choices of the channel page: those the flow stored a mask for at its start
    (masking.channel_masks: an account's own channels, or the identifier's decoy)."""
    labels = {}
    if data.profile == AccountKind.GUARDIAN and data.phone_mask:
        labels[Channel.SMS] = _("Par SMS, un code au %(phone)s") % {"phone": data.phone_mask}
    if data.email_mask:
        labels[Channel.EMAIL] = _("Par mail, un lien à %(email)s") % {"email": data.email_mask}
    return labels


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(PASSWORD_RECOVERY, step="channel")
def channel(request, flow: Flow):
    data = RecoveryData.of(flow)
    labels = _channel_labels(data)
    legend = _step_label("channel", data.profile)

    def factory(posted):
        return ChannelForm(posted, labels=labels, legend=legend)

    if request.method == "POST":
        form = factory(request.POST)
        if form.is_valid():
            try:
                services.password_recovery_channel_choose(
                    flow_id=flow.id, channel=form.cleaned_data["channel"], request=request
                )
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.RecoveryRefused as refusal:
                form.add_error(None, refusal.message)
            else:
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, factory)
    return render(request, "accounts/recovery/password_channel.html",
                  _step_context("channel", _flow_profile(flow), form, flow=flow))


def _code_verify(*, request, flow: Flow, typed_code: str) -> None:
    services.password_recovery_code_verify(flow_id=flow.id, typed_code=typed_code,
                                           request=request)


def _code_resend(*, request, flow: Flow) -> None:
    services.password_recovery_code_resend(flow_id=flow.id, request=request)


def _code_context(request, flow: Flow, form) -> dict:
    # The number as the channel step showed it (the flow's own number is never shown), and
    # whether that page offered « Par mail » too: only then does the help advise starting
    # again with it (a real account's channels or the identifier's decoy, as shown there).
    data = RecoveryData.of(flow)
    return _step_context(
        "code", _flow_profile(flow), form,
        masked_phone=data.phone_mask.replace(" ", "\u00a0"),
        email_offered=bool(data.email_mask),
    )


CODE_STEP = CodeStep(
    kind=PASSWORD_RECOVERY, stage="code", purpose=PASSWORD_RESET_SMS,
    resend_url_name="accounts:password_recovery_code_resend",
    template="accounts/recovery/password_code.html",
    form_class=CodeForm, verify=_code_verify, resend=_code_resend,
    resent_message=lambda flow: texts.message_code_resent(),
    context=_code_context, refused=services.RecoveryRefused, rotate_session=True,
    heading_level=0,
    # Every identifier reaches this page, an account without a mobile number too (no
    # enumeration): the page always says what to do when no SMS comes.
    no_code_help_template="accounts/recovery/_password_code_no_sms.html",
)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(PASSWORD_RECOVERY, step="code")
def code(request, flow: Flow):
    return code_step_page(request, flow, step=CODE_STEP)


@never_cache
@require_POST
@flow_view(PASSWORD_RECOVERY)
def code_resend(request, flow: Flow):
    return code_step_resend(request, flow, step=CODE_STEP)


@never_cache
@require_GET
@flow_view(PASSWORD_RECOVERY, step="link")
def link_sent(request, flow: Flow):
    data = RecoveryData.of(flow)
    return render(request, "accounts/recovery/password_link_sent.html", _step_context(
        "link", _flow_profile(flow), None, flow=flow, masked_email=data.email_mask,
        link_minutes=max(1, round(settings.PASSWORD_RESET_LINK_TTL_SECONDS / 60)),
    ))


@never_cache
@require_POST
@flow_view(PASSWORD_RECOVERY)
def link_resend(request, flow: Flow):
    try:
        services.password_recovery_link_resend(flow_id=flow.id, request=request)
    except services.FlowUnavailable:
        return flow_home(flow)
    except services.RecoveryRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, texts.message_link_resent())
    return redirect("accounts:password_recovery_link_sent", flow_id=flow.id)


@never_cache
@require_http_methods(["GET", "POST"])
def link_open(request, token: str):
    """The link of the e-mail. GET shows a button and spends nothing (mail scanners open
    links); the POST spends the token, binds the flow to this browser (which may not be the
    one that started it) and goes on to the new password. Signed in as another account
    than the link's, the page says so and offers to sign out (its words speak of « votre
    compte »), and a POST spends nothing."""
    link = services.password_recovery_link_live(token=token)
    if link_token_for_another_account(request, link):
        return render(request, "accounts/recovery/password_link.html", {
            "page_title": _titled(_("Ce lien concerne un autre compte ÉduConnect"),
                                  PASSWORD_RECOVERY.title),
            "another_account": True,
        }, status=409 if request.method == "POST" else 200)
    if request.method == "POST":
        opened = services.password_recovery_link_consume(token=token, request=request)
        if opened is not None:
            flow, secret = opened
            flow_bind(request, flow, secret)
            return redirect("accounts:password_recovery_password", flow_id=flow.id)
    elif link is not None:
        return render(request, "accounts/recovery/password_link.html", {
            "page_title": _titled(_("Je choisis un nouveau mot de passe"),
                                  PASSWORD_RECOVERY.title),
            "another_account": False,
        })
    profile = PROFILES[GUARDIAN_SLUG]
    # The password changed since the mail was sent: the page says so (the token is a secret
    # only the mailbox holds, so this tells nobody else anything).
    # Or a newer request replaced it (the same words as « Mon compte »'s e-mail links).
    reason = services.password_recovery_link_dead_reason(token=token)
    return render(request, "accounts/recovery/password_link_invalid.html", _common(
        profile, outdated=reason == services.LINK_OUTDATED,
        replaced=reason == services.LINK_REPLACED,
        page_title=_titled(_("Ce lien n'est plus valable"), PASSWORD_RECOVERY.title),
        restart_url=reverse("accounts:password_forgotten"),
        link_minutes=max(1, round(settings.PASSWORD_RESET_LINK_TTL_SECONDS / 60)),
    ), status=410)


@never_cache
@require_http_methods(["GET", "POST"])
@flow_view(PASSWORD_RECOVERY, step="password")
def password(request, flow: Flow):
    account = flow.account
    facts = {"first_name": account.first_name, "last_name": account.last_name,
             "identifier": account.identifier}

    def factory(posted):
        return NewPasswordForm(posted, **facts)

    if request.method == "POST":
        form = factory(request.POST)
        if form.is_valid():
            try:
                account = services.password_recovery_password_set(
                    flow_id=flow.id, password=form.cleaned_data["password"], request=request
                )
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.RecoveryRefused as refusal:
                form.add_error("password", refusal.message)
            else:
                # The browser that proved the number or address signs in at once with the
                # new password, whatever failures other browsers or this one counted: it is
                # the owner's device now (accounts.limits, OWASP device cookies).
                response = redirect("accounts:password_recovery_done", flow_id=flow.id)
                device_cookie_set(response, request, identifier=account.identifier)
                return response
        # The password never reaches the session: the page comes back with the errors only.
        return flow_form_refused(request, flow, form,
                                 secret_fields=("password", "password_confirm"))
    form = flow_form(request, flow, factory)
    return render(request, "accounts/recovery/password_new.html", _step_context(
        "password", _flow_profile(flow), form, flow=flow, **new_password_context(**facts),
        **_merged(flow),
    ))


def _merged(flow: Flow) -> dict:
    """For the pages after the code or the link (« password », « done »): the identifier
    typed when it was closed by a merge (services._account_for_recovery) and the identifier
    of the account whose password is chosen; both "" otherwise. Only the browser that
    proved the account's number or address holds these pages."""
    data = RecoveryData.of(flow)
    if not data.merged_identifier or flow.account_id is None:
        return {"merged_identifier": "", "kept_identifier": ""}
    return {"merged_identifier": data.merged_identifier.upper(),
            "kept_identifier": flow.account.display_identifier}


@never_cache
@require_GET
@flow_view(PASSWORD_RECOVERY)
def done(request, flow: Flow):
    """« Votre mot de passe a été modifié », then the sign-in page of the profile, not a
    session opened here: the e-mail link may have been opened on a shared or borrowed device,
    signing in once with the new password is what fixes it in the person's memory (and in
    their password manager, which offers to save it on the sign-in form), and a sign-in goes
    through the sign-in limits and journal like every other. That sign-in succeeds at once
    from this browser: the POST that set the password gave it the account's device cookie and
    cleared the failures that would refuse it (accounts.limits.sign_in_owner_proven)."""
    if flow.status != FlowStatus.COMPLETED:
        return flow_home(flow)
    context = _step_context("done", _flow_profile(flow), None, flow=flow, **_merged(flow))
    context["page_title"] = _titled(_("Votre mot de passe a été modifié"),
                                    PASSWORD_RECOVERY.title)
    return render(request, "accounts/recovery/password_done.html", context)

