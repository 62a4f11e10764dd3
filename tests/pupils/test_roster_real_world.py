"""Issue 16: a roster as schools and families really write it — overseas numbers behind
+33, landlines, double-encoded names, letters without decomposition, invisible characters,
spreadsheet dates — imports with every pupil kept, every number right and every name
matchable as a parent would type it."""

import datetime

import pytest

from activation.selectors import guardian_records_matching
from pupils.models import GuardianRecord, Pupil
from tests.pupils.test_roster_import import phone, row, run_import, write_roster

pytestmark = pytest.mark.django_db


def warnings_of(output: str) -> list[str]:
    lines = output.splitlines()
    start = lines.index("Avertissements (ces lignes ont été importées) :")
    return [line for line in lines[start + 1:] if line.startswith("ligne ")]


# --- §1 Phone numbers ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+33 6 92 41 18 07", "+262692411807"),
        ("0033 6 92 41 18 07", "+262692411807"),
        ("+33 (0)6 92 41 18 07", "+262692411807"),
        ("+33 6 39 01 23 45", "+262639012345"),
        ("+33 6 90 12 34 56", "+590690123456"),
        ("+33 6 96 20 12 34", "+596696201234"),
        ("+33 6 94 20 12 34", "+594694201234"),
    ],
)
def test_an_overseas_mobile_behind_plus_33_in_a_paris_school_is_its_overseas_number(
    tmp_path, written, e164
):
    status, output = run_import(write_roster(tmp_path, [
        row(responsable_telephone_portable=written)]))
    assert status == 0, output
    assert phone(GuardianRecord.objects.get()) == e164


@pytest.mark.parametrize("written", ["04 78 12 34 56", "01 23 45 67 89", "pas de portable",
                                     "06 12 34", "+33 4 78 12 34 56"])
def test_an_unusable_phone_loses_only_the_phone_reported_by_line_column_and_reason(
    tmp_path, written
):
    status, output = run_import(write_roster(tmp_path, [
        row(ine="100000001AA", responsable_prenom="Anne",
            responsable_telephone_portable="06 11 22 33 44"),
        row(ine="100000002AA", responsable_telephone_portable=written),
    ]))

    assert status == 0, output  # nothing rejected
    assert "Lignes : 2 lues, 2 importées, 0 rejetées." in output
    assert Pupil.objects.filter(ine="100000002AA").exists()
    record = GuardianRecord.objects.get(first_name="Hélène")
    assert phone(record) == "" and record.email == "helene.dupre@example.org"
    assert record.responsibilities.get().pupil.ine == "100000002AA"
    assert warnings_of(output) == [
        f"ligne 3, colonne responsable_telephone_portable: « {written} » n'est pas un numéro de "
        "téléphone portable : la ligne est importée sans ce numéro (celui déjà connu du "
        "responsable est gardé). Écrivez un portable (06…, 07…, ou 0692… dans un "
        "établissement d'outre-mer), un numéro international (+33…, +262…), ou laissez la "
        "case vide."
    ]


def test_an_unusable_phone_in_a_later_file_keeps_the_number_already_known(tmp_path):
    run_import(write_roster(tmp_path, [row()], name="september.csv"))
    status, output = run_import(write_roster(tmp_path, [
        row(responsable_telephone_portable="04 78 12 34 56")], name="october.csv"))
    assert status == 0, output
    assert phone(GuardianRecord.objects.get()) == "+33612345678"


# --- §2 Names -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("school_wrote", "parent_types"),
    [
        (("Halıcı", "Ayşe"), ("HALICI", "AYSE")),
        (("Wałęsa", "Łucja"), ("WALESA", "LUCJA")),
        (("Ødegård", "Søren"), ("odegard", "soren")),
        (("Guðmundsdóttir", "Þóra"), ("GUDMUNDSDOTTIR", "THORA")),
        (("Weiß", "Jürgen"), ("WEISS", "JURGEN")),
        (("Məmmədov", "Əli"), ("MEMMEDOV", "ELI")),
    ],
)
def test_letters_without_decomposition_match_as_the_parent_types_them(
    tmp_path, school_wrote, parent_types
):
    last, first = school_wrote
    status, output = run_import(write_roster(tmp_path, [
        row(responsable_nom=last, responsable_prenom=first)]))
    assert status == 0, output
    record = GuardianRecord.objects.get()
    assert (record.last_name, record.first_name) == (last, first)  # kept as written
    assert guardian_records_matching(phone="+33612345678", last_name=parent_types[0],
                                     first_name=parent_types[1]) == [record.pk]


@pytest.mark.parametrize(
    ("written", "repaired"),
    [
        ("HÃ©lÃ¨ne", "Hélène"),
        ("JÃ©rÃ´me", "Jérôme"),
        ("FranÃ§oise", "Françoise"),
        ("MaÃ«lle", "Maëlle"),
        ("Ã‰lodie", "Élodie"),
        ("Ã\u0081gata", "Ágata"),
        ("Å\u0081ucja", "Łucja"),
    ],
)
def test_a_double_encoded_name_is_repaired_with_a_warning_naming_the_line(
    tmp_path, written, repaired
):
    status, output = run_import(write_roster(tmp_path, [row(responsable_prenom=written)]))
    assert status == 0, output
    record = GuardianRecord.objects.get()
    assert record.first_name == repaired
    assert warnings_of(output) == [
        f"ligne 2, colonne responsable_prenom: texte mal encodé « {written} » (un fichier "
        "UTF-8 relu comme Windows-1252 puis réenregistré), corrigé en "
        f"« {repaired} » ; vérifiez ce nom et corrigez le fichier d'origine."
    ]
    assert guardian_records_matching(phone="+33612345678", last_name="DUPRÉ-LAGARDE",
                                     first_name=repaired.upper()) == [record.pk]


