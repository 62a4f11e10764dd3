"""A pupil's birth date, read and bounded once (pupils.validators) for the import, the
back-office, the model and activation."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from activation.forms import MESSAGE_DATE_IMPOSSIBLE, MESSAGE_DATE_YEAR, PupilsForm
from activation.selectors import PupilLink
from pupils.models import Pupil
from pupils.validators import (
    BirthDateError,
    birth_date_bounds,
    birth_date_check,
    birth_date_from_parts,
    birth_date_parse,
)
from tests.factories import PupilFactory

TODAY = datetime.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("typed", "date"),
    [("14/03/2012", datetime.date(2012, 3, 14)), ("1/9/2014", datetime.date(2014, 9, 1)),
     (" 29/02/2016 ", datetime.date(2016, 2, 29))],
)
def test_dates_written_jj_mm_aaaa_are_read(typed, date):
    assert birth_date_parse(typed) == date


@pytest.mark.parametrize(
    ("typed", "code", "reason"),
    [("31/02/2013", "impossible", "la date « 31/02/2013 » n'existe pas ; vérifiez le jour et le "
                                  "mois."),
     ("29/02/2015", "impossible", "la date « 29/02/2015 » n'existe pas ; vérifiez le jour et le "
                                  "mois."),
     # AAAA-MM-JJ is read since issue 16 §3; day first with dashes is still not.
     ("01-02-2013", "format", "la date « 01-02-2013 » est mal écrite ; écrivez-la au format "
                              "JJ/MM/AAAA, par exemple 14/03/2012."),
     ("2013-02-30", "impossible", "la date « 2013-02-30 » n'existe pas ; vérifiez le jour et "
                                  "le mois."),
     ("23/10/2015 14:30", "format", None),
     ("14/03/12", "format", None), ("14/03/２０１２", "format", None), ("", "format", None)],
)
def test_unreadable_dates_say_what_to_fix(typed, code, reason):
    with pytest.raises(BirthDateError) as error:
        birth_date_parse(typed)
    assert error.value.code == code
    if reason:
        assert error.value.reason == reason


def test_parts_as_activation_asks_them():
    assert birth_date_from_parts("5", "1", "2009") == datetime.date(2009, 1, 5)
    for parts, code in ((("31", "02", "2016"), "impossible"), (("1", "1", "09"), "format"),
                        (("001", "1", "2009"), "format"), (("1", "x", "2009"), "format")):
        with pytest.raises(BirthDateError) as error:
            birth_date_from_parts(*parts)
        assert error.value.code == code


@pytest.mark.parametrize(
    ("date", "code"),
    [(datetime.date(2026, 11, 30), "future"),
     (datetime.date(2025, 11, 30), "too_recent"),  # not yet one year old
     (datetime.date(2025, 11, 29), None),  # one year old today
     (datetime.date(1926, 11, 29), None),  # a hundred years old today
     (datetime.date(1926, 11, 28), "too_old"),
     (datetime.date(1913, 1, 1), "too_old")],
)
def test_one_set_of_bounds(date, code):
    if code is None:
        birth_date_check(date, today=TODAY)
        return
    with pytest.raises(BirthDateError) as error:
        birth_date_check(date, today=TODAY)
    assert error.value.code == code


def test_a_leap_day_today_has_bounds():
    assert birth_date_bounds(datetime.date(2028, 2, 29)) == (datetime.date(1928, 2, 29),
                                                             datetime.date(2027, 2, 28))


@freeze_time("2026-11-29")
@pytest.mark.django_db
def test_the_model_field_holds_the_bounds_for_any_form_or_full_clean():
    pupil = PupilFactory.build(birth_date=datetime.date(2099, 1, 1))
    with pytest.raises(ValidationError) as error:
        pupil.full_clean(exclude=["establishment"])
    assert error.value.message_dict["birth_date"] == [
        "Date de naissance : la date « 01/01/2099 » est dans le futur ; vérifiez l'année."
    ]
    assert Pupil._meta.get_field("birth_date").validators


# --- Activation: the same reading; what cannot be a pupil's date costs no attempt -----------


def pupils_form(day, month, year):
    link = PupilLink(pupil=PupilFactory.build(first_names="Inès"), responsibility_ids=(1,),
                     record_ids=(1,))
    form = PupilsForm({"eleve1_lien": "oui", "eleve1_jour": day, "eleve1_mois": month,
                       "eleve1_annee": year}, links=[link])
    form.is_valid()
    return form


@freeze_time("2026-11-29")
@pytest.mark.parametrize(
    ("parts", "message"),
    [(("31", "02", "2016"), MESSAGE_DATE_IMPOSSIBLE),
     (("01", "01", "1913"), MESSAGE_DATE_YEAR),
     (("01", "06", "2026"), MESSAGE_DATE_YEAR)],
)
def test_activation_refuses_dates_no_pupil_can_have_as_errors_not_answers(parts, message):
    form = pupils_form(*parts)
    assert form.errors["eleve1_jour"] == [message]
    assert form.answers == []  # nothing compared, so nothing counted as a wrong date


@freeze_time("2026-11-29")
def test_activation_compares_a_real_believable_date():
    form = pupils_form("5", "1", "2009")
    assert form.is_valid()
    assert form.answers[0][2] == datetime.date(2009, 1, 5)
