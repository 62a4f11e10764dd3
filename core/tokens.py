"""Single-use link tokens: the random part of a validation or reset link sent by e-mail.

A token is 32 random bytes (256 bits) from `secrets`, written URL-safe (43 characters). The
database keeps only its SHA-256 (`LinkToken.digest`), hex:

- why a plain SHA-256 and not an HMAC keyed from SECRET_KEY: the input already has 256 bits
  of entropy, so nobody holding a copy of the table can find a token from its digest,
  by brute force or otherwise (an HMAC key only adds something to a low-entropy secret such
  as a 6-character code, which core.codes does HMAC). Without a key, rotating SECRET_KEY does
  not void the links already in people's mailboxes, and there is no key to leak.
- single use: the POST that acts on the link consumes the token with one conditional UPDATE
  (`used_at IS NULL AND revoked_at IS NULL AND expires_at > now`); of two parallel POSTs the
  database lets exactly one match. The GET of the page the link opens only *peeks* (mail
  scanners open links), see docs/flows.md and issue 8 §1.
- same cost whatever was typed: a malformed token is hashed and looked up exactly like a
  well-formed unknown one (one indexed query either way), so timing says nothing.

Costs: every function here is one or two queries by the unique `digest` index or by the
(account, purpose) index; the purge walks the `expires_at` index by batches.

Rows are deleted LINK_TOKEN_RETENTION_DAYS after they expired (core.tasks, periodic).
"""

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from .models import LinkToken

TOKEN_BYTES = 32  # 256 bits
# Longer input is cut before hashing: a huge query string costs no more than a normal one.
_MAX_TOKEN_CHARS = 128


def _digest(token: str) -> str:
    raw = (token or "")[:_MAX_TOKEN_CHARS].encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def _live(*, digest: str, purpose: str, now):
    return LinkToken.objects.filter(digest=digest, purpose=purpose, used_at__isnull=True,
                                    revoked_at__isnull=True, expires_at__gt=now)


def link_token_issue(*, purpose: str, account, ttl_seconds: int, flow_id: UUID | None = None,
                     payload: dict | None = None) -> str:
    """Make a token for `account` and return the raw token (43 URL-safe characters).

    Writes one LinkToken row in the caller's transaction: if the caller rolls back (the
    e-mail carrying the link is rolled back with it), the token never existed. `ttl_seconds`
    is the link's lifetime (e.g. 3600 for a password reset, 7 days for an address
    validation: issue 8 §1). `payload` is stored as JSON (never a secret). Older live tokens
    of the same purpose stay valid unless the caller calls link_tokens_revoke first.
    Raises ValueError on an empty purpose or a non-positive lifetime.
    """
    if not purpose or len(purpose) > 40:
        raise ValueError("link_token_issue needs a purpose of 1 to 40 characters")
    if ttl_seconds <= 0:
        raise ValueError("link_token_issue needs a positive ttl_seconds")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    LinkToken.objects.create(
        purpose=purpose, account=account, flow_id=flow_id, digest=_digest(token),
        payload=payload or {}, created_at=now, expires_at=now + timedelta(seconds=ttl_seconds),
    )
    return token


def link_token_peek(*, token: str, purpose: str) -> LinkToken | None:
    """The live LinkToken for `token` (unused, not revoked, not expired, this purpose), or
    None; consumes nothing. For the GET of the page a link opens. One indexed query."""
    return _live(digest=_digest(token), purpose=purpose, now=timezone.now()).first()


def link_token_used(*, token: str, purpose: str) -> LinkToken | None:
    """The LinkToken for `token` if it was used (its action done: `used_at` is set only by
    a link_token_consume whose transaction committed), or None (live, replaced, cancelled,
    unknown). For the page a link opens a second time: « Ce lien a déjà servi » tells its
    holder what they did with it, instead of « Ce lien n'est plus valable … demandez un
    nouveau mail ». Consumes nothing. One indexed query, by the unique digest."""
    return LinkToken.objects.filter(digest=_digest(token), purpose=purpose,
                                    used_at__isnull=False).first()


def link_token_find(*, token: str, purpose: str) -> LinkToken | None:
    """The LinkToken for `token` whatever its state — live, used, revoked or expired — with
    its account, or None (unknown). For the page a link opens when the link cannot work any
    more because its account changed (closed, locked, activated otherwise, a new letter):
    the page says why instead of showing a button that would fail. Consumes nothing. One
    indexed query, by the unique digest (a malformed token costs the same)."""
    return (LinkToken.objects.select_related("account")
            .filter(digest=_digest(token), purpose=purpose).first())


def link_token_for_another_account(request, row: LinkToken | None) -> bool:
    """Whether the browser is signed in as another account than the one the live link `row`
    was sent for. Its page then says so and offers to sign out, instead of words (« votre
    compte ») that would be false for the person reading them, and its POST does nothing.
    Signed out, or signed in as the link's own account: False."""
    user = getattr(request, "user", None)
    return (row is not None and user is not None and user.is_authenticated
            and user.pk != row.account_id)


def link_token_consume(*, token: str, purpose: str) -> LinkToken | None:
    """Mark the live token used and return its row (with `used_at` set), or None.

    One conditional UPDATE: of any number of parallel calls for one token, exactly one gets
    the row (PostgreSQL re-checks the condition on the locked row). Call it in the
    transaction of the action the link allows (set the password, validate the address): if
    that action rolls back, the token is live again.
    """
    digest = _digest(token)
    now = timezone.now()
    if not _live(digest=digest, purpose=purpose, now=now).update(used_at=now):
        return None
    # The row is ours: its used_at is set, no other call can match it any more.
    return LinkToken.objects.get(digest=digest)


def link_tokens_revoke(*, account, purpose: str) -> int:
    """Void every live token of `account` for `purpose`; returns how many were voided.

    For « a newer link replaces the older ones » (call it before link_token_issue) and for
    « the password changed, old reset links are dead ». One UPDATE on the (account, purpose)
    index.
    """
    now = timezone.now()
    return LinkToken.objects.filter(
        account=account, purpose=purpose, used_at__isnull=True, revoked_at__isnull=True,
        expires_at__gt=now,
    ).update(revoked_at=now)


def link_tokens_purge(*, batch_size: int = 5000) -> int:
    """Delete tokens expired more than LINK_TOKEN_RETENTION_DAYS ago; returns how many.

    By batches of `batch_size` ids on the `expires_at` index, each its own short statement,
    so that a backlog of millions never holds a long lock.
    """
    cutoff = timezone.now() - timedelta(days=settings.LINK_TOKEN_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(LinkToken.objects.filter(expires_at__lt=cutoff).order_by("expires_at")
                   .values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += LinkToken.objects.filter(pk__in=ids).delete()[0]
        if len(ids) < batch_size:
            return deleted
