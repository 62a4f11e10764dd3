"""The roster's optional columns for services: each pupil's identifier in the national
school information system and the academy code (docs/roster-format.md), read when present,
kept when absent or empty, refused in French when malformed."""

import pytest

from pupils.models import Pupil
from tests.pupils.test_roster_import import COLUMNS, DEFAULTS, HEADER, run_import, write_roster

pytestmark = pytest.mark.django_db
OPTIONAL_HEADER = HEADER + ";eleve_identifiant_national;code_academie"


def row_with_ids(national_id: str, academy_code: str, **values) -> str:
    data = {**DEFAULTS, **values}
    return ";".join([*(data[c] for c in COLUMNS), national_id, academy_code])


def test_the_optional_columns_are_stored_with_the_pupil(tmp_path):
    path = write_roster(tmp_path, [row_with_ids("1234567", "01")], header=OPTIONAL_HEADER)
    status, output = run_import(path)
    assert status == 0, output
    pupil = Pupil.objects.get()
    assert (pupil.national_id, pupil.academy_code) == ("1234567", "01")


def test_a_file_without_them_or_with_empty_cells_keeps_what_is_stored(tmp_path):
    run_import(write_roster(tmp_path, [row_with_ids("1234567", "01")], header=OPTIONAL_HEADER))
    status, output = run_import(write_roster(tmp_path, [row_with_ids("", "", niveau="4EME")],
                                             name="b.csv", header=OPTIONAL_HEADER))
    assert status == 0, output
    status, output = run_import(write_roster(
        tmp_path, [";".join({**DEFAULTS, "niveau": "4EME"}[c] for c in COLUMNS)],
        name="c.csv"))
    assert status == 0, output
    pupil = Pupil.objects.get()
    assert (pupil.national_id, pupil.academy_code, pupil.level) == ("1234567", "01", "4EME")
    # A new value replaces the old one.
    run_import(write_roster(tmp_path, [row_with_ids("7654321", "25")], name="d.csv",
                            header=OPTIONAL_HEADER))
    pupil.refresh_from_db()
    assert (pupil.national_id, pupil.academy_code) == ("7654321", "25")


def test_malformed_values_are_refused_by_column_in_french(tmp_path):
    path = write_roster(tmp_path, [row_with_ids("12 34", "1")], header=OPTIONAL_HEADER)
    status, output = run_import(path)
    assert status == 1
    assert "ligne 2, colonne eleve_identifiant_national: identifiant « 12 34 » invalide" in output
    assert "ligne 2, colonne code_academie: code d'académie « 1 » invalide" in output
    assert not Pupil.objects.exists()
