"""A whole birth date pasted or typed into « Jour » (« 21/06/2013 ») with « Mois » and
« Année » left empty is read, in the pupils' step (SMS activation, « Ajouter un enfant »,
FranceConnect, the school letter's guardian) and in the school letter's pupil step; the day
input lets the browser keep it (it used to cut it to « 21 » with maxlength="2"). What cannot
be read still gets the message naming the date and the expected format."""

import datetime

import pytest
from freezegun import freeze_time

from activation.forms import MESSAGE_DATE_FORMAT, MESSAGE_DATE_IMPOSSIBLE, PupilsForm
from activation.provisional.forms import BirthDateForm
from activation.selectors import PupilLink
from core.models import Flow
from pupils.validators import BirthDateError, birth_date_from_fields
from tests import html
from tests.factories import PupilFactory

from .test_limits import walk_to_pupils

JUNE_21 = datetime.date(2013, 6, 21)
PASTED = ["21/06/2013", "21-06-2013", "21.06.2013", "21 06 2013", "21062013", "2013-06-21",
          " 21/06/2013 ", "21 / 06 / 2013", "21/6/2013", "2013/06/21"]
UNREADABLE = ["21/06/13", "06/21/2013x", "21|06|2013", "2106213", "210620133", "21/06",
              "aa/bb/cccc", "２１/06/2013"]


def pupils_form(day, month="", year=""):
    link = PupilLink(pupil=PupilFactory.build(first_names="Inès"), responsibility_ids=(1,),
                     record_ids=(1,))
    form = PupilsForm({"eleve1_lien": "oui", "eleve1_jour": day, "eleve1_mois": month,
                       "eleve1_annee": year}, links=[link])
    form.is_valid()
    return form


@pytest.mark.parametrize("typed", PASTED)
def test_a_whole_date_in_the_day_is_read(typed):
    assert birth_date_from_fields(typed, "", "") == JUNE_21


@pytest.mark.parametrize("typed", UNREADABLE)
def test_what_is_not_a_date_stays_a_format_error(typed):
    with pytest.raises(BirthDateError) as error:
        birth_date_from_fields(typed, "", "")
    assert error.value.code == "format"


def test_the_three_inputs_are_read_as_before():
    assert birth_date_from_fields("21", "06", "2013") == JUNE_21
    assert birth_date_from_fields("5", "1", "2009") == datetime.date(2009, 1, 5)
    # A whole date in the day with a month or a year typed too: not guessed.
    with pytest.raises(BirthDateError):
        birth_date_from_fields("21/06/2013", "06", "")
    with pytest.raises(BirthDateError) as error:
        birth_date_from_fields("31/02/2013", "", "")
    assert error.value.code == "impossible"


@freeze_time("2026-11-29")
@pytest.mark.parametrize("typed", PASTED)
def test_the_pupils_step_takes_a_date_pasted_in_the_day(typed):
    form = pupils_form(typed)
    assert form.is_valid(), form.errors
    assert form.answers[0][2] == JUNE_21


@freeze_time("2026-11-29")
@pytest.mark.parametrize(("typed", "message"), [("21/06/13", MESSAGE_DATE_FORMAT),
                                                ("2106213", MESSAGE_DATE_FORMAT),
                                                ("31/02/2013", MESSAGE_DATE_IMPOSSIBLE)])
def test_the_pupils_step_names_the_format_when_the_paste_cannot_be_read(typed, message):
    form = pupils_form(typed)
    assert form.errors["eleve1_jour"] == [message]
    assert form.answers == []  # nothing compared, so nothing counted as a wrong date
    assert "le jour (JJ), le mois (MM) et l'année sur 4 chiffres (AAAA)" in str(
        MESSAGE_DATE_FORMAT)


@pytest.mark.parametrize("typed", PASTED)
def test_the_letters_pupil_step_takes_a_date_pasted_in_the_day(typed):
    form = BirthDateForm({"jour": typed, "mois": "", "annee": ""})
    assert form.is_valid(), form.errors
    assert form.birth_date == JUNE_21


def test_the_letters_pupil_step_names_the_format_when_the_paste_cannot_be_read():
    form = BirthDateForm({"jour": "21/06/13", "mois": "", "annee": ""})
    assert not form.is_valid()
    assert form.errors["jour"] == [MESSAGE_DATE_FORMAT]


def test_the_day_input_keeps_a_pasted_date():
    """The browser cuts a paste to the input's maxlength: the day's must hold a whole date,
    and no digits-only pattern marks « 21/06/2013 » invalid; month and year keep theirs."""
    page = html.parse(str(BirthDateForm()["jour"]) + str(BirthDateForm()["mois"]))
    day, month = page.find(id="id_jour"), page.find(id="id_mois")
    assert int(day["maxlength"]) >= len("21/06/2013") and "pattern" not in day.attrs
    assert month["maxlength"] == "2" and month["pattern"] == "[0-9]*"
    row = pupils_form("")
    assert int(html.parse(str(row["eleve1_jour"])).find("input")["maxlength"]) >= 10


@pytest.mark.django_db
def test_sms_activation_a_date_pasted_in_the_day_goes_through(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    prefixes = driver.pupil_prefixes()
    data = {}
    for pupil in (ines, yanis):
        prefix = prefixes[pupil.first_name]
        data.update({f"{prefix}_lien": "oui", f"{prefix}_jour": f"{pupil.birth_date:%d/%m/%Y}",
                     f"{prefix}_mois": "", f"{prefix}_annee": ""})
    response = driver._post(driver.url("pupils"), data)
    assert response["Location"] != driver.url("pupils")
    assert Flow.objects.get().step == "password"
