"""Every write of the first sign-in with a school letter (issue 9 §2; flow kinds
PROVISIONAL_GUARDIAN and PROVISIONAL_PUPIL, activation/flows.py): keyword-only arguments,
one transaction each, journaled (never a password, a token or an address in clear: masked).

The account is PROVISIONAL (a school letter: identifier + provisional password, issue 9 §1);
it signed in with that password (accounts.forms.SignInForm refuses it once
`provisional_expires_at` has passed). Every function takes the signed-in `account` and
refuses a flow of another account (FlowUnavailable), in a browser shared by two.

- Guardian: address (kept in the flow's data) → new password → the pupils' birth dates (the
  SMS activation's rules, activation.services.pupils_answers_apply, counted per account) →
  an e-mail with a single-use link (core.tokens, purpose ACCOUNT_ACTIVATION_EMAIL_PURPOSE,
  EMAIL_CHANGE_LINK_TTL_SECONDS) → the link's POST validates the address and activates the
  account (`provisional_email_validate`).
- Pupil: new password → own birth date (ACTIVATION_MAX_WRONG_DATES per flow, per account
  across flows; the account becomes ACTIVE there) → an optional address, validated through
  « Mon compte »'s link (accounts.my_account.services.email_change_request).

A refusal is raised after the transaction that counted it has committed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountKind, AccountState
from accounts.my_account.limits import email_link_send_admit
from accounts.my_account.services import MyAccountRefused, email_change_request, mask_email
from accounts.password_policy import password_errors
from accounts.services import account_password_set
from core import ratelimit
from core.flowkinds import FlowKind
from core.flows import (
    FlowUnavailable,
    flow_end,
    flow_lock,
    flow_move,
    flow_rebind,
    flow_start,
    flow_touch,
)
from core.journal import EventKind, journal_record
from core.models import Flow, FlowStatus, JournalEvent, LinkToken
from core.tokens import (
    link_token_consume,
    link_token_find,
    link_token_issue,
    link_token_peek,
    link_token_used,
    link_tokens_revoke,
)
from notifications.emails import absolute_url, email_send
from pupils.models import GuardianRecord, Pupil

from ..flows import (
    ACCOUNT_ACTIVATION_EMAIL_PURPOSE,
    PROVISIONAL_GUARDIAN,
    PROVISIONAL_PUPIL,
    WRONG_DATES_PER_ACCOUNT,
    ProvisionalData,
)
from ..selectors import PupilLink, pupil_links_for_records
from ..services import (
    COUNTED_ON_ACCOUNT,
    PupilAnswer,
    _block,
    _dates_exhausted,
    pupils_answers_apply,
    wrong_dates_count,
)
from . import messages

__all__ = ["FlowUnavailable", "ProvisionalRefused"]


class ProvisionalRefused(Exception):
    """A refusal the person reads; `field` names the form field it is about ("" for the
    form as a whole); `field_errors` as in activation.services.ActivationRefused (pupils)."""

    def __init__(self, message: str, *, field: str = "", field_errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.field_errors = field_errors or {}


def kind_for(account: Account) -> FlowKind:
    """The flow kind of this account's first sign-in (guardian or pupil)."""
    return PROVISIONAL_PUPIL if account.kind == AccountKind.PUPIL else PROVISIONAL_GUARDIAN


def _limit_subject(account: Account) -> str:
    return f"account:{account.pk}"


def _to_sent(flow: Flow, data, *, request) -> None:
    """`then` of pupils_answers_apply: the birth dates are right, on to « Un mail a été
    envoyé » (the caller sends the link)."""
    flow_move(flow, step="sent")


def next_step(kind: FlowKind, data: ProvisionalData) -> str:
    """The first step not done yet (the flow's data says what is done)."""
    if kind is PROVISIONAL_PUPIL:
        return "identity" if data.password_set else "password"
    if not data.email:
        return "email"
    if not data.password_set:
        return "password"
    if not data.pupils_confirmed:
        return "pupils"
    return "sent"


