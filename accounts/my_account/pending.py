"""The pending changes of « Mon compte » that a new password ends.

A change of e-mail address waits for its validation link (core.tokens, purpose
EMAIL_CHANGE_PURPOSE; the new address in its payload), which works signed out, from any
device, for EMAIL_CHANGE_LINK_TTL_SECONDS. Whoever asked for it had the account's password
(« Mon compte » asks for it again after ACCOUNT_REAUTHENTICATION_SECONDS). The old address is
told (« Si vous n'êtes pas à l'origine de cette demande, connectez-vous à ÉduConnect,
modifiez votre mot de passe dans « Mon compte » ») and the advice must hold: a new password,
by any path, voids every pending change of address of the account, otherwise someone who
knew the old password would still make their address the account's, and then receive its
« Mot de passe oublié ? » links.

It is called by accounts.services.account_password_set, the one function every change of a
family's password goes through (« Mon compte », « Mot de passe oublié ? » by SMS or by
e-mail, the first sign-in with a school letter), inside its transaction.

A change of phone number needs nothing here: its code is checked only for the signed-in
session that started it (the PHONE_CHANGE flow names its account and is bound to that
session by a secret kept in it), and a new password ends every other session of the account.

This module imports no other module of `accounts` than `.selectors` and the models, so that
accounts.services may import it (accounts.my_account.services imports accounts.services).
"""

from __future__ import annotations

from django.http import HttpRequest

from core.journal import EventKind, journal_record
from core.tokens import link_tokens_revoke

from ..models import Account
from .selectors import EMAIL_CHANGE_PURPOSE


def email_change_pending_cancel(*, account: Account, password_reason: str,
                                request: HttpRequest | None = None) -> int:
    """Void every live validation link of `account`'s pending change of e-mail address,
    because its password has just changed (`password_reason`: the reason given to
    accounts.services.account_password_set, « my_account », « recovery_sms »…).

    Returns how many links were voided (0 when nothing was pending: nothing is written). When
    some were, journals EMAIL_CHANGE_CANCELLED on the account with the facts
    `password_changed=True` and `reason=password_reason` (the helpdesk reads « annulé : mot de
    passe modifié »). A voided link opens the page « Ce lien n'est plus valable », as an
    expired one (accounts.my_account.views.email_validate); the account keeps its address.

    Call it inside the transaction of the password change. One UPDATE on the (account,
    purpose) index of core.models.LinkToken.
    """
    voided = link_tokens_revoke(account=account, purpose=EMAIL_CHANGE_PURPOSE)
    if voided:
        journal_record(EventKind.EMAIL_CHANGE_CANCELLED, request=request, account=account,
                       password_changed=True, reason=password_reason)
    return voided
