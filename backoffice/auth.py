"""Staff sign-in: password, then a TOTP code; the first time, enrolment with a QR code.

The password step only remembers, in the session, which account passed it (for a few
minutes); the account is signed in, with a new session key, once the code is right. So no
request is ever authenticated with one factor only, and nothing on these pages tells whether
an identifier exists or is a staff account.

Each step counts its attempt in backoffice.limits before checking anything (atomic windows in
Redis): the password per identifier and per address; the code per pending sign-in (then the
password is due again, and step 1 says why), per account and per address (then a wait).
Each wrong code says how many codes are left and what comes after them; refusals say how
long to wait, with a 429 status and a Retry-After header. A code already used (by another
sign-in in the same 30 seconds) is told as such: wait for the next one.
"""

import secrets
import time
from base64 import b32encode
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import PasswordChangeView
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_noop, ngettext
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.limits import device_cookie_set, sign_in_device
from accounts.models import Account
from core.french import plural_count
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.normalization import strip_invisible
from core.ratelimit import wait_text

from .forms import CodeStepForm, PasswordStepForm, StaffPasswordChangeForm
from .limits import (
    code_attempt_admit,
    code_wait,
    password_attempt_admit,
    sign_in_completed,
)

PENDING_KEY = "backoffice_sign_in"
DEVICE_NAME = "Application d'authentification"
BACKEND = "accounts.backends.IdentifierBackend"

# Marked for translation here, translated where they are shown (gettext(...)).
WRONG_CREDENTIALS = gettext_noop(
    "Identifiant ou mot de passe incorrect. Vérifiez votre saisie ; le mot de passe tient "
    "compte des majuscules."
)
WRONG_CODE = gettext_noop(
    "Code incorrect ou expiré : saisissez le code affiché en ce moment par votre application "
    "d'authentification."
)
EXPIRED = gettext_noop(
    "Votre connexion a expiré : saisissez à nouveau votre identifiant et votre mot de passe."
)
START_OVER = gettext_noop(
    "Trop de codes erronés : saisissez à nouveau votre identifiant et votre mot de passe."
)


def too_many_attempts(retry_after: int) -> str:
    """Password step refused by a limit; `retry_after` in seconds."""
    return gettext(
        "Trop de tentatives de connexion. Patientez %(wait)s avant de réessayer, ou contactez "
        "l'administration nationale."
    ) % {"wait": wait_text(retry_after)}


def code_throttled(retry_after: int) -> str:
    """Code step refused by the account's or the address's window; `retry_after` in
    seconds (the window's count-down)."""
    return gettext(
        "Trop de codes erronés : patientez %(wait)s avant de saisir un nouveau code."
    ) % {"wait": wait_text(retry_after)}


CODE_REUSED = gettext_noop(
    "Ce code a déjà été utilisé pour une connexion et ne peut servir qu'une fois : attendez "
    "que votre application d'authentification affiche le code suivant (toutes les 30 "
    "secondes), puis saisissez-le."
)


def _what_comes_next(codes_left: int, then_wait: bool) -> str:
    """How many codes are left (backoffice.limits.CodeAdmission) and what follows them."""
    if then_wait:
        return ngettext(
            "Il vous reste %(n)d essai ; ensuite, vous devrez patienter avant de saisir un "
            "nouveau code.",
            "Il vous reste %(n)d essais ; ensuite, vous devrez patienter avant de saisir un "
            "nouveau code.",
            plural_count(codes_left),
        ) % {"n": codes_left}
    return ngettext(
        "Il vous reste %(n)d essai ; ensuite, vous devrez saisir à nouveau votre identifiant "
        "et votre mot de passe.",
        "Il vous reste %(n)d essais ; ensuite, vous devrez saisir à nouveau votre identifiant "
        "et votre mot de passe.",
        plural_count(codes_left),
    ) % {"n": codes_left}


def wrong_code(codes_left: int, then_wait: bool = False, *, reused: bool = False) -> str:
    """The refusal of a code checked and found wrong (`reused`: right, but already used
    once, RFC 6238 §5.2), with `codes_left` more codes before the password again or, when
    `then_wait`, before a wait."""
    reason = gettext(CODE_REUSED) if reused else gettext(WRONG_CODE)
    return reason + " " + _what_comes_next(codes_left, then_wait)


