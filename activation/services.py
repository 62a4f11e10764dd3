"""Every write of the activation domain: keyword-only arguments, one transaction each.

Each service locks the flow's row (select_for_update) before reading its counters, so two
tabs, a double click or two web nodes cannot both spend the same attempt. A refusal is raised
only after the transaction that counted it has committed: the counter must stick even though
the user gets an error.

No enumeration: until the code is verified, a flow whose name and number matched no school
record behaves exactly like one that did — same pages, same counters, same limits, same
database work — except that no SMS is queued and no code is ever accepted.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass, field
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Account, AccountKind, AccountState
from accounts.password_policy import password_errors
from accounts.services import account_create
from core import cache_counters as ratelimit
from core import codes
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.normalization import clean_name
from notifications.services import sms_enqueue
from pupils.models import GuardianRecord, Responsibility, ResponsibilityStatus

from .models import ActivationFlow, FlowKind, FlowStatus, FlowStep
from .selectors import (
    COVERING_STATES,
    accounts_covering,
    guardian_records_matching,
    pupil_links_for_records,
)

SMS_PURPOSE = "activation_code"

# Cache scopes of core.ratelimit.
SCOPE_SENDS_PHONE = "activation:sends:phone"
SCOPE_SENDS_IP = "activation:sends:ip"
SCOPE_WRONG_DATES_PHONE = "activation:wrong-dates:phone"


# --- Refusals ----------------------------------------------------------------------------


class ActivationRefused(Exception):
    """A refusal the user reads: French, says what happened and what to do."""

    def __init__(self, message: str, *, field_errors: dict | None = None):
        super().__init__(message)
        self.message = message
        # For step 3: pupil id -> message shown on that pupil.
        self.field_errors = field_errors or {}


class FlowUnavailable(Exception):
    """The flow cannot take this action now (wrong step, ended, expired): show its page."""


def _assistance() -> str:
    return (
        f"l'assistance au {settings.EDUCONNECT_ASSISTANCE_PHONE} (prix d'un appel local) ou sur "
        f"{settings.EDUCONNECT_ASSISTANCE_URL.removeprefix('https://')}"
    )


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


def message_code_format() -> str:
    return (
        f"Le code de sécurité comporte {codes.LENGTH} caractères, lettres et chiffres, par "
        "exemple K7PMX4. Saisissez le code reçu par SMS."
    )


def message_code_wrong(remaining: int) -> str:
    tries = "1 essai" if remaining == 1 else f"{remaining} essais"
    return (
        f"Le code de sécurité saisi est incorrect. Vérifiez le code reçu par SMS et saisissez-le "
        f"à nouveau (il vous reste {tries})."
    )


def message_code_dead(flow: ActivationFlow) -> str:
    if flow.sends < settings.ACTIVATION_MAX_SENDS_PER_FLOW:
        return (
            "Ce code de sécurité a été saisi trop de fois de manière incorrecte : il n'est plus "
            "valable. Demandez un nouveau code avec « Renvoyer le SMS »."
        )
    return (
        "Ce code de sécurité a été saisi trop de fois de manière incorrecte et vous avez "
        "déjà demandé le nombre maximal de codes pour cette activation. Recommencez "
        "l'activation depuis le début, ou contactez " + _assistance() + "."
    )


def message_code_expired() -> str:
    return (
        f"Ce code de sécurité n'est plus valable : il expire "
        f"{_minutes(settings.ACTIVATION_CODE_TTL)} minutes après son envoi. Demandez un nouveau "
        "code avec « Renvoyer le SMS »."
    )


def message_resend_cooldown(seconds: int) -> str:
    return (
        f"Un code vient de vous être envoyé. Patientez {seconds} secondes avant d'en demander un "
        "nouveau : le SMS peut mettre un peu de temps à arriver."
    )


def message_resend_flow_limit() -> str:
    return (
        f"Vous avez déjà demandé {settings.ACTIVATION_MAX_SENDS_PER_FLOW} codes pour cette "
        "activation, c'est le maximum. Recommencez l'activation depuis le début, ou "
        "contactez " + _assistance() + "."
    )


def message_phone_limit() -> str:
    hours = round(settings.ACTIVATION_PHONE_WINDOW_SECONDS / 3600)
    return (
        f"Trop de codes de sécurité ont été demandés pour ce numéro de téléphone : au plus "
        f"{settings.ACTIVATION_MAX_SENDS_PER_PHONE} en {hours} heures. Réessayez dans "
        f"{hours} heures, ou contactez " + _assistance() + "."
    )


def message_ip_limit() -> str:
    return (
        "Trop de codes de sécurité ont été demandés depuis votre connexion internet. Réessayez "
        f"dans {_minutes(settings.ACTIVATION_IP_WINDOW_SECONDS)} minutes."
    )


MESSAGE_DATE_WRONG = "La date de naissance saisie est incorrecte."
MESSAGE_ONLY_LINK = (
    "Cet élève est le seul qui vous est rattaché : l'indication « Je ne suis pas le représentant "
    "légal de cet élève » ne peut pas être prise en compte. Si vous êtes son représentant "
    "légal, cochez « Je suis le représentant légal de cet élève » et saisissez sa date de "
    "naissance ; sinon, contactez l'école ou l'établissement de l'élève."
)
MESSAGE_NONE_CONFIRMED = (
    "Pour activer votre compte, confirmez être le représentant légal d'au moins un élève et "
    "saisissez sa date de naissance."
)
MESSAGE_PUPILS_CHANGED = (
    "Les informations de l'établissement ont changé pendant votre saisie. Vérifiez la liste "
    "des élèves ci-dessous et confirmez à nouveau."
)
MESSAGE_RECORDS_TAKEN = (
    "Un compte ÉduConnect vient d'être activé avec ces informations. Connectez-vous avec ce "
    "compte."
)


# --- Helpers -----------------------------------------------------------------------------


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def session_secret_matches(flow: ActivationFlow, secret: str | None) -> bool:
    if not secret:
        return False
    return secrets.compare_digest(_hash_secret(secret), flow.session_secret_hash)


def _touch(flow: ActivationFlow, now: datetime.datetime) -> None:
    """Push the idle expiry back after an action, within the flow's maximum age."""
    flow.updated_at = now
    flow.expires_at = min(
        now + datetime.timedelta(seconds=settings.ACTIVATION_FLOW_IDLE_SECONDS),
        flow.created_at + datetime.timedelta(seconds=settings.ACTIVATION_FLOW_MAX_AGE_SECONDS),
    )


