"""Every write of the FranceConnect client: keyword-only arguments, one transaction each.

- `franceconnect_authorization_start`: a state and a nonce (256 bits each, 43 characters),
  their digests in a FranceConnectState row (single use, FRANCECONNECT_STATE_TTL_SECONDS),
  the state also in the browser's session: the answer must come back to the browser that
  asked (no sign-in CSRF). Returns the URL of FranceConnect's /authorize.
- `franceconnect_callback`: the answer. Spends the state (whatever follows), turns an
  `error` into a refusal, exchanges the code, checks the ID token (signature, iss, aud, exp,
  nonce, acr) and the userinfo JWT (client.py). Returns the identity, or raises
  FranceConnectRefused after journaling FRANCECONNECT_REFUSED with the reason.
- `franceconnect_link_create`, `franceconnect_link_remove`, `franceconnect_sign_in`.

Nothing secret reaches the journal or the logs: no token, no state, no nonce.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountState
from core.journal import EventKind, journal_record

from . import client
from .client import FranceConnectRefused, Refusal
from .models import FranceConnectLink, FranceConnectState, StatePurpose

logger = logging.getLogger(__name__)

__all__ = ["FranceConnectRefused", "Refusal"]

SESSION_STATES = "franceconnect_states"  # {state digest: local path to go to afterwards}
SESSION_PENDING = "franceconnect_pending_identity"
MAX_STATES_PER_SESSION = 5


def absolute(path: str) -> str:
    """An absolute URL of this site, from SITE_URL (never the request's Host header)."""
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def callback_uri() -> str:
    return absolute(reverse("franceconnect:callback"))


def logout_callback_uri() -> str:
    return absolute(reverse("franceconnect:logout_callback"))


def _random() -> str:
    return secrets.token_urlsafe(32)  # 43 characters ≥ FranceConnect's 32


# --- Identity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FranceConnectIdentity:
    """What FranceConnect said about the person (the pivot identity; `given_name` holds
    every first name, `family_name` the birth name), and the ID token kept for the logout
    (`id_token_hint`). Kept in the session only, never in a flow row or the journal."""

    sub: str
    given_name: str
    family_name: str
    birthdate: str  # AAAA-MM-JJ, as FranceConnect gives it
    preferred_username: str
    email: str
    id_token: str

    @classmethod
    def of(cls, data: dict) -> FranceConnectIdentity:
        return cls(**{name: str(data.get(name) or "") for name in cls.__dataclass_fields__})


def pending_identity_keep(request: HttpRequest, identity: FranceConnectIdentity) -> None:
    """An identity not linked yet: kept in the session for its first link
    (activation's FRANCECONNECT_LINK), FRANCECONNECT_PENDING_IDENTITY_SECONDS at most."""
    request.session[SESSION_PENDING] = {
        **asdict(identity),
        "until": (timezone.now() + datetime.timedelta(
            seconds=settings.FRANCECONNECT_PENDING_IDENTITY_SECONDS)).timestamp(),
    }


def pending_identity(request: HttpRequest) -> FranceConnectIdentity | None:
    data = request.session.get(SESSION_PENDING)
    if not isinstance(data, dict) or float(data.get("until") or 0) < timezone.now().timestamp():
        return None
    return FranceConnectIdentity.of(data)


def pending_identity_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_PENDING, None)


# --- Authorization -------------------------------------------------------------------------


def franceconnect_authorization_start(*, request: HttpRequest, next_path: str = "") -> str:
    """Open a request to FranceConnect for this browser; returns the /authorize URL.
    `next_path` (a local path, checked by the caller) is where a linked account goes once
    signed in."""
    state, nonce = _random(), _random()
    now = timezone.now()
    with transaction.atomic():
        FranceConnectState.objects.create(
            state_hash=client.digest(state), nonce_hash=client.digest(nonce),
            purpose=StatePurpose.LOGIN,
            expires_at=now + datetime.timedelta(seconds=settings.FRANCECONNECT_STATE_TTL_SECONDS),
        )
    states = dict(request.session.get(SESSION_STATES, {}))
    states[client.digest(state)] = next_path
    while len(states) > MAX_STATES_PER_SESSION:
        states.pop(next(iter(states)))
    request.session[SESSION_STATES] = states
    return client.authorization_url(state=state, nonce=nonce, redirect_uri=callback_uri())


def _state_spend(*, state: str, purpose: StatePurpose, now) -> FranceConnectState | None:
    """The live, unused row of `state`, marked used (single use, even when what follows
    fails); None when unknown, used or expired. Its own transaction: the spending sticks."""
    if not state:
        return None
    with transaction.atomic():
        row = (FranceConnectState.objects.select_for_update()
               .filter(state_hash=client.digest(state), purpose=purpose).first())
        if row is None or row.used_at is not None or row.expires_at <= now:
            return None
        row.used_at = now
        row.save(update_fields=["used_at"])
    return row


def _refuse(reason: Refusal, *, request, detail: str = "", **facts) -> FranceConnectRefused:
    journal_record(EventKind.FRANCECONNECT_REFUSED, request=request, reason=str(reason), **facts)
    logger.warning("FranceConnect answer refused: %s %s", reason, detail)
    return FranceConnectRefused(reason, detail)


PROVIDER_UNAVAILABLE_ERRORS = {"server_error", "temporarily_unavailable"}


