"""Named reads of the assistance form."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import CharField, F, Func, Q, QuerySet

from accounts.models import Account
from core.normalization import name_key
from pupils.models import Establishment, GuardianRecord
from pupils.selectors import pupils_of_guardian_account

from .models import AssistanceRequest

ESTABLISHMENT_CHOICES_SHOWN = 5


class EduconnectNameKey(Func):
    """educonnect_name_key(column): the SQL twin of core.normalization.name_key()
    (pupils migrations 0002 and 0007; registered in Python on SQLite by backoffice)."""

    function = "educonnect_name_key"
    output_field = CharField()


def establishments_named(text: str) -> list[Establishment]:
    """Establishments whose name contains `text` compared by name key (« college victor
    hugo » finds « Collège Victor-Hugo »), at most ESTABLISHMENT_CHOICES_SHOWN + 1, by name.
    Scans the establishments' names (tens of thousands of rows, ~30 ms): the form asks for
    a UAI when the name is not enough."""
    key = name_key(text)
    if len(key) < 3:
        return []
    return list(
        Establishment.objects.select_related("academy")
        .annotate(name_key=EduconnectNameKey(F("name")))
        .filter(name_key__contains=key)
        .order_by("name", "uai")[:ESTABLISHMENT_CHOICES_SHOWN + 1]
    )


def establishments_of_account(account) -> list[Establishment]:
    """The schools of a signed-in guardian's children (their « Mes services »)."""
    if account is None or not getattr(account, "is_authenticated", False):
        return []
    seen = {}
    for pupil in pupils_of_guardian_account(account):
        seen.setdefault(pupil.establishment.pk, pupil.establishment)
    return sorted(seen.values(), key=lambda e: e.name)


@dataclass(frozen=True)
class RequestLinks:
    """What the back-office can tie a request to: the guardian records of its school that
    share the family's name (key), number or address, and the accounts covering them or the
    family's own."""

    records: list[GuardianRecord]
    accounts: list[Account]


def assistance_request_links(assistance_request: AssistanceRequest) -> RequestLinks:
    """One indexed query on the records of the request's establishment (index on
    (establishment, last_name_key, first_name_key); the phone and e-mail conditions are read
    within the same establishment's rows)."""
    condition = Q(last_name_key=name_key(assistance_request.last_name),
                  first_name_key=name_key(assistance_request.first_name))
    if assistance_request.mobile_phone:
        condition |= Q(mobile_phone=str(assistance_request.mobile_phone))
    condition |= Q(email__iexact=assistance_request.email)
    records = list(
        GuardianRecord.objects.filter(condition, establishment=assistance_request.establishment)
        .select_related("account").order_by("last_name", "first_name", "pk")[:20]
    )
    accounts = {r.account.pk: r.account for r in records if r.account is not None}
    if assistance_request.account is not None:
        accounts.setdefault(assistance_request.account.pk, assistance_request.account)
    return RequestLinks(records=records, accounts=list(accounts.values()))


def assistance_queue(scope_q: Q, *, status: str | None = None) -> QuerySet[AssistanceRequest]:
    """The requests of a staff user's scope (a Q on `establishment`), open ones first then
    oldest first (assistance_queue_idx)."""
    queryset = AssistanceRequest.objects.filter(scope_q).select_related(
        "establishment__academy", "assignee")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("created_at")