def _next_url(request, site) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index", current_app=site.name)


def _pending_account(request) -> Account | None:
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return None
    if time.time() - pending.get("since", 0) > settings.BACKOFFICE_SIGN_IN_PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    if not pending.get("sign_in_id"):
        request.session.pop(PENDING_KEY, None)
        return None
    account = Account.objects.filter(pk=pending.get("account_id"), is_staff=True).first()
    if account is None or not account.is_active:
        request.session.pop(PENDING_KEY, None)
        return None
    return account


def _confirmed_device(account: Account) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=account, confirmed=True).order_by("pk").first()


def _enrolment_device(account: Account) -> TOTPDevice:
    # The same unconfirmed device across reloads, so that a QR code already scanned stays good.
    device = TOTPDevice.objects.filter(user=account, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=account, name=DEVICE_NAME, confirmed=False)
    return device


def qr_code_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    svg = image.to_string(encoding="unicode")
    # Generated by us from our own data: safe to inline. Named for screen readers.
    label = escape(gettext("QR code à scanner avec votre application d'authentification"))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _render(request, site, *, step, form, account=None, device=None, status=200, retry_after=0):
    context = {
        **site.each_context(request),
        "title": gettext("Connexion à l'espace de gestion"),
        "step": step,
        "form": form,
        "next": _next_url(request, site),
        "app_path": request.get_full_path(),
        "account": account,
    }
    if step == "enrol":
        context["qr_svg"] = mark_safe(qr_code_svg(device.config_url))  # noqa: S308
        context["secret"] = _grouped(b32encode(device.bin_key).decode())
    response = TemplateResponse(request, "admin/backoffice/sign_in.html", context, status=status)
    response["Cache-Control"] = "no-store"
    if retry_after:
        response["Retry-After"] = str(retry_after)  # RFC 9110 §10.2.3, with status 429
    return response


def _redirect_to_sign_in(request, site) -> HttpResponseRedirect:
    url = reverse("admin:login", current_app=site.name)
    return HttpResponseRedirect(f"{url}?{urlencode({'next': _next_url(request, site)})}")


def sign_in(request, *, site):
    if site.has_permission(request):
        return HttpResponseRedirect(_next_url(request, site))
    step = request.POST.get("step") if request.method == "POST" else None
    if step == "restart":
        request.session.pop(PENDING_KEY, None)
        return _redirect_to_sign_in(request, site)
    if step == "password":
        return _password_step(request, site)
    had_pending = PENDING_KEY in request.session
    account = _pending_account(request)
    if had_pending and account is None and step != "code":
        # Step 1 again, never silently: the pending sign-in ran out of time.
        messages.error(request, gettext(EXPIRED))
    if step == "code":
        if account is None:
            messages.error(request, gettext(EXPIRED))
            return _redirect_to_sign_in(request, site)
        return _code_step(request, site, account)
    if account is not None:
        device = _confirmed_device(account)
        if device is None:
            device = _enrolment_device(account)
            return _render(request, site, step="enrol", form=CodeStepForm(), account=account,
                           device=device)
        return _render(request, site, step="code", form=CodeStepForm(), account=account)
    return _render(request, site, step="password", form=PasswordStepForm())


def _password_step(request, site):
    form = PasswordStepForm(request.POST)
    if not form.is_valid():
        return _render(request, site, step="password", form=form, status=400)
    # As the portal and the account lookup read it (accounts.backends): a zero-width space
    # typed in would otherwise make another identifier for the limits and the journal.
    identifier = strip_invisible(form.cleaned_data["identifier"]).strip().lower()
    # Counted before the password is checked: parallel requests cannot pass the limits.
    decision = password_attempt_admit(identifier=identifier, ip=client_ip(request),
                                      device=sign_in_device(request, identifier=identifier))
    if not decision.allowed:
        form.add_error(None, too_many_attempts(decision.retry_after))
        return _render(request, site, step="password", form=form, status=429,
                       retry_after=decision.retry_after)
    account = authenticate(request, identifier=identifier, password=form.cleaned_data["password"])
    if account is None or not account.is_staff:
        known = account or Account.objects.filter(identifier=identifier).first()
        journal_record(EventKind.BACKOFFICE_SIGN_IN_FAILED, request=request, account=known,
                       step="password")
        form.add_error(None, gettext(WRONG_CREDENTIALS))
        return _render(request, site, step="password", form=form, status=400)
    # A fresh session key for the half-signed-in state: nobody can have planted it. The
    # random id names this pending sign-in in the code limits (core.ratelimit).
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"account_id": account.pk, "since": time.time(),
                                    "sign_in_id": secrets.token_urlsafe(16)}
    return _redirect_to_sign_in(request, site)