# --- The wrong birth dates counted on the account (the helpdesk reads and clears them) ------


@dataclass(frozen=True)
class LetterDates:
    """What the first sign-in counted on an account in WRONG_DATES_PER_ACCOUNT's current
    window (ACTIVATION_MAX_WRONG_DATES_PER_PHONE per ACTIVATION_PHONE_WINDOW_SECONDS):
    `used` of `limit`; `retry_after` (seconds) until one more guess is allowed when the
    window is full, else 0. `per_flow`: ACTIVATION_MAX_WRONG_DATES, the wrong dates one
    journey allows before it ends BLOCKED (signing in again then starts a new one while
    the window has room, provisional_flow_resume)."""

    used: int
    limit: int
    per_flow: int
    window_seconds: int
    retry_after: int = 0

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def provisional_wrong_dates(account: Account) -> LetterDates:
    """The account's wrong birth dates in the current window (two Redis reads)."""
    subject = _limit_subject(account)
    decision = ratelimit.peek(WRONG_DATES_PER_ACCOUNT, subject)
    return LetterDates(used=ratelimit.used(WRONG_DATES_PER_ACCOUNT, subject),
                       limit=WRONG_DATES_PER_ACCOUNT.limit,
                       per_flow=settings.ACTIVATION_MAX_WRONG_DATES,
                       window_seconds=WRONG_DATES_PER_ACCOUNT.window_seconds,
                       retry_after=0 if decision else decision.retry_after)


def provisional_wrong_dates_clear(*, account: Account) -> int:
    """Forget the wrong birth dates counted on this account (the helpdesk's « Débloquer
    l'activation », issue 16 §5; the SMS activation's twin is
    activation.services.activation_counters_clear): at its next sign-in a blocked first
    sign-in gives way to a new journey with every attempt (provisional_flow_resume).
    Returns how many were counted before (0: nothing was blocked nor counted, nothing
    changed). The caller journals the action with its author and reason."""
    subject = _limit_subject(account)
    before = ratelimit.used(WRONG_DATES_PER_ACCOUNT, subject)
    if before:
        ratelimit.clear(WRONG_DATES_PER_ACCOUNT, subject)
    return before


# --- A reissued letter ---------------------------------------------------------------------


def provisional_first_sign_in_restart(*, account_ids: list[int]) -> list[int]:
    """Start over the first sign-in of these PROVISIONAL accounts, whose letter the school
    has just reissued (pupils.signals.provisional_credentials_renewed, inside the letters'
    transaction): their live validation links are revoked (an old link never activates an
    account with the new letter's password: the password the family had chosen was just
    replaced), and what their flows had done is forgotten, so that signing in with the new
    letter starts at the first step (an open flow is sent back there, a later one keeps
    nothing). The family's signed-in sessions end by themselves (the session hash follows
    the password). Returns the ids of the accounts that had begun (a link, or a step done);
    three statements whatever the number of accounts."""
    if not account_ids:
        return []
    now = timezone.now()
    revoked = set(LinkToken.objects.filter(
        account_id__in=account_ids, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE,
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now,
    ).values_list("account_id", flat=True))
    LinkToken.objects.filter(account_id__in=revoked, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE,
                             used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now)
    begun = set()
    for kind in (PROVISIONAL_GUARDIAN, PROVISIONAL_PUPIL):
        flows = (Flow.objects.select_for_update()
                 .filter(account_id__in=account_ids, kind=kind.name).exclude(data={}))
        for flow in flows:
            if ProvisionalData.of(flow) != ProvisionalData():
                begun.add(flow.account_id)
            ProvisionalData().store(flow)
            if flow.status == FlowStatus.OPEN:
                flow_move(flow, step=next_step(kind, ProvisionalData()))
            flow.save(update_fields=["data", "step"])
    return sorted(begun | revoked)


