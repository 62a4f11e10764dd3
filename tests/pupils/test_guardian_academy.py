"""Issue 14: a guardian record's academy column always says its establishment's academy,
whoever writes the record: the ORM, a bulk insert, a roster import, an UPDATE in SQL, or
an establishment moved to another academy. Each test ends by comparing the column with the
join it copies (`assert_academy_follows_establishment`)."""

import pytest
from django.db import connection

from backoffice.selectors import StaffScope, records_search
from backoffice.selectors import search_query_parse as parse
from pupils.models import Establishment, GuardianRecord
from tests.factories import AcademyFactory, EstablishmentFactory, GuardianRecordFactory
from tests.pupils.test_roster_import import row, run_import, write_roster

pytestmark = pytest.mark.django_db


def assert_academy_follows_establishment() -> None:
    """No record whose academy column differs from its establishment's academy."""
    wrong = [
        (record.pk, record.academy_id, record.establishment.academy_id)
        for record in GuardianRecord.objects.select_related("establishment")
        if record.academy_id != record.establishment.academy_id
    ]
    assert wrong == []
    assert GuardianRecord.objects.exists()


def test_a_record_created_by_the_orm_gets_its_schools_academy():
    creteil = AcademyFactory(name="Créteil")
    record = GuardianRecordFactory(establishment=EstablishmentFactory(academy=creteil))

    assert record.academy_id == creteil.pk
    record.refresh_from_db()
    assert record.academy_id == creteil.pk
    assert_academy_follows_establishment()


@pytest.mark.needs_postgres
def test_a_bulk_insert_that_does_not_name_the_academy_gets_it_from_the_database():
    school = EstablishmentFactory(academy=AcademyFactory(name="Lyon"))
    GuardianRecord.objects.bulk_create([
        GuardianRecord(establishment=school, last_name="Martin", first_name="Marie",
                       last_name_key="martin", first_name_key="marie"),
    ])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pupils_guardianrecord (establishment_id, civility, last_name, "
            "first_name, last_name_key, first_name_key, mobile_phone, email) "
            "VALUES (%s, 'M.', 'Petit', 'Jean', 'petit', 'jean', '', '')", [school.pk])

    assert set(GuardianRecord.objects.values_list("academy__name", flat=True)) == {"Lyon"}
    assert_academy_follows_establishment()


@pytest.mark.needs_postgres
def test_a_wrong_academy_written_in_sql_is_put_right():
    lyon = AcademyFactory(name="Lyon")
    record = GuardianRecordFactory(establishment=EstablishmentFactory(
        academy=AcademyFactory(name="Créteil")))

    GuardianRecord.objects.filter(pk=record.pk).update(academy=lyon)

    record.refresh_from_db()
    assert record.academy.name == "Créteil"
    assert_academy_follows_establishment()


@pytest.mark.needs_postgres
def test_a_school_moved_to_another_academy_takes_its_records_and_their_search_along():
    creteil, versailles = AcademyFactory(name="Créteil"), AcademyFactory(name="Versailles")
    moved = EstablishmentFactory(academy=creteil)
    stays = EstablishmentFactory(academy=creteil)
    GuardianRecordFactory.create_batch(3, establishment=moved, last_name="Martin")
    GuardianRecordFactory(establishment=stays, last_name="Martin")

    Establishment.objects.filter(pk=moved.pk).update(academy=versailles)

    assert GuardianRecord.objects.filter(academy=versailles).count() == 3
    assert GuardianRecord.objects.filter(academy=creteil).count() == 1
    assert_academy_follows_establishment()
    # Versailles' agent now finds the moved school's Martins; Créteil's agent the other one.
    for academy, count in ((versailles, 3), (creteil, 1)):
        found = list(records_search(query=parse("martin"),
                                    scope=StaffScope(academy_id=academy.pk), limit=51))
        assert len(found) == count


def test_a_roster_that_moves_a_school_to_another_academy_moves_its_records(tmp_path):
    status, _ = run_import(write_roster(tmp_path, [row()], name="avant.csv"))
    assert status == 0
    assert set(GuardianRecord.objects.values_list("academy__name", flat=True)) == {"Paris"}

    # The next year's file puts the school in Créteil, and brings a second family.
    status, _ = run_import(write_roster(tmp_path, [
        row(academie="Créteil"),
        row(academie="Créteil", ine="223456789AB", responsable_nom="Martin",
            responsable_prenom="Karim", responsable_telephone_portable="06 98 76 54 32",
            responsable_email=""),
    ], name="apres.csv"))

    assert status == 0
    assert GuardianRecord.objects.count() == 2
    assert set(GuardianRecord.objects.values_list("academy__name", flat=True)) == {"Créteil"}
    assert_academy_follows_establishment()


def test_a_roster_import_writes_the_academy_of_each_new_record(tmp_path):
    status, _ = run_import(write_roster(tmp_path, [
        row(),
        row(uai="9740001X", etablissement="Collège Leconte-de-Lisle", academie="La Réunion",
            ine="323456789AC", responsable_nom="Payet", responsable_prenom="Jean",
            responsable_telephone_portable="06 92 12 34 56", responsable_email=""),
    ]))

    assert status == 0
    assert dict(GuardianRecord.objects.values_list("last_name", "academy__name")) == {
        "DUPRÉ-LAGARDE": "Paris", "Payet": "La Réunion"}
    assert_academy_follows_establishment()
