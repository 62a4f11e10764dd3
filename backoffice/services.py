"""Every write of the back-office: staff users, and the helpdesk's actions on accounts.

Keyword-only arguments, one transaction each, each change journaled with its author (actor)
and, for the helpdesk, the reason the agent typed. simple-history keeps the before/after of
the rows (Account, GuardianRecord) with the author set on the instance.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.limits import sign_in_failures_clear, sign_in_suspensions
from accounts.models import Account, AccountKind, AccountState, StaffProfile, StaffRole
from accounts.password_policy import ERROR_SAME_AS_CURRENT
from accounts.services import account_create
from backoffice.limits import staff_sign_in_failures_clear
from backoffice.roles import group_for_role
from backoffice.selectors import StaffScope, sign_in_failure_addresses
from core.forms import BidiControlValidator, name_characters_valid
from core.journal import EventKind, journal_record
from core.normalization import clean_name, name_key
from notifications.services import sms_enqueue
from pupils.models import Academy, Establishment, Pupil

# The staff policy (accounts.password_policy): the published rules, STAFF_MIN_LENGTH
# characters at least, no name, identifier or email address inside. AUTH_PASSWORD_VALIDATORS
# applies the same policy to staff accounts on Django's own paths.
STAFF_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.password_policy.StaffPasswordValidator"},
]


EVERYTHING = StaffScope(everything=True)


@dataclass(frozen=True)
class AccountCloseResult:
    """What account_close did: closed the account, or (an account spanning academies) only
    released the records and pupil record of the agent's scope; the ids released."""

    closed: bool
    released_records: list[int]
    released_pupils: list[int]


class ActionRefused(Exception):
    """The action does not apply to the account as it is now; the message is French."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Staff users --------------------------------------------------------------------------


def staff_password_validate(password: str, *, account: Account | None = None) -> None:
    """Raise ValidationError (French messages) unless `password` follows the staff policy for
    `account` (its names, identifier and email are looked for inside)."""
    validators = password_validation.get_password_validators(STAFF_PASSWORD_VALIDATORS)
    password_validation.validate_password(password, user=account, password_validators=validators)


def staff_password_not_current_validate(password: str, *, account: Account) -> None:
    """Raise ValidationError (code « password_same_as_current ») when `password` is already
    `account`'s: a change must change it, as on the families' « Mon compte »
    (accounts.password_policy.ERROR_SAME_AS_CURRENT)."""
    if password and account.check_password(password):
        raise ValidationError(ERROR_SAME_AS_CURRENT, code="password_same_as_current")


@transaction.atomic
def staff_password_change(*, account: Account, password: str, request=None) -> Account:
    """A staff user changes their own password (the back-office's « Modifier le mot de
    passe »). Raises ValidationError unless it follows the staff policy. Journal:
    BACKOFFICE_PASSWORD_CHANGED (the fact, never the password)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    staff_password_validate(password, account=account)
    staff_password_not_current_validate(password, account=account)
    account.set_password(password)
    account._history_user = account
    account.save(update_fields=["password"])
    journal_record(EventKind.BACKOFFICE_PASSWORD_CHANGED, request=request, account=account,
                   actor=account)
    return account


def _check_scope(
    *, role: str, establishments: list[Establishment], academy: Academy | None
) -> None:
    if role == StaffRole.SECRETARY and not establishments:
        raise ValidationError(
            {"establishments": gettext(
                "Un secrétariat doit être rattaché à au moins un établissement."
            )}
        )
    if role == StaffRole.HELPDESK and academy is None:
        raise ValidationError(
            {"academy": gettext("Un agent d'assistance doit être rattaché à une académie.")}
        )


def _scope_summary(profile: StaffProfile) -> dict:
    return {
        "role": profile.role,
        "academy": profile.academy.name if profile.academy_id else "",
        "establishments": sorted(profile.establishments.values_list("uai", flat=True)),
    }