def provisional_first_sign_in_under_way(account: Account | None) -> bool:
    """Whether this PROVISIONAL account's first sign-in is under way with a password already
    chosen: an open, unexpired flow of its kind whose data says `password_set`. A new letter
    (pupils.letters.letters_issue) would cancel it (provisional_first_sign_in_restart): the
    back-office's « Refaire la lettre » warns before. False for None or any other state. One
    query (the flows' account index)."""
    if account is None or account.state != AccountState.PROVISIONAL:
        return False
    return Flow.objects.filter(account=account, kind=kind_for(account).name,
                               status=FlowStatus.OPEN, expires_at__gt=timezone.now(),
                               data__password_set=True).exists()


# --- Start, or find again ----------------------------------------------------------------


def provisional_flow_resume(*, account: Account,
                            request: HttpRequest | None = None) -> tuple[Flow, str]:
    """The first sign-in flow of the signed-in provisional `account`, bound anew to this
    browser: its latest flow when it is open and alive (« leaving and signing in again
    resumes »), or blocked while the per-account wrong-date window is still full; else a new
    flow, started at the first step the latest one had not done (what it had done is kept).

    Returns the flow and the secret for core.flows.flow_bind. The account's row is locked,
    so that two parallel sign-ins do not start two flows. Raises ValueError for an account
    that is not provisional (the callers never pass one). Two queries on the flows (the
    account's foreign key index) whatever the case.
    """
    if account.state != AccountState.PROVISIONAL:
        raise ValueError("provisional_flow_resume needs a provisional account")
    kind = kind_for(account)
    now = timezone.now()
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()
        latest = (Flow.objects.select_for_update().filter(account=account, kind=kind.name)
                  .order_by("-created_at").first())
        keep = latest is not None and (
            (latest.status == FlowStatus.OPEN and not latest.is_expired(now))
            or (latest.status == FlowStatus.BLOCKED
                and not ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(account)))
        )
        if keep:
            secret = flow_rebind(latest)
            latest.save(update_fields=["session_secret_hash"])
            journal_record(EventKind.PROVISIONAL_FLOW_RESUMED, request=request,
                           account=account, flow_id=latest.id, step=latest.step)
            return latest, secret
        data = ProvisionalData.of(latest) if latest is not None else ProvisionalData()
        data.wrong_dates = 0
        data.wrong_date_digests = []
        step = next_step(kind, data)
        flow, secret = flow_start(kind=kind, step=step, now=now)
        data.store(flow)
        flow.account = account
        flow.save(update_fields=["account", "data"])
        journal_record(EventKind.PROVISIONAL_FLOW_STARTED, request=request, account=account,
                       flow_id=flow.id, step=step)
    return flow, secret


def _lock(*, flow_id: UUID, account: Account, step: str, now) -> Flow:
    flow = flow_lock(flow_id=flow_id, kind=kind_for(account), step=step, now=now)
    if flow.account_id != account.pk:
        raise FlowUnavailable()  # another account's flow, in a browser shared by two
    return flow


def _save(flow: Flow, now) -> None:
    flow_touch(flow, now=now)
    flow.save()


# --- Guardian: the address ---------------------------------------------------------------


def provisional_email_set(*, flow_id: UUID, account: Account, email: str,
                          request: HttpRequest | None = None) -> Flow:
    """« Je renseigne mon adresse mail » (guardian; `email` valid and lowercased by the
    form): kept in the flow, then on to the first step not done. After « J'ai fait une
    erreur de saisie… » (every other step done) a new link goes to the corrected address
    at once. Raises ProvisionalRefused (the account's e-mail limit) or FlowUnavailable."""
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="email", now=now)
        data = ProvisionalData.of(flow)
        data.email = email
        data.store(flow)
        step = next_step(PROVISIONAL_GUARDIAN, data)
        if step == "sent":
            decision = email_link_send_admit(account_id=account.pk)
            if not decision:
                raise ProvisionalRefused(messages.message_links_limit(decision.retry_after),
                                         field="email")
            _link_send(flow, account, email, request=request)
        flow_move(flow, step=step)
        _save(flow, now)
    return flow


# --- The new password (both) -------------------------------------------------------------


