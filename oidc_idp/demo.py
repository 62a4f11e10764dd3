"""The demo's service (`make demo`, DEBUG only): a relying party of ÉduConnect's own OpenID
Connect provider, so that the tiles of « Mes services » open a service signed in, as an ENT
or Scolarité services do in production, instead of leading to addresses the demo cannot
reach.

It is a real client of the provider, over HTTP like any other: the authorization code flow
with PKCE (S256), `state` and `nonce`; the code exchanged at the token endpoint; the ID token's
RS256 signature checked against the published JWKS, its `iss`, `aud`, `azp`, `exp` and
`nonce` (OpenID Connect Core 1.0 §3.1.3.7). It shows what ÉduConnect released: the person, the
children and how the person signed in. The client (`DEMO_CLIENT_ID`, public, PKCE) is
registered by `manage.py demo_accounts`; every demo tile points at `start` with the tile's
title as `service`.

Everything here answers 404 unless DEBUG: production has no such service.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

DEMO_CLIENT_ID = "service-de-demonstration"
DEMO_SCOPES = "openid profile children"
# What `start` keeps in the session for `callback` (state, nonce, PKCE verifier, title).
SESSION_KEY = "oidc_demo_service"
SERVICE_TITLE_MAX = 120
HTTP_TIMEOUT_SECONDS = 5


def absolute_url(path: str) -> str:
    """`path` on the demo's address (SITE_URL, which `make demo` sets to its port)."""
    return settings.SITE_URL.rstrip("/") + path


class DemoServiceError(Exception):
    """The demo service could not complete the sign-in; the message is French, for the page."""


def demo_redirect_uri() -> str:
    """The demo service's redirect URI, on the portal's public address (SITE_URL)."""
    return absolute_url(reverse("oidc_demo:callback"))


def _only_in_the_demo() -> None:
    if not settings.DEBUG:
        raise Http404


# Requests still waiting for their answer, by state (several tabs may each open a tile),
# at most this many; and the last sign-in's result, shown again by `result` on a reload.
PENDING_KEPT = 5
RESULT_KEY = "oidc_demo_service_result"
AMR_WORDS = {"pwd": _lazy("mot de passe"), "sms": _lazy("code reçu par SMS"),
             "fc": _lazy("FranceConnect")}


