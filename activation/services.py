"""Every write of the SMS activation (flow kind SMS_ACTIVATION, activation/flows.py):
keyword-only arguments, one transaction each.

The flow engine (core.flows) binds the flow to the browser, locks its row for each action
and keeps its step; the code process (core.codes) makes, sends and checks the codes and
holds their limits. What is left here is the activation's own: matching the school's
records, the pupils' birth dates, the account.

A refusal is raised only after the transaction that counted it has committed: the counter
must stick even though the user gets an error.

No enumeration: until the code is verified, a flow whose name and number matched no school
record behaves exactly like one that did — same pages, same counters, same limits, same
database work — except that no SMS is queued and no code is ever accepted.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import Account, AccountKind, AccountState
from accounts.password_policy import password_errors
from accounts.services import account_create
from core import codes, ratelimit
from core.codes import CodeIssue, CodeRefusalReason, CodeRefused, CodeVerdict
from core.flowkinds import FlowKind
from core.flows import (
    FlowUnavailable,
    flow_end,
    flow_lock,
    flow_move,
    flow_save,
    flow_start,
    flow_touch,
)
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.models import Flow, FlowStatus
from core.moments import moment_on_page
from core.normalization import clean_name
from franceconnect.services import franceconnect_link_create, link_of_account, link_of_sub
from notifications.services import sms_enqueue
from pupils.models import GuardianRecord, Responsibility, ResponsibilityStatus

from . import messages
from .flows import (
    ACTIVATION_CODE,
    FRANCECONNECT_LINK,
    SMS_ACTIVATION,
    WRONG_DATES_PER_PHONE,
    ActivationData,
    FranceConnectLinkData,
)
from .selectors import (
    COVERING_STATES,
    accounts_covering,
    guardian_record_names,
    guardian_records_for_franceconnect,
    guardian_records_locked,
    guardian_records_matching,
    pupil_links_for_records,
    records_uncovered,
)

__all__ = ["ActivationRefused", "FlowUnavailable"]  # FlowUnavailable: for the views


# --- Refusals ----------------------------------------------------------------------------


class PupilField(StrEnum):
    """Which answer of a pupil (step 3) a refusal is about."""

    LINK = "link"
    BIRTH_DATE = "birth_date"


class ActivationRefused(Exception):
    """A refusal the user reads (activation.messages): says what happened and what to do."""

    def __init__(self, message: str, *,
                 field_errors: dict[int, tuple[PupilField, str]] | None = None,
                 retry_after: int = 0):
        super().__init__(message)
        self.message = message
        # Seconds before a rate limit lets this client in again (0: not a rate limit); the
        # page then answers 429 with Retry-After.
        self.retry_after = retry_after
        # For step 3: pupil id -> (the answer at fault, the message shown on it).
        self.field_errors = field_errors or {}


def _send_refusal(refused: CodeRefused) -> ActivationRefused:
    if refused.reason == CodeRefusalReason.RESEND_COOLDOWN:
        return ActivationRefused(messages.message_resend_cooldown(refused.retry_after))
    if refused.reason == CodeRefusalReason.FLOW_LIMIT:
        return ActivationRefused(messages.message_resend_flow_limit())
    return ActivationRefused(messages.message_ip_limit(refused.retry_after),
                             retry_after=refused.retry_after)

# --- Step 1 ------------------------------------------------------------------------------


def activation_flow_start(
    *, last_name: str, first_name: str, phone: str, request: HttpRequest | None = None
) -> tuple[Flow, str]:
    """Open a flow for what the person typed (phone in E.164) and send a code — or, when
    nothing matched, make one and send nothing.

    Returns the flow and the secret to keep in the browser's session (core.flows.flow_bind).
    Raises ActivationRefused when this IP address has asked for too many codes (nothing is
    written then). The per-number limits are silent (core.codes).
    """
    phone = str(phone)
    ip = client_ip(request) if request is not None else ""
    matched = guardian_records_matching(phone=phone, last_name=last_name, first_name=first_name)
    data = ActivationData(last_name=clean_name(last_name), first_name=clean_name(first_name),
                          matched_record_ids=matched)
    now = timezone.now()
    try:
        with transaction.atomic():
            flow, secret = flow_start(kind=SMS_ACTIVATION, step="code", phone=phone,
                                      data=asdict(data), now=now)
            journal_record(
                EventKind.ACTIVATION_STARTED, request=request, flow_id=flow.id, method="sms",
                matched=bool(matched), records=len(matched),
            )
            codes.code_issue(flow=flow, purpose=ACTIVATION_CODE, recipient=phone,
                             deliver=data.matched, ip=ip, request=request, now=now,
                             new_flow=True)
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return flow, secret


# --- Counters of a number ------------------------------------------------------------------


def activation_counters_clear(*, phones, reason: str, actor: Account | None = None,
                              request: HttpRequest | None = None) -> int:
    """Forget, for each E.164 number of `phones`, every counter the SMS activation keeps
    on it: wrong birth dates (WRONG_DATES_PER_PHONE), codes sent (the per-number quota) and
    the per-number cooldown. Returns how many numbers were cleared.

    Called when the school fixed a birth date or a number (pupils.signals, reason
    "birth_date_fixed", "mobile_phone_fixed", "roster_fixed") and by the helpdesk's
    « Débloquer l'activation » (reason typed by the agent, `actor` set). A blocked flow stays
    ended: the parent starts again and has every attempt back (issue 16 §4). Journal:
    ACTIVATION_COUNTERS_CLEARED with the count and the reason — never a number.
    """
    numbers = sorted({str(p) for p in phones if p})
    for number in numbers:
        ratelimit.clear(WRONG_DATES_PER_PHONE, number)
        key = codes.recipient_key(ACTIVATION_CODE.channel, number)
        ratelimit.clear(ACTIVATION_CODE.recipient_rule, key)
        ratelimit.clear(codes.RECIPIENT_COOLDOWN, key)
    if numbers and actor is None:
        journal_record(EventKind.ACTIVATION_COUNTERS_CLEARED, request=request,
                       numbers=len(numbers), reason=reason)
    return len(numbers)


# --- Step 2 ------------------------------------------------------------------------------


def activation_code_resend(*, flow_id: UUID, request: HttpRequest | None = None,
                           kind: FlowKind = SMS_ACTIVATION) -> CodeIssue:
    """« Renvoyer le SMS »: one more code, to the number the flow was started with; the
    earlier codes stay valid. Raises ActivationRefused (too early, the flow's maximum, this
    IP's maximum) or FlowUnavailable. The returned issue says whether the SMS really left
    (for staff only: the person's page reads the same either way).

    An SMS activation runs step 1's matching again with the flow's names and number, on
    every resend, matched or not (the same query either way: no timing tells anything): a
    flow that matched nothing is matched from now on when the school has since fixed its
    record (the page's own advice, « contactez l'école… il peut corriger ses
    informations »), and its code is sent within every limit of a first send (core.codes
    .code_issue). A flow that matched keeps what it matched."""
    now = timezone.now()
    ip = client_ip(request) if request is not None else ""
    try:
        with transaction.atomic():
            flow = flow_lock(flow_id=flow_id, kind=kind, step="code", now=now)
            data = ActivationData.of(flow)
            if kind == SMS_ACTIVATION:
                _matching_refresh(flow, data)
            issue = codes.code_issue(
                flow=flow, purpose=ACTIVATION_CODE, recipient=str(flow.phone),
                deliver=data.matched, ip=ip, request=request, now=now,
            )
            flow_touch(flow, now=now)
            flow_save(flow)
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return issue


def _matching_refresh(flow: Flow, data: ActivationData) -> None:
    """Step 1's matching again for `flow` (locked) with its own names and number: when it
    matched nothing and now matches, `data` and the flow's data take the records found (the
    caller saves the flow). One query whatever the outcome."""
    matched = guardian_records_matching(phone=str(flow.phone), last_name=data.last_name,
                                        first_name=data.first_name)
    if matched and not data.matched:
        data.matched_record_ids = matched
        flow.data = {**(flow.data or {}), "matched_record_ids": matched}


def activation_code_verify(
    *, flow_id: UUID, typed_code: str, request: HttpRequest | None = None,
    kind: FlowKind = SMS_ACTIVATION,
) -> Flow:
    """Check the typed code. On success the flow moves to the pupils, or (SMS activation)
    ends on « you already have an account » when the records are covered; a FranceConnect
    first link always goes on to the pupils (it may join an existing account). A flow bound
    for the pupils with a number blocked for its wrong dates ends BLOCKED at once
    (blocked_number_end). Raises
    ActivationRefused otherwise (a malformed entry costs no attempt), or FlowUnavailable."""
    code = codes.code_normalize(typed_code)
    if code is None:
        raise ActivationRefused(messages.message_code_format())
    now = timezone.now()
    refusal = None
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=kind, step="code", now=now)
        check = codes.code_verify(flow=flow, purpose=ACTIVATION_CODE, code=code,
                                  request=request, now=now)
        if check.verdict == CodeVerdict.ACCEPTED and kind == FRANCECONNECT_LINK:
            flow_move(flow, step="pupils")
            blocked_number_end(flow, FranceConnectLinkData.of(flow), request=request)
        elif check.verdict == CodeVerdict.ACCEPTED:
            _code_accepted(flow, request=request)
            blocked_number_end(flow, ActivationData.of(flow), request=request)
        elif check.verdict == CodeVerdict.WRONG:
            refusal = messages.message_code_wrong(check.remaining)
        elif check.verdict == CodeVerdict.DEAD:
            refusal = messages.message_code_dead(check.issued)
        else:
            refusal = messages.message_code_expired()
        flow_touch(flow, now=now)
        flow_save(flow)
    if refusal:
        raise ActivationRefused(refusal)
    return flow


def blocked_number_end(flow: Flow, data, *, request) -> None:
    """A flow whose code was just accepted and that goes on to the pupils' step, with a
    number whose window of wrong birth dates is full (WRONG_DATES_PER_PHONE): end it BLOCKED
    now (_block, journaled), so that its page says at once « Activation bloquée pour ce
    numéro jusqu'au … » and what lifts it (dates_block_read), instead of step 3 taking the
    dates and telling it only then (tryout: even a right date ended on the block).

    Only past the code: the phone is proven, so this tells a stranger nothing; step 1 and the
    code step are unchanged (same page, same SMS, whatever the number's state). One read of
    the window, no hit."""
    if flow.status != FlowStatus.OPEN or flow.step != "pupils":
        return
    subject = str(flow.phone)
    if ratelimit.peek(WRONG_DATES_PER_PHONE, subject):
        return
    _block(flow, data, rule=WRONG_DATES_PER_PHONE, subject=subject,
           counted_on=COUNTED_ON_PHONE, request=request)


def _code_accepted(flow: Flow, *, request) -> None:
    data = ActivationData.of(flow)
    covering = accounts_covering(data.matched_record_ids)
    if not covering:
        flow_move(flow, step="pupils")
        return
    # Issue 11 §2: some records are covered by one active account and others by none (a new
    # child in a new school): the uncovered ones go on to the birth dates, then are attached
    # to that account, instead of the dead end « vous avez déjà un compte ».
    uncovered = records_uncovered(data.matched_record_ids)
    owner = covering[0]
    if (len(covering) == 1 and owner.state == AccountState.ACTIVE
            and owner.kind == AccountKind.GUARDIAN and pupil_links_for_records(uncovered)):
        data.matched_record_ids = uncovered
        data.attach_account_id = owner.pk
        data.store(flow)
        flow_move(flow, step="pupils")
        return
    flow_end(flow, status=FlowStatus.ALREADY_ACTIVE)
    for account in covering:
        journal_record(EventKind.ACTIVATION_ALREADY_ACTIVE, request=request, flow_id=flow.id,
                       account=account)


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
) -> Flow:
    """Step 3: the links confirmed with the right birth date are kept for the account; the
    links the guardian says are not theirs become « disputed » for the school (except the
    guardian's only link, which the seeds say is not taken into account) — when the account
    is created (activation_account_create), not here: until then « Précédent » on the
    password step may still correct the answer (activation_step_back). When the flow
    attaches to an existing account (issue 11 §2: no password step), at once.

    Wrong birth dates are counted on the flow and per phone number; past the limit the flow
    is blocked. Raises ActivationRefused (with a message per pupil) when nothing was applied.
    """
    now = timezone.now()
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=SMS_ACTIVATION, step="pupils", now=now)
        data = ActivationData.of(flow)
        outcome = pupil_answers_apply(flow, data, answers, request=request,
                                      then=_after_pupils,
                                      dispute_later=data.attach_account_id is None)
        data.store(flow)
        flow_touch(flow, now=now)
        flow_save(flow)
    if outcome.refusal or outcome.field_errors:
        raise ActivationRefused(outcome.refusal or "", field_errors=outcome.field_errors)
    return flow


def wrong_dates_exhausted(flow: Flow, data: ActivationData) -> bool:
    return _dates_exhausted(data, WRONG_DATES_PER_PHONE, str(flow.phone))


def _dates_exhausted(data, rule: ratelimit.Rule, subject: str) -> bool:
    return (data.wrong_dates >= settings.ACTIVATION_MAX_WRONG_DATES
            or not ratelimit.peek(rule, subject))


@dataclass(frozen=True)
class DatesLeft:
    """How many more wrong birth dates a flow takes before it is blocked, by the nearer of
    its two limits (wrong_dates_left).

    `count`: the wrong dates left (0: the next answer is not looked at), the smaller of the
    journey's (ACTIVATION_MAX_WRONG_DATES less the flow's `wrong_dates`) and the window's
    (`rule`'s remaining, ACTIVATION_MAX_WRONG_DATES_PER_PHONE per
    ACTIVATION_PHONE_WINDOW_SECONDS, shared by every journey of the number). `number_block`:
    True when the window's is the nearer (or both are equal): reaching it blocks the NUMBER
    for up to `window_hours`, not only this journey — the words must say so.
    `journey_limit`: ACTIVATION_MAX_WRONG_DATES, for the words."""

    count: int
    number_block: bool
    window_hours: int
    journey_limit: int


def _dates_left(data, rule: ratelimit.Rule, subject: str) -> DatesLeft:
    """DatesLeft of `data` (the flow's `wrong_dates`) and `rule`'s window for `subject`:
    one read of the window (ratelimit.peek), no hit."""
    journey = max(settings.ACTIVATION_MAX_WRONG_DATES - data.wrong_dates, 0)
    decision = ratelimit.peek(rule, subject)
    window = decision.remaining if decision else 0
    return DatesLeft(count=min(journey, window), number_block=window <= journey,
                     window_hours=max(1, round(rule.window_seconds / 3600)),
                     journey_limit=settings.ACTIVATION_MAX_WRONG_DATES)


def wrong_dates_left(flow: Flow, data) -> DatesLeft:
    """The countdown of the pupils' step of a flow counted on its phone number (SMS
    activation, FranceConnect first link, « Ajouter un enfant »: WRONG_DATES_PER_PHONE),
    `data` its ActivationData (or a subclass). A tryout: a second journey with a number that
    already spent 6 of its 10 said « Encore 3 » from its own limit, and the number was
    blocked for 24 hours two dates later. Only shown past the SMS code: the number is
    proven, so its count tells a stranger nothing."""
    return _dates_left(data, WRONG_DATES_PER_PHONE, str(flow.phone))


# Which limit of wrong birth dates ended a flow BLOCKED (the `block` fact of
# ACTIVATION_BLOCKED): the journey's own (ACTIVATION_MAX_WRONG_DATES; a new journey may start
# at once), or the window shared by every journey of the number or the account (`rule`:
# ACTIVATION_MAX_WRONG_DATES_PER_PHONE per ACTIVATION_PHONE_WINDOW_SECONDS; none before a
# place frees in it, `wait_seconds`). When both are reached at once, the window's, the one
# that holds.
BLOCK_JOURNEY = "journey"
BLOCK_WINDOW = "window"
# Where the window counts: the phone number (SMS activation, « Ajouter un enfant », the
# FranceConnect first link) or the account (the first sign-in with a school letter).
COUNTED_ON_PHONE = "phone"
COUNTED_ON_ACCOUNT = "account"


def _block(flow: Flow, data, *, rule: ratelimit.Rule, subject: str, counted_on: str,
           request) -> None:
    """End `flow` BLOCKED and journal ACTIVATION_BLOCKED with what the helpdesk needs to
    tell the two blocks apart (backoffice.journal_labels): `wrong_dates` (this journey's),
    `block` (BLOCK_JOURNEY or BLOCK_WINDOW), `journey_limit` (ACTIVATION_MAX_WRONG_DATES),
    `window_limit` and `window_seconds` (`rule`'s), `counted_on` (COUNTED_ON_PHONE or
    COUNTED_ON_ACCOUNT) and `wait_seconds` until one more date is allowed (0 for
    BLOCK_JOURNEY: a new journey may start at once). One more read of `rule`'s window, at
    the block only."""
    decision = ratelimit.peek(rule, subject)
    flow_end(flow, status=FlowStatus.BLOCKED)
    facts = {"wrong_dates": data.wrong_dates,
             "block": BLOCK_JOURNEY if decision else BLOCK_WINDOW,
             "journey_limit": settings.ACTIVATION_MAX_WRONG_DATES,
             "window_limit": rule.limit, "window_seconds": rule.window_seconds,
             "counted_on": counted_on,
             "wait_seconds": 0 if decision else decision.retry_after}
    journal_record(EventKind.ACTIVATION_BLOCKED, request=request, flow_id=flow.id, **facts)


@dataclass(frozen=True)
class DatesBlock:
    """Where the number of a flow ended BLOCKED stands, read when its page is shown
    (dates_block_read).

    `window`: True when the number's own window is full (ACTIVATION_MAX_WRONG_DATES_PER_PHONE
    wrong dates per ACTIVATION_PHONE_WINDOW_SECONDS): no journey with it may take a date
    before `until` (an aware datetime). False when only the journey's limit
    (ACTIVATION_MAX_WRONG_DATES) ended it: a new one may start at once, and `dates_left` wrong
    dates remain on the number in its window (`until` is None). `journey_limit`,
    `window_hours`: the settings, for the words."""

    window: bool
    dates_left: int
    until: datetime.datetime | None
    journey_limit: int
    window_hours: int
    # `until` as the number's owner reads it (core.moments.moment_on_page: « day », « time »,
    # « zone », e.g. « heure de La Réunion » for a +262 number, « heure de Paris » else).
    until_words: dict | None = None


def dates_block_read(flow: Flow) -> DatesBlock:
    """The block of `flow` (SMS activation, « Ajouter un enfant », the FranceConnect first
    link: the wrong dates count per phone number, WRONG_DATES_PER_PHONE) as it stands now,
    for the page that tells it (the journal's ACTIVATION_BLOCKED says how it stood then,
    `_block`). Read now, not then: a window that emptied since, or was cleared by the school's
    fix or the assistance (« Débloquer l'activation »), no longer blocks. One read of the
    window, no write. Only a flow past the SMS code reaches its blocked page: the number was
    proven, so its state tells a stranger nothing."""
    decision = ratelimit.peek(WRONG_DATES_PER_PHONE, str(flow.phone))
    hours = max(1, round(WRONG_DATES_PER_PHONE.window_seconds / 3600))
    if decision:
        return DatesBlock(window=False, dates_left=decision.remaining, until=None,
                          journey_limit=settings.ACTIVATION_MAX_WRONG_DATES,
                          window_hours=hours)
    until = timezone.now() + datetime.timedelta(seconds=decision.retry_after)
    return DatesBlock(window=True, dates_left=0, until=until,
                      journey_limit=settings.ACTIVATION_MAX_WRONG_DATES, window_hours=hours,
                      until_words=moment_on_page(until, phone=str(flow.phone)))


def pupil_answers_apply(flow: Flow, data: ActivationData, answers: list[PupilAnswer], *,
                        request, then,
                        date_wrong_message: Callable[..., str] = messages.message_date_wrong,
                        dispute_later: bool = False, with_disputed: bool = False,
                        ) -> _PupilsOutcome:
    """The pupils' step of a flow that started from a mobile number (SMS activation,
    families' « Ajouter un enfant », the FranceConnect first link): pupils_answers_apply on
    the pupils of `data.matched_record_ids`, wrong dates counted per phone number
    (WRONG_DATES_PER_PHONE, shared by these kinds). `date_wrong_message(remaining,
    number_hours=…)`: the words of a wrong date (number_hours: None, or the hours the number
    will be blocked when the nearer limit is its window: DatesLeft), the activation's
    unless the caller's démarche is another (« Ajouter un enfant »). `dispute_later`,
    `with_disputed`: as pupils_answers_apply and pupil_links_for_records."""
    return pupils_answers_apply(
        flow, data, answers,
        links=pupil_links_for_records(data.matched_record_ids, with_disputed=with_disputed),
        rule=WRONG_DATES_PER_PHONE, subject=str(flow.phone), request=request, then=then,
        date_wrong_message=date_wrong_message, dispute_later=dispute_later,
    )


def links_dispute(flow: Flow, responsibility_ids, *, request,
                  account: Account | None = None) -> int:
    """Mark « Contesté par le responsable » those of the links `responsibility_ids` that are
    still active (locked here; a link the school changed meanwhile is left as it is), in
    the caller's transaction: the guardian said « Je ne suis pas le représentant légal de
    cet élève » (seed 000; the school's secretaries examine it: pupils.services
    .responsibility_dispute_resolve). Each one journaled ACTIVATION_LINK_DISPUTED (on
    `account` when there is one) and kept in the link's history with the reason. Returns
    how many were marked."""
    marked = 0
    if not responsibility_ids:
        # Nothing to mark (most activations): the ORM's compiling of a query that an empty
        # IN keeps from being sent is spared (issue 14).
        return marked
    for responsibility in Responsibility.objects.select_for_update().filter(
        pk__in=list(responsibility_ids), status=ResponsibilityStatus.ACTIVE
    ).order_by("pk"):
        responsibility.status = ResponsibilityStatus.DISPUTED
        # simple_history keeps the reason, for the school's secretaries.
        responsibility._change_reason = "Contesté par le responsable lors de l'activation"
        responsibility.save(update_fields=["status"])
        journal_record(
            EventKind.ACTIVATION_LINK_DISPUTED, request=request, flow_id=flow.id,
            account=account, pupil_id=responsibility.pupil_id,
            responsibility_id=responsibility.pk,
            guardian_record_id=responsibility.guardian_record_id,
        )
        marked += 1
    return marked


_WRONG_DATE_SALT = "activation.services.wrong_date_digest"


def wrong_date_digest(*, flow_id: UUID, pupil_id: int, birth_date: datetime.date) -> str:
    """The keyed hash (HMAC-SHA256 with SECRET_KEY, Django's salted_hmac; 32 hex
    characters) of one wrong answer: the date `birth_date` typed for pupil `pupil_id` in
    flow `flow_id`. What a flow keeps of the wrong dates it counted (`wrong_date_digests`
    of activation.flows.ActivationData and ProvisionalData): never the date in clear, and
    nothing that tells one flow's answers from another's without the key."""
    message = f"{flow_id}:{pupil_id}:{birth_date.isoformat()}"
    return salted_hmac(_WRONG_DATE_SALT, message, algorithm="sha256").hexdigest()[:32]


def wrong_dates_count(flow: Flow, data, wrong: list[tuple[int, datetime.date]], *,
                      rule: ratelimit.Rule, subject: str, request,
                      account: Account | None = None) -> int:
    """Count the wrong birth dates `wrong` ((pupil id, date typed) pairs) of one answer, in
    the caller's transaction, on a locked `flow` whose `data` has `wrong_dates` and
    `wrong_date_digests` (the caller stores and saves it). Every way into an account counts
    through here: the pupils' step (pupils_answers_apply) and the pupil's own date of the
    first sign-in with a school letter (activation.provisional.services).

    A pair this flow already counted (the same wrong date typed again for the same pupil:
    a reload, a double click, « Confirmer » pressed again without seeing the error) counts
    no more: it tells nobody anything new, and would only cost the family one of its
    ACTIVATION_MAX_WRONG_DATES. Each new pair adds one to `data.wrong_dates`, one hit to
    `rule` for `subject` (the phone number or the account, across flows), its digest
    (wrong_date_digest) and one ACTIVATION_BIRTHDATE_REJECTED (`attempt`: the flow's count;
    on `account` when given). A repeat is not journaled. Returns how many pairs counted."""
    counted = 0
    for pupil_id, birth_date in wrong:
        digest = wrong_date_digest(flow_id=flow.id, pupil_id=pupil_id, birth_date=birth_date)
        if digest in data.wrong_date_digests:
            continue
        data.wrong_date_digests.append(digest)
        data.wrong_dates += 1
        counted += 1
        ratelimit.hit(rule, subject)
        journal_record(
            EventKind.ACTIVATION_BIRTHDATE_REJECTED, request=request, account=account,
            flow_id=flow.id, pupil_id=pupil_id, attempt=data.wrong_dates,
        )
    return counted


def pupils_answers_apply(flow: Flow, data, answers: list[PupilAnswer], *,
                         links: list, rule: ratelimit.Rule, subject: str, request,
                         then,
                         date_wrong_message: Callable[..., str] = messages.message_date_wrong,
                         dispute_later: bool = False,
                         ) -> _PupilsOutcome:
    """The rules of « Je confirme mon lien avec les élèves », for every way into an account
    (the SMS activation, « Ajouter un enfant », the FranceConnect first link, the first
    sign-in with a school letter): in the caller's transaction, on a locked `flow` whose
    `data` has `wrong_dates`, `confirmed_pupil_ids` and `confirmed_record_ids` (the caller
    stores and saves it).

    `links`: the pupils shown (activation.selectors.PupilLink). Wrong birth dates count on
    the flow (ACTIVATION_MAX_WRONG_DATES) and in `rule` for `subject` across flows (the
    phone number, or the account), the same wrong date of a pupil once per flow
    (wrong_dates_count: typed again, it gets the same error and the same count left); past
    either limit the flow ends BLOCKED. When every
    confirmed pupil's date is right, `data.confirmed_*` are set and `then(flow, data,
    request=…)` moves the flow on (returns a refusal message, or None). Returns what to tell
    the person (`refusal`, `field_errors`; both empty: applied, or blocked).

    The links answered « Je ne suis pas le représentant légal » are disputed at once
    (links_dispute), or, with `dispute_later` (an SMS activation before its password step),
    only kept in `data.disputed_link_ids` for activation_account_create.
    """
    counted_on = COUNTED_ON_PHONE if rule is WRONG_DATES_PER_PHONE else COUNTED_ON_ACCOUNT
    if _dates_exhausted(data, rule, subject):
        _block(flow, data, rule=rule, subject=subject, counted_on=counted_on, request=request)
        return _PupilsOutcome()
    by_pupil = {link.pupil.pk: link for link in links}
    answers_by_pupil = {a.pupil_id: a for a in answers}
    if set(answers_by_pupil) != set(by_pupil):
        return _PupilsOutcome(refusal=messages.message_pupils_changed())

    if len(links) == 1:
        errors = {pupil_id: (PupilField.LINK, messages.message_only_link())
                  for pupil_id, answer in answers_by_pupil.items()
                  if not answer.is_legal_representative}
        if errors:
            return _PupilsOutcome(field_errors=errors)
    confirmed = [a for a in answers if a.is_legal_representative]
    if not confirmed:
        return _PupilsOutcome(refusal=messages.message_none_confirmed())

    wrong = [a for a in confirmed if a.birth_date != by_pupil[a.pupil_id].pupil.birth_date]
    if wrong:
        wrong_dates_count(flow, data, [(a.pupil_id, a.birth_date) for a in wrong],
                          rule=rule, subject=subject, request=request)
        left = _dates_left(data, rule, subject)
        if not left.count:
            _block(flow, data, rule=rule, subject=subject, counted_on=counted_on,
                   request=request)
            return _PupilsOutcome()
        # The nearer of the two limits; when it is the number's window, the words say the
        # number will be blocked for `window_hours` (not only this journey).
        hours = (left.window_hours if left.number_block and counted_on == COUNTED_ON_PHONE
                 else None)
        return _PupilsOutcome(field_errors={
            a.pupil_id: (PupilField.BIRTH_DATE, date_wrong_message(left.count,
                                                                   number_hours=hours))
            for a in wrong
        })

    disputed = [by_pupil[a.pupil_id] for a in answers if not a.is_legal_representative]
    disputed_ids = sorted(r for link in disputed for r in link.responsibility_ids)
    if dispute_later:
        data.disputed_link_ids = disputed_ids
    else:
        links_dispute(flow, disputed_ids, request=request)
    kept = [by_pupil[a.pupil_id] for a in confirmed]
    data.confirmed_pupil_ids = sorted(link.pupil.pk for link in kept)
    data.confirmed_record_ids = sorted({r for link in kept for r in link.record_ids})
    journal_record(
        EventKind.ACTIVATION_PUPILS_CONFIRMED, request=request, flow_id=flow.id,
        pupils=len(kept), disputed=len(disputed),
    )
    return _PupilsOutcome(refusal=then(flow, data, request=request))


def _after_pupils(flow: Flow, data: ActivationData, *, request) -> str | None:
    if data.attach_account_id is None:
        flow_move(flow, step="password")
        return None
    account = guardian_records_attach(
        account_id=data.attach_account_id, record_ids=data.confirmed_record_ids,
        method="sms_activation", flow=flow, request=request,
    )
    if account is None:
        flow_end(flow, status=FlowStatus.ALREADY_ACTIVE)
        return None
    flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
    return None


# --- Attaching records to an account that exists -------------------------------------------


def guardian_records_attach(*, account_id: int, record_ids: list[int], method: str,
                            flow: Flow | None = None,
                            request: HttpRequest | None = None) -> Account | None:
    """Attach the guardian records `record_ids` to the ACTIVE guardian account `account_id`
    after their proofs (issue 11 §2: the SMS activation of records partly covered by that
    account, or « Ajouter un enfant »), in the caller's transaction.

    Locks the account, then the records in primary-key order (the order of
    families.services.accounts_merge, so that an attach and a merge never deadlock), and
    attaches nothing — returning None — when the account is no longer active (closed by a
    merge meanwhile) or when another covering account took one of the records. Records
    already the account's are left as they are. Journaled CHILDREN_ATTACHED on the account
    (`method`, the records' ids); the account's owner is told by SMS on its verified number
    (purpose « children_attached_notice »).
    """
    account = (Account.objects.select_for_update()
               .filter(pk=account_id, state=AccountState.ACTIVE, kind=AccountKind.GUARDIAN)
               .first())
    if account is None or not record_ids:
        return None
    records = list(
        GuardianRecord.objects.select_for_update(of=("self",))
        .filter(pk__in=record_ids).select_related("account").order_by("pk")
    )
    if any(r.account_id not in (None, account.pk) and r.account.state in COVERING_STATES
           for r in records):
        return None
    pending = provisional_accounts_lock(records=records, taking_id=account.pk)
    if pending is None:
        return None
    closed = provisional_accounts_close(accounts=pending, records=records, taking=account,
                                        method=method, flow=flow, request=request)
    attached = []
    for record in records:
        if record.account_id == account.pk:
            continue
        record.account = account
        record._change_reason = "Enfant rattaché à un compte existant"
        record.save(update_fields=["account"])
        attached.append(record.pk)
    journal_record(EventKind.CHILDREN_ATTACHED, request=request, account=account,
                   flow_id=flow.id if flow is not None else None, method=method,
                   guardian_record_ids=attached, provisional_closed=closed)
    if attached and account.phone and account.phone_verified:
        sms_enqueue(to=str(account.phone),
                    body=render_to_string("sms/children_attached.txt", {}).strip(),
                    purpose="children_attached_notice", account=account)
    return account


# --- Records a pending school letter covers (issue 9) ------------------------------------


def provisional_accounts_lock(*, records: list[GuardianRecord],
                              taking_id: int | None = None) -> list[Account] | None:
    """Lock the PROVISIONAL accounts (a school letter not activated yet) that cover some of
    `records` (locked by the caller, their `account` selected with them), other than
    `taking_id`; return them by primary key — or None when one of them is no longer
    provisional once locked (its family activated it with the letter meanwhile: the caller
    then takes nothing, as when an active account covers a record). Locks in the order
    records, then accounts, then flows: the order of provisional_accounts_close."""
    pending = sorted({r.account_id for r in records if r.account_id not in (None, taking_id)
                      and r.account.state == AccountState.PROVISIONAL})
    if not pending:
        return []
    accounts = list(Account.objects.select_for_update().filter(pk__in=pending).order_by("pk"))
    if any(a.state != AccountState.PROVISIONAL for a in accounts):
        return None
    return accounts


def provisional_accounts_close(*, accounts: list[Account], records: list[GuardianRecord],
                               taking: Account, method: str, flow: Flow | None = None,
                               request: HttpRequest | None = None) -> list[int]:
    """Close the provisional `accounts` (provisional_accounts_lock's) whose records the
    active account `taking` is about to take — `records`, from an SMS activation, a
    FranceConnect first link or an attach — in the caller's transaction.

    Why (seeds 002 §2.2 and 004: a family may activate by SMS or with the school's letter):
    a parent who lost the letter, or never got it, activates by SMS; two accounts over the
    same children would be one too many, so the proof the family just gave wins and the
    letter's account ends. Each closed account: state CLOSED (its letter, its sessions and
    its e-mail link no longer work: Account.is_active, provisional_email_validate), its open
    first-sign-in flow ended (already_active), the records it covered that `records` does not
    hold released (no account: the school may make a new letter). Journaled
    PROVISIONAL_CLOSED_BY_ACTIVATION on the closed account (`method`, the new account, the
    records taken and released; never a password). Returns the closed accounts' ids.
    """
    taken = {r.pk for r in records}
    closed_ids = []
    for account in accounts:
        account.state = AccountState.CLOSED
        account._change_reason = "Compte provisoire fermé : activation par la famille"
        account.save(update_fields=["state"])
        released = []
        for record in (GuardianRecord.objects.select_for_update(of=("self",))
                       .filter(account=account).exclude(pk__in=taken).order_by("pk")):
            record.account = None
            record._change_reason = "Compte provisoire fermé : activation par la famille"
            record.save(update_fields=["account"])
            released.append(record.pk)
        for open_flow in (Flow.objects.select_for_update()
                          .filter(account=account, status=FlowStatus.OPEN).order_by("pk")):
            flow_end(open_flow, status=FlowStatus.ALREADY_ACTIVE)
            open_flow.save()
        journal_record(
            EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION, request=request, account=account,
            flow_id=flow.id if flow is not None else None, method=method,
            new_account_id=taking.pk, new_identifier=taking.identifier,
            taken_guardian_records=sorted(r.pk for r in records if r.account_id == account.pk),
            released_guardian_records=released,
        )
        closed_ids.append(account.pk)
    return closed_ids


# --- Step 4 ------------------------------------------------------------------------------


def activation_step_back(*, flow_id: UUID) -> Flow:
    """« Précédent » on the password step: back to the pupils (the code is spent, so the
    pupils' step is as far back as a flow goes). Every answer of step 3 is forgotten, the
    « non » too (nothing was disputed yet: activation_pupils_confirm): the pupils' step
    shows every pupil again, to be answered anew."""
    now = timezone.now()
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=SMS_ACTIVATION, step="password", now=now)
        data = ActivationData.of(flow)
        data.confirmed_pupil_ids = []
        data.confirmed_record_ids = []
        data.disputed_link_ids = []
        data.store(flow)
        flow_move(flow, step="pupils")
        flow_touch(flow, now=now)
        flow_save(flow)
    return flow


def account_owner_names(flow: Flow) -> tuple[str, str]:
    """(first name, last name) for the account: the school's spelling, accents included."""
    data = ActivationData.of(flow)
    names = guardian_record_names(data.confirmed_record_ids or data.matched_record_ids)
    if names is None:
        return data.first_name, data.last_name
    return clean_name(names[0]), clean_name(names[1])


def _names_of(record: GuardianRecord) -> tuple[str, str]:
    return clean_name(record.first_name), clean_name(record.last_name)


def activation_account_create(
    *, flow_id: UUID, password: str, request: HttpRequest | None = None,
    sign_in: Callable[[Account], None] | None = None,
) -> Account:
    """Create the guardian's account, attach every confirmed record to it and mark
    disputed the links answered « non » at step 3 (links_dispute), in one transaction. If
    another activation covered a record meanwhile, nothing is created (nothing disputed) and
    the flow ends on « you already have an account » (ActivationRefused, after that end is
    committed).

    `sign_in(account)` (the view's `django.contrib.auth.login`) runs in that transaction,
    once the account exists: its writes (`last_login`, the new-children notice) commit with
    the account instead of in commits of their own (issue 14: one WAL flush fewer), and an
    account is never left created but not signed in by a failure in between."""
    now = timezone.now()
    refusal = None
    account = None
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=SMS_ACTIVATION, step="password", now=now)
        data = ActivationData.of(flow)
        # The links answered « non » at step 3, locked before the records (the order of
        # step 3, pupils_answers_apply then guardian_records_attach); disputed below, once
        # the account is created. None answered (most flows): no query to build (an empty
        # IN sends none, but the ORM compiled it: about 0.3 ms, issue 14).
        if data.disputed_link_ids:
            list(Responsibility.objects.select_for_update()
                 .filter(pk__in=data.disputed_link_ids).order_by("pk").values_list("pk"))
        records = guardian_records_locked(data.confirmed_record_ids)
        # account_owner_names, read from the rows just locked (the first by primary key)
        # rather than by a query of its own.
        first_name, last_name = (_names_of(records[0]) if records
                                 else account_owner_names(flow))
        errors = password_errors(password, first_name=first_name, last_name=last_name)
        if errors:
            raise ActivationRefused(errors[0])
        taken = [r for r in records if r.account is not None and r.account.state in COVERING_STATES]
        pending = provisional_accounts_lock(records=records) if not taken else []
        if taken or not records or pending is None:
            flow_end(flow, status=FlowStatus.ALREADY_ACTIVE)
            refusal = messages.message_records_taken()
            for account_ in {r.account for r in taken}:
                journal_record(
                    EventKind.ACTIVATION_ALREADY_ACTIVE, request=request, flow_id=flow.id,
                    account=account_,
                )
        else:
            account = account_create(
                kind=AccountKind.GUARDIAN, first_name=first_name, last_name=last_name,
                password=password, state=AccountState.ACTIVE, phone=str(flow.phone),
                phone_verified=True,
            )
            closed = provisional_accounts_close(accounts=pending, records=records,
                                                taking=account, method="sms", flow=flow,
                                                request=request)
            for record in records:
                record.account = account
                record._change_reason = "Compte activé par SMS"
                record.save(update_fields=["account"])
            links_dispute(flow, data.disputed_link_ids, request=request, account=account)
            flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
            journal_record(
                EventKind.ACCOUNT_ACTIVATED, request=request, flow_id=flow.id, account=account,
                method="sms", records=len(records), pupils=len(data.confirmed_pupil_ids),
                provisional_closed=closed,
            )
        flow_touch(flow, now=now)
        flow_save(flow)
        if account is not None and sign_in is not None:
            sign_in(account)
    if refusal:
        raise ActivationRefused(refusal)
    return account


# --- The first link of a FranceConnect identity (FRANCECONNECT_LINK) ------------------------


def activation_franceconnect_start(
    *, sub: str, family_name: str, given_name: str, preferred_username: str, phone: str,
    request: HttpRequest | None = None,
) -> tuple[Flow, str]:
    """Step « phone » of a FranceConnect identity not linked yet (`sub`, the names it
    gave): open a flow for this number (E.164) and send a code — or, when no record of a
    guardian has this number (franceconnect: guardian_records_for_franceconnect), make one
    and send nothing. The same limits as the SMS activation (ACTIVATION_CODE), the same page
    whatever matched. Returns the flow and its browser secret (core.flows.flow_bind).
    Raises ActivationRefused when this IP address has asked for too many codes."""
    phone = str(phone)
    ip = client_ip(request) if request is not None else ""
    matched = guardian_records_for_franceconnect(
        phone=phone, family_name=family_name, given_name=given_name,
        preferred_username=preferred_username,
    )
    data = FranceConnectLinkData(last_name=clean_name(family_name),
                                 first_name=clean_name(given_name),
                                 matched_record_ids=matched, sub=sub)
    now = timezone.now()
    try:
        with transaction.atomic():
            flow, secret = flow_start(kind=FRANCECONNECT_LINK, step="code", phone=phone,
                                      data=asdict(data), now=now)
            journal_record(EventKind.FRANCECONNECT_LINK_STARTED, request=request,
                           flow_id=flow.id, matched=bool(matched), records=len(matched))
            codes.code_issue(flow=flow, purpose=ACTIVATION_CODE, recipient=phone,
                             deliver=data.matched, ip=ip, request=request, now=now,
                             new_flow=True)
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return flow, secret


def activation_franceconnect_pupils_confirm(
    *, flow_id: UUID, answers: list[PupilAnswer], request: HttpRequest | None = None
) -> Flow:
    """Step « pupils » of a FranceConnect first link: the birth dates, with the rules and
    limits of the SMS activation (pupil_answers_apply); then, in the same transaction, the
    identity is linked:

    - to the one account (active or locked) that covers the confirmed records;
    - or, when none does, to a new guardian account for those records (the school's names,
      no password yet: FranceConnect signs it in, « Mot de passe oublié ? » gives it one);
    - never when the records are covered by several accounts, or the account is linked to
      another FranceConnect identity, or this identity got linked meanwhile: the flow ends
      on « already active » (the helpdesk or the account merge sorts it out).

    The flow is completed (done) naming the account. Raises ActivationRefused as step 3 of
    the SMS activation does, or FlowUnavailable.
    """
    now = timezone.now()
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=FRANCECONNECT_LINK, step="pupils", now=now)
        data = FranceConnectLinkData.of(flow)
        outcome = pupil_answers_apply(flow, data, answers, request=request,
                                      then=_franceconnect_link)
        data.store(flow)
        flow_touch(flow, now=now)
        flow_save(flow)
    if outcome.refusal or outcome.field_errors:
        raise ActivationRefused(outcome.refusal or "", field_errors=outcome.field_errors)
    return flow


def _franceconnect_link(flow: Flow, data: FranceConnectLinkData, *, request) -> None:
    """`then` of pupil_answers_apply: link, or end the flow (returns no refusal)."""
    records = list(
        GuardianRecord.objects.select_for_update(of=("self",))
        .filter(pk__in=data.confirmed_record_ids)
        .select_related("account")
        .order_by("pk")
    )
    covering = {r.account for r in records
                if r.account is not None and r.account.state in COVERING_STATES}
    taking = next(iter(covering)) if len(covering) == 1 else None
    pending = provisional_accounts_lock(
        records=records, taking_id=taking.pk if taking is not None else None)
    if len(covering) > 1 or not records or pending is None:
        flow_end(flow, status=FlowStatus.ALREADY_ACTIVE)
        for account in covering:
            journal_record(EventKind.ACTIVATION_ALREADY_ACTIVE, request=request,
                           flow_id=flow.id, account=account)
        return
    account = next(iter(covering), None)
    if link_of_sub(data.sub) is not None or (
            account is not None and link_of_account(account) is not None):
        # Linked meanwhile (another tab), or the account has another FranceConnect identity.
        flow_end(flow, status=FlowStatus.ALREADY_ACTIVE)
        journal_record(EventKind.ACTIVATION_ALREADY_ACTIVE, request=request, flow_id=flow.id,
                       account=account)
        return
    created = account is None
    if created:
        first_name, last_name = account_owner_names(flow)
        account = account_create(
            kind=AccountKind.GUARDIAN, first_name=first_name, last_name=last_name,
            password=None, state=AccountState.ACTIVE, phone=str(flow.phone),
            phone_verified=True,
        )
    # A race lost here (the same identity linked by a parallel request) raises LinkRefused:
    # the whole transaction, the new account included, is rolled back.
    franceconnect_link_create(account=account, sub=data.sub, request=request, flow_id=flow.id)
    provisional_accounts_close(accounts=pending, records=records, taking=account,
                               method="franceconnect", flow=flow, request=request)
    for record in records:
        if record.account_id != account.pk:
            record.account = account
            record._change_reason = "Compte associé à FranceConnect"
            record.save(update_fields=["account"])
    flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
    if created:
        journal_record(EventKind.ACCOUNT_ACTIVATED, request=request, flow_id=flow.id,
                       account=account, method="franceconnect", records=len(records),
                       pupils=len(data.confirmed_pupil_ids))
