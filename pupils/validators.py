"""A pupil's birth date: how it is read and which dates are believable — written once.

Every way a birth date comes in uses these functions: the roster import (pupils.roster), the
back-office pupil form (pupils.forms.BirthDateField), the model field (Pupil.birth_date's
validator), the pupil_update service, and the activation step where a guardian types their
children's birth dates (parsing and bounds; activation words its own messages). A date the
import accepts can therefore always be saved by a secretary, and the other way round.

Bounds (one set, checked against today's date in Europe/Paris):
- not in the future;
- at least MIN_AGE_YEARS old: a pupil is at least 2 in « toute petite section »; rosters of
  the next school year come in months before, so one year is the margin that still catches a
  year typed for the current one (2025 for 2015);
- at most MAX_AGE_YEARS old: there is no upper age for a learner (apprentices, adults back at
  the lycée), so the bound only catches a century typed wrong (1013, 1914 for 2014).

Messages are French and name the fix; they do not name the field, which each caller does in
its own way (« Date de naissance : … » in forms, « colonne eleve_date_naissance: … » in the
import report).
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MIN_AGE_YEARS = 1
MAX_AGE_YEARS = 100
FIELD_LABEL = gettext_lazy("Date de naissance")
EXAMPLE = "14/03/2012"

# JJ/MM/AAAA; one-digit days and months are tolerated (spreadsheets write 1/9/2014).
_TEXT_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# AAAA-MM-JJ (ISO 8601, what databases and many exports write): unambiguous too.
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# A spreadsheet that stores dates as date-times exports midnight after the date
# (« 23/10/2015 00:00 », « 2015-10-23 00:00:00 »): the time is dropped; another time of day
# is not a birth date and stays a format error.
_MIDNIGHT = re.compile(r"(?:\s+|T)00:00(?::00(?:\.0+)?)?$")


class BirthDateError(ValueError):
    """A birth date that cannot be read or is not believable.

    `code` is one of "format" (not JJ/MM/AAAA), "impossible" (no such day: 31/02),
    "future", "too_recent", "too_old"; `reason` is the French sentence that says what to fix.
    """

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _reason(code: str, shown: str) -> str:
    if code == "format":
        return _(
            "la date « %(date)s » est mal écrite ; écrivez-la au format JJ/MM/AAAA, par "
            "exemple %(example)s."
        ) % {"date": shown, "example": EXAMPLE}
    if code == "impossible":
        return _("la date « %(date)s » n'existe pas ; vérifiez le jour et le mois.") % {
            "date": shown
        }
    if code == "future":
        return _("la date « %(date)s » est dans le futur ; vérifiez l'année.") % {"date": shown}
    if code == "too_recent":
        return _(
            "la date « %(date)s » est trop récente : l'élève aurait moins d'un an ; vérifiez "
            "l'année."
        ) % {"date": shown}
    return _(
        "la date « %(date)s » est trop ancienne : l'élève aurait plus de %(years)s ans ; "
        "vérifiez l'année."
    ) % {"date": shown, "years": MAX_AGE_YEARS}


def years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day `years` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def birth_date_bounds(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """(earliest, latest) birth date accepted today, both included."""
    today = today or timezone.localdate()
    return years_before(today, MAX_AGE_YEARS), years_before(today, MIN_AGE_YEARS)


def birth_date_from_parts(day: str, month: str, year: str) -> datetime.date:
    """The date of a day, a month and a four-digit year typed as digits.

    Raises BirthDateError "format" (not digits, a year not of four digits, a day or month of
    more than two digits) or "impossible" (31/02/2014).
    """
    day, month, year = (part.strip() for part in (day, month, year))
    shown = f"{day}/{month}/{year}"
    if not (day.isascii() and month.isascii() and year.isascii()
            and day.isdigit() and month.isdigit() and year.isdigit()
            and len(day) <= 2 and len(month) <= 2 and len(year) == 4):
        raise BirthDateError("format", _reason("format", shown))
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise BirthDateError("impossible", _reason("impossible", shown)) from None


# A whole date typed or pasted into the day input (activation's « Jour », « Mois »,
# « Année »): day first, then the month, then a four-digit year, separated by « / », « - »,
# « . » or spaces (« 21/06/2013 », « 21-06-2013 », « 21.06.2013 », « 21 06 2013 ») or not
# at all (« 21062013 »: eight digits, always JJMMAAAA); or the year first with a separator
# (« 2013-06-21 »). No other order: « 06/21/2013 » is not read as June.
_DAY_FIRST = re.compile(r"(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{4})")
_DAY_FIRST_DIGITS = re.compile(r"(\d{2})(\d{2})(\d{4})")
_YEAR_FIRST = re.compile(r"(\d{4})\s*[/.\-\s]\s*(\d{1,2})\s*[/.\-\s]\s*(\d{1,2})")


def birth_date_from_fields(day: str, month: str, year: str) -> datetime.date:
    """The date of the three inputs « Jour », « Mois », « Année » (birth_date_from_parts),
    or, when the month and the year are empty and the day holds more than a day, the whole
    date written in the day (pasted, or typed by someone who did not see the other
    inputs): « 21/06/2013 », « 21-06-2013 », « 21.06.2013 », « 21 06 2013 », « 21062013 »
    (JJMMAAAA) or « 2013-06-21 » (AAAA-MM-JJ).

    Raises BirthDateError "format" (anything else) or "impossible" (31/02/2014). Bounds
    are not checked here."""
    day, month, year = (part.strip() for part in (day, month, year))
    if not month and not year and len(day) > 2 and day.isascii():
        for pattern, order in ((_DAY_FIRST, (0, 1, 2)), (_DAY_FIRST_DIGITS, (0, 1, 2)),
                               (_YEAR_FIRST, (2, 1, 0))):
            if match := pattern.fullmatch(day):
                groups = match.groups()
                return birth_date_from_parts(*(groups[i] for i in order))
    return birth_date_from_parts(day, month, year)


def birth_date_parse(text: str) -> datetime.date:
    """The date written in `text` (surrounding spaces ignored), in one of the unambiguous
    forms: « JJ/MM/AAAA » (« 1/9/2014 » too) or « AAAA-MM-JJ », either one followed by
    midnight as spreadsheets export date-times (« 23/10/2015 00:00 »). Anything else
    (« 10/23/2015 », « 23/10/15 », « 23.10.2015 ») is a format error: a date read wrong
    would lock a family out of activation.

    Raises BirthDateError "format" or "impossible". Bounds are not checked here.
    """
    value = (text or "").strip()
    date_part = _MIDNIGHT.sub("", value)
    if match := _TEXT_DATE.fullmatch(date_part):
        day, month, year = match.groups()
    elif match := _ISO_DATE.fullmatch(date_part):
        year, month, day = match.groups()
    else:
        raise BirthDateError("format", _reason("format", value))
    try:
        return birth_date_from_parts(day, month, year)
    except BirthDateError as error:
        raise BirthDateError(error.code, _reason(error.code, value)) from None


def birth_date_check(value: datetime.date, *, today: datetime.date | None = None) -> None:
    """Raise BirthDateError "future", "too_recent" or "too_old" when `value` is not a
    believable pupil's birth date (bounds in the module docstring)."""
    today = today or timezone.localdate()
    earliest, latest = birth_date_bounds(today)
    shown = f"{value:%d/%m/%Y}"
    if value > today:
        raise BirthDateError("future", _reason("future", shown))
    if value > latest:
        raise BirthDateError("too_recent", _reason("too_recent", shown))
    if value < earliest:
        raise BirthDateError("too_old", _reason("too_old", shown))


def validate_birth_date(value: datetime.date) -> None:
    """Django validator of Pupil.birth_date: the bounds, as a ValidationError naming the field
    (« Date de naissance : la date … est dans le futur ; vérifiez l'année. »)."""
    try:
        birth_date_check(value)
    except BirthDateError as error:
        raise ValidationError(f"{FIELD_LABEL} : {error.reason}", code=error.code) from None
