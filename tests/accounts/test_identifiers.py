"""Identifiers p.nomNN: format, stem rules, the three-digit overflow, and races."""

import re
import threading
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import connection

from accounts.identifiers import STEM_LAST_NAME_MAX, identifier_candidates, identifier_stem
from accounts.models import Account, AccountKind, AccountState
from accounts.services import (
    account_create,
    identifiers_taken,
    identifiers_taken_many,
    provisional_accounts_create,
)

FORMAT = re.compile(r"^[a-z]\.[a-z0-9]+\d{2,}$")


@pytest.mark.parametrize(
    ("first_name", "last_name", "stem"),
    [
        ("Pierre", "Nom", "p.nom"),
        ("Hélène", "DUPRÉ-LAGARDE", "h.duprelagarde"),  # accents and hyphens
        ("Éloïse", "Lefèvre", "e.lefevre"),  # accented initial
        ("Yasmine", "N'Diaye", "y.ndiaye"),  # apostrophe
        ("Jean", "de La Fontaine", "j.delafontaine"),  # particles kept, spaces removed
        ("Anne", "d’Aubigné", "a.daubigne"),  # typographic apostrophe
        ("Marc", "Van der  Berg", "m.vanderberg"),  # runs of spaces
        ("Œdipe", "Cœur", "o.coeur"),  # ligatures spelled out
        ("Jean-Éric", "Nguyễn", "j.nguyen"),  # compound first name, Vietnamese diacritics
    ],
)
def test_stem_rules(first_name, last_name, stem):
    assert identifier_stem(first_name=first_name, last_name=last_name) == stem


def test_long_last_names_are_truncated():
    stem = identifier_stem(first_name="Marie",
                           last_name="de Saint-Exupéry-Montmorency-Laval")
    assert stem == "m." + "desaintexuperymontmorencylaval"[:STEM_LAST_NAME_MAX]
    assert len(stem) == 2 + STEM_LAST_NAME_MAX


def test_two_digits_first_never_below_ten():
    candidates = identifier_candidates("p.nom", set())
    first = [next(candidates) for _ in range(90)]
    assert {int(c.removeprefix("p.nom")) for c in first} == set(range(10, 100))
    assert all(FORMAT.match(c) for c in first)


@pytest.mark.django_db
def test_created_identifiers_follow_the_format():
    account = account_create(kind=AccountKind.GUARDIAN, first_name="Hélène",
                             last_name="DUPRÉ-LAGARDE", password="Motdepasse1!")
    assert FORMAT.match(account.identifier)
    assert re.fullmatch(r"h\.duprelagarde\d{2}", account.identifier)


@pytest.mark.django_db
def test_three_digits_when_the_two_digit_space_is_full():
    Account.objects.bulk_create(
        Account(identifier=f"p.nom{n}", kind=AccountKind.GUARDIAN) for n in range(10, 100)
    )
    # A longer stem sharing the prefix does not count as taken for p.nom.
    Account.objects.create(identifier="p.nomade10", kind=AccountKind.GUARDIAN)
    assert len(identifiers_taken("p.nom")) == 90

    account = account_create(kind=AccountKind.GUARDIAN, first_name="Paul", last_name="Nom",
                             password=None)
    assert re.fullmatch(r"p\.nom\d{3}", account.identifier)
    assert FORMAT.match(account.identifier)


