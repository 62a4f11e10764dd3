"""Named reads of the pupils domain."""

from django.db.models import Exists, OuterRef, QuerySet

from .models import GuardianRecord, Pupil, Responsibility, ResponsibilityStatus


def pupils_of_guardian_account(account) -> QuerySet[Pupil]:
    """The children an account sees: pupils linked by an ACTIVE responsibility to one of the
    guardian records the account covers, whatever their school, each once, with their
    establishment — one query whatever the number of children.

    EXISTS rather than a join: a child known by two of the account's records (two schools
    that both list the same guardian) appears once without a DISTINCT. It runs from the
    account's records (index on GuardianRecord.account) through the (record, pupil) unique
    index of Responsibility to the pupils' primary keys.
    """
    active_link = Responsibility.objects.filter(
        pupil=OuterRef("pk"),
        guardian_record__account=account,
        status=ResponsibilityStatus.ACTIVE,
    )
    return (
        Pupil.objects.filter(Exists(active_link))
        .select_related("establishment")
        .order_by("last_name", "first_names", "pk")
    )


def pupil_of_account(account) -> Pupil | None:
    """The pupil record behind a pupil account, with their establishment."""
    return Pupil.objects.select_related("establishment").filter(account=account).first()


def guardian_numbers_of_pupils(pupil_ids) -> set[str]:
    """E.164 mobile numbers of the guardian records linked to these pupils (any link
    status). One query on Responsibility(pupil) then GuardianRecord's primary key."""
    return {
        str(number) for number in GuardianRecord.objects.filter(
            responsibilities__pupil_id__in=list(pupil_ids)
        ).exclude(mobile_phone="").values_list("mobile_phone", flat=True)
    }
