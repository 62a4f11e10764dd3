"""The OpenID Connect endpoints: django-oauth-toolkit's views with our pages and journal.

- `authorize`: checks the request *before* asking anyone to sign in (an unknown client or an
  unregistered redirect_uri gets our French error page at once, never a sign-in for
  nothing); remembers the service for the end of a first activation; hands the session's
  sign-in facts (accounts.authn) to the code; journals every code given and every refusal.
  A refusal goes back to the service's *registered* redirect_uri as a standard OAuth error
  (invalid_scope, invalid_request for a missing or `plain` PKCE challenge, access_denied…)
  or, when no registered address is known, is our error page — never a 500.
- `token`, `userinfo`: django-oauth-toolkit's, a refused token request journaled.
- `logout`: RP-initiated logout with our French confirmation and error page, journaled.
- discovery: django-oauth-toolkit's document, with what we add (acr values, RS256 only).
"""

from __future__ import annotations

import base64
import binascii
import json

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from oauth2_provider import views as dot
from oauth2_provider.exceptions import InvalidOIDCClientError, LogoutDenied, OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.oauth2_backends import _add_iss_to_redirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from accounts.authn import service_return_forget, service_return_remember, sign_in_facts
from accounts.models import AccountKind
from core.journal import EventKind, journal_record

from .claims import ACR_VALUES
from .scopes import SCOPE_TEXTS
from .validators import SIGN_IN_CREDENTIAL

Application = get_application_model()

CLIENT_ID_JOURNAL_LENGTH = 100  # what a refused request typed is journaled cut to this

UNKNOWN_CLIENT = "unknown_client"
REDIRECT_URI_NOT_REGISTERED = "redirect_uri_not_registered"
INVALID_REQUEST = "invalid_request"
STAFF_ACCOUNT = "staff_account"

ERROR_TEXTS = {
    UNKNOWN_CLIENT: gettext_lazy(
        "Ce service n'est pas enregistré auprès d'ÉduConnect : la connexion ne peut pas se faire."
    ),
    REDIRECT_URI_NOT_REGISTERED: gettext_lazy(
        "L'adresse de retour demandée par ce service n'est pas enregistrée auprès d'ÉduConnect : "
        "par sécurité, vous n'y serez pas renvoyé(e)."
    ),
    INVALID_REQUEST: gettext_lazy(
        "La demande de connexion envoyée par ce service est incomplète ou invalide."
    ),
    STAFF_ACCOUNT: gettext_lazy(
        "Un compte de l'espace de gestion ne permet pas de se connecter aux services des familles. "
        "Déconnectez-vous, puis connectez-vous avec un compte de représentant légal ou d'élève."
    ),
}


def _reason(oauthlib_error) -> str:
    if isinstance(oauthlib_error,
                  oauth_errors.InvalidClientIdError | oauth_errors.MissingClientIdError):
        return UNKNOWN_CLIENT
    if isinstance(oauthlib_error, oauth_errors.MismatchingRedirectURIError
                  | oauth_errors.InvalidRedirectURIError | oauth_errors.MissingRedirectURIError):
        return REDIRECT_URI_NOT_REGISTERED
    return INVALID_REQUEST


def _typed_client_id(request) -> str:
    value = request.POST.get("client_id") or request.GET.get("client_id") or ""
    if not value:
        # HTTP Basic client authentication at the token endpoint: « client_id:secret ».
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.lower().startswith("basic "):
            try:
                value = base64.b64decode(header[6:]).decode("utf-8").split(":", 1)[0]
            except (binascii.Error, UnicodeDecodeError):
                value = ""
    return value[:CLIENT_ID_JOURNAL_LENGTH]


def error_page(request, *, reason: str, status: int = 400):
    """Our French page for a request that cannot go back to its service."""
    return render(
        request, "oidc_idp/error.html",
        {"page_title": _("Connexion au service impossible"), "message": ERROR_TEXTS[reason]},
        status=status,
    )


def _journal_refusal(request, *, endpoint: str, error: str, reason: str = "") -> None:
    journal_record(
        EventKind.OIDC_REFUSED, request=request,
        account=request.user if request.user.is_authenticated else None,
        endpoint=endpoint, error=error, reason=reason or error,
        client_id=_typed_client_id(request),
    )


