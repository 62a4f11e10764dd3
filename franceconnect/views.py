"""FranceConnect's pages: the button's POST, the callback, the return from its logout, and
« FranceConnect » in « Mon compte ». Parse, call a service, redirect or render.

Every URL answers 404 while FranceConnect is not configured (FRANCECONNECT_ISSUER,
_CLIENT_ID, _CLIENT_SECRET): the button is not shown either.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.authn import (
    SignInMethod,
    is_local_path,
    provider_logout_remember,
    sign_in_methods_record,
)
from accounts.models import AccountKind
from accounts.my_account.services import MyAccountRefused, current_password_check
from accounts.my_account.views import portal_account_required
from core.journal import EventKind, journal_record

from . import client, services
from . import messages as texts
from .forms import UnlinkForm

GUARDIAN_SIGN_IN = ("accounts:login", "representant-legal")


def configured_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not client.is_configured():
            raise Http404("FranceConnect is not configured")
        return view(request, *args, **kwargs)

    return wrapper


def _back_to_sign_in(request, message: str):
    messages.error(request, message)
    return redirect(*GUARDIAN_SIGN_IN)


@never_cache
@require_POST
@configured_only
def authorize(request):
    """« S'identifier avec FranceConnect » (a POST: a crawler never opens a request)."""
    next_path = request.POST.get("next", "")
    url = services.franceconnect_authorization_start(
        request=request, next_path=next_path if is_local_path(next_path) else "",
    )
    return redirect(url)


def sign_in_linked(request, *, link, identity: services.FranceConnectIdentity, next_path=""):
    """Open the session of a linked identity; FranceConnect's logout will follow ours."""
    login(request, link.account, backend="accounts.backends.IdentifierBackend")
    sign_in_methods_record(request, SignInMethod.FRANCECONNECT)
    provider_logout_remember(request,
                             services.franceconnect_logout_url(id_token=identity.id_token))
    services.franceconnect_sign_in_record(link=link, request=request)
    return redirect(next_path or settings.LOGIN_REDIRECT_URL)


@never_cache
@require_GET
@configured_only
def callback(request):
    try:
        identity, next_path = services.franceconnect_callback(
            request=request, state=request.GET.get("state", ""),
            code=request.GET.get("code", ""), error=request.GET.get("error", ""),
        )
    except services.FranceConnectRefused as refused:
        return _back_to_sign_in(request, texts.message_refused(refused.reason))
    link = services.link_of_sub(identity.sub)
    if link is None:
        # First time: the link proven by the phone, the SMS code and the birth dates.
        services.pending_identity_keep(request, identity)
        return redirect("activation:franceconnect")
    if link.account.state not in services.SIGN_IN_STATES:
        journal_record(EventKind.FRANCECONNECT_REFUSED, request=request, account=link.account,
                       reason="account_unavailable")
        return _back_to_sign_in(request, texts.message_account_unavailable())
    services.pending_identity_forget(request)
    return sign_in_linked(request, link=link, identity=identity, next_path=next_path)


@never_cache
@require_GET
@configured_only
def logout_callback(request):
    """Back from FranceConnect's end-session endpoint (our session ended before)."""
    if services.franceconnect_logout_return(state=request.GET.get("state", ""),
                                            request=request):
        messages.info(request, texts.message_logged_out())
    return redirect("accounts:profile_choice")


@never_cache
@require_http_methods(["GET", "POST"])
@portal_account_required
def my_account(request):
    """« FranceConnect » in « Mon compte »: the link, and « Dissocier » (with the password
    when the account has one, under « Mon compte »'s wrong-password limit)."""
    account = request.user
    link = services.link_of_account(account)
    needs_password = account.has_usable_password()
    form = UnlinkForm(request.POST if request.method == "POST" else None,
                      needs_password=needs_password)
    status = 200
    if request.method == "POST" and link is not None and form.is_valid():
        try:
            if needs_password:
                current_password_check(account=account, password=form.cleaned_data["password"],
                                       request=request, field="password")
        except MyAccountRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
        else:
            services.franceconnect_link_remove(account=account, request=request)
            messages.success(request, texts.message_unlinked(has_password=needs_password))
            return redirect("franceconnect:my_account")
    if form.errors:
        status = 400
    title = _("FranceConnect")
    page_title = _("%(page)s — Mon compte") % {"page": title}
    context = {
        "page_title": _("Erreur : %(title)s") % {"title": page_title} if form.errors
        else page_title,
        "heading": title, "current": "franceconnect", "account": account,
        "is_guardian": account.kind == AccountKind.GUARDIAN,
        "form": form if link is not None else None, "link": link,
        "needs_password": needs_password, "configured": client.is_configured(),
    }
    return render(request, "franceconnect/my_account.html", context, status=status)