@never_cache
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """A tile of the demo: send the browser to ÉduConnect's authorization endpoint, as a
    service does (`?service=` the tile's title, shown on arrival)."""
    _only_in_the_demo()
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    pending = request.session.get(SESSION_KEY)
    pending = pending if isinstance(pending, dict) else {}
    pending[state] = {"nonce": nonce, "verifier": verifier,
                      "service": request.GET.get("service", "")[:SERVICE_TITLE_MAX]}
    request.session[SESSION_KEY] = dict(list(pending.items())[-PENDING_KEPT:])
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({
        "response_type": "code", "client_id": DEMO_CLIENT_ID, "scope": DEMO_SCOPES,
        "redirect_uri": demo_redirect_uri(), "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    return redirect(f"{reverse('oauth2_provider:authorize')}?{query}")


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: the code exchanged, the ID token checked, then the result page
    (`result`, so that a reload or Back shows it again instead of using the code twice); a
    French page naming what failed otherwise (never a 500)."""
    _only_in_the_demo()
    state = request.GET.get("state", "")
    pending_all = request.session.get(SESSION_KEY)
    pending_all = pending_all if isinstance(pending_all, dict) else {}
    pending = pending_all.pop(state, None)
    try:
        if pending is None:
            last = request.session.get(RESULT_KEY)
            if isinstance(last, dict) and secrets.compare_digest(last.get("state", ""), state):
                return redirect("oidc_demo:result")  # this answer was used: its result
            raise DemoServiceError(_("Cette page de retour a déjà servi ou a expiré : ouvrez "
                                     "de nouveau le service depuis « Mes services »."))
        request.session[SESSION_KEY] = pending_all
        # RFC 9207: the answer names its issuer, which must be the one asked.
        if request.GET.get("iss", _issuer()) != _issuer():
            raise DemoServiceError(_("Cette réponse ne vient pas d'ÉduConnect."))
        if "error" in request.GET or not request.GET.get("code"):
            raise DemoServiceError(_("ÉduConnect n'a pas donné accès au service : ouvrez-le "
                                     "de nouveau depuis « Mes services »."))
        claims = _claims(code=request.GET["code"], verifier=pending["verifier"],
                         nonce=pending["nonce"])
    except DemoServiceError as error:
        return render(request, "oidc_idp/demo_service.html",
                      {"page_title": _("Service de démonstration"), "error": str(error)},
                      status=400)
    request.session[RESULT_KEY] = {"state": state, "service": pending["service"],
                                   "claims": claims}
    return redirect("oidc_demo:result")


@never_cache
@require_GET
def result(request: HttpRequest) -> HttpResponse:
    """What the last sign-in at the demo service received (kept in the session: a reload
    shows it again); without one, the way back to « Mes services »."""
    _only_in_the_demo()
    last = request.session.get(RESULT_KEY)
    if not isinstance(last, dict) or not request.user.is_authenticated:
        return redirect("services_portal:my_services")
    claims = last["claims"]
    return render(request, "oidc_idp/demo_service.html", {
        "page_title": _("Service de démonstration"), "service": last["service"],
        "claims": claims, "children": claims.get("children", []),
        "identifier": claims.get("identifier", "").upper(),
        "methods": [str(AMR_WORDS.get(m, m)) for m in claims.get("amr", [])],
    })


def _claims(*, code: str, verifier: str, nonce: str) -> dict:
    """The ID token's claims for `code`: exchanged at the token endpoint, the signature
    checked against the JWKS, then iss, aud, exp (PyJWT), azp and nonce
    (_party_and_nonce_agree); userinfo asked only then. Raises DemoServiceError (« Le jeton
    d'identité reçu n'est pas valide. » for any check of the token that fails)."""
    issuer = _issuer()
    try:
        answer = requests.post(
            absolute_url(reverse("oauth2_provider:token")),
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": demo_redirect_uri(), "client_id": DEMO_CLIENT_ID,
                  "code_verifier": verifier},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        keys = requests.get(absolute_url(reverse("oauth2_provider:jwks-info")),
                            timeout=HTTP_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise DemoServiceError(_("Le service de démonstration n'a pas pu joindre ÉduConnect "
                                 "à l'adresse du site (EDUCONNECT_SITE_URL).")) from error
    if answer.status_code != 200 or "id_token" not in answer.json():
        raise DemoServiceError(_("ÉduConnect a refusé le code du service : ouvrez de nouveau "
                                 "le service depuis « Mes services »."))
    id_token = answer.json()["id_token"]
    try:  # PyJWT, as the FranceConnect client (franceconnect/client.py)
        key = jwt.PyJWKSet.from_dict(keys.json())[jwt.get_unverified_header(id_token)["kid"]]
        claims = jwt.decode(id_token, key=key, algorithms=["RS256"], audience=DEMO_CLIENT_ID,
                            issuer=issuer, options={"require": ["exp", "iss", "aud", "sub"]})
    except (jwt.PyJWTError, KeyError, ValueError) as error:  # each means « not valid »
        raise DemoServiceError(_("Le jeton d'identité reçu n'est pas valide.")) from error
    if not _party_and_nonce_agree(claims, nonce=nonce):
        raise DemoServiceError(_("Le jeton d'identité reçu n'est pas valide."))
    # The person and the children, as a service reads them at the userinfo endpoint.
    try:
        userinfo = requests.get(
            absolute_url(reverse("oauth2_provider:user-info")), timeout=HTTP_TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {answer.json()['access_token']}"})
    except requests.RequestException as error:
        raise DemoServiceError(_("Le service de démonstration n'a pas pu joindre ÉduConnect "
                                 "à l'adresse du site (EDUCONNECT_SITE_URL).")) from error
    if userinfo.status_code != 200 or userinfo.json().get("sub") != claims["sub"]:
        raise DemoServiceError(_("ÉduConnect n'a pas donné les informations du compte."))
    return {**userinfo.json(), **claims}


def _party_and_nonce_agree(claims: dict, *, nonce: str) -> bool:
    """The checks PyJWT does not make (OpenID Connect Core 1.0 §3.1.3.7, items 4, 5 and 11;
    `claims` already signature-, iss-, aud- and exp-checked): a token for several audiences
    names its authorized party (`azp`), an `azp` present is this service, and the `nonce`
    is a string equal to the one this request sent. A claim of another type (a forged
    number) is refused, never a 500."""
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and "azp" not in claims:
        return False
    if "azp" in claims and claims["azp"] != DEMO_CLIENT_ID:
        return False
    received = claims.get("nonce")
    return isinstance(received, str) and secrets.compare_digest(received.encode(),
                                                                nonce.encode())


def _issuer() -> str:
    """The provider's issuer as its tokens say it (OIDC_ISSUER, else the site's address)."""
    return (settings.OAUTH2_PROVIDER.get("OIDC_ISS_ENDPOINT") or settings.SITE_URL).rstrip("/")
