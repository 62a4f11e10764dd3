"""The pending recoveries of « Mot de passe oublié ? » that a new password ends.

A reset link (core.tokens, purpose LINK_PURPOSE) stays in the mailbox for
PASSWORD_RESET_LINK_TTL_SECONDS, and a recovery flow (PASSWORD_RECOVERY) waits for its code
or its link. Once the password is changed by any path (« Mon compte », another recovery,
the first sign-in with a school letter), they were asked for a password that is no longer
the account's: a link still working would let whoever reads the mailbox undo the change, and
the owner who just chose a password in « Mon compte » would not expect an older mail to
still open « Choisir un nouveau mot de passe ». So they all end (tryout finding).

It is called by accounts.services.account_password_set, the one function every change of a
family's password goes through, inside its transaction. The page of a dead link says why
(accounts.recovery.services.password_recovery_link_dead_reason), and the page of an ended flow
too (status REPLACED, templates/accounts/recovery/expired.html).

This module imports no other module of `accounts` than the recovery's flows, so that
accounts.services may import it (accounts.recovery.services imports accounts.services).
"""

from __future__ import annotations

from core.flows import flows_replace
from core.models import Flow, FlowStatus
from core.tokens import link_tokens_revoke

from .flows import LINK_PURPOSE, PASSWORD_RECOVERY


def password_recovery_pending_end(*, account, keep_flow: Flow | None = None) -> tuple[int, int]:
    """Void every live reset link of `account` and end every open recovery flow of it with
    status REPLACED (core.flows.flows_replace), but `keep_flow` (the recovery that is
    setting the password, which ends completed). Returns (links voided, flows ended).

    Call it inside the transaction of the password change. One UPDATE on the (account,
    purpose) index of core.models.LinkToken, one locking SELECT of the open flows."""
    links = link_tokens_revoke(account=account, purpose=LINK_PURPOSE)
    flows = flows_replace(kind=PASSWORD_RECOVERY, account=account, keep=keep_flow)
    return links, flows


def password_recovery_older_end(*, account_id: int, keep_flow: Flow) -> int:
    """A newer « Mot de passe oublié ? » request of the account `account_id` replaces the
    older ones (tryout finding: two mails, and the older link still opened « Choisir un
    nouveau mot de passe »), as a newer e-mail change link of « Mon compte » does: void every
    live reset link of the account and end every other open recovery flow of it with status
    REPLACED, but `keep_flow` (the request being sent). Returns how many flows were ended.

    Called by accounts.recovery.services when the code or the link of `keep_flow` is about
    to leave (never when nothing is sent: the owner would be left with nothing). A request
    that reaches no one passes `account_id` 0, an id no account has: the same two UPDATE
    statements run and change nothing (issue 8 §6, same work whatever was typed). The
    flows are ended by one statement whatever their number; a flow locked at this moment by
    another request (a code being checked) is skipped rather than waited for, so that two
    requests of one account never wait for each other (a password being set on the older
    flow locks this one to end it: accounts.recovery.pending.password_recovery_pending_end).
    Their pages say why (accounts.recovery.services.password_recovery_replaced and
    password_recovery_link_dead_reason)."""
    link_tokens_revoke(account=account_id, purpose=LINK_PURPOSE)
    older = (Flow.objects.select_for_update(skip_locked=True)
             .filter(kind=PASSWORD_RECOVERY.name, account_id=account_id,
                     status=FlowStatus.OPEN)
             .exclude(pk=keep_flow.pk).values("pk"))
    return Flow.objects.filter(pk__in=older).update(status=FlowStatus.REPLACED)