@transaction.atomic
def staff_create(
    *,
    first_name: str,
    last_name: str,
    email: str,
    password: str,
    role: str,
    establishments: Iterable[Establishment] = (),
    academy: Academy | None = None,
    actor: Account | None = None,
) -> Account:
    """A staff account with a fresh identifier (p.nomNN), its role and its scope. The second
    factor is enrolled at the first sign-in. Names and address are checked and normalised by
    staff_person_validate (ValidationError: a name with markup or emoji, an address already a
    staff account's)."""
    establishments = list(establishments) if role == StaffRole.SECRETARY else []
    academy = academy if role == StaffRole.HELPDESK else None
    _check_scope(role=role, establishments=establishments, academy=academy)
    first_name, last_name, email = staff_person_validate(
        first_name=first_name, last_name=last_name, email=email)
    probe = Account(first_name=first_name, last_name=last_name, email=email)
    staff_password_validate(password, account=probe)
    account = account_create(
        kind=AccountKind.STAFF, first_name=first_name, last_name=last_name, password=password,
        state=AccountState.ACTIVE, email=email,
    )
    account.is_staff = True
    account._history_user = actor
    account.save(update_fields=["is_staff"])
    profile = StaffProfile.objects.create(account=account, role=role, academy=academy)
    profile.establishments.set(establishments)
    account.groups.set([group_for_role(role)])
    journal_record(EventKind.BACKOFFICE_STAFF_CREATED, account=account, actor=actor,
                   **_scope_summary(profile))
    return account


def staff_person_validate(*, first_name: str, last_name: str, email: str) -> tuple[str, str, str]:
    """Check and normalise a new staff user's names and professional address.

    Names: the rule of every family form (core.forms.name_characters_valid: letters, spaces,
    hyphens, apostrophes, the period of « St. »; no markup, digit or emoji, which would end
    up in the identifier p.nomNN and in every list), no bidirectional control, at least one
    letter, spaces collapsed (core.normalization.clean_name). Address: not already a staff
    account's, closed ones included (one person, one staff account: a closed one is opened
    again from « Personnels »), case aside.
    Returns (first name, last name, address). Raises ValidationError keyed "first_name",
    "last_name", "email"."""
    errors: dict[str, list] = {}
    names = {}
    for field, label, value in (("first_name", gettext("Prénom"), first_name),
                                ("last_name", gettext("Nom"), last_name)):
        try:
            BidiControlValidator(label)(value)
        except ValidationError as error:
            errors[field] = [error]
            continue
        value = clean_name(value)
        if not name_key(value):
            errors[field] = [ValidationError(
                gettext("%(field)s : saisissez-le, avec au moins une lettre.")
                % {"field": label}, code="required")]
        elif not name_characters_valid(value):
            errors[field] = [ValidationError(
                gettext("%(field)s : saisissez uniquement des lettres, accentuées ou non, des "
                        "espaces, des traits d'union, des apostrophes et le point d'une "
                        "abréviation (« St. ») ; retirez les chiffres, symboles, émojis et "
                        "les signes < et >.") % {"field": label}, code="characters")]
        names[field] = value
    email = (email or "").strip()
    holder = (Account.objects.filter(kind=AccountKind.STAFF, email__iexact=email)
              .only("identifier").first() if email else None)
    if holder is not None:
        errors["email"] = [ValidationError(
            gettext("Adresse mail professionnelle : elle est déjà celle du compte "
                    "%(identifier)s. Une personne n'a qu'un compte du personnel : modifiez "
                    "celui-ci dans « Personnels » plutôt que d'en créer un second.")
            % {"identifier": holder.display_identifier}, code="unique")]
    if errors:
        raise ValidationError(errors)
    return names["first_name"], names["last_name"], email


