"""Issue 11 §2: a new school's record for a parent whose account is active is attached to that
account by the roster import, without a second account; the family is told once, at its
next sign-in (« Un nouvel enfant a été rattaché à votre compte »)."""

from html import unescape

import pytest
from django.test import Client

from accounts.models import AccountState
from core.journal import EventKind
from core.models import JournalEvent
from pupils.models import GuardianRecord, Pupil
from pupils.roster_import import roster_import
from pupils.selectors import pupils_of_guardian_account
from tests.factories import (
    DEFAULT_PASSWORD,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.pupils.test_roster_import import row, write_roster

pytestmark = pytest.mark.django_db

NOTICE = "Un nouvel enfant a été rattaché à votre compte"
SIGN_IN_URL = "/connexion/representant-legal/"


@pytest.fixture
def parent():
    """Hélène Dupré-Lagarde, active account, one child at an école; the roster of the
    collège (tests.pupils.test_roster_import's DEFAULTS) brings Lucas."""
    account = AccountFactory(identifier="h.duprelagarde1", first_name="Hélène",
                             last_name="Dupré-Lagarde")
    school = EstablishmentFactory(uai="0750009Z", kind="ecole")
    record = GuardianRecordFactory(establishment=school, first_name="Hélène",
                                   last_name="DUPRÉ-LAGARDE", mobile_phone="+33612345678",
                                   email="helene.dupre@example.org", account=account)
    ResponsibilityFactory(guardian_record=record,
                          pupil=PupilFactory(establishment=school, first_names="Zoé"))
    return account


def sign_in(client, account):
    response = client.post(SIGN_IN_URL, {"identifier": account.identifier,
                                         "password": DEFAULT_PASSWORD}, follow=True)
    assert response.status_code == 200
    return unescape(response.content.decode())


def test_a_new_record_for_an_active_parent_is_attached_and_told_once(tmp_path, parent):
    roster_import(path=write_roster(tmp_path, [row()]))
    lucas = Pupil.objects.get(ine="123456789AA")
    assert lucas in pupils_of_guardian_account(parent)
    new_record = GuardianRecord.objects.get(establishment__uai="0750001A")
    assert new_record.account_id == parent.pk
    event = JournalEvent.objects.get(kind=EventKind.CHILDREN_ATTACHED, account=parent)
    assert event.data == {"method": "roster_import", "guardian_record_ids": [new_record.pk]}

    client = Client()
    page = sign_in(client, parent)
    assert NOTICE in page
    assert "Lucas" in page  # « Mes services » lists the new child
    client.post("/deconnexion/")
    assert NOTICE not in sign_in(client, parent)  # once


def test_a_different_email_on_both_sides_is_not_the_same_person(tmp_path, parent):
    roster_import(path=write_roster(tmp_path, [row(responsable_email="autre@example.org")]))
    assert GuardianRecord.objects.get(establishment__uai="0750001A").account_id is None


def test_a_missing_email_on_one_side_still_matches(tmp_path, parent):
    roster_import(path=write_roster(tmp_path, [row(responsable_email="")]))
    assert GuardianRecord.objects.get(establishment__uai="0750001A").account_id == parent.pk


@pytest.mark.parametrize("change", [
    {"responsable_telephone_portable": "06 99 99 99 99"},
    {"responsable_prenom": "Hélèna"},
])
def test_another_number_or_name_attaches_nothing(tmp_path, parent, change):
    roster_import(path=write_roster(tmp_path, [row(**change)]))
    assert GuardianRecord.objects.get(establishment__uai="0750001A").account_id is None
    assert not JournalEvent.objects.filter(kind=EventKind.CHILDREN_ATTACHED).exists()


@pytest.mark.parametrize("state", [AccountState.PROVISIONAL, AccountState.LOCKED,
                                   AccountState.CLOSED])
def test_only_an_active_account_takes_new_records(tmp_path, parent, state):
    parent.state = state
    parent.save()
    roster_import(path=write_roster(tmp_path, [row()]))
    assert GuardianRecord.objects.get(establishment__uai="0750001A").account_id is None


def test_the_same_person_on_two_active_accounts_attaches_to_neither(tmp_path, parent):
    twin = AccountFactory(identifier="h.duprelagarde2", first_name="Hélène",
                          last_name="Dupré-Lagarde")
    GuardianRecordFactory(establishment=EstablishmentFactory(uai="0750008Y"),
                          first_name="Hélène", last_name="DUPRÉ-LAGARDE",
                          mobile_phone="+33612345678", account=twin)
    roster_import(path=write_roster(tmp_path, [row()]))
    assert GuardianRecord.objects.get(establishment__uai="0750001A").account_id is None


def test_a_dry_run_attaches_nothing(tmp_path, parent):
    roster_import(path=write_roster(tmp_path, [row()]), dry_run=True)
    assert not GuardianRecord.objects.filter(establishment__uai="0750001A").exists()
    assert not JournalEvent.objects.filter(kind=EventKind.CHILDREN_ATTACHED).exists()


def test_an_import_never_moves_a_record_it_already_knows(tmp_path, parent):
    roster_import(path=write_roster(tmp_path, [row(responsable_email="autre@example.org")]))
    roster_import(path=write_roster(tmp_path, [row()]))  # the e-mail now agrees
    assert GuardianRecord.objects.get(establishment__uai="0750001A").account_id is None