def _lock_flow(flow_id: UUID, *, step: FlowStep, now: datetime.datetime) -> ActivationFlow:
    flow = ActivationFlow.objects.select_for_update().get(pk=flow_id)
    if flow.status != FlowStatus.OPEN or flow.step != step or flow.is_expired(now):
        raise FlowUnavailable()
    return flow


def sms_text(code: str) -> str:
    minutes = _minutes(settings.ACTIVATION_CODE_TTL)
    return (
        f"ÉduConnect : votre code de sécurité est {code}. Il est valable {minutes} minutes. "
        "Ne le communiquez à personne."
    )


def _count_send(*, phone: str, ip: str) -> None:
    """Count one SMS (sent or, for a non-match, pretended) against the phone and IP limits."""
    if ip and ratelimit.hit(
        SCOPE_SENDS_IP, ip, window_seconds=settings.ACTIVATION_IP_WINDOW_SECONDS
    ) > settings.ACTIVATION_MAX_SENDS_PER_IP:
        raise ActivationRefused(message_ip_limit())
    if ratelimit.hit(
        SCOPE_SENDS_PHONE, phone, window_seconds=settings.ACTIVATION_PHONE_WINDOW_SECONDS
    ) > settings.ACTIVATION_MAX_SENDS_PER_PHONE:
        raise ActivationRefused(message_phone_limit())


def _new_code(flow: ActivationFlow, now: datetime.datetime) -> str:
    """Give the flow a fresh code (the old one dies) and return it, to be announced once
    the row is saved.

    A non-matching flow gets a code too (hashed and forgotten: nobody ever sees it), so that
    both paths write the same row.
    """
    code = codes.code_generate()
    flow.code_hash = codes.code_hash(flow_id=flow.id, code=code)
    flow.code_sent_at = now
    flow.code_expires_at = now + datetime.timedelta(seconds=settings.ACTIVATION_CODE_TTL)
    flow.wrong_codes = 0
    flow.sends += 1
    return code


def _announce_code(flow: ActivationFlow, code: str, *, request) -> None:
    """Queue the SMS (an outbox row in the caller's transaction, sent after commit) when the
    flow matched a record; either way one journal row, so both paths cost the same."""
    if flow.matched:
        sms_enqueue(
            to=flow.phone, body=sms_text(code), purpose=SMS_PURPOSE, contains_secret=True,
            flow_id=flow.id,
        )
        journal_record(
            EventKind.ACTIVATION_CODE_SENT, request=request, flow_id=flow.id, send=flow.sends
        )
    else:
        journal_record(
            EventKind.ACTIVATION_CODE_NOT_SENT, request=request, flow_id=flow.id, send=flow.sends,
            reason="no_match",
        )


