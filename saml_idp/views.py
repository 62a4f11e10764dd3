"""The IdP's thin views at Shibboleth's paths: parse, call saml_idp.services, render.

A request from a service is checked first (services.authn_request_read); a person not signed
in is sent to the sign-in page and comes back to `Continue` with a one-time ticket kept in
their session (the request itself is never read twice: its id is single-use). Every refusal
shows a French error page (400) and is journaled; never a 500 for bad input.
"""

import logging
import secrets
from urllib.parse import quote

from django.contrib.auth import logout
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from accounts.models import AccountKind
from core.cache import REDIS_UNREACHABLE, unreachable_log
from core.journal import EventKind, journal_record

from . import services
from .idp import idp_metadata_xml

PENDING_SESSION_KEY = "saml_idp_pending"
MAX_PENDING = 5
# A request that came by a cross-site POST (POST binding) arrives without the session cookie
# (SameSite=Lax): it is parked in the shared cache under a one-time ticket and the browser is
# sent on with a GET, which carries the cookie.
PARKED_PREFIX = "saml:parked:"
PARKED_SECONDS = 120
logger = logging.getLogger(__name__)
_OUTAGE = "SAML requests (refused as unavailable)"


@require_safe
def metadata(request):
    return HttpResponse(idp_metadata_xml(), content_type="application/samlmetadata+xml")


