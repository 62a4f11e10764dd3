"""The OpenID Connect client of FranceConnect v2: endpoints, the provider's keys, the token
exchange, the checks of the ID token and of the userinfo JWT. No database, no session.

Rules (FranceConnect's partner documentation, « migration v1 → v2 »; research/domain.md §2):
- authorization code flow; `acr_values=eidas1`; `state` and `nonce` of at least 32
  characters (FranceConnect refuses shorter ones with Y030007);
- the ID token and the userinfo answer (`application/jwt`) are JWTs signed ES256 with a key
  of the provider's JWKS, chosen by its `kid`; the JWKS is cached
  (FRANCECONNECT_JWKS_CACHE_SECONDS) and fetched again once when a `kid` is unknown (a key
  rotation), after which the token is refused. The tokens come from our own back-channel
  calls to FranceConnect (TLS), never from the browser, so a refetch cannot be triggered by
  a visitor at will;
- checked: signature, `iss` (FRANCECONNECT_ISSUER), `aud` (our client id), `exp` and `iat`
  (FRANCECONNECT_LEEWAY_SECONDS of tolerance: the access token lives 60 s), `nonce` (the
  caller compares its digest), `acr` (eidas1 or above), `sub` (present, the same in userinfo).

PyJWT (already beneath the project's other packages, maintained, ES256 through
`cryptography`) decodes and checks; we choose the key ourselves to control the refetch.
Endpoint URLs are built from settings when called, never at import.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.cache import cache

from core.cache import REDIS_UNREACHABLE, unreachable_log

logger = logging.getLogger(__name__)
_OUTAGE = "FranceConnect keys (fetched from the provider)"

ALGORITHMS = ["ES256"]
# eIDAS levels FranceConnect states in `acr`, weakest first; FranceConnect (not +) gives eidas1.
ACR_LEVELS = ("eidas1", "eidas2", "eidas3")
REQUIRED_ACR = "eidas1"
MIN_RANDOM_LENGTH = 32


class Refusal(StrEnum):
    """Why an answer of FranceConnect was refused (the journal's `reason`)."""

    ACCESS_DENIED = "access_denied"  # the person cancelled at FranceConnect
    PROVIDER_UNAVAILABLE = "provider_unavailable"  # server_error, temporarily_unavailable
    PROVIDER_ERROR = "provider_error"  # any other error of the callback
    STATE = "state"  # unknown, already used, expired, or another browser's
    MALFORMED = "malformed"  # no code, or a token that is not a JWT
    TOKEN_EXCHANGE = "token_exchange"  # noqa: S105 (a reason, not a secret); /token refused the code or did not answer
    SIGNATURE = "signature"  # signed with another key than the published one
    UNKNOWN_KEY = "unknown_key"  # a kid not in the JWKS, even after a refetch
    ALGORITHM = "algorithm"  # not ES256
    EXPIRED = "expired"
    CLAIMS = "claims"  # iss, aud, iat, sub missing or wrong
    NONCE = "nonce"
    ACR = "acr"  # below eidas1
    USERINFO = "userinfo"  # not a signed JWT, or not about the same sub


class FranceConnectRefused(Exception):
    def __init__(self, reason: Refusal, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail  # for the logs, never shown


def is_configured() -> bool:
    return bool(settings.FRANCECONNECT_ISSUER and settings.FRANCECONNECT_CLIENT_ID
                and settings.FRANCECONNECT_CLIENT_SECRET)


def endpoint(name: str) -> str:
    """FranceConnect's route `name` (authorize, token, userinfo, jwks, session/end)."""
    return f"{settings.FRANCECONNECT_ISSUER}/{name}"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def authorization_url(*, state: str, nonce: str, redirect_uri: str) -> str:
    if len(state) < MIN_RANDOM_LENGTH or len(nonce) < MIN_RANDOM_LENGTH:
        raise ValueError("FranceConnect wants state and nonce of 32 characters or more")
    query = urlencode({
        "response_type": "code",
        "client_id": settings.FRANCECONNECT_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": settings.FRANCECONNECT_SCOPES,
        "acr_values": REQUIRED_ACR,
        "state": state,
        "nonce": nonce,
    })
    return f"{endpoint('authorize')}?{query}"


def end_session_url(*, id_token: str, state: str, post_logout_redirect_uri: str) -> str:
    query = urlencode({
        "id_token_hint": id_token, "state": state,
        "post_logout_redirect_uri": post_logout_redirect_uri,
    })
    return f"{endpoint('session/end')}?{query}"


# --- Keys --------------------------------------------------------------------------------


def _jwks_cache_key() -> str:
    return f"franceconnect:jwks:{digest(settings.FRANCECONNECT_ISSUER)[:16]}"


def _jwks_fetch() -> dict:
    try:
        response = requests.get(endpoint("jwks"),
                                timeout=settings.FRANCECONNECT_HTTP_TIMEOUT_SECONDS)
        response.raise_for_status()
        keys = {jwk["kid"]: jwk for jwk in response.json().get("keys", []) if "kid" in jwk}
    except (requests.RequestException, ValueError, TypeError, KeyError) as error:
        raise FranceConnectRefused(Refusal.PROVIDER_UNAVAILABLE, f"jwks: {error}") from error
    try:
        cache.set(_jwks_cache_key(), json.dumps(keys),
                  settings.FRANCECONNECT_JWKS_CACHE_SECONDS)
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
    return keys


def _jwks_cached() -> str | None:
    try:
        return cache.get(_jwks_cache_key())
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return None


def signing_key(kid: str | None):
    """The public key of `kid` in FranceConnect's JWKS: from the cache, else fetched once
    more (at each call while Redis cannot be reached). Raises FranceConnectRefused
    (UNKNOWN_KEY) when still unknown."""
    cached = _jwks_cached()
    keys = json.loads(cached) if cached else _jwks_fetch()
    if kid not in keys and cached:
        keys = _jwks_fetch()  # a rotation: the provider may have published a new key
    if not kid or kid not in keys:
        raise FranceConnectRefused(Refusal.UNKNOWN_KEY, f"kid {kid!r}")
    try:
        return jwt.PyJWK.from_dict(keys[kid], algorithm="ES256").key
    except jwt.PyJWKError as error:
        raise FranceConnectRefused(Refusal.UNKNOWN_KEY, str(error)) from error


# --- Tokens ------------------------------------------------------------------------------


ID_TOKEN_CLAIMS = ("iss", "aud", "sub", "iat", "exp")
USERINFO_CLAIMS = ("iss", "aud", "sub")


def jwt_verify(token: str, *, required: tuple[str, ...] = ID_TOKEN_CLAIMS) -> dict:
    """The claims of a JWT of FranceConnect after every check but the nonce and the acr
    (the caller's: they differ between the ID token and userinfo)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as error:
        raise FranceConnectRefused(Refusal.MALFORMED, str(error)) from error
    if header.get("alg") not in ALGORITHMS:
        raise FranceConnectRefused(Refusal.ALGORITHM, str(header.get("alg")))
    key = signing_key(header.get("kid"))
    try:
        return jwt.decode(
            token, key=key, algorithms=ALGORITHMS,
            audience=settings.FRANCECONNECT_CLIENT_ID, issuer=settings.FRANCECONNECT_ISSUER,
            leeway=settings.FRANCECONNECT_LEEWAY_SECONDS, options={"require": list(required)},
        )
    except jwt.InvalidSignatureError as error:
        raise FranceConnectRefused(Refusal.SIGNATURE, str(error)) from error
    except jwt.ExpiredSignatureError as error:
        raise FranceConnectRefused(Refusal.EXPIRED, str(error)) from error
    except jwt.DecodeError as error:
        raise FranceConnectRefused(Refusal.MALFORMED, str(error)) from error
    except jwt.InvalidTokenError as error:
        raise FranceConnectRefused(Refusal.CLAIMS, str(error)) from error


def acr_sufficient(acr: object) -> bool:
    return acr in ACR_LEVELS  # eidas1 or above


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    claims: dict  # the ID token's, checked but for the nonce


def code_exchange(*, code: str, redirect_uri: str) -> Tokens:
    """POST /token (client_secret_post), then check the ID token's signature and claims.
    The nonce is the caller's to compare (`claims["nonce"]`), the acr is checked here."""
    try:
        response = requests.post(
            endpoint("token"),
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": redirect_uri, "client_id": settings.FRANCECONNECT_CLIENT_ID,
                  "client_secret": settings.FRANCECONNECT_CLIENT_SECRET},
            timeout=settings.FRANCECONNECT_HTTP_TIMEOUT_SECONDS,
        )
        body = response.json()
    except (requests.RequestException, ValueError) as error:
        raise FranceConnectRefused(Refusal.TOKEN_EXCHANGE, str(error)) from error
    if response.status_code != 200 or not isinstance(body, dict) \
            or not body.get("id_token") or not body.get("access_token"):
        error = body.get("error") if isinstance(body, dict) else ""
        raise FranceConnectRefused(Refusal.TOKEN_EXCHANGE, f"{response.status_code} {error}")
    claims = jwt_verify(body["id_token"])
    if not acr_sufficient(claims.get("acr")):
        raise FranceConnectRefused(Refusal.ACR, str(claims.get("acr")))
    return Tokens(id_token=body["id_token"], access_token=body["access_token"], claims=claims)


def userinfo_fetch(*, access_token: str, sub: str) -> dict:
    """GET /userinfo: a JWT signed like the ID token (`application/jwt`), checked the same
    way, about the same `sub`."""
    try:
        response = requests.get(
            endpoint("userinfo"), headers={"Authorization": f"Bearer {access_token}"},
            timeout=settings.FRANCECONNECT_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        raise FranceConnectRefused(Refusal.PROVIDER_UNAVAILABLE, str(error)) from error
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if response.status_code != 200 or content_type != "application/jwt":
        raise FranceConnectRefused(Refusal.USERINFO, f"{response.status_code} {content_type}")
    claims = jwt_verify(response.text.strip(), required=USERINFO_CLAIMS)
    if claims.get("sub") != sub:
        raise FranceConnectRefused(Refusal.USERINFO, "sub differs from the ID token's")
    return claims
