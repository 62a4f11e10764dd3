"""Writes of the pupils domain: the fixes a school makes to what it knows.

Every caller (the back-office's forms, inlines and actions today, any view tomorrow) goes
through these functions, so the rules hold whoever writes:

- a guardian record's contact: a mobile number of France or an overseas region (a national
  form is read in the school's region), a valid email address;
- a pupil's names and birth date (one set of bounds: pupils.validators);
- a link joins a guardian record and a pupil of the SAME school (a guardian known to two
  schools has a record in each); one link per pair; only the guardian disputes a link
  (during activation), the school then keeps it or removes it.

Each service takes keyword-only arguments, among them the acting staff account (`actor`)
and, when there is one, the HTTP request (for the journal's IP address); runs in one
transaction, locking the rows it changes; writes one journal event per change (kinds in
core.journal.EventKind, facts only: ids, UAI, field names, states — never a number or an
address) and a simple-history row with the author and a change reason. A call that changes
nothing writes nothing. Refusals are ValidationErrors keyed by form field name, each message
in French naming the field and saying what to do; nothing is written then.

The `*_validate` functions are the same checks without writing, for forms that want to show
the errors beside their fields before saving. Who may act on which school is the back-office's
business (backoffice.scoping), not these functions'.

The roster import (bulk, its own rules of matching) lives in pupils/roster_import.py.

Lock order, the import's own (pupils, then guardian records, then links): two writers never
wait for each other in a circle.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Literal

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from core.forms import BidiControlValidator, PlainTextValidator, name_characters_valid
from core.journal import EventKind, journal_record
from core.normalization import (
    InvalidPhoneNumber,
    clean_name,
    name_key,
    parse_mobile_phone,
    region_for_uai,
)

from .models import GuardianRecord, Pupil, Responsibility, ResponsibilityStatus
from .selectors import guardian_numbers_of_pupils
from .signals import activation_data_fixed_send
from .validators import FIELD_LABEL as BIRTH_DATE_LABEL
from .validators import BirthDateError, birth_date_check

if TYPE_CHECKING:  # pragma: no cover
    from django.http import HttpRequest

    from accounts.models import Account

_validate_email = EmailValidator()
_EMAIL_MAX_LENGTH = GuardianRecord._meta.get_field("email").max_length
_LAST_NAME_MAX_LENGTH = Pupil._meta.get_field("last_name").max_length
_FIRST_NAMES_MAX_LENGTH = Pupil._meta.get_field("first_names").max_length
_DIVISION_MAX_LENGTH = Pupil._meta.get_field("division").max_length


def _save_with_history(instance, *, actor: Account, kind: EventKind, fields: list[str]) -> None:
    """Save `fields` of `instance`; simple-history keeps the change with its author and, as
    the reason, the journal label of the event (« Lien responsable–élève retiré par
    l'établissement »)."""
    instance._history_user = actor
    instance._change_reason = str(kind.label)
    instance.save(update_fields=fields)


def _field_error(field: str, label: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(f"{label} : {message}", code=code)})


# --- Guardian records: contact ---------------------------------------------------------


def guardian_record_contact_validate(
    *, guardian_record: GuardianRecord, mobile_phone: str, email: str
) -> tuple[str, str]:
    """Check and normalise a guardian record's contact as the school types it.

    `mobile_phone`: any written form, or "" for none; a national form is read in the
    region of the record's school (UAI 974… reads « 0692 12 34 56 » as +262 692 12 34 56),
    international forms anywhere (core.normalization.parse_mobile_phone, the import's rules).
    `email`: an address or "" (stored in lowercase, as the import stores it).
    Returns (E.164 or "", email or ""). Raises ValidationError keyed "mobile_phone"/"email".
    """
    errors: dict[str, ValidationError] = {}
    phone = (mobile_phone or "").strip()
    if phone:
        region = region_for_uai(guardian_record.establishment.uai)
        try:
            phone = parse_mobile_phone(phone, preferred_region=region)
        except InvalidPhoneNumber as error:
            errors.update(_field_error("mobile_phone", _("Téléphone portable"), error.message,
                                       "phone").error_dict)
    address = (email or "").strip().lower()
    if address:
        try:
            if len(address) > _EMAIL_MAX_LENGTH:
                raise ValidationError("too long")
            _validate_email(address)
        except ValidationError:
            errors.update(_field_error(
                "email", _("Adresse mail"),
                _("saisissez une adresse valide, par exemple prenom.nom@exemple.fr."), "email",
            ).error_dict)
    if errors:
        raise ValidationError(errors)
    return phone, address