@transaction.atomic
def staff_update(
    *,
    profile: StaffProfile,
    role: str,
    establishments: Iterable[Establishment],
    academy: Academy | None,
    state: str,
    actor: Account,
    new_password: str = "",
) -> StaffProfile:
    """Change a staff user's role, scope or state (locked/closed stop their access)."""
    establishments = list(establishments) if role == StaffRole.SECRETARY else []
    academy = academy if role == StaffRole.HELPDESK else None
    _check_scope(role=role, establishments=establishments, academy=academy)
    if state not in (AccountState.ACTIVE, AccountState.LOCKED, AccountState.CLOSED):
        raise ValidationError(
            {"state": gettext("Choisissez un état : actif, verrouillé ou fermé.")}
        )
    # Re-read: an admin form has already written its values on the instance it holds.
    profile = StaffProfile.objects.select_related("academy").get(pk=profile.pk)
    account = Account.objects.select_for_update().get(pk=profile.account_id)
    if account.pk == actor.pk and (state != AccountState.ACTIVE or role != StaffRole.NATIONAL):
        raise ValidationError(
            gettext("Vous ne pouvez pas retirer vos propres droits : demandez-le à un autre "
            "administrateur national.")
        )
    before = _scope_summary(profile) | {"state": account.state}
    profile.role = role
    profile.academy = academy
    profile.save(update_fields=["role", "academy"])
    profile.establishments.set(establishments)
    account.groups.set([group_for_role(role)])
    changed_fields = []
    if account.state != state:
        account.state = state
        changed_fields.append("state")
    if new_password:
        staff_password_validate(new_password, account=account)
        account.set_password(new_password)
        changed_fields.append("password")
    if changed_fields:
        account._history_user = actor
        account.save(update_fields=changed_fields)
    after = _scope_summary(profile) | {"state": account.state}
    journal_record(EventKind.BACKOFFICE_STAFF_UPDATED, account=account, actor=actor, before=before,
                   after=after, password_changed=bool(new_password))
    return profile


@transaction.atomic
def staff_second_factor_reset(*, account: Account, actor: Account) -> int:
    """Forget the staff user's TOTP devices: they enrol a new one at their next sign-in, at
    once: their failed passwords and codes are forgotten too (backoffice.limits)."""
    deleted, _ = TOTPDevice.objects.filter(user=account).delete()
    journal_record(EventKind.BACKOFFICE_SECOND_FACTOR_RESET, account=account, actor=actor)
    staff_sign_in_failures_clear(identifier=account.identifier, account_id=account.pk)
    return deleted


# --- Helpdesk actions on accounts ---------------------------------------------------------


def _state_before_lock(account: Account) -> str:
    """The state the account had before it was locked (its history says), else what its
    activation date implies."""
    previous = (
        account.history.exclude(state=AccountState.LOCKED)
        .order_by("-history_date", "-history_id")
        .values_list("state", flat=True)
        .first()
    )
    if previous in (AccountState.ACTIVE, AccountState.PROVISIONAL):
        return previous
    return AccountState.ACTIVE if account.activated_at else AccountState.PROVISIONAL


