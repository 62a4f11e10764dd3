"""One rule for a person's name, whoever writes it (core.forms.name_characters_valid): the
roster import refuses the names the back-office refuses, and the back-office checks only the
names a secretary changes, so that a name stored earlier never blocks the fix of a class."""

import datetime
import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import StaffRole
from core.forms import name_characters_valid
from pupils import roster, services
from pupils.models import GuardianRecord, Pupil, Responsibility
from pupils.roster_import import roster_import
from tests.backoffice.conftest import make_staff, sign_in
from tests.factories import (
    AcademyFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.pupils.test_roster_import import HEADER, row, run_import, write_roster

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


def test_the_import_rejects_a_class_or_school_name_the_back_office_refuses(tmp_path):
    """The class and the school's name follow the back-office's plain-text rule
    (core.forms.plain_text_valid): a secretary could not save « <i>5A</i> » back, so the
    import refuses it on its line; « École n° 2 » and « 2NDE3 » stay accepted."""
    rows = [
        (row(ine="100000001AA", uai="0750003C", etablissement="École n° 2"), "2NDE3"),  # 2
        (row(ine="100000002AA"), "<i>5A</i>"),                                          # 3
        (row(ine="100000003AA"), "5A 😀"),                                              # 4
        (row(ine="100000004AA", uai="0750002B", etablissement="Collège <b>Test</b>"), ""),  # 5
    ]
    path = write_roster(tmp_path, [f"{line};{division}" for line, division in rows],
                        header=HEADER + ";classe")

    status, output = run_import(path)

    assert status == 1
    errors = [line for line in output.splitlines() if line.startswith("ligne ")]
    fix = "ne peut contenir ni les signes < et >, ni émoji, ni caractère de contrôle ; retirez-les."
    assert errors == [
        f"ligne 3, colonne classe: « <i>5A</i> » : la classe {fix}",
        f"ligne 4, colonne classe: « 5A 😀 » : la classe {fix}",
        f"ligne 5, colonne etablissement: « Collège <b>Test</b> » : le nom de l'établissement "
        f"{fix}",
    ]
    assert list(Pupil.objects.values_list("ine", "division")) == [("100000001AA", "2NDE3")]


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


# --- The back-office: only the names that changed -------------------------------------


@pytest.fixture
def imported_earlier():
    """A pupil and a guardian record stored before the rule (an older import, another
    tool): names a family form would refuse."""
    school = EstablishmentFactory(uai="0940001A", name="Collège Jules-Ferry",
                                  academy=AcademyFactory(name="Créteil"))
    pupil = PupilFactory(establishment=school, ine="111111111AA", last_name="EMOJI😀",
                         first_names="Zoé 2", birth_date=datetime.date(2013, 4, 2),
                         division="6A")
    record = GuardianRecordFactory(establishment=school, last_name="<b>HTML</b>",
                                   first_name="Marie", mobile_phone="+33611223344")
    ResponsibilityFactory(guardian_record=record, pupil=pupil)
    return pupil, record


@pytest.fixture
def secretary_client(client, imported_earlier):
    pupil, _record = imported_earlier
    return sign_in(client, make_staff(StaffRole.SECRETARY, establishments=[pupil.establishment],
                                      last_name="Secretaire"))


def _pupil_form(pupil, **changes):
    return {
        "last_name": pupil.last_name, "first_names": pupil.first_names,
        "birth_date": pupil.birth_date.strftime("%d/%m/%Y"), "division": pupil.division,
        "responsibilities-TOTAL_FORMS": "0", "responsibilities-INITIAL_FORMS": "0",
        "responsibilities-MIN_NUM_FORMS": "0", "responsibilities-MAX_NUM_FORMS": "1000",
        **changes,
    }


def test_the_secretary_changes_only_the_class_of_a_pupil_with_an_old_bad_name(
    secretary_client, imported_earlier
):
    pupil, _record = imported_earlier
    url = reverse("admin:pupils_pupil_change", args=[pupil.pk])

    response = secretary_client.post(url, _pupil_form(pupil, division="6B"))

    assert response.status_code == 302, html.unescape(response.content.decode())
    pupil.refresh_from_db()
    assert (pupil.division, pupil.last_name, pupil.first_names) == ("6B", "EMOJI😀", "Zoé 2")


def test_a_name_the_secretary_changes_is_still_checked(secretary_client, imported_earlier):
    pupil, _record = imported_earlier
    url = reverse("admin:pupils_pupil_change", args=[pupil.pk])

    response = secretary_client.post(url, _pupil_form(pupil, last_name="EMOJI😀😀",
                                                      division="6B"))

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Nom : saisissez uniquement des lettres" in page
    assert "Prénoms : saisissez" not in page  # the unchanged first names are left alone
    pupil.refresh_from_db()
    assert (pupil.division, pupil.last_name) == ("6A", "EMOJI😀")

    response = secretary_client.post(url, _pupil_form(pupil, last_name="Dupont",
                                                      division="6B"))
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert (pupil.division, pupil.last_name, pupil.first_names) == ("6B", "Dupont", "Zoé 2")


def test_the_service_checks_only_the_changed_names(imported_earlier):
    pupil, _record = imported_earlier
    staff = make_staff(StaffRole.SECRETARY, establishments=[pupil.establishment])

    stored = services.pupil_update(pupil=pupil, last_name=pupil.last_name,
                                   first_names=pupil.first_names, birth_date=pupil.birth_date,
                                   division="5C", actor=staff)
    assert (stored.division, stored.last_name) == ("5C", "EMOJI😀")

    with pytest.raises(ValidationError) as refused:
        services.pupil_update(pupil=pupil, last_name=pupil.last_name, first_names="Zoé 3",
                              birth_date=pupil.birth_date, division="5D", actor=staff)
    assert set(refused.value.error_dict) == {"first_names"}
    pupil.refresh_from_db()
    assert (pupil.division, pupil.first_names) == ("5C", "Zoé 2")


def test_the_guardian_record_of_an_old_bad_name_saves_its_new_number(
    secretary_client, imported_earlier
):
    _pupil, record = imported_earlier
    response = secretary_client.post(
        reverse("admin:pupils_guardianrecord_change", args=[record.pk]),
        {"mobile_phone": "06 99 88 77 66", "email": "",
         "responsibilities-TOTAL_FORMS": "0", "responsibilities-INITIAL_FORMS": "0",
         "responsibilities-MIN_NUM_FORMS": "0", "responsibilities-MAX_NUM_FORMS": "1000"},
    )

    assert response.status_code == 302, html.unescape(response.content.decode())
    record.refresh_from_db()
    assert (record.mobile_phone.as_e164, record.last_name) == ("+33699887766", "<b>HTML</b>")