def _refused(request, refusal: services.SamlRefused):
    journal_record(EventKind.SAML_REFUSED, request=request,
                   account=request.user if request.user.is_authenticated else None,
                   reason=refusal.reason, entity_id=refusal.entity_id, detail=refusal.detail)
    unavailable = refusal.reason == "unavailable"
    response = render(request, "saml_idp/error.html", {
        "page_title": _("Connexion au service impossible"),
        "message": refusal.message,
    }, status=503 if unavailable else 400)
    if unavailable:
        response["Retry-After"] = str(services.UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def _answer(request, pending: services.PendingSso):
    """Answer now when a portal user is signed in, else keep the request and sign in."""
    if request.user.is_authenticated and request.user.kind != AccountKind.STAFF:
        try:
            saml_response, acs_url = services.sso_response(account=request.user,
                                                           pending=pending, request=request)
        except services.SamlRefused as refusal:
            return _refused(request, refusal)
        return render(request, "saml_idp/post_binding.html", {
            "page_title": _("Connexion au service"),
            "acs_url": acs_url,
            "saml_response": saml_response,
            "relay_state": pending.relay_state,
        })
    if request.user.is_authenticated:  # staff
        return _refused(request, services.SamlRefused("staff", entity_id=pending.entity_id))
    ticket = secrets.token_urlsafe(16)
    kept = dict(list(request.session.get(PENDING_SESSION_KEY, {}).items())[-(MAX_PENDING - 1):])
    kept[ticket] = pending.as_dict()
    request.session[PENDING_SESSION_KEY] = kept
    next_url = f"{reverse('saml_idp:continue_sso')}?ticket={ticket}"
    return redirect(f"{reverse('accounts:profile_choice')}?next={quote(next_url)}")


@never_cache
@require_safe
def redirect_sso(request):
    try:
        pending = services.authn_request_read(
            binding=BINDING_HTTP_REDIRECT, saml_request=request.GET.get("SAMLRequest", ""),
            relay_state=request.GET.get("RelayState", ""),
            raw_query=request.META.get("QUERY_STRING", ""),
        )
    except services.SamlRefused as refusal:
        return _refused(request, refusal)
    return _answer(request, pending)


def _park(kind: str, data: dict, continue_view: str):
    """Keep `data` in the shared cache under a fresh ticket; 303 to `continue_view`."""
    ticket = secrets.token_urlsafe(16)
    cache.set(f"{PARKED_PREFIX}{kind}:{ticket}", data, timeout=PARKED_SECONDS)
    return redirect(f"{reverse(continue_view)}?parked={ticket}", permanent=False)


def _parked_or_refused(request, kind: str, data: dict, continue_view: str):
    """`_park`, or the « momentanément indisponible » refusal (503) while Redis cannot be
    reached: the continuation may reach another web process, so nothing else can keep it."""
    try:
        return _park(kind, data, continue_view)
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return _refused(request, services.SamlRefused("unavailable"))


def _unpark(kind: str, ticket: str) -> dict | None:
    """The parked data, once (the first to delete the key gets it). Raises one of
    core.cache.REDIS_UNREACHABLE while Redis cannot be reached."""
    key = f"{PARKED_PREFIX}{kind}:{ticket}"
    data = cache.get(key) if ticket else None
    if data is None or not cache.delete(key):
        return None
    return data


def _unparked(request, kind: str, ticket: str) -> dict | services.SamlRefused:
    """The parked data, or the refusal to show: « lost » (unknown, expired or taken
    ticket), « unavailable » (Redis unreachable)."""
    try:
        data = _unpark(kind, ticket)
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return services.SamlRefused("unavailable")
    return services.SamlRefused("lost") if data is None else data


@csrf_exempt  # a cross-site POST from the service by design (SAML POST binding)
@never_cache
@require_http_methods(["POST"])
def post_sso(request):
    try:
        pending = services.authn_request_read(
            binding=BINDING_HTTP_POST, saml_request=request.POST.get("SAMLRequest", ""),
            relay_state=request.POST.get("RelayState", ""),
        )
    except services.SamlRefused as refusal:
        return _refused(request, refusal)
    if not request.user.is_authenticated:
        # Perhaps signed in, but the session cookie stays home on a cross-site POST.
        return _parked_or_refused(request, "sso", pending.as_dict(), "saml_idp:continue_sso")
    return _answer(request, pending)


@never_cache
@require_safe
def unsolicited_sso(request):
    try:
        pending = services.unsolicited_request_read(
            provider_id=request.GET.get("providerId", ""), shire=request.GET.get("shire", ""),
            target=request.GET.get("target", ""),
        )
    except services.SamlRefused as refusal:
        return _refused(request, refusal)
    return _answer(request, pending)


@never_cache
@require_safe
def continue_sso(request):
    """Back from the sign-in page (`ticket`: kept in the session), or on from a POST binding
    request (`parked`: kept in the cache): answer the request, once."""
    if "parked" in request.GET:
        data = _unparked(request, "sso", request.GET["parked"])
        if isinstance(data, services.SamlRefused):
            return _refused(request, data)
        return _answer(request, services.PendingSso(**data))
    if not request.user.is_authenticated:
        next_url = quote(request.get_full_path())
        return redirect(f"{reverse('accounts:profile_choice')}?next={next_url}")
    kept = request.session.get(PENDING_SESSION_KEY, {})
    data = kept.pop(request.GET.get("ticket", ""), None)
    request.session[PENDING_SESSION_KEY] = kept
    if data is None:
        return _refused(request, services.SamlRefused("lost"))
    return _answer(request, services.PendingSso(**data))


def _slo_read(request, binding: str, data):
    return services.logout_request_answer(
        binding=binding, saml_request=data.get("SAMLRequest", ""),
        relay_state=data.get("RelayState", ""), raw_query=request.META.get("QUERY_STRING", ""),
        account=request.user if request.user.is_authenticated else None, request=request,
    )


def _slo_done(request, answer: dict):
    if request.user.is_authenticated:
        account = request.user
        logout(request)  # flushes the session
        journal_record(EventKind.LOGOUT, request=request, account=account)
    return render(request, "saml_idp/post_binding.html", {"page_title": _("Déconnexion"),
                                                           **answer})


@never_cache
@require_safe
def redirect_slo(request):
    """Single logout by the Redirect binding, or on from a POST one (`parked`)."""
    if "parked" in request.GET:
        answer = _unparked(request, "slo", request.GET["parked"])
        if isinstance(answer, services.SamlRefused):
            return _refused(request, answer)
        return _slo_done(request, answer)
    try:
        answer = _slo_read(request, BINDING_HTTP_REDIRECT, request.GET)
    except services.SamlRefused as refusal:
        return _refused(request, refusal)
    return _slo_done(request, answer)


@csrf_exempt  # a cross-site POST from the service by design (SAML POST binding)
@never_cache
@require_http_methods(["POST"])
def post_slo(request):
    try:
        answer = _slo_read(request, BINDING_HTTP_POST, request.POST)
    except services.SamlRefused as refusal:
        return _refused(request, refusal)
    if not request.user.is_authenticated:
        # The session cookie stays home on a cross-site POST: end it on a GET.
        return _parked_or_refused(request, "slo", answer, "saml_idp:redirect_slo")
    return _slo_done(request, answer)


@never_cache
@require_safe
def logout_page(request):
    """FrEduUrlRetour: where a service sends the user to leave ÉduConnect too."""
    return render(request, "saml_idp/logout.html", {"page_title": _("Se déconnecter")})
