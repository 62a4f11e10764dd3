"""Named reads of « Mon compte »."""

from __future__ import annotations

import functools

from django.db import connections, router
from django.utils import timezone

from core.models import LinkToken
from core.sql import quoted_column
from core.tokens import link_token_find

from ..models import Account, AccountKind, AccountState

# The purpose of the link that validates a new e-mail address (core.tokens), also the
# outbox row's purpose of the e-mail that carries it.
EMAIL_CHANGE_PURPOSE = "email_change"


def email_change_pending(account: Account) -> LinkToken | None:
    """The account's pending change of e-mail address: its latest live validation link
    (unused, not revoked, not expired), whose `payload["email"]` is the new address; None
    when nothing is pending. Until it is used, the account's address stays the old one.

    One query on the (account, purpose) index of core.models.LinkToken: a handful of rows
    per account, whatever the size of the table.
    """
    return (
        LinkToken.objects.filter(account=account, purpose=EMAIL_CHANGE_PURPOSE,
                                 used_at__isnull=True, revoked_at__isnull=True,
                                 expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )


def email_to_check(account: Account) -> str:
    """The address an active family or pupil account should validate (FAQ §7), or "": its
    pending new address if a change is pending, else its own address when not validated.
    No query for an account whose address is validated (most of them); one indexed query
    (`_pending_email_address`, on the same index as email_change_pending) otherwise."""
    if (account.state != AccountState.ACTIVE or account.email_verified
            or account.kind not in (AccountKind.GUARDIAN, AccountKind.PUPIL)):
        return ""
    pending = _pending_email_address(account)
    if pending is not None:
        return pending
    return account.email or ""


@functools.cache
def _pending_email_sql(db: str) -> str:
    """email_change_pending's query, reading the new address only, written once per process
    from the model's columns (the ORM built it in 0.6 ms of CPU at every sign-in of an
    account whose address is not validated, issue 14)."""
    quote = connections[db].ops.quote_name
    meta = LinkToken._meta
    column = functools.partial(quoted_column, meta, db=db)

    return (
        f"SELECT {column('payload')} ->> 'email' FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {column('account')} = %s AND {column('purpose')} = %s "
        f"AND {column('used_at')} IS NULL AND {column('revoked_at')} IS NULL "
        f"AND {column('expires_at')} > %s ORDER BY {column('created_at')} DESC LIMIT 1"
    )


def _pending_email_address(account: Account) -> str | None:
    """The new address of the account's pending change (`payload["email"]` of
    `email_change_pending`, "" when the link holds none), or None when nothing is pending.
    The same index (account, purpose) and rows as email_change_pending."""
    db = router.db_for_read(LinkToken)
    with connections[db].cursor() as cursor:
        cursor.execute(_pending_email_sql(db),
                       [account.pk, EMAIL_CHANGE_PURPOSE, timezone.now()])
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] or ""


def email_check_needed(account) -> bool:
    """Whether the sign-in should ask this account to check its address (FAQ §7)."""
    return bool(getattr(account, "is_authenticated", False) and email_to_check(account))


def email_link_dead_cause(*, token: str, account: Account) -> str | None:
    """Why the address-validation link `token` (EMAIL_CHANGE_PURPOSE) of `account` no
    longer works, for its page when `account` is the one signed in (never told to anyone
    else: a visitor reads the page's general words, as before): "replaced" (revoked when a
    newer link of the account was issued, core.tokens.link_tokens_revoke before
    link_token_issue), "cancelled" (revoked otherwise: « Annuler la demande », or a password
    change, accounts.my_account.pending), "expired" (past its `expires_at`), or None (the
    token is unknown, of another account, used, or still live). Two indexed queries."""
    row = link_token_find(token=token, purpose=EMAIL_CHANGE_PURPOSE)
    if row is None or row.account_id != account.pk or row.used_at is not None:
        return None
    if row.revoked_at is not None:
        newer = LinkToken.objects.filter(account=account, purpose=EMAIL_CHANGE_PURPOSE,
                                         created_at__gte=row.revoked_at).exclude(pk=row.pk)
        return "replaced" if newer.exists() else "cancelled"
    if row.expires_at <= timezone.now():
        return "expired"
    return None
