"""Every write the accounts domain knows. Keyword-only arguments, one transaction each."""

import re

from django.contrib.auth import update_session_auth_hash
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.journal import EventKind, journal_record

from .identifiers import identifier_candidates, identifier_stem
from .models import Account, AccountKind, AccountState

MAX_IDENTIFIER_RACES = 20


def identifiers_taken(stem: str) -> set[str]:
    """Identifiers already built on `stem` (prefix scan on the identifier's unique index)."""
    own = re.compile(rf"^{re.escape(stem)}\d+$")
    return {
        identifier
        for identifier in Account.objects.filter(identifier__startswith=stem).values_list(
            "identifier", flat=True
        )
        if own.match(identifier)
    }


def account_create(
    *,
    kind: AccountKind,
    first_name: str,
    last_name: str,
    password: str | None,
    state: AccountState = AccountState.ACTIVE,
    email: str = "",
    phone: str = "",
    phone_verified: bool = False,
) -> Account:
    """Create an account with a fresh identifier p.nomNN, unique even when two activations
    race for the same stem: the unique index refuses the loser, who takes another number."""
    stem = identifier_stem(first_name=first_name, last_name=last_name)
    taken = identifiers_taken(stem)
    candidates = identifier_candidates(stem, taken)
    for _ in range(MAX_IDENTIFIER_RACES):
        identifier = next(candidates)
        account = Account(
            identifier=identifier, kind=kind, first_name=first_name, last_name=last_name,
            email=email, phone=phone, phone_verified=phone_verified, state=state,
            activated_at=timezone.now() if state == AccountState.ACTIVE else None,
        )
        account.set_password(password)
        try:
            with transaction.atomic():
                account.save()
        except IntegrityError:
            continue  # another activation took this identifier a moment ago
        return account
    raise RuntimeError(f"No free identifier found for stem {stem!r}")


@transaction.atomic
def account_password_set(*, account: Account, password: str, reason: str,
                         request=None) -> None:
    """Give `account` a new password, already validated by the caller against
    accounts.password_policy (the form does it, with the account as `user`).

    Every other session of the account ends at its next request: Django checks each
    session's copy of the password hash (`get_session_auth_hash`), which no longer matches
    (ASVS 4.0.3 V3.3.3). When `request` is signed in as this account, its own session is kept
    and its key rotated (`update_session_auth_hash`). `reason` says which path changed it
    (« recovery_sms », « recovery_email », « my_account »…) and is journaled; the password
    never is.
    """
    account.set_password(password)
    account.save(update_fields=["password"])
    if request is not None and getattr(request, "user", None) is not None \
            and request.user.pk == account.pk:
        update_session_auth_hash(request, account)
    journal_record(EventKind.PASSWORD_CHANGED, request=request, account=account, reason=reason)
