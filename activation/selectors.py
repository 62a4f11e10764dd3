"""Named reads of the activation domain."""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Account, AccountState
from core.models import Flow, FlowStatus
from core.normalization import name_key
from pupils.models import GuardianRecord, Pupil, Responsibility, ResponsibilityStatus

from .flows import SMS_ACTIVATION, ActivationData

# An account in one of these states covers its records: the guardian signs in, or asks the
# helpdesk to unlock, rather than opening a second account. A provisional account (school
# letter not used yet) or a closed one does not stop a self-activation.
COVERING_STATES = (AccountState.ACTIVE, AccountState.LOCKED)

# The links a guardian can activate with: active, and marked « représentant légal » by the
# school (seeds: « L'activation est réservée aux représentants légaux »). A record whose
# links all say « non » matches nothing, exactly like an unknown name and number.
ACTIVATING_LINK = Q(status=ResponsibilityStatus.ACTIVE, is_legal_representative=True)


def guardian_records_matching(*, phone: str, last_name: str, first_name: str) -> list[int]:
    """Ids of the guardian records of every establishment with this mobile number (E.164)
    and these names (compared by name_key), that have at least one activating link to a
    pupil (active, legal representative: ACTIVATING_LINK).

    One indexed query (mobile_phone), whatever the outcome: a match and a non-match cost
    the same, which step 1 relies on.
    """
    active_link = Responsibility.objects.filter(ACTIVATING_LINK, guardian_record=OuterRef("pk"))
    return list(
        GuardianRecord.objects.filter(
            mobile_phone=phone,
            last_name_key=name_key(last_name),
            first_name_key=name_key(first_name),
        )
        .filter(Exists(active_link))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def guardian_records_for_franceconnect(
    *, phone: str, family_name: str, given_name: str, preferred_username: str = ""
) -> list[int]:
    """Ids of the guardian records with this mobile number (E.164) and an activating link,
    for the first link of a FranceConnect identity (the seeds ask for the number only).

    Records of one person (same name keys) are all kept. When the number is shared by
    several people (two guardians on one phone), only the person whose names FranceConnect
    gives is kept: last name = the birth name (`family_name`) or the usage name
    (`preferred_username`), first name = one of `given_name`'s first names; when that does
    not single one person out, nothing matches (the birth dates would not tell them apart).
    Names alone never link anything: the number, its code and the birth dates still do.
    One indexed query (mobile_phone), whatever the outcome.
    """
    active_link = Responsibility.objects.filter(ACTIVATING_LINK, guardian_record=OuterRef("pk"))
    rows = list(
        GuardianRecord.objects.filter(mobile_phone=phone)
        .filter(Exists(active_link))
        .order_by("pk")
        .values_list("pk", "last_name_key", "first_name_key")
    )
    people: dict[tuple[str, str], list[int]] = {}
    for pk, last_key, first_key in rows:
        people.setdefault((last_key, first_key), []).append(pk)
    if len(people) <= 1:
        return next(iter(people.values()), [])
    last_keys = {name_key(family_name), name_key(preferred_username)} - {""}
    first_names = [part for part in (given_name or "").split() if part]
    first_keys = {name_key(" ".join(first_names[:n])) for n in range(1, len(first_names) + 1)}
    first_keys |= {name_key(part) for part in first_names}
    named = [ids for (last_key, first_key), ids in people.items()
             if last_key in last_keys and first_key in first_keys]
    return named[0] if len(named) == 1 else []


def activation_flow_just_started(
    *, flow_ids: list[str], phone: str, last_name: str, first_name: str, within_seconds: int
) -> Flow | None:
    """Among this browser's flows, an SMS activation started for the same person and number
    whose last code was made less than `within_seconds` ago and is still awaited: a double
    click on « Suivant », or « Précédent » then « Suivant », lands there instead of sending
    a second SMS."""
    if not flow_ids:
        return None
    since = timezone.now() - datetime.timedelta(seconds=within_seconds)
    candidates = Flow.objects.filter(
        pk__in=flow_ids, kind=SMS_ACTIVATION.name, phone=str(phone), status=FlowStatus.OPEN,
        step="code", codes__created_at__gte=since,
    ).distinct().order_by("-created_at")
    for flow in candidates:
        data = ActivationData.of(flow)
        if (name_key(data.last_name), name_key(data.first_name)) == (
            name_key(last_name), name_key(first_name)
        ) and not flow.is_expired():
            return flow
    return None


def accounts_covering(record_ids: list[int]) -> list[Account]:
    """The accounts (active or locked) that already cover some of these records."""
    if not record_ids:
        return []
    return list(
        Account.objects.filter(
            guardian_records__pk__in=record_ids, state__in=COVERING_STATES
        ).distinct().order_by("pk")
    )


def records_uncovered(record_ids: list[int]) -> list[int]:
    """Those of these records (ids, in order) that no active or locked account covers."""
    if not record_ids:
        return []
    return list(
        GuardianRecord.objects.filter(pk__in=record_ids)
        .exclude(account__state__in=COVERING_STATES)
        .order_by("pk").values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class PupilLink:
    """A pupil shown at step 3, with the links (responsibilities) that make it the guardian's."""

    pupil: Pupil
    responsibility_ids: tuple[int, ...]
    record_ids: tuple[int, ...]

    @property
    def first_name(self) -> str:
        return self.pupil.first_name

    @property
    def establishment_name(self) -> str:
        return self.pupil.establishment.name


def pupil_links_for_records(record_ids: list[int]) -> list[PupilLink]:
    """The pupils linked to these records by an activating link (ACTIVATING_LINK), once
    each, in a stable order.

    A pupil linked through two records (a duplicate in one school) is shown once and its
    answer applies to both links.
    """
    if not record_ids:
        return []
    responsibilities = (
        Responsibility.objects.filter(ACTIVATING_LINK, guardian_record_id__in=record_ids)
        .select_related("pupil__establishment")
        .order_by("pupil__establishment__name", "pupil__birth_date", "pupil_id", "pk")
    )
    grouped: dict[int, list[Responsibility]] = {}
    for responsibility in responsibilities:
        grouped.setdefault(responsibility.pupil_id, []).append(responsibility)
    return [
        PupilLink(
            pupil=links[0].pupil,
            responsibility_ids=tuple(r.pk for r in links),
            record_ids=tuple(sorted({r.guardian_record_id for r in links})),
        )
        for links in grouped.values()
    ]
