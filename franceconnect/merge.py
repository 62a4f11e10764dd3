"""What a merge of two accounts (accounts.signals.accounts_merged, sent in the merge's
transaction by families.services.accounts_merge) does to the closed account's FranceConnect
link: it *moves* to the kept account when that one has none — the same guardian, proved by
the same names (the merge's rule) and by the closed account's password — so FranceConnect
alone still signs the family in, now into the account that holds every child; when the kept
account already has a FranceConnect identity of its own, the closed account's link ends (an
account has one identity, an identity one account: FranceConnectLink). Both are journaled on
the kept and the closed account, for the helpdesk's files."""

from core.journal import EventKind, journal_record

from .models import FranceConnectLink


def closed_account_link_move(sender, *, kept, closed, request=None, **kwargs) -> None:
    """Receiver of accounts_merged: in the merge's transaction (both accounts locked by it),
    move or end `closed`'s link. No return; raises nothing of its own (a database error rolls
    the whole merge back)."""
    link = FranceConnectLink.objects.select_for_update().filter(account=closed).first()
    if link is None:
        return
    if FranceConnectLink.objects.filter(account=kept).exists():
        link.delete()
        journal_record(EventKind.FRANCECONNECT_UNLINKED, request=request, account=closed,
                       reason="merged_into_account_with_link", kept_account_id=kept.pk)
        return
    link.account = kept
    link.save(update_fields=["account"])
    journal_record(EventKind.FRANCECONNECT_UNLINKED, request=request, account=closed,
                   reason="moved_by_merge", kept_account_id=kept.pk)
    journal_record(EventKind.FRANCECONNECT_LINKED, request=request, account=kept,
                   reason="moved_by_merge", closed_account_id=closed.pk)