class AuthorizeView(dot.AuthorizationView):
    template_name = "oidc_idp/authorize.html"

    def dispatch(self, request, *args, **kwargs):
        self.oauth2_data = {}
        if request.method == "GET" and not request.user.is_authenticated:
            try:
                _scopes, credentials = self.validate_authorization_request(request)
            except OAuthToolkitError as error:
                return self.error_response(error, application=None)
            application = Application.objects.filter(client_id=credentials["client_id"]).first()
            if "none" in request.GET.get("prompt", "").split():
                # OpenID Connect Core §3.1.2.6: no page may be shown, nobody is signed in.
                return self.error_response(OAuthToolkitError(
                    error=oauth_errors.LoginRequired(state=credentials.get("state")),
                    redirect_uri=credentials["redirect_uri"],
                ), application)
            service_return_remember(
                request, path=request.get_full_path(),
                label=application.name if application is not None else "",
            )
            return self.handle_no_permission()  # the profile choice, ?next=this request
        if request.user.is_authenticated and request.user.kind == AccountKind.STAFF:
            _journal_refusal(request, endpoint="authorize", error="access_denied",
                             reason=STAFF_ACCOUNT)
            return error_page(request, reason=STAFF_ACCOUNT, status=403)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        silent = "none" in request.GET.get("prompt", "").split()
        if silent and response.status_code == 200:
            # The consent page would show, and prompt=none forbids any page (OIDC Core
            # §3.1.2.6): consent_required, at the registered address (validated by now).
            data = self.oauth2_data
            return self.error_response(OAuthToolkitError(
                error=oauth_errors.ConsentRequired(state=data.get("state")),
                redirect_uri=data.get("redirect_uri"),
            ), data.get("application"))
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_title"] = _("Autoriser un service à vous connecter")
        context["scope_texts"] = [SCOPE_TEXTS[s] for s in context.get("scopes", [])
                                  if s in SCOPE_TEXTS]
        return context

    def form_invalid(self, form):
        # Only a tampered consent form gets here: its fields are hidden.
        _journal_refusal(self.request, endpoint="authorize", error="invalid_request")
        return error_page(self.request, reason=INVALID_REQUEST)

    def create_authorization_response(self, request, scopes, credentials, allow):
        credentials = {**credentials, SIGN_IN_CREDENTIAL: sign_in_facts(request)}
        uri, headers, body, status = super().create_authorization_response(
            request, scopes, credentials, allow
        )
        methods, _at = sign_in_facts(request)
        journal_record(
            EventKind.OIDC_AUTHORIZED, request=request, account=request.user,
            client_id=credentials["client_id"],
            service=Application.objects.filter(client_id=credentials["client_id"])
            .values_list("name", flat=True).first() or "",
            scopes=sorted(scopes.split() if isinstance(scopes, str) else scopes),
            methods=methods,
        )
        service_return_forget(request)
        return uri, headers, body, status

    def error_response(self, error, application, **kwargs):
        oauthlib_error = error.oauthlib_error
        redirect, response = OAuthLibMixin.error_response(self, error, **kwargs)
        reason = oauthlib_error.error if redirect else _reason(oauthlib_error)
        _journal_refusal(self.request, endpoint="authorize", error=oauthlib_error.error,
                         reason=reason)
        if redirect:
            # RFC 9207 §2: the issuer in error responses too (django-oauth-toolkit adds it to
            # successful ones only; openid-client refuses an error response without it).
            issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
            return self.redirect(_add_iss_to_redirect(response["url"], issuer), application)
        return error_page(self.request, reason=reason, status=oauthlib_error.status_code)


class TokenView(dot.TokenView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code >= 400:
            try:
                error = str(json.loads(response.content).get("error", ""))[:50]
            except (ValueError, AttributeError):
                error = "unknown"
            _journal_refusal(request, endpoint="token", error=error)
        return response


class LogoutView(dot.RPInitiatedLogoutView):
    template_name = "oidc_idp/logout.html"

    def get_request_application(self, id_token, client_id):
        if client_id:
            application = Application.objects.filter(client_id=client_id).first()
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return id_token.application if id_token else None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page_title"] = (
            _("Déconnexion impossible") if context.get("error") else _("Se déconnecter")
        )
        context.setdefault("application", None)
        context.setdefault("error", None)
        return context

    def do_logout(self, application=None, post_logout_redirect_uri=None, state=None,
                  token_user=None):
        account = token_user or (self.request.user if self.request.user.is_authenticated else None)
        journal_record(
            EventKind.OIDC_LOGOUT, request=self.request, account=account,
            client_id=application.client_id if application is not None else "",
        )
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)

    def error_response(self, error):
        if isinstance(error, LogoutDenied):  # « Rester connecté(e) »
            return redirect(settings.LOGIN_REDIRECT_URL)
        _journal_refusal(self.request, endpoint="logout", error=str(error.error))
        return self.render_to_response(self.get_context_data(error=error),
                                       status=error.status_code)


class DiscoveryView(dot.ConnectDiscoveryInfoView):
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        document = json.loads(response.content)
        document.update(
            id_token_signing_alg_values_supported=["RS256"],
            acr_values_supported=list(ACR_VALUES),
            grant_types_supported=["authorization_code", "refresh_token"],
            claims_parameter_supported=False,
            ui_locales_supported=["fr"],
        )
        document["prompt_values_supported"] = ["none", "login"]
        out = JsonResponse(document)
        out["Access-Control-Allow-Origin"] = "*"
        return out