@transaction.atomic
def guardian_record_contact_update(
    *,
    guardian_record: GuardianRecord,
    mobile_phone: str,
    email: str,
    actor: Account,
    request: HttpRequest | None = None,
) -> GuardianRecord:
    """Fix the mobile number and email address of a guardian record (the SMS activation
    matches on that number). Arguments as guardian_record_contact_validate; "" clears.

    Journal: GUARDIAN_RECORD_CONTACT_UPDATED with the names of the changed fields, on the
    account that covers the record (if any). Returns the record as stored.
    """
    record = (GuardianRecord.objects.select_for_update(of=("self",))
              .select_related("establishment", "account").get(pk=guardian_record.pk))
    phone, address = guardian_record_contact_validate(
        guardian_record=record, mobile_phone=mobile_phone, email=email
    )
    before = {"mobile_phone": record.mobile_phone.as_e164 if record.mobile_phone else "",
              "email": record.email}
    after = {"mobile_phone": phone, "email": address}
    if before["email"].lower() == address:
        after["email"] = before["email"]  # the same address: a case difference is no change
    changed = [name for name in ("mobile_phone", "email") if before[name] != after[name]]
    if not changed:
        return record
    for name in changed:
        setattr(record, name, after[name])
    kind = EventKind.GUARDIAN_RECORD_CONTACT_UPDATED
    _save_with_history(record, actor=actor, kind=kind, fields=changed)
    journal_record(kind, request=request, account=record.account, actor=actor,
                   guardian_record=record.pk, establishment=record.establishment.uai,
                   changed=changed)
    if "mobile_phone" in changed:
        # The parent blocked with the old number (or refused with the new one) starts again.
        activation_data_fixed_send(numbers=(before["mobile_phone"], after["mobile_phone"]),
                                   reason="mobile_phone_fixed")
    return record


# --- Pupils: names and birth date -------------------------------------------------------


# What to do about a name with a digit, a symbol or an emoji (core.forms.NAME_MESSAGES's
# « characters », said to the school rather than to the person).
NAME_CHARACTERS_FIX = _lazy(
    "saisissez uniquement des lettres, accentuées ou non, des espaces, des traits d'union, "
    "des apostrophes et le point d'une abréviation (« St. ») ; retirez les chiffres, "
    "symboles et émojis.")


def pupil_update_validate(
    *, last_name: str, first_names: str, birth_date: datetime.date | None,
    pupil: Pupil | None = None,
) -> tuple[str, str, datetime.date]:
    """Check and normalise a pupil's last name, first names and birth date.

    Names: no bidirectional control (core.forms.BidiControlValidator: refused, as on every
    form), spaces collapsed and trimmed (core.normalization.clean_name), at least one letter,
    within the column's length, and only the characters of a person's name that every family
    form accepts (core.forms.name_characters_valid, PersonNameField's rule: letters, spaces,
    hyphens, apostrophes, the period of « St. »; « MARTIN 2 » is refused, since no family
    could type it back; the roster import refuses it too, pupils.roster). Birth date:
    pupils.validators' bounds.

    `pupil`: the pupil as stored, when it is a fix of one. A name equal to its stored value
    is not checked again and is kept as it is: a name stored before the rule (or by another
    way in) never blocks the save of a birth date or of a class the school fixes; it is
    refused only once someone changes it.
    Returns (last name, first names, birth date). Raises ValidationError keyed
    "last_name"/"first_names"/"birth_date".
    """
    errors: dict[str, list] = {}

    def name(field: str, value: str, label: str, missing: str, limit: int) -> str:
        stored = getattr(pupil, field) if pupil is not None else None
        if value == stored:
            return value  # unchanged: left as it is, whatever rule it predates
        try:  # refused, not removed: core.normalization.BIDI_CONTROLS
            BidiControlValidator(label)(value)
        except ValidationError as error:
            errors[field] = [error]
            return value
        value = clean_name(value)
        if not name_key(value):  # the import's rule: at least one letter or digit
            errors.update(_field_error(field, label, missing, "required").error_dict)
        elif len(value) > limit:
            errors.update(_field_error(
                field, label, _("saisissez au plus %(limit)s caractères.") % {"limit": limit},
                "max_length",
            ).error_dict)
        elif value != stored and not name_characters_valid(value):  # every form's rule
            errors.update(_field_error(field, label, NAME_CHARACTERS_FIX, "characters")
                          .error_dict)
        return value

    last_name = name("last_name", last_name, _("Nom"), _("saisissez le nom de l'élève."),
                     _LAST_NAME_MAX_LENGTH)
    first_names = name("first_names", first_names, _("Prénoms"),
                       _("saisissez au moins un prénom."), _FIRST_NAMES_MAX_LENGTH)
    if birth_date is None:
        errors.update(_field_error("birth_date", BIRTH_DATE_LABEL,
                                   _("saisissez-la au format JJ/MM/AAAA, par exemple "
                                     "14/03/2012."), "required").error_dict)
    else:
        try:
            birth_date_check(birth_date)
        except BirthDateError as error:
            errors.update(_field_error("birth_date", BIRTH_DATE_LABEL, error.reason,
                                       error.code).error_dict)
    if errors:
        raise ValidationError(errors)
    return last_name, first_names, birth_date