@transaction.atomic
def account_unlock(*, account: Account, actor: Account, reason: str, request=None) -> Account:
    """Give the holder their sign-in back: a locked account returns to the state it had
    before, and the portal's failed sign-ins of its identifier are forgotten — its shared
    window (which suspends untrusted sign-ins after LOGIN_MAX_FAILURES_PER_IDENTIFIER
    failures) and its (identifier, address) windows (LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP
    from one address) of the addresses of its recent failed sign-ins in the journal
    (selectors.sign_in_failure_addresses; accounts.limits).

    Raises ActionRefused when the account is neither locked nor suspended. The journal
    says which of the two it was (`state_before`/`state_after`, `sign_in_suspended`: any of
    those windows full).
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    addresses = sign_in_failure_addresses(account=account)
    suspended = sign_in_suspensions(identifier=account.identifier, ips=addresses).suspended
    if account.state != AccountState.LOCKED and not suspended:
        raise ActionRefused(gettext(
            "Ce compte n'est pas verrouillé et sa connexion n'est pas suspendue : il n'y a "
            "rien à déverrouiller."
        ))
    state_before = account.state
    if account.state == AccountState.LOCKED:
        account.state = _state_before_lock(account)
        account._history_user = actor
        account.save(update_fields=["state"])
    journal_record(
        EventKind.HELPDESK_ACCOUNT_UNLOCKED, request=request, account=account, actor=actor,
        reason=reason, state_before=state_before, state_after=account.state,
        sign_in_suspended=suspended,
    )
    # The portal's failed sign-in windows of this identifier start again.
    sign_in_failures_clear(identifier=account.identifier, ips=addresses)
    return account


@transaction.atomic
def account_close(*, account: Account, actor: Account, reason: str, request=None,
                  scope: StaffScope = EVERYTHING) -> AccountCloseResult:
    """« Fermer le compte »: close the account and release what it covered (its guardian
    records and its pupil record can then be claimed by a new activation) — when all it
    covers is in the agent's `scope` (backoffice.selectors.StaffScope; a national agent's
    is everything).

    An account covering rows outside `scope` (a parent with a child in another academy) is
    not closed: that would change the other academy's records, and its parent would lose
    the account its other academy still relies on. Nor is the action refused (the other
    academy's agent would meet the same refusal: a dead end but for the national
    administration). Instead, in the same transaction, only the records and pupil record of
    `scope` are released (their account emptied, as a closing does), the account stays in
    its state for the others, and HELPDESK_RECORDS_RELEASED is journaled (reason, state,
    the released ids). Each academy's helpdesk can so release its own part; the last one
    whose release would leave the account covering nothing closes it as before.

    Returns AccountCloseResult: `closed` (the account is closed), `released_records` and
    `released_pupils` (ids). Raises ActionRefused (French) for a closed or staff account.
    The account row is locked first, then its records by primary key (the merge's order).
    """
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.state == AccountState.CLOSED:
        raise ActionRefused(gettext("Ce compte est déjà fermé."))
    if account.kind == AccountKind.STAFF:
        raise ActionRefused(gettext("Les comptes du personnel se gèrent dans « Personnels »."))
    state_before = account.state
    records = list(account.guardian_records.select_for_update().order_by("pk"))
    in_scope = scope.establishment_q("establishment")
    mine = set(account.guardian_records.filter(in_scope).values_list("pk", flat=True))
    pupils = Pupil.objects.filter(account=account)
    pupil_ids = list(pupils.filter(in_scope).values_list("pk", flat=True))
    shared = len(mine) < len(records) or pupils.exclude(pk__in=pupil_ids).exists()
    if not shared:
        account.state = AccountState.CLOSED
        account._history_user = actor
        account.save(update_fields=["state"])
    released = []
    for record in records:
        if record.pk not in mine:
            continue
        record.account = None
        record._history_user = actor
        record.save(update_fields=["account"])
        released.append(record.pk)
    Pupil.objects.filter(pk__in=pupil_ids).update(account=None)
    journal_record(EventKind.HELPDESK_RECORDS_RELEASED if shared
                   else EventKind.HELPDESK_ACCOUNT_CLOSED,
                   request=request, account=account, actor=actor,
                   reason=reason, state_before=state_before, released_guardian_records=released,
                   released_pupils=pupil_ids)
    return AccountCloseResult(closed=not shared, released_records=released,
                              released_pupils=pupil_ids)


IDENTIFIER_SMS_PURPOSE = "identifier_reminder"


@transaction.atomic
def account_identifier_send(*, account: Account, actor: Account, reason: str,
                            request=None) -> None:
    """« Renvoyer l'identifiant par SMS » (issue 16 §5): the account's identifier, by SMS, to
    the mobile number verified on the account — never to a number typed by the agent —
    journaled with the agent and their reason. Raises ActionRefused when the account has no
    verified number or is closed."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.state == AccountState.CLOSED:
        raise ActionRefused(gettext("Ce compte est fermé : il n'a plus d'identifiant utilisable."))
    if not account.phone or not account.phone_verified:
        raise ActionRefused(gettext(
            "Ce compte n'a pas de numéro de téléphone portable vérifié : l'identifiant ne peut "
            "pas être envoyé par SMS. Le titulaire peut utiliser le formulaire d'assistance "
            "académique, ou l'établissement lui remettre un courrier."))
    # The same text as « Identifiant oublié ? » sends (accounts.recovery).
    body = render_to_string("sms/identifier_reminder.txt",
                            {"identifiers": [account.display_identifier], "count": 1}).strip()
    sms_enqueue(to=str(account.phone), body=body, purpose=IDENTIFIER_SMS_PURPOSE,
                account=account)
    journal_record(EventKind.HELPDESK_IDENTIFIER_SENT, request=request, account=account,
                   actor=actor, reason=reason)
