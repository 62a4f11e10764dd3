"""Every write the accounts domain knows. Keyword-only arguments, one transaction each."""

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth import update_session_auth_hash
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.utils import timezone

from core.journal import EventKind, journal_record

from .identifiers import identifier_candidates, identifier_stem
from .models import Account, AccountKind, AccountState
from .my_account.pending import email_change_pending_cancel
from .recovery.pending import password_recovery_pending_end

MAX_IDENTIFIER_RACES = 20


@functools.cache
def _prefix_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    column = quote(Account._meta.get_field("identifier").column)
    # As the ORM writes `identifier__startswith` on PostgreSQL (the ::text cast included,
    # which the varchar_pattern_ops index serves).
    return (f"SELECT {column} FROM {quote(Account._meta.db_table)} "  # noqa: S608
            f"WHERE {column}::text LIKE %s")


def identifiers_taken(stem: str) -> set[str]:
    """Identifiers already built on `stem` (prefix scan on the identifier's unique index):
    identifiers_taken_many for one stem, its SQL written once per process (each SMS
    activation asks once; the ORM's OR of prefixes cost about half a millisecond to build,
    issue 14). On another database than PostgreSQL, identifiers_taken_many."""
    db = router.db_for_read(Account)
    connection = connections[db]
    if connection.vendor != "postgresql":
        return identifiers_taken_many([stem])
    with connection.cursor() as cursor:
        cursor.execute(_prefix_sql(db), [connection.ops.prep_for_like_query(stem) + "%"])
        found = [row[0] for row in cursor.fetchall()]
    return _numbered_on(found, {stem})


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def _numbered_on(identifiers: Iterable[str], stems: set[str]) -> set[str]:
    """Those of `identifiers` that are one of `stems` followed by digits."""
    taken = set()
    for identifier in identifiers:
        numbered = _NUMBERED.match(identifier)
        if numbered and numbered.group(1) in stems:
            taken.add(identifier)
    return taken


def identifiers_taken_many(stems: Iterable[str]) -> set[str]:
    """Identifiers already built on any of `stems` (`stem` + digits): one query, an OR of
    prefix scans on the identifier's varchar_pattern_ops index (a BitmapOr on PostgreSQL),
    whatever the number of stems. « j.mart » does not take « j.martin12 »."""
    stems = set(stems)
    if not stems:
        return set()
    prefixes = Q()
    for stem in stems:
        prefixes |= Q(identifier__startswith=stem)
    return _numbered_on(Account.objects.filter(prefixes).values_list("identifier", flat=True),
                        stems)


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


def provisional_accounts_create(*, people: Sequence[tuple[AccountKind, str, str]],
                                password_hashes: Sequence[str],
                                expires_at: datetime) -> list[Account]:
    """Create one PROVISIONAL account per `people` entry (kind, first name, last name), with
    the matching `password_hashes` entry (already made: accounts.hashers) valid until
    `expires_at`; returns them in that order, saved, with their history rows.

    A school letter run's accounts (pupils.letters), a hundred at a time: the identifiers
    p.nomNN are drawn together (one query for every stem, none given twice), then one INSERT
    of the accounts and one of their history, instead of three statements per account. If
    another transaction took one of the drawn identifiers meanwhile (the unique index
    refuses the INSERT), the batch is made again one account at a time by `account_create`,
    which retries on such races. Raises ValueError when the two sequences differ in length.
    Call it inside a transaction (the letter run's)."""
    if len(people) != len(password_hashes):
        raise ValueError("one password hash per account")
    stems = [identifier_stem(first_name=first, last_name=last) for _kind, first, last in people]
    taken = identifiers_taken_many(stems)
    accounts = []
    for (kind, first_name, last_name), stem, hashed in zip(people, stems, password_hashes,
                                                          strict=True):
        identifier = next(identifier_candidates(stem, taken))
        taken.add(identifier)
        accounts.append(Account(
            identifier=identifier, kind=kind, first_name=first_name, last_name=last_name,
            state=AccountState.PROVISIONAL, password=hashed,
            provisional_expires_at=expires_at))
    try:
        with transaction.atomic():
            Account.objects.bulk_create(accounts)
    except IntegrityError:  # an identifier taken since it was drawn: one at a time
        accounts = []
        for (kind, first_name, last_name), hashed in zip(people, password_hashes, strict=True):
            account = account_create(kind=kind, first_name=first_name, last_name=last_name,
                                     password=None, state=AccountState.PROVISIONAL)
            account.password = hashed
            account.provisional_expires_at = expires_at
            accounts.append(account)
        Account.objects.bulk_update(accounts, ["password", "provisional_expires_at"])
        return accounts
    Account.history.bulk_history_create(accounts)
    return accounts


@transaction.atomic
def account_password_set(*, account: Account, password: str, reason: str,
                         request=None, recovery_flow=None) -> int:
    """Give `account` a new password, already validated by the caller against
    accounts.password_policy (the form does it, with the account as `user`).

    Every other session of the account ends at its next request: Django checks each
    session's copy of the password hash (`get_session_auth_hash`), which no longer matches
    (ASVS 4.0.3 V3.3.3). When `request` is signed in as this account, its own session is kept
    and its key rotated (`update_session_auth_hash`). `reason` says which path changed it
    (« recovery_sms », « recovery_email », « my_account »…) and is journaled; the password
    never is.

    A pending change of the account's e-mail address is cancelled: its validation link no
    longer works (accounts.my_account.pending.email_change_pending_cancel, journaled
    EMAIL_CHANGE_CANCELLED). The old address was told « modifiez votre mot de passe » if the
    request was not the owner's; a new password must stop it, whatever the path. Returns
    how many of its links were voided (0: no change of address was pending), so that the
    page of the change may say it.

    Every « Mot de passe oublié ? » link still in the account's mailbox dies, and every open
    recovery flow of the account ends (accounts.recovery.pending.password_recovery_pending_end),
    but `recovery_flow`: the recovery setting this password, which its caller ends completed.
    """
    account.set_password(password)
    account.save(update_fields=["password"])
    if request is not None and getattr(request, "user", None) is not None \
            and request.user.pk == account.pk:
        update_session_auth_hash(request, account)
    journal_record(EventKind.PASSWORD_CHANGED, request=request, account=account, reason=reason)
    password_recovery_pending_end(account=account, keep_flow=recovery_flow)
    return email_change_pending_cancel(account=account, password_reason=reason,
                                       request=request)