def pupil_division_validate(division: str) -> str:
    """Check and normalise a pupil's class (« 6A », « 2NDE3 »; blank: none): spaces
    collapsed and trimmed, as the roster import writes it (optional column « classe »),
    within the column's length, and no bidirectional control, markup sign, emoji or control
    character (core.forms.PlainTextValidator). Raises ValidationError keyed "division"."""
    try:  # refused, not removed, as on every form (core.normalization.BIDI_CONTROLS)
        BidiControlValidator(_("Classe"))(division or "")
        division = clean_name(division or "")
        PlainTextValidator(_("Classe"))(division)
    except ValidationError as error:
        raise ValidationError({"division": [error]}) from None
    if len(division) > _DIVISION_MAX_LENGTH:
        raise _field_error(
            "division", _("Classe"),
            _("saisissez au plus %(limit)s caractères (par exemple 6A ou 2NDE3).")
            % {"limit": _DIVISION_MAX_LENGTH}, "max_length")
    return division


@transaction.atomic
def pupil_update(
    *,
    pupil: Pupil,
    last_name: str,
    first_names: str,
    birth_date: datetime.date | None,
    actor: Account,
    division: str | None = None,
    request: HttpRequest | None = None,
) -> Pupil:
    """Fix a pupil's last name, first names and birth date (what guardians type at
    activation), and its class (`division`, pupil_division_validate; None: left as it is).
    Arguments as pupil_update_validate.

    Journal: PUPIL_UPDATED (PUPIL_DIVISION_UPDATED when only the class changed) with the
    names of the changed fields, on the pupil's own account
    (if any). A changed birth date clears the activation counters of the numbers of the
    pupil's guardians (pupils.signals). Returns the pupil as stored.
    """
    stored = (Pupil.objects.select_for_update(of=("self",))
              .select_related("establishment", "account").get(pk=pupil.pk))
    values = dict(zip(("last_name", "first_names", "birth_date"),
                      pupil_update_validate(last_name=last_name, first_names=first_names,
                                            birth_date=birth_date, pupil=stored), strict=True))
    if division is not None:
        values["division"] = pupil_division_validate(division)
    changed = [name for name, value in values.items() if getattr(stored, name) != value]
    if not changed:
        return stored
    for name in changed:
        setattr(stored, name, values[name])
    # The journal's and the history's label: « État civil » only when names or birth date
    # changed; a class alone is « Classe d'un élève corrigée ».
    kind = (EventKind.PUPIL_DIVISION_UPDATED if changed == ["division"]
            else EventKind.PUPIL_UPDATED)
    _save_with_history(stored, actor=actor, kind=kind, fields=changed)
    journal_record(kind, request=request, account=stored.account, actor=actor,
                   pupil=stored.pk, establishment=stored.establishment.uai, changed=changed)
    if "birth_date" in changed:
        activation_data_fixed_send(numbers=guardian_numbers_of_pupils([stored.pk]),
                                   reason="birth_date_fixed")
    return stored



# --- Links between guardian records and pupils ------------------------------------------

LinkEnd = Literal["pupil", "guardian_record"]
_STATUS_LABELS = dict(ResponsibilityStatus.choices)


