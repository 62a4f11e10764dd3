"""Reads of accounts worth naming."""

from core.journal import EventKind
from core.models import JournalEvent

from .models import Account, AccountState

# How many merges in a row are followed to the account that holds the children now (a was
# merged into b, then b into c): each step is two indexed lookups, read only for the right
# password of a closed account (the sign-in, the merge form).
MERGE_CHAIN_MAX = 3


def _account_named(account: Account, kind: EventKind, key: str) -> Account | None:
    """The account whose id the latest journal event `kind` of `account` holds under `key`
    (the one a closing names: the kept account of a merge, the new account of an activation),
    or None (no such event, no id, or the account gone). Two indexed lookups (the journal's
    (account, -at) index, then the primary key)."""
    event = (JournalEvent.objects.filter(account=account, kind=kind.value)
             .order_by("-at").first())
    named_id = event.data.get(key) if event and isinstance(event.data, dict) else None
    return Account.objects.filter(pk=named_id).first() if named_id else None


def account_merged_into(account: Account, *, follow: int = 0) -> Account | None:
    """The account that the CLOSED `account` was merged into by « Ajouter des enfants depuis
    un autre compte » (families.services.accounts_merge_confirm): the kept account its
    latest ACCOUNT_CLOSED_BY_MERGE event names (the journal is where a closed account keeps
    it; the model has no column for it). None when `account` is not closed, or was closed
    otherwise, or the kept account is gone. With `follow`, up to that many further merges
    are followed while the kept account was itself closed by a merge (a into b, then b
    into c: c); each step is two indexed lookups."""
    kept = None
    current = account
    for _step in range(follow + 1):
        if current.state != AccountState.CLOSED:
            break
        found = _account_named(current, EventKind.ACCOUNT_CLOSED_BY_MERGE, "kept_account_id")
        if found is None:
            break
        kept = current = found
    return kept


def letter_replaced_by(account: Account) -> Account | None:
    """The account that holds now the records of the school letter whose provisional
    `account` was CLOSED because the family activated by SMS or FranceConnect (or attached
    the children) meanwhile (activation.services.provisional_accounts_close): the active
    account its latest PROVISIONAL_CLOSED_BY_ACTIVATION event names, followed through up to
    MERGE_CHAIN_MAX - 1 merges when that account was itself merged into another one
    (`account_merged_into`). None when `account` is not closed, or was closed otherwise, or
    the account named is gone. The account returned may be closed (a chain longer than
    followed, or closed by the helpdesk): callers check `is_active`. Two indexed lookups,
    two more per merge followed; read only for the right password of a closed account (the
    sign-in, the merge form)."""
    if account.state != AccountState.CLOSED:
        return None
    holder = _account_named(account, EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION,
                            "new_account_id")
    if holder is not None and holder.state == AccountState.CLOSED:
        holder = account_merged_into(holder, follow=MERGE_CHAIN_MAX - 1) or holder
    return holder