def test_a_double_encoded_pupil_and_school_name_are_repaired_too(tmp_path):
    status, output = run_import(write_roster(tmp_path, [
        row(eleve_nom="LEFÃˆVRE", etablissement="CollÃ¨ge Victor-Hugo")]))
    assert status == 0, output
    assert Pupil.objects.get().last_name == "LEFÈVRE"
    assert Pupil.objects.get().establishment.name == "Collège Victor-Hugo"
    assert len(warnings_of(output)) == 2


@pytest.mark.parametrize("name", ["JOÃO", "CONCEIÇÃO", "FALCÃO", "MAGALHÃES", "SEBASTIÃO",
                                  "ÂNGELO", "ESTÊVÃO", "ANTÔNIO", "Zoë", "Noël"])
def test_names_really_written_with_these_letters_stay_exactly_as_written(tmp_path, name):
    status, output = run_import(write_roster(tmp_path, [row(responsable_prenom=name,
                                                            eleve_prenoms=name)]))
    assert status == 0, output
    assert GuardianRecord.objects.get().first_name == name
    assert Pupil.objects.get().first_names == name
    assert "Avertissements" not in output


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Jul\u200bie", "Julie"),  # zero-width space
        ("Ma\u00adrie", "Marie"),  # soft hyphen
        ("\u202eLéa", "Léa"),  # right-to-left override
        ("An\u2028ne", "Anne"),  # line separator
        ("Zo\u2029é", "Zoé"),  # paragraph separator
        ("\ufeffLina", "Lina"),  # a byte order mark in the middle of a file
        ("Noa\u200d", "Noa"),  # zero-width joiner
    ],
)
def test_invisible_characters_are_stripped_from_imported_names_with_a_warning(
    tmp_path, written, stored
):
    status, output = run_import(write_roster(tmp_path, [row(responsable_prenom=written)]))
    assert status == 0, output
    record = GuardianRecord.objects.get()
    assert record.first_name == stored
    assert record.first_name_key == record.first_name_key.strip() and record.first_name_key
    [warning] = warnings_of(output)
    assert warning.startswith("ligne 2, colonne responsable_prenom: caractère invisible")


# --- §3 Dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["2015-10-23", "23/10/2015 00:00", "23/10/2015 00:00:00",
                                     "2015-10-23 00:00:00", "2015-10-23T00:00:00"])
def test_unambiguous_spreadsheet_dates_are_accepted(tmp_path, written):
    status, output = run_import(write_roster(tmp_path, [row(eleve_date_naissance=written)]))
    assert status == 0, output
    assert Pupil.objects.get().birth_date == datetime.date(2015, 10, 23)


@pytest.mark.parametrize("written", ["10/23/2015", "23/10/15", "23.10.2015", "23-10-2015",
                                     "23/10/2015 14:30", "2015/10/23", "2015-23-10"])
def test_other_dates_are_reported_as_before(tmp_path, written):
    status, output = run_import(write_roster(tmp_path, [row(eleve_date_naissance=written)]))
    assert status == 1
    assert "colonne eleve_date_naissance" in output
    assert not Pupil.objects.exists()


# --- All of it at once --------------------------------------------------------------------

def test_a_roster_full_of_every_kind_keeps_every_pupil_and_makes_every_name_matchable(tmp_path):
    lines = [
        row(ine="200000001AA", responsable_nom="Payet", responsable_prenom="Marie",
            responsable_telephone_portable="+33 6 92 41 18 07"),
        row(ine="200000002AA", responsable_nom="HalÄ±cÄ±", responsable_prenom="AyÅŸe",
            responsable_telephone_portable="06 22 33 44 55"),  # double-encoded AND dotless
        row(ine="200000003AA", eleve_prenoms="Jul\u200bie", responsable_nom="Martin",
            responsable_prenom="Paul", responsable_telephone_portable="04 78 12 34 56"),
        row(ine="200000004AA", eleve_date_naissance="23/10/2015 00:00", responsable_nom="Costa",
            responsable_prenom="JOÃO", responsable_telephone_portable="0033 6 90 12 34 56"),
        row(ine="200000005AA", eleve_date_naissance="2014-01-31", responsable_nom="Weiß",
            responsable_prenom="Ute", responsable_telephone_portable="+33 (0)6 12 34 56 78"),
    ]
    status, output = run_import(write_roster(tmp_path, lines))

    assert status == 0, output
    assert Pupil.objects.count() == 5
    assert Pupil.objects.get(ine="200000003AA").first_names == "Julie"
    expectations = [
        ("+262692411807", "PAYET", "MARIE"),
        ("+33622334455", "HALICI", "AYSE"),
        ("+590690123456", "COSTA", "JOAO"),
        ("+33612345678", "WEISS", "UTE"),
    ]
    for number, last, first in expectations:
        assert guardian_records_matching(phone=number, last_name=last, first_name=first), last
    assert phone(GuardianRecord.objects.get(last_name="Martin")) == ""