# --- Step 1 ------------------------------------------------------------------------------


def activation_flow_start(
    *, last_name: str, first_name: str, phone: str, request: HttpRequest | None = None
) -> tuple[ActivationFlow, str]:
    """Open a flow for what the person typed (phone already in E.164) and send a code.

    Returns the flow and the secret to keep in the browser's session. Raises
    ActivationRefused when the phone number or the IP address has asked for too many codes.
    """
    ip = client_ip(request) if request is not None else ""
    _count_send(phone=phone, ip=ip)
    matched = guardian_records_matching(phone=phone, last_name=last_name, first_name=first_name)
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        flow = ActivationFlow(
            kind=FlowKind.SMS, step=FlowStep.CODE, session_secret_hash=_hash_secret(secret),
            last_name=clean_name(last_name), first_name=clean_name(first_name), phone=phone,
            matched_record_ids=matched, created_at=now,
        )
        _touch(flow, now)
        code = _new_code(flow, now)
        flow.save()
        journal_record(
            EventKind.ACTIVATION_STARTED, request=request, flow_id=flow.id, method=FlowKind.SMS,
            matched=bool(matched), records=len(matched),
        )
        _announce_code(flow, code, request=request)
    return flow, secret


# --- Step 2 ------------------------------------------------------------------------------


def activation_code_resend(*, flow_id: UUID, request: HttpRequest | None = None) -> None:
    """« Renvoyer le SMS »: a new code replaces the old one, within the limits."""
    now = timezone.now()
    ip = client_ip(request) if request is not None else ""
    with transaction.atomic():
        flow = _lock_flow(flow_id, step=FlowStep.CODE, now=now)
        elapsed = (now - flow.code_sent_at).total_seconds() if flow.code_sent_at else None
        cooldown = settings.ACTIVATION_RESEND_COOLDOWN_SECONDS
        if elapsed is not None and elapsed < cooldown:
            raise ActivationRefused(message_resend_cooldown(int(cooldown - elapsed) + 1))
        if flow.sends >= settings.ACTIVATION_MAX_SENDS_PER_FLOW:
            raise ActivationRefused(message_resend_flow_limit())
        _count_send(phone=flow.phone, ip=ip)
        code = _new_code(flow, now)
        _touch(flow, now)
        flow.save()
        _announce_code(flow, code, request=request)


@dataclass
class CodeOutcome:
    flow: ActivationFlow
    refusal: str | None = None


def activation_code_verify(
    *, flow_id: UUID, typed_code: str, request: HttpRequest | None = None
) -> ActivationFlow:
    """Check the typed code. On success the flow moves to step 3, or ends on « you already
    have an account » when the records are covered. Raises ActivationRefused otherwise."""
    code = codes.code_normalize(typed_code)
    if code is None:
        # Not a code at all: says how a code looks, and costs no attempt.
        raise ActivationRefused(message_code_format())
    now = timezone.now()
    with transaction.atomic():
        flow = _lock_flow(flow_id, step=FlowStep.CODE, now=now)
        outcome = _code_check(flow, code, now, request=request)
        _touch(flow, now)
        flow.save()
    if outcome.refusal:
        raise ActivationRefused(outcome.refusal)
    return flow


def _code_check(flow: ActivationFlow, code: str, now, *, request) -> CodeOutcome:
    if flow.wrong_codes >= settings.ACTIVATION_MAX_WRONG_CODES:
        return CodeOutcome(flow, message_code_dead(flow))
    if flow.code_expires_at is None or now >= flow.code_expires_at or not flow.code_hash:
        return CodeOutcome(flow, message_code_expired())
    # Compared even for a non-matching flow, which then refuses anyway: same work both ways.
    right = codes.code_matches(flow_id=flow.id, code=code, stored_hash=flow.code_hash)
    if not (right and flow.matched):
        flow.wrong_codes += 1
        flow.wrong_codes_total += 1
        journal_record(
            EventKind.ACTIVATION_CODE_REJECTED, request=request, flow_id=flow.id,
            attempt=flow.wrong_codes,
        )
        if flow.wrong_codes >= settings.ACTIVATION_MAX_WRONG_CODES:
            journal_record(
                EventKind.ACTIVATION_TOO_MANY_CODES, request=request, flow_id=flow.id,
                sends=flow.sends,
            )
            return CodeOutcome(flow, message_code_dead(flow))
        return CodeOutcome(
            flow, message_code_wrong(settings.ACTIVATION_MAX_WRONG_CODES - flow.wrong_codes)
        )
    # Single use: the hash goes with the success.
    flow.code_hash = ""
    flow.code_verified_at = now
    flow.wrong_codes = 0
    journal_record(EventKind.ACTIVATION_CODE_VERIFIED, request=request, flow_id=flow.id)
    covering = accounts_covering(flow.matched_record_ids)
    if covering:
        flow.status = FlowStatus.ALREADY_ACTIVE
        for account in covering:
            journal_record(
                EventKind.ACTIVATION_ALREADY_ACTIVE, request=request, flow_id=flow.id,
                account=account,
            )
    else:
        flow.step = FlowStep.PUPILS
    return CodeOutcome(flow)


