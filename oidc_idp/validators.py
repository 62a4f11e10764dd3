"""django-oauth-toolkit's request validator, with our claims, sign-in facts and journal.

OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"]. oauthlib calls it on every endpoint; it reads the
clients, codes and tokens from the database on every request (no process cache), so a client
registered in the back-office works at once on every web node.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from core.cache import REDIS_UNREACHABLE, unreachable_log
from core.journal import EventKind, journal_record

from .claims import CLAIM_SCOPES, authentication_claims, release_for
from .models import AuthorizationSignIn

Grant = get_grant_model()
logger = logging.getLogger(__name__)
_OUTAGE = "OpenID Connect client secrets (each check hashed)"

# The credential under which the authorization view hands over the session's sign-in facts
# (oauthlib sets each credential as an attribute of its request).
SIGN_IN_CREDENTIAL = "educonnect_sign_in"


def _http_request(request) -> SimpleNamespace:
    """What core.journal needs of a request (META, for the client IP) from oauthlib's."""
    return SimpleNamespace(META=request.headers)


class EduConnectOAuth2Validator(OAuth2Validator):
    oidc_claim_scope = CLAIM_SCOPES

    # --- Client authentication -------------------------------------------------------------

    def _check_secret(self, provided_secret, stored_secret):
        """django-oauth-toolkit's check of a client secret — Argon2id through Django's
        hashers, about 40 ms of CPU, half of a token request (bench/README.md) — remembered
        for OIDC_CLIENT_SECRET_CACHE_SECONDS in the cache (Redis in production, so every web
        node shares it). The cache key is an HMAC (SECRET_KEY) of the stored hash and of the
        secret presented: it holds no secret, a changed secret misses it, and only a
        successful check is remembered (a wrong secret always pays the full hash). While
        Redis cannot be reached, every check pays the hash."""
        seconds = settings.OIDC_CLIENT_SECRET_CACHE_SECONDS
        key = "oidc:client-secret-ok:" + hmac.new(
            settings.SECRET_KEY.encode(),
            f"{stored_secret}\0{provided_secret}".encode(), hashlib.sha256,
        ).hexdigest()
        try:
            if seconds > 0 and cache.get(key):
                return True
        except REDIS_UNREACHABLE as error:  # then the hash is computed, as on a miss
            unreachable_log(logger, logging.WARNING, _OUTAGE, error)
            seconds = 0
        valid = super()._check_secret(provided_secret, stored_secret)
        if valid and seconds > 0:
            try:
                cache.set(key, True, seconds)
            except REDIS_UNREACHABLE as error:
                unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return valid

    # --- Authorization code: keep how the user signed in next to the code ----------------

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code (django-oauth-toolkit's Grant) and, in the same transaction, the sign-in
        facts the authorization view passed as the `educonnect_sign_in` credential."""
        methods, signed_in_at = getattr(request, SIGN_IN_CREDENTIAL, None) or ([], None)
        with transaction.atomic():
            grant = self._create_authorization_code(request, code)
            AuthorizationSignIn.objects.create(
                grant=grant,
                methods=list(methods),
                authenticated_at=(
                    datetime.fromtimestamp(signed_in_at, tz=UTC) if signed_in_at else
                    request.user.last_login or datetime.now(tz=UTC)
                ),
            )

    # The token endpoint asks about one code six times (scopes, nonce, the code itself, its
    # redirect_uri, its PKCE challenge and method); django-oauth-toolkit reads the Grant each
    # time. It is read once here, with its sign-in facts and account, and kept on oauthlib's
    # request (one request, one code). Lookups by `code` use its unique index.

    def _grant(self, code, request):
        cached = getattr(request, "_educonnect_grant", None)
        if cached is not None and cached.code == code:
            return cached
        grant = Grant.objects.select_related("sign_in", "user").filter(code=code).first()
        request._educonnect_grant = grant
        return grant

    def _client_grant(self, code, client, request):
        grant = self._grant(code, request)
        return grant if grant is not None and grant.application_id == client.pk else None

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant is not None else None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request=None,
                             *args, **kwargs):
        # oauthlib passes its request; without it, a namespace stands in (no cache).
        grant = self._client_grant(code, client, request or SimpleNamespace())
        return grant is not None and grant.redirect_uri_allowed(redirect_uri)

    def get_code_challenge(self, code, request):
        grant = self._client_grant(code, request.client, request)
        return (grant.code_challenge or None) if grant is not None else None

    def get_code_challenge_method(self, code, request):
        grant = self._client_grant(code, request.client, request)
        return (grant.code_challenge_method or None) if grant is not None else None

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        """django-oauth-toolkit's check (the code exists for this client and has not expired),
        the sign-in facts kept on the request (`request.sign_in`). A used code is deleted when
        exchanged, so a replayed one is unknown: invalid_grant."""
        grant = self._client_grant(code, client, request)
        if grant is None or grant.is_expired():
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        request.sign_in = getattr(grant, "sign_in", None)
        return True

    # --- prompt=none -------------------------------------------------------------------------
    # oauthlib asks these while validating the request, before any session is known to it;
    # the authorization view answers them (login_required for an anonymous session,
    # consent_required instead of the consent page): see oidc_idp.views.AuthorizeView.

    def validate_silent_login(self, request):
        return True

    def validate_silent_authorization(self, request):
        return True

    # --- Claims ----------------------------------------------------------------------------

    def get_discovery_claims(self, request):
        return [*CLAIM_SCOPES, "acr", "amr", "auth_time"]

    def get_oidc_claims(self, token, token_handler, request):
        release = release_for(
            account=request.user, application=request.client, scopes=list(request.scopes)
        )
        request.released_pupil_ids = release.pupil_ids
        return release.claims

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        sign_in = getattr(request, "sign_in", None)
        if sign_in is not None:
            claims.pop("auth_time", None)  # DOT's is the account's last sign-in anywhere
            claims.update(authentication_claims(
                methods=sign_in.methods,
                authenticated_at=int(sign_in.authenticated_at.timestamp()),
            ))
        self._journal_release(request, via="id_token")
        return claims, expiration_time

    def get_userinfo_claims(self, request):
        claims = super().get_userinfo_claims(request)
        self._journal_release(request, via="userinfo")
        return claims

    def _journal_release(self, request, *, via: str) -> None:
        journal_record(
            EventKind.OIDC_CLAIMS_RELEASED, request=_http_request(request), account=request.user,
            via=via, client_id=request.client.client_id, service=request.client.name,
            scopes=sorted(request.scopes),
            children=list(getattr(request, "released_pupil_ids", [])),
        )

