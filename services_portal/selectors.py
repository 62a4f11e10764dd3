"""Reads of « Mes services »: for each child, their services and their school's message.

`my_services_for(account, today=…)` answers with a fixed number of queries whatever the
number of children (seed 003: one page lists every child): the children (one query, see
pupils.selectors), then the catalogue's services for their schools (one query on
service_estab_pos_idx, plus the few national rows), the schools' current messages (one query
on estab_message_current_idx) and the national news (one query, a small table).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from accounts.models import AccountKind
from pupils.models import GuardianRecord, Pupil
from pupils.selectors import pupil_of_account, pupils_of_guardian_account

from .levels import level_code, level_in_words
from .models import EstablishmentMessage, NewsItem, Service


@dataclass
class ChildServices:
    """One child as « Mes services » shows them. `messages`: their school's current
    messages, given to the school's first child in page order only (empty for its other
    children), so that a family reads a school's message once."""

    pupil: Pupil
    level_words: str
    services: list[Service] = field(default_factory=list)
    messages: list[EstablishmentMessage] = field(default_factory=list)


@dataclass
class MyServices:
    children: list[ChildServices]
    news: list[NewsItem]


def service_visible_to(service: Service, *, pupil: Pupil, as_guardian: bool) -> bool:
    """Whether `service` is shown for `pupil` to a guardian (as_guardian) or to the pupil:
    the profile is allowed, the service is national or of the pupil's school, and the
    pupil's level is one of its levels (no level listed: every level)."""
    if not (service.for_guardians if as_guardian else service.for_pupils):
        return False
    if service.establishment_id is not None and service.establishment_id != (
        pupil.establishment_id
    ):
        return False
    return not service.levels or level_code(pupil.level) in service.levels


def my_services_for(account, *, today: datetime.date | None = None) -> MyServices:
    """The children of a guardian account (or the pupil behind a pupil account), each with
    their services (catalogue order) and their school's messages of `today` (with the
    school's first child only: shown once per school, not once per child), and the news of
    `today` for the account's profile. Four queries at most, whatever the number of children.
    """
    today = today or timezone.localdate()
    as_guardian = account.kind == AccountKind.GUARDIAN
    if as_guardian:
        pupils = list(pupils_of_guardian_account(account))
    else:
        pupil = pupil_of_account(account)
        pupils = [pupil] if pupil else []
    profile = {"for_guardians": True} if as_guardian else {"for_pupils": True}
    news = list(NewsItem.objects.filter(starts_on__lte=today, ends_on__gte=today, **profile))
    if not pupils:
        return MyServices(children=[], news=news)

    schools = sorted({p.establishment_id for p in pupils})
    services = list(
        Service.objects.filter(Q(establishment__isnull=True) | Q(establishment__in=schools),
                           is_active=True, **profile)
        .select_related("saml_service_provider")
        .order_by("position", "title", "pk")
    )
    messages: dict[int, list[EstablishmentMessage]] = {}
    for message in EstablishmentMessage.objects.filter(
        establishment__in=schools, starts_on__lte=today, ends_on__gte=today
    ).order_by("-starts_on", "pk"):
        messages.setdefault(message.establishment_id, []).append(message)

    children = [
        ChildServices(
            pupil=pupil,
            level_words=level_in_words(pupil.level),
            services=[s for s in services
                      if service_visible_to(s, pupil=pupil, as_guardian=as_guardian)],
            # A school's messages once, with its first child on the page: a parent of two
            # children at one school reads them once (pop: the school's next child gets []).
            messages=messages.pop(pupil.establishment_id, []),
        )
        for pupil in pupils
    ]
    return MyServices(children=children, news=news)


def schools_of_account(account) -> set[int]:
    """The establishments (ids) of a guardian account's guardian records, or of the pupil
    behind a pupil account: the schools whose writes may change its « Mes services » (a
    link added in one of them shows a child). One query on GuardianRecord(account) or
    Pupil(account)."""
    if account.kind == AccountKind.GUARDIAN:
        rows = GuardianRecord.objects.filter(account=account).values_list("establishment_id",
                                                                         flat=True)
    else:
        rows = Pupil.objects.filter(account=account).values_list("establishment_id", flat=True)
    return set(rows)