def _verify(device: TOTPDevice, code: str) -> tuple[bool, bool]:
    """Check `code` with the device's row locked: two parallel requests carrying the same
    code cannot both pass django-otp's replay check (a TOTP code is good once, RFC 6238 §5.2).

    Returns (verified, reused): `reused` when the code is refused only because it was already
    used (it is one of the codes the device accepts now, at or before its last used step).
    django-otp's own slow-down is off (backoffice.limits): only the limits count."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        verified = locked.verify_token(code)
        reused = not verified and _already_used(locked, code)
    device.refresh_from_db()
    return verified, reused


def _already_used(device: TOTPDevice, code: str) -> bool:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    # Any step of the tolerance, with no replay floor: right but at or before last_t.
    return totp.verify(int(code), device.tolerance, 0)


def _code_failed(request, account: Account) -> None:
    journal_record(EventKind.BACKOFFICE_SIGN_IN_FAILED, request=request, account=account,
                   step="second_factor")


def _start_over(request, site) -> HttpResponseRedirect:
    request.session.pop(PENDING_KEY, None)
    messages.error(request, gettext(START_OVER))
    return _redirect_to_sign_in(request, site)


def _code_step(request, site, account: Account):
    device = _confirmed_device(account)
    enrolling = device is None
    if enrolling:
        device = _enrolment_device(account)
    step = "enrol" if enrolling else "code"
    form = CodeStepForm(request.POST)
    if not form.is_valid():
        return _render(request, site, step=step, form=form, account=account, device=device,
                       status=400)
    # Counted before the code is checked (every code counts, right or wrong, slowed down or
    # not): parallel requests cannot try more codes than the limits allow.
    admission = code_attempt_admit(
        sign_in_id=request.session[PENDING_KEY]["sign_in_id"], account_id=account.pk,
        ip=client_ip(request),
    )
    if admission.start_over:
        _code_failed(request, account)
        return _start_over(request, site)
    if not admission.allowed:
        _code_failed(request, account)
        form.add_error("code", code_throttled(admission.retry_after))
        return _render(request, site, step=step, form=form, account=account, device=device,
                       status=429, retry_after=admission.retry_after)
    verified, reused = _verify(device, form.cleaned_data["code"])
    if not verified:
        _code_failed(request, account)
        if admission.last_try:
            return _start_over(request, site)
        if admission.codes_left == 0:  # the account's or the address's last code: a wait
            wait = code_wait(account_id=account.pk, ip=client_ip(request))
            reason = gettext(CODE_REUSED) if reused else gettext(WRONG_CODE)
            form.add_error("code", reason + " " + code_throttled(wait))
            return _render(request, site, step=step, form=form, account=account,
                           device=device, status=429, retry_after=wait)
        form.add_error("code", wrong_code(admission.codes_left, admission.then_wait,
                                          reused=reused))
        return _render(request, site, step=step, form=form, account=account, device=device,
                       status=400)
    if enrolling:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        journal_record(
            EventKind.BACKOFFICE_SECOND_FACTOR_ENROLLED, request=request, account=account,
            actor=account,
        )
    next_url = _next_url(request, site)
    request.session.pop(PENDING_KEY, None)
    auth_login(request, account, backend=BACKEND)  # new session key
    otp_login(request, device)
    sign_in_completed(identifier=account.identifier, account_id=account.pk,
                      ip=client_ip(request),
                      device=sign_in_device(request, identifier=account.identifier))
    journal_record(EventKind.BACKOFFICE_SIGNED_IN, request=request, account=account, actor=account)
    response = HttpResponseRedirect(next_url)
    # This browser is now one of the account's devices: failures elsewhere never refuse it.
    device_cookie_set(response, request, identifier=account.identifier)
    return response


class StaffPasswordChangeView(PasswordChangeView):
    """Django's password change view with the back-office's form (the staff policy,
    journaled through backoffice.services.staff_password_change)."""

    form_class = StaffPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}
