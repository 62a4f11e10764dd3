"""A pupil's academy column (pupils 0017: the helpdesk's search of a child's name starts from
it) always says its establishment's academy, whoever writes the pupil: the ORM, a bulk
insert, a roster import, an UPDATE in SQL, or an establishment moved to another academy.
Each test ends by comparing the column with the join it copies."""

import datetime

import pytest
from django.db import connection

from backoffice.selectors import StaffScope, pupils_search
from backoffice.selectors import search_query_parse as parse
from pupils.models import Establishment, Pupil
from tests.factories import AcademyFactory, EstablishmentFactory, PupilFactory
from tests.pupils.test_roster_import import row, run_import, write_roster

pytestmark = pytest.mark.django_db


def assert_academy_follows_establishment() -> None:
    """No pupil whose academy column differs from its establishment's academy."""
    wrong = [(pupil.pk, pupil.academy_id, pupil.establishment.academy_id)
             for pupil in Pupil.objects.select_related("establishment")
             if pupil.academy_id != pupil.establishment.academy_id]
    assert wrong == []
    assert Pupil.objects.exists()


def test_a_pupil_created_by_the_orm_gets_its_schools_academy():
    creteil = AcademyFactory(name="Créteil")
    pupil = PupilFactory(establishment=EstablishmentFactory(academy=creteil))

    assert pupil.academy_id == creteil.pk
    pupil.refresh_from_db()
    assert pupil.academy_id == creteil.pk
    assert_academy_follows_establishment()


@pytest.mark.needs_postgres
def test_a_bulk_insert_that_does_not_name_the_academy_gets_it_from_the_database():
    school = EstablishmentFactory(academy=AcademyFactory(name="Lyon"))
    Pupil.objects.bulk_create([
        Pupil(establishment=school, ine="123456789AB", last_name="Moreau",
              first_names="Lucas", birth_date=datetime.date(2013, 5, 1)),
    ])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pupils_pupil (ine, last_name, first_names, birth_date, level, "
            "division, establishment_id, national_id, academy_code) "
            "VALUES ('223456789AB', 'Petit', 'Léa', '2013-06-01', '', '', %s, '', '')",
            [school.pk])

    assert set(Pupil.objects.values_list("academy__name", flat=True)) == {"Lyon"}
    assert_academy_follows_establishment()


@pytest.mark.needs_postgres
def test_a_wrong_academy_written_in_sql_is_put_right():
    lyon = AcademyFactory(name="Lyon")
    pupil = PupilFactory(establishment=EstablishmentFactory(
        academy=AcademyFactory(name="Créteil")))

    Pupil.objects.filter(pk=pupil.pk).update(academy=lyon)

    pupil.refresh_from_db()
    assert pupil.academy.name == "Créteil"
    assert_academy_follows_establishment()


@pytest.mark.needs_postgres
def test_a_school_moved_to_another_academy_takes_its_pupils_and_their_search_along():
    creteil, versailles = AcademyFactory(name="Créteil"), AcademyFactory(name="Versailles")
    moved = EstablishmentFactory(academy=creteil)
    stays = EstablishmentFactory(academy=creteil)
    PupilFactory.create_batch(3, establishment=moved, last_name="Moreau")
    PupilFactory(establishment=stays, last_name="Moreau")

    Establishment.objects.filter(pk=moved.pk).update(academy=versailles)

    assert Pupil.objects.filter(academy=versailles).count() == 3
    assert Pupil.objects.filter(academy=creteil).count() == 1
    assert_academy_follows_establishment()
    for academy, count in ((versailles, 3), (creteil, 1)):
        found = pupils_search(query=parse("moreau"), scope=StaffScope(academy_id=academy.pk),
                              limit=51)
        assert len(found) == count


def test_a_roster_import_writes_the_academy_of_each_pupil_and_moves_it_with_the_school(
        tmp_path):
    status, _ = run_import(write_roster(tmp_path, [
        row(),
        row(uai="9740001X", etablissement="Collège Leconte-de-Lisle", academie="La Réunion",
            ine="323456789AC", responsable_nom="Payet", responsable_prenom="Jean",
            responsable_telephone_portable="06 92 12 34 56", responsable_email=""),
    ], name="avant.csv"))
    assert status == 0
    assert set(Pupil.objects.values_list("academy__name", flat=True)) == {"Paris",
                                                                          "La Réunion"}
    assert_academy_follows_establishment()

    # The next year's file puts the first school in Créteil.
    status, _ = run_import(write_roster(tmp_path, [row(academie="Créteil")], name="apres.csv"))

    assert status == 0
    assert set(Pupil.objects.values_list("academy__name", flat=True)) == {"Créteil",
                                                                          "La Réunion"}
    assert_academy_follows_establishment()
