"""Merges at the same time on PostgreSQL (issue 11 §1): two merges at once, or a merge racing
an attach, leave no child attached twice and no child lost. Real threads, each with its own
database connection, released together by a barrier."""

import threading

import pytest
from django.db import connections

from accounts.models import Account, AccountState
from families import services
from pupils.models import GuardianRecord
from pupils.selectors import pupils_of_guardian_account
from tests.factories import (
    DEFAULT_PASSWORD,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def in_parallel(*attempts):
    """Run each callable in its own thread, released at once; return results or exceptions."""
    barrier = threading.Barrier(len(attempts))
    results = [None] * len(attempts)

    def run(index, attempt):
        try:
            barrier.wait()
            results[index] = attempt()
        except Exception as exc:  # the refusal is the outcome under test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def family_accounts(count):
    """One guardian (Awa Diallo) with `count` accounts, two children each."""
    accounts, pupils = [], []
    for n in range(count):
        account = AccountFactory(identifier=f"a.diallo{n + 1}", first_name="Awa",
                                 last_name="Diallo")
        school = EstablishmentFactory()
        record = GuardianRecordFactory(establishment=school, first_name="Awa",
                                       last_name="Diallo", account=account)
        for child in range(2):
            pupil = PupilFactory(establishment=school, first_names=f"Enfant{n}{child}",
                                 last_name="DIALLO")
            ResponsibilityFactory(guardian_record=record, pupil=pupil)
            pupils.append(pupil)
        accounts.append(account)
    return accounts, pupils


def merge(kept, other):
    return lambda: services.accounts_merge(
        account=Account.objects.get(pk=kept.pk), identifier=other.identifier,
        password=DEFAULT_PASSWORD)


def assert_every_child_once_on_one_open_account(pupils):
    open_accounts = list(Account.objects.exclude(state=AccountState.CLOSED))
    assert len(open_accounts) == 1
    [survivor] = open_accounts
    assert sorted(p.pk for p in pupils_of_guardian_account(survivor)) == sorted(
        p.pk for p in pupils)
    assert not GuardianRecord.objects.filter(account__state=AccountState.CLOSED).exists()
    return survivor


def test_two_merges_of_the_same_pair_in_both_directions():
    (first, second), pupils = family_accounts(2)
    results = in_parallel(merge(first, second), merge(second, first))
    refused = [r for r in results if isinstance(r, services.FamiliesRefused)]
    done = [r for r in results if isinstance(r, Account)]
    assert len(done) == 1 and len(refused) == 1, results
    assert_every_child_once_on_one_open_account(pupils)


def test_two_accounts_taking_the_same_third_one_at_once():
    (first, second, third), pupils = family_accounts(3)
    results = in_parallel(merge(first, third), merge(second, third))
    assert sum(isinstance(r, Account) for r in results) == 1, results
    assert sum(isinstance(r, services.FamiliesRefused) for r in results) == 1, results
    # The third account's children are on exactly one of the two, none lost.
    covered = {p.pk: [a.pk for a in (first, second)
                      if p in pupils_of_guardian_account(a)] for p in pupils[4:]}
    assert all(len(accounts) == 1 for accounts in covered.values()), covered
    assert Account.objects.get(pk=third.pk).state == AccountState.CLOSED
    assert not GuardianRecord.objects.filter(account=third).exists()


def test_a_chain_of_merges_at_once_loses_no_child():
    accounts, pupils = family_accounts(4)
    a, b, c, d = accounts
    in_parallel(merge(a, b), merge(b, c), merge(c, d), merge(d, a))
    open_accounts = Account.objects.exclude(state=AccountState.CLOSED)
    seen = [p.pk for account in open_accounts for p in pupils_of_guardian_account(account)]
    assert sorted(seen) == sorted(p.pk for p in pupils)  # each child once, none lost
    assert not GuardianRecord.objects.filter(account__state=AccountState.CLOSED).exists()


def test_the_same_confirmation_twice_at_once_merges_once_and_tells_both_it_is_done():
    """One proof confirmed by two requests at once (a double click on « Confirmer le
    regroupement »): one merges, the other waits on the locks and finds the other account
    merged into this one — MergeAlreadyDone naming the closed account (the page tells the
    merge's result), not the refusal of an account closed by someone else."""
    (kept, other), pupils = family_accounts(2)
    proof = services.accounts_merge_prove(account=kept, identifier=other.identifier,
                                          password=DEFAULT_PASSWORD)

    def confirm():
        return services.accounts_merge_confirm(account=Account.objects.get(pk=kept.pk),
                                               proof=proof)

    results = in_parallel(confirm, confirm)
    done = [r for r in results if isinstance(r, Account)]
    already = [r for r in results if isinstance(r, services.MergeAlreadyDone)]
    assert len(done) == 1 and len(already) == 1, results
    assert already[0].closed.pk == other.pk
    assert_every_child_once_on_one_open_account(pupils)