# --- Step 3 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PupilAnswer:
    pupil_id: int
    is_legal_representative: bool
    birth_date: datetime.date | None = None


@dataclass
class _PupilsOutcome:
    refusal: str | None = None
    field_errors: dict = field(default_factory=dict)


def activation_pupils_confirm(
    *, flow_id: UUID, answers: list[PupilAnswer], request: HttpRequest | None = None
) -> ActivationFlow:
    """Step 3: the links confirmed with the right birth date are kept for the account; the
    links the guardian says are not theirs become « disputed » for the school (except the
    guardian's only link, which the seeds say is not taken into account).

    Wrong birth dates are counted on the flow and per phone number; past the limit the flow
    is blocked. Raises ActivationRefused (with a message per pupil) when nothing was applied.
    """
    now = timezone.now()
    with transaction.atomic():
        flow = _lock_flow(flow_id, step=FlowStep.PUPILS, now=now)
        outcome = _pupils_apply(flow, answers, now, request=request)
        _touch(flow, now)
        flow.save()
    if outcome.refusal or outcome.field_errors:
        raise ActivationRefused(outcome.refusal or "", field_errors=outcome.field_errors)
    return flow


def wrong_dates_exhausted(flow: ActivationFlow) -> bool:
    return flow.wrong_dates >= settings.ACTIVATION_MAX_WRONG_DATES or ratelimit.exceeded(
        SCOPE_WRONG_DATES_PHONE, flow.phone, limit=settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE
    )


def _block(flow: ActivationFlow, *, request) -> None:
    flow.status = FlowStatus.BLOCKED
    journal_record(EventKind.ACTIVATION_BLOCKED, request=request, flow_id=flow.id,
                   wrong_dates=flow.wrong_dates)


def _pupils_apply(flow: ActivationFlow, answers, now, *, request) -> _PupilsOutcome:
    if wrong_dates_exhausted(flow):
        _block(flow, request=request)
        return _PupilsOutcome()
    links = pupil_links_for_records(flow.matched_record_ids)
    by_pupil = {link.pupil.pk: link for link in links}
    answers_by_pupil = {a.pupil_id: a for a in answers}
    if set(answers_by_pupil) != set(by_pupil):
        return _PupilsOutcome(refusal=MESSAGE_PUPILS_CHANGED)

    only_link = len(links) == 1
    errors = {}
    for pupil_id, answer in answers_by_pupil.items():
        if only_link and not answer.is_legal_representative:
            errors[pupil_id] = MESSAGE_ONLY_LINK
    if errors:
        return _PupilsOutcome(field_errors=errors)
    confirmed = [a for a in answers if a.is_legal_representative]
    if not confirmed:
        return _PupilsOutcome(refusal=MESSAGE_NONE_CONFIRMED)

    wrong = [a for a in confirmed if a.birth_date != by_pupil[a.pupil_id].pupil.birth_date]
    if wrong:
        for answer in wrong:
            flow.wrong_dates += 1
            ratelimit.hit(SCOPE_WRONG_DATES_PHONE, flow.phone,
                          window_seconds=settings.ACTIVATION_PHONE_WINDOW_SECONDS)
            journal_record(
                EventKind.ACTIVATION_BIRTHDATE_REJECTED, request=request, flow_id=flow.id,
                pupil_id=answer.pupil_id, attempt=flow.wrong_dates,
            )
        if wrong_dates_exhausted(flow):
            _block(flow, request=request)
            return _PupilsOutcome()
        return _PupilsOutcome(field_errors={a.pupil_id: MESSAGE_DATE_WRONG for a in wrong})

    disputed = [by_pupil[a.pupil_id] for a in answers if not a.is_legal_representative]
    for link in disputed:
        for responsibility in Responsibility.objects.select_for_update().filter(
            pk__in=link.responsibility_ids, status=ResponsibilityStatus.ACTIVE
        ):
            responsibility.status = ResponsibilityStatus.DISPUTED
            # simple_history keeps the reason, for the school's secretaries.
            responsibility._change_reason = "Contesté par le responsable lors de l'activation"
            responsibility.save(update_fields=["status"])
            journal_record(
                EventKind.ACTIVATION_LINK_DISPUTED, request=request, flow_id=flow.id,
                pupil_id=link.pupil.pk, responsibility_id=responsibility.pk,
                guardian_record_id=responsibility.guardian_record_id,
            )
    kept = [by_pupil[a.pupil_id] for a in confirmed]
    flow.confirmed_pupil_ids = sorted(link.pupil.pk for link in kept)
    flow.confirmed_record_ids = sorted({r for link in kept for r in link.record_ids})
    flow.step = FlowStep.PASSWORD
    journal_record(
        EventKind.ACTIVATION_PUPILS_CONFIRMED, request=request, flow_id=flow.id,
        pupils=len(kept), disputed=len(disputed),
    )
    return _PupilsOutcome()