def _other_school_error(*, guardian_record: GuardianRecord, pupil: Pupil,
                        chosen: LinkEnd) -> ValidationError:
    if chosen == "pupil":
        message = _(
            "Élève : choisissez un élève de l'établissement de cette fiche responsable "
            "(%(school)s). Un responsable connu de deux établissements a une fiche dans chacun."
        ) % {"school": guardian_record.establishment}
    else:
        message = _(
            "Responsable : choisissez une fiche responsable de l'établissement de l'élève "
            "(%(school)s). Un responsable connu de deux établissements a une fiche dans chacun."
        ) % {"school": pupil.establishment}
    return ValidationError({chosen: ValidationError(message, code="other_school")})


def _link_exists_error(chosen: LinkEnd) -> ValidationError:
    return ValidationError({chosen: ValidationError(_(
        "Ce lien existe déjà entre cette fiche responsable et cet élève : ouvrez-le dans "
        "« Liens responsable–élève » pour changer son état ou « représentant légal »."
    ), code="exists")})


def responsibility_add_validate(
    *, guardian_record: GuardianRecord, pupil: Pupil, chosen: LinkEnd = "pupil"
) -> None:
    """Check that a new link may join `guardian_record` and `pupil`: the same school, and no
    link between them yet (in any state: a removed link is restored, not added again).

    `chosen`: the end the person picked (the other one is the page they are on); the error is
    filed on that field and says what to pick instead. Raises ValidationError.
    """
    if guardian_record.establishment_id != pupil.establishment_id:
        raise _other_school_error(guardian_record=guardian_record, pupil=pupil, chosen=chosen)
    if Responsibility.objects.filter(guardian_record=guardian_record, pupil=pupil).exists():
        raise _link_exists_error(chosen)


@transaction.atomic
def responsibility_add(
    *,
    guardian_record: GuardianRecord,
    pupil: Pupil,
    is_legal_representative: bool,
    actor: Account,
    request: HttpRequest | None = None,
    chosen: LinkEnd = "pupil",
) -> Responsibility:
    """Link a guardian record to a pupil of the same school; the new link is « Actif ».

    Both rows are locked first (pupil, then record), so that the import cannot move the pupil
    to another school between the check and the insert. Raises ValidationError (another
    school, or the link exists — also when another writer inserted it a moment ago).
    Journal: RESPONSIBILITY_ADDED on the account covering the record (if any).
    """
    pupil = (Pupil.objects.select_for_update(of=("self",)).select_related("establishment")
             .get(pk=pupil.pk))
    guardian_record = (GuardianRecord.objects.select_for_update(of=("self",))
                       .select_related("establishment", "account").get(pk=guardian_record.pk))
    responsibility_add_validate(guardian_record=guardian_record, pupil=pupil, chosen=chosen)
    link = Responsibility(guardian_record=guardian_record, pupil=pupil,
                          is_legal_representative=is_legal_representative,
                          status=ResponsibilityStatus.ACTIVE)
    kind = EventKind.RESPONSIBILITY_ADDED
    link._history_user = actor
    link._change_reason = str(kind.label)
    try:
        with transaction.atomic():
            link.save(force_insert=True)
    except IntegrityError:
        raise _link_exists_error(chosen) from None
    journal_record(kind, request=request, account=guardian_record.account, actor=actor,
                   **_link_facts(link), is_legal_representative=is_legal_representative)
    return link


def _link_facts(link: Responsibility) -> dict:
    return {"link": link.pk, "guardian_record": link.guardian_record_id, "pupil": link.pupil_id,
            "establishment": link.pupil.establishment.uai}


def responsibility_update_validate(
    *, responsibility: Responsibility, status: str | None
) -> None:
    """Check a change of a link's state (None: unchanged). The school may set « Actif » or
    « Retiré » from any state; « Contesté » is the guardian's word, given during
    activation, so the school cannot set it. Raises ValidationError keyed "status"."""
    if status is None or status == responsibility.status:
        return
    if status not in (ResponsibilityStatus.ACTIVE, ResponsibilityStatus.REMOVED):
        raise _field_error("status", _("État"), _(
            "seul le responsable peut contester un lien, lors de l'activation de son compte. "
            "Choisissez « Actif » pour maintenir le lien ou « Retiré » pour le retirer."
        ), "status")


def _status_event(before: str, after: str) -> EventKind:
    if before == ResponsibilityStatus.DISPUTED:
        return EventKind.RESPONSIBILITY_DISPUTE_RESOLVED
    if after == ResponsibilityStatus.REMOVED:
        return EventKind.RESPONSIBILITY_REMOVED
    return EventKind.RESPONSIBILITY_RESTORED