def provisional_password_set(*, flow_id: UUID, account: Account, password: str,
                             request: HttpRequest | None = None) -> Flow:
    """« Je choisis mon nouveau mot de passe »: the published policy (names and identifier
    refused), and not the letter's provisional password. Sets it with
    accounts.services.account_password_set (this session kept, any other ended; journaled
    PASSWORD_CHANGED « provisional_letter »). Back at this step from the pupils' step, the
    password already chosen typed again is kept (nothing written but the step). Raises
    ProvisionalRefused (field « password ») or FlowUnavailable. Cost: one Argon2 check and
    one Argon2 hash."""
    errors = password_errors(password, first_name=account.first_name,
                             last_name=account.last_name, identifier=account.identifier)
    if errors:
        raise ProvisionalRefused(errors[0], field="password")
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="password", now=now)
        locked = Account.objects.select_for_update().get(pk=account.pk)
        data = ProvisionalData.of(flow)
        if locked.check_password(password):
            if not data.password_set:
                raise ProvisionalRefused(messages.message_password_unchanged(),
                                         field="password")
            # Back from the pupils' step, the password chosen typed again: kept as it is.
            flow_move(flow, step=next_step(kind_for(account), data))
            _save(flow, now)
            return flow
        account_password_set(account=locked, password=password, reason="provisional_letter",
                             request=request)
        account.password = locked.password
        data.password_set = True
        data.store(flow)
        kind = kind_for(account)
        flow_move(flow, step=next_step(kind, data))
        journal_record(EventKind.PROVISIONAL_PASSWORD_CHOSEN, request=request, account=account,
                       flow_id=flow.id)
        _save(flow, now)
    return flow


# « Précédent » of the guardian's steps: the step each goes back to.
GUARDIAN_PREVIOUS_STEPS = {"password": "email", "pupils": "password"}


def provisional_step_back(*, flow_id: UUID, account: Account, step: str = "password") -> Flow:
    """« Précédent » on the guardian's `step` (GUARDIAN_PREVIOUS_STEPS): the password step
    goes back to the address, the pupils' step to the password (already chosen: its page then
    offers to keep it, provisional_password_keep). Nothing done is undone: the address and
    the password stay, the wrong dates stay counted. Raises FlowUnavailable (the flow is not
    at `step`) or KeyError (a step with no previous one)."""
    previous = GUARDIAN_PREVIOUS_STEPS[step]
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step=step, now=now)
        flow_move(flow, step=previous)
        _save(flow, now)
    return flow


def provisional_password_keep(*, flow_id: UUID, account: Account) -> Flow:
    """« Garder ce mot de passe » on the password step of a guardian who came back to it
    (« Précédent » of the pupils' step) after choosing one: on to the first step not done,
    the password unchanged. Raises FlowUnavailable when the flow is not at the password step
    or no password was chosen yet (the letter's password must be replaced)."""
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="password", now=now)
        data = ProvisionalData.of(flow)
        if not data.password_set:
            raise FlowUnavailable
        flow_move(flow, step=next_step(kind_for(account), data))
        _save(flow, now)
    return flow


# --- Guardian: the pupils ----------------------------------------------------------------


def guardian_pupil_links(account: Account) -> list[PupilLink]:
    """The pupils of the records this account covers (activation.selectors.ACTIVATING_LINK):
    one query for the record ids (index guardian_account_estab_idx), one for the links."""
    record_ids = list(GuardianRecord.objects.filter(account=account).order_by("pk")
                      .values_list("pk", flat=True))
    return pupil_links_for_records(record_ids)