def franceconnect_callback(
    *, request: HttpRequest, state: str, code: str, error: str = ""
) -> tuple[FranceConnectIdentity, str]:
    """FranceConnect's answer to this browser: (the identity, the local path to go to).

    Raises FranceConnectRefused (journaled FRANCECONNECT_REFUSED with its reason): the
    person cancelled (access_denied) or FranceConnect failed (server_error…); the state is
    unknown, spent, expired or not this browser's; the code exchange failed; a token is
    forged, signed with an unknown key, expired, for another client or issuer, with another
    nonce, or below eidas1; userinfo is not a signed JWT about the same person.
    """
    now = timezone.now()
    states = dict(request.session.get(SESSION_STATES, {}))
    state_digest = client.digest(state) if state else ""
    mine = state_digest in states
    next_path = states.pop(state_digest, "") if mine else ""
    request.session[SESSION_STATES] = states
    row = _state_spend(state=state, purpose=StatePurpose.LOGIN, now=now)
    if error:
        reason = (Refusal.ACCESS_DENIED if error == "access_denied"
                  else Refusal.PROVIDER_UNAVAILABLE if error in PROVIDER_UNAVAILABLE_ERRORS
                  else Refusal.PROVIDER_ERROR)
        raise _refuse(reason, request=request, detail=error[:100], error=error[:50])
    if row is None or not mine:
        raise _refuse(Refusal.STATE, request=request,
                      known=row is not None, this_browser=mine)
    if not code:
        raise _refuse(Refusal.MALFORMED, request=request, detail="no code")
    try:
        tokens = client.code_exchange(code=code, redirect_uri=callback_uri())
        if client.digest(str(tokens.claims.get("nonce", ""))) != row.nonce_hash:
            raise FranceConnectRefused(Refusal.NONCE)
        userinfo = client.userinfo_fetch(access_token=tokens.access_token,
                                         sub=tokens.claims["sub"])
    except FranceConnectRefused as refused:
        raise _refuse(refused.reason, request=request, detail=refused.detail) from refused
    identity = FranceConnectIdentity.of({**userinfo, "sub": tokens.claims["sub"],
                                         "id_token": tokens.id_token})
    return identity, next_path


# --- Links and sign-in ---------------------------------------------------------------------


class LinkRefused(Exception):
    """The identity or the account is linked already (`franceconnect_link_create`)."""


def franceconnect_link_create(*, account: Account, sub: str, request: HttpRequest | None = None,
                              flow_id=None) -> FranceConnectLink:
    """Link FranceConnect's `sub` to `account` (in the caller's transaction: the first link
    of activation). Raises LinkRefused when either is linked already."""
    try:
        with transaction.atomic():
            link = FranceConnectLink.objects.create(account=account, sub=sub,
                                                    last_sign_in_at=timezone.now())
    except IntegrityError as error:
        raise LinkRefused() from error
    journal_record(EventKind.FRANCECONNECT_LINKED, request=request, account=account,
                   flow_id=flow_id)
    return link


def link_of_sub(sub: str) -> FranceConnectLink | None:
    return FranceConnectLink.objects.select_related("account").filter(sub=sub).first()


def link_of_account(account: Account) -> FranceConnectLink | None:
    return FranceConnectLink.objects.filter(account=account).first()


SIGN_IN_STATES = (AccountState.ACTIVE,)


def franceconnect_sign_in_record(*, link: FranceConnectLink, request: HttpRequest) -> None:
    """A linked identity signed in: when, and the journal's LOGIN_SUCCEEDED."""
    FranceConnectLink.objects.filter(pk=link.pk).update(last_sign_in_at=timezone.now())
    journal_record(EventKind.LOGIN_SUCCEEDED, request=request, account=link.account,
                   profile=str(link.account.kind), method="franceconnect")


def franceconnect_logout_url(*, id_token: str) -> str:
    """FranceConnect's end-session URL for this sign-in, with a new single-use state (its
    row lives as long as a session can: SESSION_ABSOLUTE_SECONDS)."""
    state = _random()
    FranceConnectState.objects.create(
        state_hash=client.digest(state), purpose=StatePurpose.LOGOUT,
        expires_at=timezone.now() + datetime.timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS),
    )
    return client.end_session_url(id_token=id_token, state=state,
                                  post_logout_redirect_uri=logout_callback_uri())


def franceconnect_logout_return(*, state: str, request: HttpRequest) -> bool:
    """FranceConnect came back from its end-session endpoint: whether `state` is ours
    (spent at once)."""
    ok = _state_spend(state=state, purpose=StatePurpose.LOGOUT, now=timezone.now()) is not None
    if not ok:
        journal_record(EventKind.FRANCECONNECT_REFUSED, request=request, reason="logout_state")
    return ok


def franceconnect_link_remove(*, account: Account, request: HttpRequest | None = None) -> bool:
    """« Dissocier FranceConnect » in « Mon compte » (the caller checked the password when
    the account has one). Returns whether a link was removed."""
    with transaction.atomic():
        removed, _ = FranceConnectLink.objects.filter(account=account).delete()
        if removed:
            journal_record(EventKind.FRANCECONNECT_UNLINKED, request=request, account=account)
    return bool(removed)


def franceconnect_states_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the rows of requests expired (used or not). Returns how many."""
    deleted, _ = FranceConnectState.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
