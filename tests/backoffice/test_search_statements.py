"""The helpdesk search's statements written once per process (issue 14) give what the ORM
gives: for an academy's agent on PostgreSQL, the pupils' guardians
(`_guardian_links_set`) and the accounts' schools (`_attach_schools`) come from SQL written
by hand, which must read the same rows, in the same order, with the same values and
relations as the ORM's querysets they replace — and nothing of another academy."""

import pytest
from django.db import connection
from django.db.models import prefetch_related_objects
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountState
from backoffice.selectors import (
    StaffScope,
    _attach_schools,
    _guardian_links_prefetch,
    _guardian_links_set,
)
from pupils.models import Pupil
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the statements written by hand are PostgreSQL's"),
]


@pytest.fixture
def family(world):
    """Two pupils of collège Jules-Ferry (Créteil) with guardians in every state a list
    shows: a legal representative with an account (locked), one without, another guardian
    (not a legal representative), a disputed link and a removed one; the father's account
    also covers a record in Lyon (another academy)."""
    school = world.a1
    emma = PupilFactory(establishment=school, ine="777777777GG", last_name="Roux",
                        first_names="Emma")
    noah = PupilFactory(establishment=school, ine="888888888HH", last_name="Roux",
                        first_names="Noah")
    father_account = AccountFactory(identifier="j.roux3", first_name="Jean", last_name="Roux",
                                    state=AccountState.LOCKED)
    father = GuardianRecordFactory(establishment=school, last_name="Roux", first_name="Jean",
                                   account=father_account)
    GuardianRecordFactory(establishment=world.b1, last_name="Roux", first_name="Jean",
                          account=father_account)
    mother = GuardianRecordFactory(establishment=school, last_name="Abadie", first_name="Inès")
    aunt = GuardianRecordFactory(establishment=school, last_name="Abadie", first_name="Agathe")
    gone = GuardianRecordFactory(establishment=school, last_name="Zola", first_name="Émile")
    for pupil in (emma, noah):
        ResponsibilityFactory(guardian_record=father, pupil=pupil)
        ResponsibilityFactory(guardian_record=mother, pupil=pupil,
                              status="disputed" if pupil is noah else "active")
    ResponsibilityFactory(guardian_record=aunt, pupil=emma, is_legal_representative=False)
    ResponsibilityFactory(guardian_record=gone, pupil=emma, status="removed")
    return [emma, noah, world.pupil_a1, world.pupil_a1_bis]


def _shown(pupils) -> list:
    """What the helpdesk's list shows of each pupil's guardians, and the relations it uses."""
    return [[(link.pk, link.pupil_id, link.pupil is pupil, link.is_legal_representative,
              link.status, link.guardian_record_id, link.guardian_record.last_name,
              link.guardian_record.first_name, link.guardian_record.establishment_id,
              link.guardian_record.account and (link.guardian_record.account.pk,
                                                link.guardian_record.account.identifier,
                                                link.guardian_record.account.state))
             for link in pupil.guardian_links] for pupil in pupils]


def test_the_academys_guardian_links_are_those_of_the_orms_prefetch(world, family):
    scope = StaffScope(academy_id=world.academy_a.pk)
    ids = [pupil.pk for pupil in family]
    by_orm = sorted(Pupil.objects.filter(pk__in=ids), key=lambda p: ids.index(p.pk))
    prefetch_related_objects(by_orm, _guardian_links_prefetch(scope))
    written = sorted(Pupil.objects.filter(pk__in=ids), key=lambda p: ids.index(p.pk))

    with CaptureQueriesContext(connection) as queries:
        _guardian_links_set(written, scope)
        shown = _shown(written)

    assert len(queries) == 1, [q["sql"] for q in queries]
    assert shown == _shown(by_orm)
    emma = shown[0]
    # Legal representatives first, by name; the removed link left out.
    assert [(row[6], row[7], row[3], row[4]) for row in emma] == [
        ("Abadie", "Inès", True, "active"), ("Roux", "Jean", True, "active"),
        ("Abadie", "Agathe", False, "active")]
    assert emma[1][9] == (family[0].responsibilities.get(
        guardian_record__first_name="Jean").guardian_record.account_id, "j.roux3", "locked")


def test_the_academys_agent_sees_the_accounts_schools_of_her_academy_only(world, family):
    father_account = family[0].responsibilities.get(
        guardian_record__first_name="Jean").guardian_record.account
    pupil_account = AccountFactory(identifier="z.lefevre2", first_name="Zoé",
                                   last_name="Lefèvre")
    Pupil.objects.filter(pk=world.pupil_a2.pk).update(account=pupil_account)
    accounts = [father_account, world.account_a1, world.account_b1, pupil_account]

    with CaptureQueriesContext(connection) as queries:
        _attach_schools(accounts, StaffScope(academy_id=world.academy_a.pk))

    assert len(queries) == 2
    assert [[school.uai for school in account.schools] for account in accounts] == [
        ["0940001A"], ["0940001A"], [], ["0940002B"]]
    # The ORM's queries of a scope given as the academy's schools list the same.
    by_schools = [type(account).objects.get(pk=account.pk) for account in accounts]
    _attach_schools(by_schools, StaffScope(establishment_ids=frozenset(
        {world.a1.pk, world.a2.pk, EstablishmentFactory(academy=world.academy_a).pk})))
    assert ([[school.pk for school in account.schools] for account in by_schools]
            == [[school.pk for school in account.schools] for account in accounts])