def provisional_pupils_confirm(*, flow_id: UUID, account: Account, answers: list[PupilAnswer],
                               request: HttpRequest | None = None) -> Flow:
    """« Je confirme mon lien avec les élèves »: the SMS activation's rules
    (activation.services.pupils_answers_apply: birth dates, « Je ne suis pas le représentant
    légal » disputes the link, the only link cannot be disputed), wrong dates counted on the
    flow and per account across flows; past the limit the flow ends BLOCKED. Once confirmed,
    the validation e-mail leaves (unless the account's e-mail limit holds it: the « sent »
    page offers « Renvoyer le mail »). Raises ProvisionalRefused with the messages per pupil,
    or FlowUnavailable."""
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="pupils", now=now)
        data = ProvisionalData.of(flow)
        outcome = pupils_answers_apply(
            flow, data, answers, links=guardian_pupil_links(account),
            rule=WRONG_DATES_PER_ACCOUNT, subject=_limit_subject(account), request=request,
            then=_to_sent,
        )
        if flow.step == "sent" and flow.status == FlowStatus.OPEN:
            data.pupils_confirmed = True
            if email_link_send_admit(account_id=account.pk):
                _link_send(flow, account, data.email, request=request)
        data.store(flow)
        _save(flow, now)
    if outcome.refusal or outcome.field_errors:
        raise ProvisionalRefused(outcome.refusal or "", field_errors=outcome.field_errors)
    return flow


# --- Guardian: the e-mail and its link ---------------------------------------------------


def _link_send(flow: Flow, account: Account, email: str, *, request) -> None:
    token = link_token_issue(purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE, account=account,
                             ttl_seconds=settings.EMAIL_CHANGE_LINK_TTL_SECONDS,
                             flow_id=flow.id, payload={"email": email})
    url = absolute_url(reverse("activation:provisional_validate", args=[token]))
    email_send(to=email, template="activation_email_validation",
               context={"account": account, "url": url,
                        "days": max(1, round(settings.EMAIL_CHANGE_LINK_TTL_SECONDS / 86400))},
               purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE, contains_secret=True,
               account=account, flow_id=flow.id)
    journal_record(EventKind.PROVISIONAL_EMAIL_LINK_SENT, request=request, account=account,
                   flow_id=flow.id, email=mask_email(email))


def provisional_link_resend(*, flow_id: UUID, account: Account,
                            request: HttpRequest | None = None) -> str:
    """« Renvoyer le mail »: one more link to the flow's address (the earlier ones stay
    valid: e-mails arrive late). Returns the address. Raises ProvisionalRefused (the
    account's limit, EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT per window; nothing sent) or
    FlowUnavailable."""
    decision = email_link_send_admit(account_id=account.pk)
    if not decision:
        raise ProvisionalRefused(messages.message_links_limit(decision.retry_after))
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="sent", now=now)
        email = ProvisionalData.of(flow).email
        _link_send(flow, account, email, request=request)
        _save(flow, now)
    return email


def provisional_email_correct(*, flow_id: UUID, account: Account) -> Flow:
    """« J'ai fait une erreur de saisie dans mon adresse mail »: the links already sent die
    (they would validate the wrong address) and the flow goes back to the address; the
    password and the pupils stay done."""
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="sent", now=now)
        link_tokens_revoke(account=account, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE)
        flow_move(flow, step="email")
        _save(flow, now)
    return flow


def provisional_link_peek(token: str) -> LinkToken | None:
    """The live activation link (its `account_id`, its address in `payload["email"]`), or
    None; spends nothing. For the page the link opens."""
    return link_token_peek(token=token, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE)


def provisional_link_used(token: str) -> LinkToken | None:
    """The activation link if it was used (it validated its address, `payload["email"]`,
    and activated its account), or None; spends nothing. For the page the link opens a
    second time: « Ce lien a déjà servi »."""
    return link_token_used(token=token, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE)


class LinkGone(StrEnum):
    """Why an activation link can no longer work although it was never used: its account
    changed after the e-mail left (provisional_link_gone). Each one has its words on the
    link's page (templates/activation/provisional/validate.html)."""

    # The family activated its account by SMS or FranceConnect (or an active account took
    # the children): activation.services.provisional_accounts_close closed the letter's one.
    ACTIVATED_OTHERWISE = "activated_otherwise"
    # « Ajouter des enfants depuis un autre compte » closed it (families.services).
    MERGED = "merged"
    # The academic helpdesk closed it (backoffice.services.account_close), or it was closed
    # without a journaled reason.
    CLOSED = "closed"
    # Its access is suspended (AccountState.LOCKED): the helpdesk gives it back.
    LOCKED = "locked"
    # Already active: activated with another link of the same first sign-in.
    ACTIVE = "active"
    # The school issued a new letter (pupils.letters.letters_issue): new provisional
    # password, the first sign-in starts over, this link was revoked
    # (provisional_first_sign_in_restart).
    NEW_LETTER = "new_letter"


