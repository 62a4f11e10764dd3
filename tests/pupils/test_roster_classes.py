"""The roster's optional column « classe » (the pupil's class, SIECLE's « division »: what a
secretary chooses letters by, issue 9 §1): read when present, updated on re-import, kept
when absent or empty, the same on every line of a pupil, refused in French when too long."""

import pytest

from pupils.models import Pupil
from tests.pupils.test_roster_import import (
    COLUMNS,
    DEFAULTS,
    DEMO_ROSTER,
    HEADER,
    run_import,
    write_roster,
)

pytestmark = pytest.mark.django_db
CLASS_HEADER = HEADER + ";classe"


def row(division: str, **values) -> str:
    data = {**DEFAULTS, **values}
    return ";".join([*(data[c] for c in COLUMNS), division])


def test_the_class_is_stored_with_the_pupil_spaces_collapsed(tmp_path):
    status, output = run_import(write_roster(tmp_path, [row("  5 B ")], header=CLASS_HEADER))
    assert status == 0, output
    assert Pupil.objects.get().division == "5 B"


def test_a_reimport_updates_the_class_and_a_file_without_it_keeps_it(tmp_path):
    run_import(write_roster(tmp_path, [row("5B")], header=CLASS_HEADER))
    status, output = run_import(write_roster(tmp_path, [row("4A", niveau="4EME")], name="b.csv",
                                             header=CLASS_HEADER))
    assert status == 0, output
    pupil = Pupil.objects.get()
    assert (pupil.level, pupil.division) == ("4EME", "4A")
    assert pupil.history.latest().division == "4A"  # the change is kept in the history
    # No column, or an empty cell: what is stored (or fixed by the school) stays.
    run_import(write_roster(tmp_path, [";".join(DEFAULTS[c] for c in COLUMNS)], name="c.csv"))
    run_import(write_roster(tmp_path, [row("")], name="d.csv", header=CLASS_HEADER))
    pupil.refresh_from_db()
    assert pupil.division == "4A"


def test_two_lines_of_one_pupil_must_give_the_same_class(tmp_path):
    rows = [row("5B"), row("5C", responsable_prenom="Marc", responsable_civilite="M.",
                           responsable_telephone_portable="06 98 76 54 32",
                           responsable_email="")]
    status, output = run_import(write_roster(tmp_path, rows, header=CLASS_HEADER))
    assert status == 1
    assert ("ligne 3, colonne classe: différent de la ligne 2 pour le même élève "
            "(INE 123456789AA)") in output
    # The same class written in another case is the same class.
    status, output = run_import(write_roster(tmp_path, [row("5b"), rows[1].replace("5C", "5B")],
                                             name="b.csv", header=CLASS_HEADER))
    assert status == 0, output


def test_a_class_too_long_is_refused_naming_the_column(tmp_path):
    status, output = run_import(write_roster(tmp_path, [row("X" * 41)], header=CLASS_HEADER))
    assert status == 1
    assert "ligne 2, colonne classe: valeur trop longue (41 caractères, 40 au plus)" in output
    assert not Pupil.objects.exists()


def test_the_demo_roster_gives_every_pupil_a_class():
    status, output = run_import(DEMO_ROSTER)
    assert status == 0, output
    assert not Pupil.objects.filter(division="").exists()
    assert Pupil.objects.get(ine="123456789AA").division == "5B"