@pytest.mark.django_db
def test_forced_collision_still_gives_two_identifiers():
    """Both creations read the same free numbers in the same order, as two activations that
    read `taken` at the same moment would: the unique index refuses the loser's first pick
    and it takes the next one."""
    def same_order(stem, taken):
        return iter([f"{stem}10", f"{stem}11", f"{stem}12"])

    with mock.patch("accounts.services.identifiers_taken", return_value=set()), \
            mock.patch("accounts.services.identifier_candidates", side_effect=same_order):
        first = account_create(kind=AccountKind.GUARDIAN, first_name="Rémi",
                               last_name="Course", password=None)
        second = account_create(kind=AccountKind.GUARDIAN, first_name="Rose",
                                last_name="Course", password=None)
    assert first.identifier == "r.course10"
    assert second.identifier == "r.course11"


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creations_on_postgresql_get_distinct_identifiers():
    """Two threads, two connections: both read the taken set before either writes."""
    barrier = threading.Barrier(2, timeout=10)
    real_taken = identifiers_taken

    def taken_then_wait(stem):
        taken = real_taken(stem)
        barrier.wait()
        return taken

    def same_order(stem, taken):
        return iter([f"{stem}{n}" for n in range(10, 20)])

    results, errors = [], []

    def create(first_name):
        try:
            results.append(account_create(kind=AccountKind.GUARDIAN, first_name=first_name,
                                          last_name="Course", password=None).identifier)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with mock.patch("accounts.services.identifiers_taken", side_effect=taken_then_wait), \
            mock.patch("accounts.services.identifier_candidates", side_effect=same_order):
        threads = [threading.Thread(target=create, args=(name,)) for name in ("Rémi", "Rose")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert not errors, errors
    assert sorted(results) == ["r.course10", "r.course11"]


EXPIRES = datetime(2027, 3, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_batch_of_provisional_accounts_gets_distinct_identifiers_and_history():
    """A letter run's batch: one stem four times, and a stem that prefixes another."""
    Account.objects.create(identifier="p.nomade10", kind=AccountKind.GUARDIAN)
    Account.objects.create(identifier="p.nom10", kind=AccountKind.GUARDIAN)
    people = [(AccountKind.PUPIL, "Paul", "Nom"), (AccountKind.GUARDIAN, "Pia", "Nom"),
              (AccountKind.GUARDIAN, "Pierre", "Nom"), (AccountKind.PUPIL, "Pat", "Nom"),
              (AccountKind.PUPIL, "Pam", "Nomade")]
    hashes = [f"argon2$hash{n}" for n in range(len(people))]
    accounts = provisional_accounts_create(people=people, password_hashes=hashes,
                                           expires_at=EXPIRES)

    identifiers = [account.identifier for account in accounts]
    assert len(set(identifiers)) == 5
    assert all(re.fullmatch(r"p\.nom\d{2}", i) for i in identifiers[:4])
    assert re.fullmatch(r"p\.nomade\d{2}", identifiers[4])
    assert "p.nom10" not in identifiers and "p.nomade10" not in identifiers
    stored = {a.identifier: a for a in Account.objects.filter(identifier__in=identifiers)}
    for account, (kind, first_name, _last), hashed in zip(accounts, people, hashes,
                                                         strict=True):
        row = stored[account.identifier]
        assert (row.kind, row.first_name, row.password, row.state,
                row.provisional_expires_at) == (kind, first_name, hashed,
                                                AccountState.PROVISIONAL, EXPIRES)
        assert row.history.filter(history_type="+").count() == 1
    assert identifiers_taken_many(["p.nom", "p.nomade"]) == {"p.nom10", "p.nomade10",
                                                            *identifiers}


@pytest.mark.django_db
def test_batch_whose_identifier_was_taken_meanwhile_is_made_one_by_one():
    """Another activation took r.course10 after the batch read the taken identifiers: the
    batch's INSERT is refused by the unique index and each account is made again, with
    account_create's retry; nothing is lost and no identifier is given twice."""
    Account.objects.create(identifier="r.course10", kind=AccountKind.GUARDIAN)

    def same_order(stem, taken):
        return iter([f"{stem}{n}" for n in range(10, 20) if f"{stem}{n}" not in taken])

    with mock.patch("accounts.services.identifiers_taken_many", side_effect=lambda stems: set()), \
            mock.patch("accounts.services.identifier_candidates", side_effect=same_order):
        accounts = provisional_accounts_create(
            people=[(AccountKind.GUARDIAN, "Rémi", "Course"),
                    (AccountKind.PUPIL, "Rose", "Course")],
            password_hashes=["argon2$a", "argon2$b"], expires_at=EXPIRES)

    assert sorted(a.identifier for a in accounts) == ["r.course11", "r.course12"]
    rows = Account.objects.filter(identifier__in=["r.course11", "r.course12"])
    assert sorted(rows.values_list("password", flat=True)) == ["argon2$a", "argon2$b"]
    assert all(row.provisional_expires_at == EXPIRES for row in rows)
    assert Account.objects.filter(identifier__startswith="r.course").count() == 3


def test_batch_refuses_a_missing_hash():
    with pytest.raises(ValueError, match="one password hash per account"):
        provisional_accounts_create(people=[(AccountKind.PUPIL, "Paul", "Nom")],
                                    password_hashes=[], expires_at=EXPIRES)


@pytest.mark.django_db
def test_one_stem_reads_what_the_many_stems_query_reads(django_assert_num_queries):
    Account.objects.bulk_create(
        Account(identifier=identifier, kind=AccountKind.GUARDIAN)
        for identifier in ("a.b_c10", "a.bxc11", "a.b_c12x", "a.b_c", "a.b%c13", "a.b_c99"))
    for stem in ("a.b_c", "a.b%c", "a.bxc", "z.none"):
        with django_assert_num_queries(1):
            taken = identifiers_taken(stem)
        assert taken == identifiers_taken_many([stem])
    assert identifiers_taken("a.b_c") == {"a.b_c10", "a.b_c99"}