_CLOSING_REASONS = {
    EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION.value: LinkGone.ACTIVATED_OTHERWISE,
    EventKind.ACCOUNT_CLOSED_BY_MERGE.value: LinkGone.MERGED,
    EventKind.HELPDESK_ACCOUNT_CLOSED.value: LinkGone.CLOSED,
}


def provisional_link_gone(token: str) -> LinkGone | None:
    """Why the activation link `token` can no longer work though it was never used, or
    None (unknown, used — « Ce lien a déjà servi » —, still good, or dead for a reason of
    the link itself: expired, address corrected; the page's general words say those).

    From the link's account as it stands now: CLOSED (why, from its latest closing event in
    the journal: activated by SMS or FranceConnect, merged, closed by the helpdesk), LOCKED,
    ACTIVE (activated with another link); PROVISIONAL with this link revoked or expired and
    a letter issued since the link was sent (LETTER_ISSUED after its creation). Whatever the
    link's own state: a live link of a closed account would only fail at its button.
    Spends nothing. One query for an unknown link or a good one; two at most otherwise
    (the journal's (account, -at) index)."""
    row = link_token_find(token=token, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE)
    if row is None or row.used_at is not None:
        return None
    account = row.account
    if account.state == AccountState.CLOSED:
        closing = (JournalEvent.objects
                   .filter(account=account, kind__in=list(_CLOSING_REASONS))
                   .order_by("-at").values_list("kind", flat=True).first())
        return _CLOSING_REASONS.get(closing, LinkGone.CLOSED)
    if account.state == AccountState.LOCKED:
        return LinkGone.LOCKED
    if account.state == AccountState.ACTIVE:
        return LinkGone.ACTIVE
    live = row.revoked_at is None and row.expires_at > timezone.now()
    if not live and JournalEvent.objects.filter(
            account=account, kind=EventKind.LETTER_ISSUED.value,
            at__gte=row.created_at).exists():
        return LinkGone.NEW_LETTER
    return None


def _activate(account: Account, *, reason: str) -> None:
    account.state = AccountState.ACTIVE
    account.activated_at = timezone.now()
    account.provisional_expires_at = None
    account._change_reason = reason


def provisional_email_validate(*, token: str,
                               request: HttpRequest | None = None) -> Account | None:
    """The POST of the page the e-mail's link opens (signed in or not, from any device):
    consume the token; the address becomes the account's, validated; the account becomes
    ACTIVE (activated_at set, provisional_expires_at cleared); its flow ends completed; the
    other links die. Returns the account, or None when the link is not valid (used,
    replaced, expired, unknown) or the account is no longer provisional (closed, locked,
    activated otherwise): nothing changes then. One transaction; the token is consumed by
    one conditional UPDATE (core.tokens), so two clicks activate once."""
    with transaction.atomic():
        row = link_token_consume(token=token, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE)
        if row is None:
            return None
        account = Account.objects.select_for_update().get(pk=row.account_id)
        if account.state != AccountState.PROVISIONAL:
            transaction.set_rollback(True)
            return None
        account.email = row.payload["email"]
        account.email_verified = True
        _activate(account, reason="Compte activé : courrier de l'établissement, adresse validée")
        account.save(update_fields=["email", "email_verified", "state", "activated_at",
                                    "provisional_expires_at"])
        link_tokens_revoke(account=account, purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE)
        flow = (Flow.objects.select_for_update()
                .filter(pk=row.flow_id, kind=PROVISIONAL_GUARDIAN.name).first())
        data = ProvisionalData.of(flow) if flow is not None else ProvisionalData()
        if flow is not None and flow.status == FlowStatus.OPEN:
            flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
            flow.save()
        journal_record(EventKind.ACCOUNT_ACTIVATED, request=request, account=account,
                       flow_id=row.flow_id, method="letter",
                       pupils=len(data.confirmed_pupil_ids))
    return account