@transaction.atomic
def responsibility_update(
    *,
    responsibility: Responsibility,
    status: str | None = None,
    is_legal_representative: bool | None = None,
    actor: Account,
    request: HttpRequest | None = None,
) -> Responsibility:
    """Change a link's state and/or its « représentant légal » flag (None: unchanged).

    A link's two ends never change: to move it, remove it and add another.
    Journal, one event per change, on the account covering the record (if any):
    - state: RESPONSIBILITY_DISPUTE_RESOLVED from « Contesté » (kept: whether it became
      « Actif »), RESPONSIBILITY_REMOVED to « Retiré », RESPONSIBILITY_RESTORED back to
      « Actif »;
    - flag: RESPONSIBILITY_LEGAL_CHANGED.
    Raises ValidationError (see responsibility_update_validate). Returns the link as stored.
    """
    link = (Responsibility.objects.select_for_update(of=("self",))
            .select_related("guardian_record__account", "pupil__establishment")
            .get(pk=responsibility.pk))
    responsibility_update_validate(responsibility=link, status=status)
    events: list[tuple[EventKind, dict]] = []
    changed: list[str] = []
    if status is not None and status != link.status:
        before = link.status
        kind = _status_event(before, status)
        # The labels as read now (the journal keeps text, not the lazy translation).
        facts = {"status_before": str(_STATUS_LABELS[before]),
                 "status_after": str(_STATUS_LABELS[status])}
        if kind == EventKind.RESPONSIBILITY_DISPUTE_RESOLVED:
            facts["kept"] = status == ResponsibilityStatus.ACTIVE
        events.append((kind, facts))
        link.status = status
        changed.append("status")
    if is_legal_representative is not None and (
        is_legal_representative != link.is_legal_representative
    ):
        events.append((EventKind.RESPONSIBILITY_LEGAL_CHANGED,
                       {"is_legal_representative": is_legal_representative}))
        link.is_legal_representative = is_legal_representative
        changed.append("is_legal_representative")
    if not changed:
        return link
    _save_with_history(link, actor=actor, kind=events[0][0], fields=changed)
    for kind, facts in events:
        journal_record(kind, request=request, account=link.guardian_record.account, actor=actor,
                       **_link_facts(link), **facts)
    return link


def responsibility_remove(
    *, responsibility: Responsibility, actor: Account, request: HttpRequest | None = None
) -> Responsibility:
    """Mark a link « Retiré »: it is kept, with its history, and no longer gives access to the
    pupil. (responsibility_update, one transaction.)"""
    return responsibility_update(responsibility=responsibility,
                                 status=ResponsibilityStatus.REMOVED, actor=actor,
                                 request=request)


def responsibility_set_legal(
    *,
    responsibility: Responsibility,
    is_legal_representative: bool,
    actor: Account,
    request: HttpRequest | None = None,
) -> Responsibility:
    """Set or unset « représentant légal » on a link. (responsibility_update.)"""
    return responsibility_update(responsibility=responsibility,
                                 is_legal_representative=is_legal_representative, actor=actor,
                                 request=request)


@transaction.atomic
def responsibility_dispute_resolve(
    *,
    responsibility: Responsibility,
    keep: bool,
    actor: Account,
    request: HttpRequest | None = None,
) -> Responsibility:
    """Answer a guardian who said « je ne suis pas le représentant légal de cet élève »:
    the school checked, and keeps the link (« Actif ») or removes it (« Retiré »).

    Raises ValidationError keyed "status" when the link is not (or no longer) disputed.
    Journal: RESPONSIBILITY_DISPUTE_RESOLVED with `kept`.
    """
    link = Responsibility.objects.select_for_update(of=("self",)).get(pk=responsibility.pk)
    if link.status != ResponsibilityStatus.DISPUTED:
        raise _field_error("status", _("État"), _(
            "ce lien n'est pas contesté (état « %(state)s ») : il n'y a pas de contestation "
            "à examiner."
        ) % {"state": _STATUS_LABELS[link.status]}, "not_disputed")
    return responsibility_update(
        responsibility=link,
        status=ResponsibilityStatus.ACTIVE if keep else ResponsibilityStatus.REMOVED,
        actor=actor, request=request,
    )
