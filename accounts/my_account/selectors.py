"""Named reads of « Mon compte »."""

from __future__ import annotations

from django.utils import timezone

from core.models import LinkToken

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
    (email_change_pending) otherwise."""
    if (account.state != AccountState.ACTIVE or account.email_verified
            or account.kind not in (AccountKind.GUARDIAN, AccountKind.PUPIL)):
        return ""
    pending = email_change_pending(account)
    if pending is not None:
        return str(pending.payload.get("email", ""))
    return account.email or ""


def email_check_needed(account) -> bool:
    """Whether the sign-in should ask this account to check its address (FAQ §7)."""
    return bool(getattr(account, "is_authenticated", False) and email_to_check(account))
