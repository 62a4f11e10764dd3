"""Identifiers p.nomNN: format, stem rules, the three-digit overflow, and races."""

import re
import threading
from unittest import mock

import pytest
from django.db import connection

from accounts.identifiers import STEM_LAST_NAME_MAX, identifier_candidates, identifier_stem
from accounts.models import Account, AccountKind
from accounts.services import account_create, identifiers_taken

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
