"""The school's fixes as services (pupils.services): the rules hold for every caller, each call
is one transaction that writes all or nothing, journaled with its author, kept by
simple-history with the author and a reason."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import RequestFactory

from accounts.models import AccountKind
from core.models import JournalEvent
from pupils import services
from pupils.models import GuardianRecord, Pupil, Responsibility, ResponsibilityStatus
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return AccountFactory(identifier="s.martin10", kind=AccountKind.STAFF, is_staff=True)


@pytest.fixture
def school():
    return EstablishmentFactory(uai="0940001A", name="Collège Jules-Ferry")


@pytest.fixture
def other_school():
    return EstablishmentFactory(uai="0940002B", name="École Les Lilas")


@pytest.fixture
def request_from():
    return RequestFactory().post("/gestion/", REMOTE_ADDR="192.0.2.7")


def events(kind):
    return list(JournalEvent.objects.filter(kind=kind).order_by("id"))


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Guardian records: contact ---------------------------------------------------------------


def test_contact_fix_reads_the_number_in_the_school_region_and_journals_facts_only(
    staff, request_from
):
    reunion = EstablishmentFactory(uai="9740010Z", name="Collège Bourbon")
    guardian = AccountFactory(identifier="m.payet10")
    record = GuardianRecordFactory(establishment=reunion, mobile_phone="", account=guardian)

    stored = services.guardian_record_contact_update(
        guardian_record=record, mobile_phone="0692 12 34 56", email=" Marie.Payet@Exemple.RE ",
        actor=staff, request=request_from,
    )

    record.refresh_from_db()
    assert str(record.mobile_phone) == "+262692123456" == str(stored.mobile_phone)
    assert record.email == "marie.payet@exemple.re"
    change = record.history.latest()
    assert change.history_user == staff
    assert change.history_change_reason == (
        "Coordonnées d'une fiche responsable corrigées par l'établissement"
    )
    [event] = events("pupils.guardian_contact_updated")
    assert (event.actor, event.account, event.ip_address) == (staff, guardian, "192.0.2.7")
    assert event.data == {"guardian_record": record.pk, "establishment": "9740010Z",
                          "changed": ["mobile_phone", "email"]}


def test_contact_fix_refuses_bad_values_naming_each_field_and_writes_nothing(staff, school):
    record = GuardianRecordFactory(establishment=school, mobile_phone="+33611223344",
                                   email="marie@exemple.fr")
    with pytest.raises(ValidationError) as excinfo:
        services.guardian_record_contact_update(
            guardian_record=record, mobile_phone="01 23 45 67 89", email="marie@", actor=staff
        )
    assert errors_of(excinfo) == {
        "mobile_phone": ["Téléphone portable : Ce numéro n'est pas un numéro de téléphone "
                         "portable valide. Saisissez un numéro de portable, par exemple 06 12 34 "
                         "56 78, ou avec l'indicatif pour un numéro hors de France "
                         "métropolitaine, par exemple +262 692 12 34 56."],
        "email": ["Adresse mail : saisissez une adresse valide, par exemple "
                  "prenom.nom@exemple.fr."],
    }
    # A good phone with a bad email: neither is written.
    with pytest.raises(ValidationError):
        services.guardian_record_contact_update(
            guardian_record=record, mobile_phone="07 98 76 54 32", email="marie@", actor=staff
        )
    record.refresh_from_db()
    assert (str(record.mobile_phone), record.email) == ("+33611223344", "marie@exemple.fr")
    assert record.history.count() == 1
    assert not JournalEvent.objects.exists()


def test_contact_fix_that_changes_nothing_writes_nothing(staff, school):
    record = GuardianRecordFactory(establishment=school, mobile_phone="+33611223344",
                                   email="Marie.Dupont@exemple.fr")
    services.guardian_record_contact_update(guardian_record=record,
                                            mobile_phone="06 11 22 33 44",
                                            email="marie.dupont@exemple.fr", actor=staff)
    assert record.history.count() == 1
    assert not JournalEvent.objects.exists()


def test_clearing_the_contact_is_a_change(staff, school):
    record = GuardianRecordFactory(establishment=school, mobile_phone="+33611223344")
    services.guardian_record_contact_update(guardian_record=record, mobile_phone="", email="",
                                            actor=staff)
    record.refresh_from_db()
    assert not record.mobile_phone
    assert events("pupils.guardian_contact_updated")[0].data["changed"] == ["mobile_phone"]


# --- Pupils ----------------------------------------------------------------------------------


def test_pupil_fix_normalises_names_and_journals_on_the_pupils_account(staff, school):
    own_account = AccountFactory(identifier="z.lefevre10", kind=AccountKind.PUPIL)
    pupil = PupilFactory(establishment=school, last_name="Lefèvre", first_names="Zoé",
                         birth_date=datetime.date(2013, 4, 2), account=own_account)
    services.pupil_update(pupil=pupil, last_name=" Lefèvre ", first_names="Zoé   Marie",
                          birth_date=datetime.date(2013, 4, 12), actor=staff)
    pupil.refresh_from_db()
    assert (pupil.first_names, pupil.birth_date) == ("Zoé Marie", datetime.date(2013, 4, 12))
    [event] = events("pupils.pupil_updated")
    assert (event.account, event.actor) == (own_account, staff)
    assert event.data["changed"] == ["first_names", "birth_date"]
    assert pupil.history.latest().history_user == staff


def test_pupil_fix_refuses_everything_at_once_and_writes_nothing(staff, school):
    pupil = PupilFactory(establishment=school, birth_date=datetime.date(2013, 4, 2))
    with pytest.raises(ValidationError) as excinfo:
        services.pupil_update(pupil=pupil, last_name="--", first_names="x" * 201,
                              birth_date=datetime.date(2099, 1, 1), actor=staff)
    assert errors_of(excinfo) == {
        "last_name": ["Nom : saisissez le nom de l'élève."],
        "first_names": ["Prénoms : saisissez au plus 200 caractères."],
        "birth_date": ["Date de naissance : la date « 01/01/2099 » est dans le futur ; "
                       "vérifiez l'année."],
    }
    pupil.refresh_from_db()
    assert pupil.birth_date == datetime.date(2013, 4, 2)
    assert pupil.history.count() == 1 and not JournalEvent.objects.exists()


# --- Links: the same-school rule ------------------------------------------------------------


def test_a_link_joins_a_record_and_a_pupil_of_the_same_school(staff, school, request_from):
    guardian = AccountFactory(identifier="m.dupont10")
    record = GuardianRecordFactory(establishment=school, account=guardian)
    pupil = PupilFactory(establishment=school)

    link = services.responsibility_add(guardian_record=record, pupil=pupil,
                                       is_legal_representative=False, actor=staff,
                                       request=request_from)

    assert (link.status, link.is_legal_representative) == (ResponsibilityStatus.ACTIVE, False)
    history = link.history.get()
    assert history.history_user == staff
    assert history.history_change_reason == "Lien responsable–élève ajouté par l'établissement"
    [event] = events("pupils.link_added")
    assert (event.account, event.actor, event.ip_address) == (guardian, staff, "192.0.2.7")
    assert event.data == {"link": link.pk, "guardian_record": record.pk, "pupil": pupil.pk,
                          "establishment": "0940001A", "is_legal_representative": False}


@pytest.mark.parametrize("chosen", ["pupil", "guardian_record"])
def test_a_link_across_two_schools_is_refused_for_every_caller(staff, school, other_school,
                                                               chosen):
    record = GuardianRecordFactory(establishment=school)
    pupil = PupilFactory(establishment=other_school)
    with pytest.raises(ValidationError) as excinfo:
        services.responsibility_add(guardian_record=record, pupil=pupil,
                                    is_legal_representative=True, actor=staff, chosen=chosen)
    [message] = errors_of(excinfo)[chosen]
    if chosen == "pupil":
        assert message.startswith("Élève : choisissez un élève de l'établissement de cette "
                                  "fiche responsable (Collège Jules-Ferry (0940001A)).")
    else:
        assert message.startswith("Responsable : choisissez une fiche responsable de "
                                  "l'établissement de l'élève (École Les Lilas (0940002B)).")
    assert not Responsibility.objects.exists()
    assert not JournalEvent.objects.exists()


def test_a_second_link_between_the_same_pair_says_to_open_the_first(staff, school):
    link = ResponsibilityFactory(guardian_record=GuardianRecordFactory(establishment=school),
                                 status=ResponsibilityStatus.REMOVED)
    with pytest.raises(ValidationError) as excinfo:
        services.responsibility_add(guardian_record=link.guardian_record, pupil=link.pupil,
                                    is_legal_representative=True, actor=staff)
    assert "Ce lien existe déjà" in errors_of(excinfo)["pupil"][0]
    assert Responsibility.objects.count() == 1


# --- Links: states and « représentant légal » ------------------------------------------------


@pytest.fixture
def link(school):
    guardian = AccountFactory(identifier="m.dupont11")
    return ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=school, account=guardian)
    )


def test_remove_then_restore_are_journaled_with_the_states(staff, link):
    services.responsibility_remove(responsibility=link, actor=staff)
    link.refresh_from_db()
    assert link.status == ResponsibilityStatus.REMOVED
    [removed] = events("pupils.link_removed")
    assert (removed.data["status_before"], removed.data["status_after"]) == ("Actif", "Retiré")
    assert removed.account == link.guardian_record.account

    services.responsibility_update(responsibility=link, status=ResponsibilityStatus.ACTIVE,
                                   actor=staff)
    link.refresh_from_db()
    assert link.status == ResponsibilityStatus.ACTIVE
    assert len(events("pupils.link_restored")) == 1
    reasons = list(link.history.order_by("history_id").values_list("history_change_reason",
                                                                   flat=True))
    assert reasons == [None, "Lien responsable–élève retiré par l'établissement",
                       "Lien responsable–élève rétabli par l'établissement"]


def test_setting_the_same_state_again_writes_nothing(staff, link):
    services.responsibility_update(responsibility=link, status=ResponsibilityStatus.ACTIVE,
                                   is_legal_representative=True, actor=staff)
    assert link.history.count() == 1 and not JournalEvent.objects.exists()


def test_legal_representative_flag(staff, link):
    services.responsibility_set_legal(responsibility=link, is_legal_representative=False,
                                      actor=staff)
    link.refresh_from_db()
    assert not link.is_legal_representative
    [event] = events("pupils.link_legal_changed")
    assert event.data["is_legal_representative"] is False
    assert link.history.latest().history_user == staff


def test_the_school_cannot_dispute_a_link_in_the_guardians_place(staff, link):
    with pytest.raises(ValidationError) as excinfo:
        services.responsibility_update(responsibility=link, status=ResponsibilityStatus.DISPUTED,
                                       is_legal_representative=False, actor=staff)
    assert errors_of(excinfo)["status"][0].startswith(
        "État : seul le responsable peut contester un lien"
    )
    link.refresh_from_db()
    # One transaction: the flag asked in the same call is not written either.
    assert (link.status, link.is_legal_representative) == (ResponsibilityStatus.ACTIVE, True)
    assert not JournalEvent.objects.exists()


@pytest.mark.parametrize(("keep", "status"), [(True, "active"), (False, "removed")])
def test_a_disputed_link_is_kept_or_removed(staff, link, keep, status):
    Responsibility.objects.filter(pk=link.pk).update(status=ResponsibilityStatus.DISPUTED)
    services.responsibility_dispute_resolve(responsibility=link, keep=keep, actor=staff)
    link.refresh_from_db()
    assert link.status == status
    [event] = events("pupils.link_dispute_resolved")
    assert event.data["kept"] is keep
    assert event.data["status_before"] == "Contesté par le responsable"


def test_only_a_disputed_link_can_be_resolved(staff, link):
    with pytest.raises(ValidationError) as excinfo:
        services.responsibility_dispute_resolve(responsibility=link, keep=False, actor=staff)
    assert "ce lien n'est pas contesté (état « Actif »)" in errors_of(excinfo)["status"][0]
    link.refresh_from_db()
    assert link.status == ResponsibilityStatus.ACTIVE


def test_a_service_inside_a_failing_transaction_leaves_no_trace(staff, link):
    # The caller's transaction (an admin page, a bulk action) fails after the service ran:
    # the link, its history row and its journal event go together.
    with pytest.raises(RuntimeError), transaction.atomic():
        services.responsibility_remove(responsibility=link, actor=staff)
        raise RuntimeError("the page failed later")
    link.refresh_from_db()
    assert link.status == ResponsibilityStatus.ACTIVE
    assert link.history.count() == 1 and not JournalEvent.objects.exists()


# --- Concurrency (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_secretaries_adding_the_same_link_at_once_make_one_link(staff, school):
    """The second writer waits on the pupil's row lock, then sees the link the first one
    made: one link, one journal event, the other gets the French refusal."""
    record = GuardianRecordFactory(establishment=school)
    pupil = PupilFactory(establishment=school)
    holding, release = threading.Event(), threading.Event()
    outcome = {}

    def first():
        try:
            with transaction.atomic():
                Pupil.objects.select_for_update().get(pk=pupil.pk)  # what the service locks
                holding.set()
                release.wait(10)
                services.responsibility_add(guardian_record=record, pupil=pupil,
                                            is_legal_representative=True, actor=staff)
        finally:
            connection.close()

    def second():
        try:
            services.responsibility_add(guardian_record=record, pupil=pupil,
                                        is_legal_representative=True, actor=staff)
            outcome["second"] = "added"
        except ValidationError as error:
            outcome["second"] = error.message_dict["pupil"][0]
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)
    assert two.is_alive()  # waiting on the lock
    release.set()
    one.join(10)
    two.join(10)
    assert outcome["second"].startswith("Ce lien existe déjà")
    assert Responsibility.objects.filter(guardian_record=record, pupil=pupil).count() == 1
    assert JournalEvent.objects.filter(kind="pupils.link_added").count() == 1
    assert GuardianRecord.objects.filter(pk=record.pk).exists()


def test_the_unique_constraint_is_the_last_word_and_speaks_french(staff, school, monkeypatch):
    # When a concurrent writer inserted the pair after the check, the database refuses the
    # second insert; the service turns it into the same French refusal.
    link = ResponsibilityFactory(guardian_record=GuardianRecordFactory(establishment=school))
    monkeypatch.setattr(services, "responsibility_add_validate", lambda **kwargs: None)
    with pytest.raises(ValidationError) as excinfo:
        services.responsibility_add(guardian_record=link.guardian_record, pupil=link.pupil,
                                    is_legal_representative=True, actor=staff)
    assert errors_of(excinfo)["pupil"][0].startswith("Ce lien existe déjà")
    assert Responsibility.objects.count() == 1
    assert not JournalEvent.objects.exists()