# --- Pupil: identity and the optional address --------------------------------------------


def provisional_identity_confirm(*, flow_id: UUID, account: Account,
                                 birth_date: datetime.date,
                                 request: HttpRequest | None = None) -> Flow:
    """« Je confirme mon identité » (pupil): `birth_date` must be the one the school knows
    (pupils.Pupil whose `account` is this one). A wrong date counts on the flow
    (ACTIVATION_MAX_WRONG_DATES) and per account across flows, the same wrong date once
    per flow (activation.services.wrong_dates_count); past either limit the flow ends
    BLOCKED. Right: the account becomes ACTIVE (journaled ACCOUNT_ACTIVATED « letter »)
    and the flow moves to the optional address. Raises ProvisionalRefused (field
    « birth_date »: the essays left) or FlowUnavailable."""
    now = timezone.now()
    refusal = None
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="identity", now=now)
        data = ProvisionalData.of(flow)
        subject = _limit_subject(account)
        pupil = Pupil.objects.filter(account=account).only("birth_date").first()
        if pupil is None:
            refusal = messages.message_no_pupil_record()
        elif _dates_exhausted(data, WRONG_DATES_PER_ACCOUNT, subject):
            _block(flow, data, rule=WRONG_DATES_PER_ACCOUNT, subject=subject,
                   counted_on=COUNTED_ON_ACCOUNT, request=request)
        elif pupil.birth_date != birth_date:
            wrong_dates_count(flow, data, [(pupil.pk, birth_date)],
                              rule=WRONG_DATES_PER_ACCOUNT, subject=subject,
                              request=request, account=account)
            if _dates_exhausted(data, WRONG_DATES_PER_ACCOUNT, subject):
                _block(flow, data, rule=WRONG_DATES_PER_ACCOUNT, subject=subject,
                       counted_on=COUNTED_ON_ACCOUNT, request=request)
            else:
                refusal = messages.message_identity_wrong(
                    settings.ACTIVATION_MAX_WRONG_DATES - data.wrong_dates)
        else:
            locked = Account.objects.select_for_update().get(pk=account.pk)
            if locked.state != AccountState.PROVISIONAL:
                raise FlowUnavailable()
            _activate(locked, reason="Compte élève activé : courrier de l'établissement")
            locked.save(update_fields=["state", "activated_at", "provisional_expires_at"])
            account.state = locked.state
            flow_move(flow, step="email")
            journal_record(EventKind.PROVISIONAL_IDENTITY_CONFIRMED, request=request,
                           account=account, flow_id=flow.id)
            journal_record(EventKind.ACCOUNT_ACTIVATED, request=request, account=account,
                           flow_id=flow.id, method="letter", pupils=1)
        data.store(flow)
        _save(flow, now)
    if refusal:
        raise ProvisionalRefused(refusal, field="birth_date")
    return flow


def provisional_pupil_email(*, flow_id: UUID, account: Account, email: str,
                            request: HttpRequest | None = None) -> Flow:
    """The pupil's optional address (`email` "" when skipped): a validation link through
    « Mon compte » (accounts.my_account.services.email_change_request: same link, same
    limits, same page); the flow ends completed either way. Raises ProvisionalRefused
    (field « email ») or FlowUnavailable."""
    now = timezone.now()
    try:
        with transaction.atomic():
            flow = _lock(flow_id=flow_id, account=account, step="email", now=now)
            if email:
                email_change_request(account=account, email=email, request=request)
                data = ProvisionalData.of(flow)
                data.email = email
                data.store(flow)
            flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
            _save(flow, now)
    except MyAccountRefused as refused:
        raise ProvisionalRefused(refused.message, field="email") from refused
    return flow
