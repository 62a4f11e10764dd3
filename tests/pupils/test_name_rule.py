"""One rule for a person's name, whoever writes it (core.forms.name_characters_valid): the
roster import refuses the names the back-office refuses."""

import pytest

from core.forms import name_characters_valid
from pupils import roster
from pupils.models import GuardianRecord, Pupil, Responsibility
from pupils.roster_import import roster_import
from tests.pupils.test_roster_import import row, run_import, write_roster

pytestmark = pytest.mark.django_db

FIX = ("ne peut contenir que des lettres, accentuées ou non, des espaces, des traits "
       "d'union, des apostrophes et le point d'une abréviation (« St. ») ; retirez les "
       "chiffres, symboles et émojis.")


# --- The roster import ---------------------------------------------------------------


def test_the_import_rejects_names_the_back_office_refuses_and_imports_the_rest(tmp_path):
    path = write_roster(tmp_path, [
        row(ine="100000001AA"),                                            # line 2, good
        row(ine="100000002AA", eleve_nom="EMOJI😀"),                       # 3
        row(ine="100000003AA", responsable_nom="<b>HTML</b>",
            responsable_telephone_portable="06 12 34 56 03"),              # 4
        row(ine="100000004AA", eleve_prenoms="Lucas 2"),                   # 5, a digit
        row(ine="100000005AA", responsable_prenom="Hélène_",
            responsable_telephone_portable="06 12 34 56 05"),              # 6
        # Letters of any script, hyphens, apostrophes, « St. »: the family forms' names.
        row(ine="100000006AA", eleve_nom="St. Pierre-N'Diaye", eleve_prenoms="Thị Lan",
            responsable_nom="NGUYỄN", responsable_prenom="Jean-Éric",
            responsable_telephone_portable="06 12 34 56 06"),              # 7, good
    ])

    status, output = run_import(path)

    assert status == 1
    errors = [line for line in output.splitlines() if line.startswith("ligne ")]
    assert errors == [
        f"ligne 3, colonne eleve_nom: « EMOJI😀 » : le nom de l'élève {FIX}",
        f"ligne 4, colonne responsable_nom: « <b>HTML</b> » : le nom du responsable {FIX}",
        f"ligne 5, colonne eleve_prenoms: « Lucas 2 » : le prénom de l'élève {FIX}",
        f"ligne 6, colonne responsable_prenom: « Hélène_ » : le prénom du responsable {FIX}",
    ]
    assert "Lignes : 6 lues, 2 importées, 4 rejetées." in output
    # Nothing of a rejected row is written: not its pupil, not its guardian, no link.
    assert set(Pupil.objects.values_list("ine", flat=True)) == {"100000001AA", "100000006AA"}
    assert not GuardianRecord.objects.filter(last_name__contains="<").exists()
    assert not GuardianRecord.objects.filter(first_name="Hélène_").exists()
    assert Responsibility.objects.count() == 2
    assert Pupil.objects.get(ine="100000006AA").last_name == "St. Pierre-N'Diaye"


def test_a_bad_name_in_a_later_file_leaves_the_stored_family_as_it_was(tmp_path):
    run_import(write_roster(tmp_path, [row()], name="first.csv"))
    before = (Pupil.objects.get().last_name, GuardianRecord.objects.get().last_name)

    report = roster_import(path=write_roster(tmp_path, [
        row(eleve_nom="DUPRÉ-LAGARDE 😀"),
        row(responsable_nom="DUPRÉ-LAGARDE2", responsable_prenom="Marc",
            responsable_telephone_portable="06 98 76 54 32"),
    ], name="second.csv"))

    assert [(error.column, error.reason.endswith(FIX)) for error in report.errors] == [
        ("eleve_nom", True), ("responsable_nom", True)]
    assert (report.rows_imported, report.rows_rejected) == (0, 2)
    assert (Pupil.objects.get().last_name, GuardianRecord.objects.get().last_name) == before
    assert GuardianRecord.objects.count() == 1 and Responsibility.objects.count() == 1


def test_a_bad_guardian_name_rejects_its_row_only_and_the_pupil_keeps_its_other_guardian(
    tmp_path
):
    report = roster_import(path=write_roster(tmp_path, [
        row(),
        row(responsable_civilite="M.", responsable_nom="DUPRÉ", responsable_prenom="Marc 😀",
            responsable_telephone_portable="06 98 76 54 32"),
    ]))

    assert [str(error) for error in report.errors] == [
        f"ligne 3, colonne responsable_prenom: « Marc 😀 » : le prénom du responsable {FIX}"]
    pupil = Pupil.objects.get()
    assert list(pupil.responsibilities.values_list("guardian_record__first_name", flat=True)
                ) == ["Hélène"]
    assert GuardianRecord.objects.count() == 1


@pytest.mark.parametrize("name", [
    "Dupont", "DUPRÉ-LAGARDE", "N'DIAYE", "N’Diaye", "Lætitia", "CŒUR", "Ÿves", "ÿ", "Thị",
    "Nguyễn", "St. Pierre", ". Pierre", "St..", "Lucas 2", "Marc×", "Marc÷", "A_B", "Zoé😀",
    "<b>", "Jean\u2010Marc", "Ana\u0301", "Jean  Marc", "-", "''",
])
def test_the_import_s_quicker_check_agrees_with_the_rule(name):
    assert roster._name_characters_valid(name) is name_characters_valid(name)