# --- Step 4 ------------------------------------------------------------------------------


def activation_step_back(*, flow_id: UUID) -> ActivationFlow:
    """« Précédent » on the password step: back to the pupils (the code is spent, so the
    pupils' step is as far back as a flow goes)."""
    now = timezone.now()
    with transaction.atomic():
        flow = _lock_flow(flow_id, step=FlowStep.PASSWORD, now=now)
        flow.step = FlowStep.PUPILS
        flow.confirmed_pupil_ids = []
        flow.confirmed_record_ids = []
        _touch(flow, now)
        flow.save()
    return flow


def account_owner_names(flow: ActivationFlow) -> tuple[str, str]:
    """(first name, last name) for the account: the school's spelling, accents included."""
    record = (
        GuardianRecord.objects.filter(pk__in=flow.confirmed_record_ids or flow.matched_record_ids)
        .order_by("pk")
        .only("first_name", "last_name")
        .first()
    )
    if record is None:
        return flow.first_name, flow.last_name
    return clean_name(record.first_name), clean_name(record.last_name)


def activation_account_create(
    *, flow_id: UUID, password: str, request: HttpRequest | None = None
) -> Account:
    """Create the guardian's account and attach every confirmed record to it, in one
    transaction. If another activation covered a record meanwhile, nothing is created and
    the flow ends on « you already have an account »."""
    now = timezone.now()
    refusal = None
    account = None
    with transaction.atomic():
        flow = _lock_flow(flow_id, step=FlowStep.PASSWORD, now=now)
        first_name, last_name = account_owner_names(flow)
        errors = password_errors(password, first_name=first_name, last_name=last_name)
        if errors:
            raise ActivationRefused(errors[0])
        records = list(
            GuardianRecord.objects.select_for_update(of=("self",))
            .filter(pk__in=flow.confirmed_record_ids)
            .select_related("account")
            .order_by("pk")
        )
        taken = [r for r in records if r.account is not None and r.account.state in COVERING_STATES]
        if taken or not records:
            flow.status = FlowStatus.ALREADY_ACTIVE
            refusal = MESSAGE_RECORDS_TAKEN
            for account_ in {r.account for r in taken}:
                journal_record(
                    EventKind.ACTIVATION_ALREADY_ACTIVE, request=request, flow_id=flow.id,
                    account=account_,
                )
        else:
            account = account_create(
                kind=AccountKind.GUARDIAN, first_name=first_name, last_name=last_name,
                password=password, state=AccountState.ACTIVE, phone=flow.phone,
                phone_verified=True,
            )
            for record in records:
                record.account = account
                record._change_reason = "Compte activé par SMS"
                record.save(update_fields=["account"])
            flow.account = account
            flow.step = FlowStep.DONE
            flow.status = FlowStatus.COMPLETED
            journal_record(
                EventKind.ACCOUNT_ACTIVATED, request=request, flow_id=flow.id, account=account,
                method=FlowKind.SMS, records=len(records), pupils=len(flow.confirmed_pupil_ids),
            )
        _touch(flow, now)
        flow.save()
    if refusal:
        raise ActivationRefused(refusal)
    return account


# --- Housekeeping ------------------------------------------------------------------------


def activation_flows_purge(*, older_than_days: int | None = None, batch_size: int = 5000) -> int:
    """Delete flows started more than `older_than_days` ago (what people typed is personal
    data). Batched by primary key so that a large backlog never holds a long lock."""
    days = settings.ACTIVATION_FLOW_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            ActivationFlow.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += ActivationFlow.objects.filter(pk__in=ids).delete()[0]
