"""What the session remembers about a sign-in: how the person proved who they are, when, and
which service sent them to sign in.

- The methods are RFC 8176 « Authentication Method Reference » values: `pwd` (the password
  of the account), `sms` (a code received by SMS on the account's phone, as in the SMS
  activation, which ends signed in), `fc` (FranceConnect, the franceconnect app). The
  OpenID Connect provider (oidc_idp) releases them
  as `amr` and derives `acr` from them; the time is `auth_time` (OpenID Connect Core §2).
- A service that sent someone to sign in (an OpenID Connect authorization request) is
  remembered as a local path and the service's name, so that the end of a first activation
  can offer to go back to it (« Continuer vers … »).

Session keys only: no query, nothing secret.
"""

import time

from django.db import models
from django.utils.http import url_has_allowed_host_and_scheme

SIGN_IN_METHODS_KEY = "educonnect_sign_in_methods"
SIGN_IN_AT_KEY = "educonnect_sign_in_at"
SERVICE_RETURN_KEY = "educonnect_service_return"
PROVIDER_LOGOUT_KEY = "educonnect_provider_logout_url"


class SignInMethod(models.TextChoices):
    PASSWORD = "pwd", "pwd"
    SMS = "sms", "sms"
    FRANCECONNECT = "fc", "fc"


def sign_in_methods_record(request, *methods: SignInMethod) -> None:
    """Remember how the account signed in, and when (now, Unix seconds). Call it right after
    django.contrib.auth.login (which has rotated the session key)."""
    request.session[SIGN_IN_METHODS_KEY] = [str(method) for method in methods]
    request.session[SIGN_IN_AT_KEY] = int(time.time())


def sign_in_facts(request) -> tuple[list[str], int | None]:
    """(methods, Unix time of the sign-in) of this session; ([], None) when unknown (a
    session opened before this was recorded)."""
    methods = request.session.get(SIGN_IN_METHODS_KEY) or []
    at = request.session.get(SIGN_IN_AT_KEY)
    known = [str(m) for m in methods if m in SignInMethod.values]
    return known, at if isinstance(at, int) else None


def is_local_path(url: str) -> bool:
    """True for a path of this site (« /oidc/authorize/?… »), False for anything with a scheme
    or a host, « //host », « /\\host » and the like."""
    return bool(url) and url.startswith("/") and url_has_allowed_host_and_scheme(
        url, allowed_hosts=set(), require_https=True
    )


def service_return_remember(request, *, path: str, label: str) -> None:
    """Remember the local `path` to come back to after signing in, and the service's name.
    Anything but a local path is ignored."""
    if is_local_path(path):
        request.session[SERVICE_RETURN_KEY] = {"path": path, "label": label}


def service_return(request) -> dict | None:
    """{"path", "label"} of the service waiting for this session's sign-in, or None."""
    value = request.session.get(SERVICE_RETURN_KEY)
    if isinstance(value, dict) and is_local_path(value.get("path", "")):
        return {"path": value["path"], "label": str(value.get("label", ""))}
    return None


def service_return_forget(request) -> None:
    request.session.pop(SERVICE_RETURN_KEY, None)


def provider_logout_remember(request, url: str) -> None:
    """The session was signed in by an identity provider (FranceConnect) whose own session
    must end with ours: `url` is where the browser goes once ours is over (its end-session
    endpoint, with what it needs). Set by the franceconnect app at sign-in."""
    request.session[PROVIDER_LOGOUT_KEY] = url


def provider_logout_url(request) -> str:
    """The URL remembered by `provider_logout_remember`, or ""."""
    value = request.session.get(PROVIDER_LOGOUT_KEY)
    return value if isinstance(value, str) else ""
