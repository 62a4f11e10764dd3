"""The activation's reads written in SQL once per process (activation.selectors) give the
rows of the ORM queries they replace, in the same order (issue 14)."""

import datetime

import pytest
from django.db.models import Exists, OuterRef

from activation.selectors import (
    ACTIVATING_LINK,
    ROSTER_NUMBER_PROVES,
    guardian_records_matching,
    pupil_links_for_records,
)
from core.normalization import name_key
from pupils.models import GuardianRecord, Responsibility, ResponsibilityStatus
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    """Two schools; one guardian known to both, with four links of every kind, a pupil
    linked through both records, and a namesake with another number."""
    school_b = EstablishmentFactory(uai="0750002B", name="Collège Bernard")
    school_a = EstablishmentFactory(uai="0750001A", name="École Arago")
    first = GuardianRecordFactory(establishment=school_a, last_name="DUBOIS",
                                  first_name="Léa", mobile_phone="+33612345678")
    second = GuardianRecordFactory(establishment=school_b, last_name="Dubois",
                                   first_name="LEA", mobile_phone="+33612345678")
    other = GuardianRecordFactory(establishment=school_a, last_name="DUBOIS",
                                  first_name="Léa", mobile_phone="+33612345679")
    born = datetime.date(2014, 5, 2)
    twins = [PupilFactory(establishment=school_a, birth_date=born) for _ in range(2)]
    elder = PupilFactory(establishment=school_b, birth_date=datetime.date(2011, 1, 1))
    not_legal = PupilFactory(establishment=school_a)
    ended = PupilFactory(establishment=school_b)
    for pupil in twins:
        ResponsibilityFactory(guardian_record=first, pupil=pupil)
    ResponsibilityFactory(guardian_record=second, pupil=elder)
    ResponsibilityFactory(guardian_record=first, pupil=elder)
    ResponsibilityFactory(guardian_record=first, pupil=not_legal, is_legal_representative=False)
    ResponsibilityFactory(guardian_record=second, pupil=ended,
                          status=ResponsibilityStatus.DISPUTED)
    ResponsibilityFactory(guardian_record=other)
    return [first, second, other]


def _orm_matching(*, phone, last_name, first_name):
    active_link = Responsibility.objects.filter(ACTIVATING_LINK, guardian_record=OuterRef("pk"))
    return list(
        GuardianRecord.objects.filter(mobile_phone=phone, last_name_key=name_key(last_name),
                                      first_name_key=name_key(first_name))
        .filter(ROSTER_NUMBER_PROVES)
        .filter(Exists(active_link)).order_by("pk").values_list("pk", flat=True))


@pytest.mark.parametrize(("phone", "last_name", "first_name"), [
    ("+33612345678", "dubois", "lea"),
    ("+33612345679", "Dubois", "Léa"),
    ("+33612345678", "Dubois", "Lena"),
    ("+33699999999", "Dubois", "Léa"),
])
def test_step_one_matching_reads_what_the_orm_query_reads(records, phone, last_name,
                                                          first_name):
    found = guardian_records_matching(phone=phone, last_name=last_name, first_name=first_name)
    assert found == _orm_matching(phone=phone, last_name=last_name, first_name=first_name)


@pytest.mark.parametrize(("phone", "verified", "matched"), [
    ("+33698765432", True, False),  # replaced in « Mon compte »: the roster's proves nothing
    ("+33698765432", False, True),  # never proven: the roster's still proves
    ("+33612345678", True, True),  # the roster's own number
    ("", False, True),  # the school's letter, e-mail only
])
def test_step_one_leaves_out_a_number_the_records_account_replaced_as_the_orm_query_does(
        records, django_assert_num_queries, phone, verified, matched):
    from tests.factories import AccountFactory

    first, second, _ = records
    account = AccountFactory(phone=phone, phone_verified=verified)
    GuardianRecord.objects.filter(pk=first.pk).update(account=account)
    with django_assert_num_queries(1):
        found = guardian_records_matching(phone="+33612345678", last_name="Dubois",
                                          first_name="Léa")
    assert found == _orm_matching(phone="+33612345678", last_name="Dubois", first_name="Léa")
    # The uncovered record of the other school still matches: its roster's number proves.
    assert found == ([first.pk, second.pk] if matched else [second.pk])


def test_step_one_matching_is_one_query_for_a_match_and_a_non_match(
        records, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert guardian_records_matching(phone="+33612345678", last_name="Dubois",
                                         first_name="Léa")
    with django_assert_num_queries(1):
        assert not guardian_records_matching(phone="+33699999999", last_name="Dubois",
                                             first_name="Léa")


def test_the_pupils_of_step_three_are_those_of_the_orm_query_in_its_order(
        records, django_assert_num_queries):
    ids = [records[0].pk, records[1].pk]
    with django_assert_num_queries(1):
        links = pupil_links_for_records(ids)
    expected: dict[int, list[Responsibility]] = {}
    for link in (Responsibility.objects.filter(ACTIVATING_LINK, guardian_record_id__in=ids)
                 .select_related("pupil__establishment")
                 .order_by("pupil__establishment__name", "pupil__birth_date", "pupil_id",
                           "pk")):
        expected.setdefault(link.pupil_id, []).append(link)
    assert [link.pupil.pk for link in links] == list(expected)
    for link, rows in zip(links, expected.values(), strict=True):
        assert link.responsibility_ids == tuple(r.pk for r in rows)
        assert link.record_ids == tuple(sorted({r.guardian_record_id for r in rows}))
        assert link.pupil.birth_date == rows[0].pupil.birth_date
        assert link.establishment_name == rows[0].pupil.establishment.name
        assert link.first_name == rows[0].pupil.first_name
    # The pupil linked through both records is shown once, with both links.
    assert any(len(link.record_ids) == 2 for link in links)
    assert pupil_links_for_records([]) == []


def test_the_accounts_covering_records_are_those_of_the_orm_query(records):
    from accounts.models import Account, AccountState
    from activation.selectors import COVERING_STATES, accounts_covering
    from tests.factories import AccountFactory

    first, second, other = records
    active = AccountFactory(state=AccountState.ACTIVE, phone="+33612345678")
    locked = AccountFactory(state=AccountState.LOCKED)
    provisional = AccountFactory(state=AccountState.PROVISIONAL)
    GuardianRecord.objects.filter(pk=first.pk).update(account=active)
    GuardianRecord.objects.filter(pk=second.pk).update(account=locked)
    GuardianRecord.objects.filter(pk=other.pk).update(account=provisional)
    ids = [first.pk, second.pk, other.pk]
    found = accounts_covering(ids)
    expected = list(Account.objects.filter(guardian_records__pk__in=ids,
                                           state__in=COVERING_STATES).distinct().order_by("pk"))
    assert found == expected == sorted([active, locked], key=lambda a: a.pk)
    assert [(a.identifier, a.state, a.phone) for a in found] == [
        (a.identifier, a.state, a.phone) for a in expected]
    assert accounts_covering([other.pk]) == [] and accounts_covering([]) == []
