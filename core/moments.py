"""A moment as the recipient of a message reads it: the date and time written in an SMS or an
e-mail (« le 01/12/2026 à 07:27, heure de La Réunion »).

The portal's clock is Paris time (settings.TIME_ZONE). A family in Réunion or in Guyane must
not read a metropolitan time without being told: an SMS to a French overseas number states
the time of that territory and names it; an e-mail to an account states the time its SMS
would (the territory of its validated mobile number, else Paris) and always names it, so
that one family never reads two times for one event (moment_for_email).
"""

from __future__ import annotations

import datetime
import zoneinfo

import phonenumbers
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The French territories whose time differs from Paris, by libphonenumber's region of the
# number: (IANA time zone, the words naming that time). Polynésie française spans three
# zones; its numbers are read in Tahiti's, where nearly all its people live.
OVERSEAS_TIME_ZONES = {
    "RE": ("Indian/Reunion", gettext_lazy("heure de La Réunion")),
    "YT": ("Indian/Mayotte", gettext_lazy("heure de Mayotte")),
    "GP": ("America/Guadeloupe", gettext_lazy("heure de la Guadeloupe")),
    "MF": ("America/Marigot", gettext_lazy("heure de Saint-Martin")),
    "BL": ("America/St_Barthelemy", gettext_lazy("heure de Saint-Barthélemy")),
    "GF": ("America/Cayenne", gettext_lazy("heure de la Guyane")),
    "MQ": ("America/Martinique", gettext_lazy("heure de la Martinique")),
    "PM": ("America/Miquelon", gettext_lazy("heure de Saint-Pierre-et-Miquelon")),
    "NC": ("Pacific/Noumea", gettext_lazy("heure de la Nouvelle-Calédonie")),
    "PF": ("Pacific/Tahiti", gettext_lazy("heure de Tahiti")),
    "WF": ("Pacific/Wallis", gettext_lazy("heure de Wallis-et-Futuna")),
}

# A number of an overseas country code that libphonenumber does not place in one region
# (a new block of numbers): the code's main territory.
_REGION_OF_COUNTRY_CODE = {262: "RE", 590: "GP", 594: "GF", 596: "MQ", 508: "PM",
                           687: "NC", 689: "PF", 681: "WF"}

PARIS_TIME = gettext_lazy("heure de Paris")


def overseas_region(phone: str) -> str | None:
    """The overseas region code (a key of OVERSEAS_TIME_ZONES: « RE », « GF »…) of an E.164
    `phone`, or None for a metropolitan, foreign or unreadable number."""
    try:
        number = phonenumbers.parse(str(phone), None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region in OVERSEAS_TIME_ZONES:
        return region
    if region is None:
        return _REGION_OF_COUNTRY_CODE.get(number.country_code)
    return None


def moment_for_recipient(at: datetime.datetime | None = None, *, phone: str | None = None,
                         ) -> dict[str, str]:
    """The moment `at` (an aware datetime; now when None) as the recipient reads it, for the
    context of an SMS or e-mail template: ``{"date": "01/12/2026", "time": "07:27, heure de La
    Réunion"}``, to be written « le {{ date }} à {{ time }} ».

    - `phone` given (an SMS, E.164): a French overseas number (OVERSEAS_TIME_ZONES, by
      libphonenumber's region of the number) gets that territory's time, named; any other
      number gets Paris time (settings.TIME_ZONE) unnamed, as the metropolitan SMS always said
      it (an SMS is kept short).
    - no `phone` (an e-mail: where its reader is, nobody knows): Paris time, named « heure de
      Paris ».
    """
    at = at or timezone.now()
    label = None
    zone = timezone.get_default_timezone()
    if phone is None:
        label = PARIS_TIME
    else:
        region = overseas_region(phone)
        if region is not None:
            name, label = OVERSEAS_TIME_ZONES[region]
            zone = zoneinfo.ZoneInfo(name)
    local = timezone.localtime(at, zone)
    time = local.strftime("%H:%M")
    if label is not None:
        time = _("%(time)s, %(zone)s") % {"time": time, "zone": label}
    return {"date": local.strftime("%d/%m/%Y"), "time": time}


def moment_for_email(at: datetime.datetime | None = None, *, phone: str | None = None,
                     ) -> dict[str, str]:
    """The moment `at` (an aware datetime; now when None) in an e-mail to an account, for the
    context of its template, written « le {{ date }} à {{ time }} » as moment_for_recipient's:
    ``{"date": "01/12/2026", "time": "10:53, heure de La Réunion"}``.

    `phone`: the account's validated mobile number (E.164), or None when it has none (the
    caller checks it is validated). The time is the one the account's SMS states: a French
    overseas number (OVERSEAS_TIME_ZONES) gets that territory's time; any other number, or
    none, Paris time (settings.TIME_ZONE). The zone is always named (« heure de Paris »
    too): the e-mail may be read anywhere."""
    overseas = phone is not None and overseas_region(phone) is not None
    # No phone: Paris time, named « heure de Paris » (a metropolitan SMS leaves it unnamed).
    return moment_for_recipient(at, phone=phone if overseas else None)


def account_sms_phone(account) -> str | None:
    """The number an account's SMS go to, for moment_for_email: its `phone` (E.164) when it
    is validated (`phone_verified`), else None. `account`: any object with those two
    attributes (accounts.models.Account)."""
    if account is not None and account.phone and account.phone_verified:
        return str(account.phone)
    return None


def moment_on_page(at: datetime.datetime, *, phone: str | None) -> dict[str, str]:
    """The moment `at` (an aware datetime) on a web page shown to the proven owner of the
    E.164 `phone` (past its SMS code), always with its zone named, as the page's words write
    it « le {{ day }} à {{ time }} ({{ zone }}) »: ``{"day": "2 décembre 2026", "time": "09 h
    31", "zone": "heure de La Réunion"}``.

    A French overseas number (OVERSEAS_TIME_ZONES, overseas_region) gets that territory's
    time and name; any other number, or none, gets Paris time (settings.TIME_ZONE) named
    « heure de Paris » — unlike an SMS (moment_for_recipient), a page has room to say it,
    and a tryout's Réunion parent read a metropolitan time with no zone."""
    zone, label = timezone.get_default_timezone(), PARIS_TIME
    region = overseas_region(phone) if phone else None
    if region is not None:
        name, label = OVERSEAS_TIME_ZONES[region]
        zone = zoneinfo.ZoneInfo(name)
    local = timezone.localtime(at, zone)
    return {"day": date_format(local, "j F Y"), "time": time_format(local, "H \\h i"),
            "zone": str(label)}
