"""Every write of « Mes enfants » (issue 11): keyword-only arguments, one transaction each.

- `accounts_merge_prove`, `accounts_merge_confirm`: « Ajouter des enfants depuis un autre
  compte » (seeds FAQ §12): the other account's password proven, then the merge confirmed.
- `child_attach_*`: « Ajouter un enfant » by SMS proof (families.flows.CHILD_ATTACH), on the
  SMS activation's stages (activation.services.pupil_answers_apply,
  activation.services.guardian_records_attach).
- `new_children_notice_take`: the one-time notice of children a roster import attached.

A refusal is raised after the transaction that counted it has committed.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from uuid import UUID

from django.contrib.auth import authenticate
from django.db import connections, router, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from accounts.forms import INVALID_LOGIN_MESSAGE, throttled_message
from accounts.limits import sign_in_attempt_admit, sign_in_device, sign_in_success_forget
from accounts.models import Account, AccountKind, AccountState
from accounts.selectors import MERGE_CHAIN_MAX, account_merged_into, letter_replaced_by
from accounts.signals import accounts_merged
from activation import messages as activation_messages
from activation.flows import ActivationData
from activation.selectors import (
    guardian_records_matching,
    guardian_records_with_disputed_link,
    records_uncovered,
)
from activation.services import (
    PupilAnswer,
    blocked_number_end,
    guardian_records_attach,
    pupil_answers_apply,
)
from core import codes
from core.codes import CodeIssue, CodeRefusalReason, CodeRefused, CodeVerdict
from core.flows import FlowUnavailable, flow_end, flow_lock, flow_move, flow_start, flow_touch
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.models import Flow, FlowStatus
from core.moments import account_sms_phone, moment_for_email, moment_for_recipient
from core.normalization import name_key, strip_invisible
from notifications.emails import email_send
from notifications.services import sms_enqueue
from pupils.models import GuardianRecord, Pupil, Responsibility, ResponsibilityStatus
from pupils.selectors import pupils_of_guardian_account

from . import messages
from .flows import CHILD_ATTACH, CHILD_ATTACH_CODE

__all__ = ["FamiliesRefused", "FlowUnavailable", "MergeProof", "PupilAnswer"]


class FamiliesRefused(Exception):
    """A refusal the person reads (families.messages); `field` names the form field it is
    about ("" for the form as a whole); `retry_after` (seconds) when it is a wait (429);
    `field_errors` for the pupils' step, as activation.services.ActivationRefused."""

    def __init__(self, message: str, *, field: str = "", retry_after: int = 0,
                 field_errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.field_errors = field_errors or {}


class MergeAlreadyDone(FamiliesRefused):
    """`accounts_merge_confirm` found the other account already merged into the signed-in
    one: the same confirmation sent twice at once (two tabs, a double click), the first
    one won. Nothing to do: the merge is done; `closed` is the account it closed, so the
    page tells its result as it does to a confirmation sent again afterwards."""

    def __init__(self, closed: Account):
        super().__init__(messages.message_merge_already_here())
        self.closed = closed


# --- Merge ---------------------------------------------------------------------------------


def _same_person(kept: Account, other: Account) -> bool:
    """The two accounts' names are the same by their comparison keys (core.normalization
    .name_key: case, accents, hyphens, transliteration), as the SMS activation compares the
    names typed with the school's."""
    return (name_key(kept.last_name), name_key(kept.first_name)) == (
        name_key(other.last_name), name_key(other.first_name))


def _notice_context(kept: Account, *, phone: str | None = None) -> dict:
    """The merge SMS's context: now as its recipient reads it (core.moments: `phone`'s
    time) and the kept identifier. (Its e-mails: moment_for_email, in _merge_notify.)"""
    return {**moment_for_recipient(phone=phone), "kept_identifier": kept.display_identifier}


def _merge_notify(kept: Account, closed: Account) -> None:
    """Tell both accounts' verified numbers and addresses (each once: a family often gave the
    same number to both), in the merge's transaction (the outbox sends after commit)."""
    phones = {str(a.phone): a for a in (kept, closed) if a.phone and a.phone_verified}
    for phone, account in phones.items():
        body = render_to_string("sms/accounts_merged.txt",
                                _notice_context(kept, phone=phone)).strip()
        sms_enqueue(to=phone, body=body, purpose="accounts_merged_notice", account=account)
    addresses = {a.email.strip().lower(): a for a in (kept, closed)
                 if a.email and a.email_verified}
    for address, account in addresses.items():
        context = {**moment_for_email(phone=account_sms_phone(account)),
                   "kept_identifier": kept.display_identifier}
        email_send(to=address, template="accounts_merged",
                   context={**context, "account": account, "kept": kept, "closed": closed},
                   purpose="accounts_merged_notice", account=account)


@dataclass(frozen=True)
class MergeProof:
    """What « Ajouter des enfants depuis un autre compte » proved with the other account's
    identifier and password, kept server-side (families.views: in the session, single use,
    for FAMILIES_MERGE_CONFIRM_SECONDS) until the person confirms: the two accounts, the
    other account's password as it was (its session auth hash: a password changed since
    voids the proof), its guardian records and the children shown on the confirmation page.
    Ids and digests only, no names."""

    account_id: int
    other_id: int
    other_auth_hash: str
    record_ids: tuple[int, ...]
    pupil_ids: tuple[int, ...]

    def as_dict(self) -> dict:
        """The JSON-serialisable form the session keeps."""
        return {"account_id": self.account_id, "other_id": self.other_id,
                "other_auth_hash": self.other_auth_hash, "record_ids": list(self.record_ids),
                "pupil_ids": list(self.pupil_ids)}

    @classmethod
    def from_dict(cls, data: dict) -> MergeProof:
        """The proof back from `as_dict`; raises KeyError or TypeError when malformed."""
        return cls(account_id=int(data["account_id"]), other_id=int(data["other_id"]),
                   other_auth_hash=str(data["other_auth_hash"]),
                   record_ids=tuple(int(i) for i in data["record_ids"]),
                   pupil_ids=tuple(int(i) for i in data["pupil_ids"]))


def _children_of(other: Account) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The other account's guardian records and the children they show (ids, in a stable
    order): what a merge moves."""
    record_ids = tuple(GuardianRecord.objects.filter(account_id=other.pk)
                       .order_by("pk").values_list("pk", flat=True))
    pupil_ids = tuple(sorted(p.pk for p in pupils_of_guardian_account(other)))
    return record_ids, pupil_ids


def accounts_merge_prove(*, account: Account, identifier: str, password: str,
                         request: HttpRequest | None = None) -> MergeProof:
    """« Ajouter des enfants depuis un autre compte » (seeds FAQ §12; issue 11 §1), first
    step: checks that the signed-in guardian `account` may take the children of the account
    whose `identifier` and `password` (or provisional password) are typed, and returns what
    was proven (MergeProof). Changes no account and moves no record: the merge itself is
    `accounts_merge_confirm`, once the person has seen the children and confirmed.

    Limits: the typed pair goes through the portal sign-in's limits
    (accounts.limits.sign_in_attempt_admit: per address, per identifier and address, per
    identifier, or the device's own window), counted before the password is checked; a wrong
    pair gets the sign-in's generic refusal, whatever the identifier. The right password of a
    pupil's account (only two accounts of représentant légal are merged) is told so, on the
    identifier (messages.message_merge_pupil_account): only once the password is proven, so
    a wrong password reads as every other. Then the names of both
    accounts must be the same by their comparison keys (« vérifiez auprès des
    établissements »).

    Raises FamiliesRefused (field « identifier », or « password », or the form).
    """
    typed = strip_invisible(identifier).strip().lower()
    if typed == account.identifier:
        raise FamiliesRefused(messages.message_merge_same_account(), field="identifier")
    ip = client_ip(request) if request is not None else ""
    device = sign_in_device(request, identifier=typed) if request is not None else ""
    admission = sign_in_attempt_admit(identifier=typed, ip=ip, device=device)
    if not admission.allowed:
        raise FamiliesRefused(throttled_message(admission.retry_after),
                              retry_after=admission.retry_after)
    other = authenticate(request, identifier=typed, password=password)
    if other is None:
        _refuse_if_closed_for_another(account, getattr(request, "refused_account", None),
                                      typed=typed, request=request)
    if other is not None and other.kind == AccountKind.PUPIL:
        # The password is proven: the truth tells nothing to someone who does not know it.
        # Both paths did the same work (authenticate, one journal row, nothing forgotten).
        journal_record(EventKind.ACCOUNTS_MERGE_REFUSED, request=request, account=account,
                       reason="pupil_account", other_account_id=other.pk)
        raise FamiliesRefused(messages.message_merge_pupil_account(), field="identifier")
    if other is None or other.kind != AccountKind.GUARDIAN or other.pk == account.pk:
        journal_record(EventKind.ACCOUNTS_MERGE_REFUSED, request=request, account=account,
                       reason="wrong_pair")
        raise FamiliesRefused(gettext(INVALID_LOGIN_MESSAGE), field="password")
    sign_in_success_forget(identifier=typed, ip=ip, device=device)
    if not _same_person(account, other):
        journal_record(EventKind.ACCOUNTS_MERGE_REFUSED, request=request, account=account,
                       reason="names_differ", other_account_id=other.pk)
        raise FamiliesRefused(messages.message_merge_names_differ())
    record_ids, pupil_ids = _children_of(other)
    return MergeProof(account_id=account.pk, other_id=other.pk,
                      other_auth_hash=other.get_session_auth_hash(),
                      record_ids=record_ids, pupil_ids=pupil_ids)


def _refuse_if_closed_for_another(account: Account, refused: Account | None, *, typed: str,
                                  request: HttpRequest | None) -> None:
    """The right password of a guardian account already closed for another one (the
    backend sets `request.refused_account` only after the right password of an account that
    may not sign in), as the sign-in explains it (accounts.forms.closed_account_message):

    - a school letter whose provisional account was closed when the family activated by
      SMS or FranceConnect (accounts.selectors.letter_replaced_by): its children are on the
      signed-in account already, or on the active account it names;
    - an account already merged (accounts.selectors.account_merged_into): into the
      signed-in one (its children are already here) or into another one, named.

    Raises FamiliesRefused then (journaled ACCOUNTS_MERGE_REFUSED, « letter_replaced » or
    « already_merged »); returns for any other closed account (the generic refusal). A
    wrong password never reaches here: it keeps the generic refusal (no enumeration)."""
    if (refused is None or refused.identifier != typed or refused.kind != AccountKind.GUARDIAN
            or refused.state != AccountState.CLOSED):
        return
    holder = letter_replaced_by(refused)
    if holder is not None:
        if holder.pk != account.pk and not holder.is_active:
            return  # closed since, by the helpdesk: the generic refusal, as the sign-in's
        journal_record(EventKind.ACCOUNTS_MERGE_REFUSED, request=request, account=account,
                       reason="letter_replaced", other_account_id=refused.pk)
        if holder.pk == account.pk:
            raise FamiliesRefused(messages.message_merge_letter_here())
        raise FamiliesRefused(messages.message_merge_letter_replaced(holder.display_identifier))
    kept = account_merged_into(refused, follow=MERGE_CHAIN_MAX - 1)
    if kept is None:
        return  # closed otherwise (by the helpdesk): the generic refusal
    journal_record(EventKind.ACCOUNTS_MERGE_REFUSED, request=request, account=account,
                   reason="already_merged", other_account_id=refused.pk)
    if kept.pk == account.pk:
        raise FamiliesRefused(messages.message_merge_already_here())
    if kept.is_active:
        raise FamiliesRefused(messages.message_merge_already_merged(kept.display_identifier))
    raise FamiliesRefused(messages.message_merge_already_merged_closed())


def merge_proof_children(proof: MergeProof) -> list[Pupil]:
    """The children a proven merge would bring (the confirmation page: first name, school),
    with their establishment, in a stable order."""
    return list(Pupil.objects.filter(pk__in=proof.pupil_ids).select_related("establishment")
                .order_by("establishment__name", "first_names", "pk"))


def accounts_merge_confirm(*, account: Account, proof: MergeProof,
                           request: HttpRequest | None = None) -> Account:
    """The merge the person confirmed: the signed-in guardian `account` (kept) takes the
    guardian records — so the children — of the account `proof` names
    (`accounts_merge_prove`); that account is closed. Returns the closed account.

    One transaction: both accounts locked in primary-key order, then their guardian records
    in primary-key order (the order of activation.services.guardian_records_attach), and
    both accounts checked again under the locks: still as they were when the password was
    proven (the kept one active and signed in, the other one open, with the same password,
    the same names, the same records and children as the confirmation page showed) — so two
    merges at once, or a merge racing an activation or an attach, serialise: no record is
    left on a closed account and none is moved twice, and nothing the person did not see
    moves. The other account: state CLOSED (its sessions end at their next request, its
    sign-in says it was merged, to whoever types its right password), its records moved
    with a history reason. `accounts_merged` (accounts.signals) is sent inside the
    transaction: OIDC grants and tokens of the closed account end (oidc_idp), a FranceConnect
    link moves there (issue 10). Both phones and addresses are told (outbox). Journal:
    ACCOUNTS_MERGED on the kept account and ACCOUNT_CLOSED_BY_MERGE on the closed one, each
    naming the other (both helpdesk files).

    Raises MergeAlreadyDone when the other account is already merged into this one (the
    same confirmation sent twice at once: the first one merged), FamiliesRefused (the form)
    when either account changed since the proof.
    """
    if proof.account_id != account.pk or proof.other_id == account.pk:
        raise FamiliesRefused(messages.message_merge_changed())
    refusal = None
    with transaction.atomic():
        locked = {a.pk: a for a in Account.objects.select_for_update()
                  .filter(pk__in=(account.pk, proof.other_id)).order_by("pk")}
        kept, closed = locked.get(account.pk), locked.get(proof.other_id)
        if (kept is not None and closed is not None and kept.state == AccountState.ACTIVE
                and closed.state == AccountState.CLOSED):
            merged_into = account_merged_into(closed)
            if merged_into is not None and merged_into.pk == kept.pk:
                raise MergeAlreadyDone(closed)
        if (kept is None or closed is None or kept.state != AccountState.ACTIVE
                or not closed.is_active):
            # The other account was closed meanwhile (a merge at the same time), or this one.
            refusal = messages.message_merge_too_late()
        else:
            records = list(GuardianRecord.objects.select_for_update()
                           .filter(account_id__in=(kept.pk, closed.pk)).order_by("pk"))
            moved = [record.pk for record in records if record.account_id == closed.pk]
            if (closed.get_session_auth_hash() != proof.other_auth_hash
                    or not _same_person(kept, closed)
                    or tuple(moved) != proof.record_ids
                    or tuple(sorted(p.pk for p in pupils_of_guardian_account(closed)))
                    != proof.pupil_ids):
                refusal = messages.message_merge_changed()
            else:
                _merge_locked(kept, closed, records, moved, request=request)
    if refusal:
        raise FamiliesRefused(refusal)
    return closed


def _merge_locked(kept: Account, closed: Account, records: list[GuardianRecord],
                  moved: list[int], *, request: HttpRequest | None) -> None:
    """The writes of a merge, both accounts and their records locked by the caller."""
    for record in records:
        if record.account_id == closed.pk:
            record.account = kept
            record._change_reason = "Comptes regroupés (Mes enfants)"
            record.save(update_fields=["account"])
    closed.state = AccountState.CLOSED
    closed.save(update_fields=["state"])
    if not kept.phone and closed.phone and closed.phone_verified:
        kept.phone, kept.phone_verified = closed.phone, True
        kept.save(update_fields=["phone", "phone_verified"])
    accounts_merged.send(sender=Account, kept=kept, closed=closed, request=request)
    journal_record(EventKind.ACCOUNTS_MERGED, request=request, account=kept,
                   other_account_id=closed.pk, other_identifier=closed.identifier,
                   guardian_record_ids=moved)
    journal_record(EventKind.ACCOUNT_CLOSED_BY_MERGE, request=request, account=closed,
                   kept_account_id=kept.pk, kept_identifier=kept.identifier,
                   guardian_record_ids=moved)
    _merge_notify(kept, closed)


def accounts_merge(*, account: Account, identifier: str, password: str,
                   request: HttpRequest | None = None) -> Account:
    """Prove and merge at once (`accounts_merge_prove` then `accounts_merge_confirm`), for
    callers that have no person to confirm (benchmarks, tests of the merge's locks). The
    portal's pages never call it: they show the children and ask for a confirmation in
    between (families.views). Returns the closed account; raises FamiliesRefused."""
    proof = accounts_merge_prove(account=account, identifier=identifier, password=password,
                                 request=request)
    return accounts_merge_confirm(account=account, proof=proof, request=request)


# --- « Ajouter un enfant » ------------------------------------------------------------------


def _send_refusal(refused: CodeRefused) -> FamiliesRefused:
    if refused.reason == CodeRefusalReason.RESEND_COOLDOWN:
        return FamiliesRefused(activation_messages.message_resend_cooldown(refused.retry_after))
    if refused.reason == CodeRefusalReason.FLOW_LIMIT:
        return FamiliesRefused(activation_messages.message_resend_flow_limit())
    return FamiliesRefused(activation_messages.message_ip_limit(refused.retry_after),
                           field="phone")


def child_attach_start(*, account: Account, phone: str,
                       request: HttpRequest | None = None) -> tuple[Flow, str]:
    """« Ajouter un enfant », first stage: the mobile number the new child's school has for
    the signed-in guardian (E.164). Matches the records of that number and of the account's
    names (activation.selectors.guardian_records_matching, and
    guardian_records_with_disputed_link: a child the guardian answered « Je ne suis pas le
    représentant légal » for, seed 000's « ajout d'un enfant ») that no active or locked
    account covers; opens a CHILD_ATTACH flow naming the account and sends a code — or, when nothing
    matched, makes one and sends nothing (the same page, counters and work: the SMS
    activation's rule). Returns the flow and its browser secret. Raises FamiliesRefused
    when this address asked for too many codes."""
    phone = str(phone)
    ip = client_ip(request) if request is not None else ""
    names = {"phone": phone, "last_name": account.last_name,
             "first_name": account.first_name}
    matched = records_uncovered(sorted(set(guardian_records_matching(**names))
                                       | set(guardian_records_with_disputed_link(**names))))
    data = ActivationData(last_name=account.last_name, first_name=account.first_name,
                          matched_record_ids=matched, attach_account_id=account.pk)
    now = timezone.now()
    try:
        with transaction.atomic():
            flow, secret = flow_start(kind=CHILD_ATTACH, step="code", phone=phone,
                                      data=asdict(data), now=now)
            flow.account = account
            flow.save(update_fields=["account"])
            codes.code_issue(flow=flow, purpose=CHILD_ATTACH_CODE, recipient=phone,
                             deliver=data.matched, ip=ip, request=request, now=now,
                             new_flow=True)
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return flow, secret


def _lock(*, flow_id: UUID, account: Account, step: str, now) -> Flow:
    flow = flow_lock(flow_id=flow_id, kind=CHILD_ATTACH, step=step, now=now)
    if flow.account_id != account.pk:
        raise FlowUnavailable("This flow belongs to another account")
    return flow


def child_attach_code_resend(*, flow_id: UUID, account: Account,
                             request: HttpRequest | None = None) -> CodeIssue:
    """« Renvoyer le SMS »: one more code to the flow's number (the earlier ones stay
    valid). Raises FamiliesRefused or FlowUnavailable."""
    now = timezone.now()
    ip = client_ip(request) if request is not None else ""
    try:
        with transaction.atomic():
            flow = _lock(flow_id=flow_id, account=account, step="code", now=now)
            issue = codes.code_issue(
                flow=flow, purpose=CHILD_ATTACH_CODE, recipient=str(flow.phone),
                deliver=ActivationData.of(flow).matched, ip=ip, request=request, now=now,
            )
            flow_touch(flow, now=now)
            flow.save()
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return issue


def child_attach_code_verify(*, flow_id: UUID, account: Account, typed_code: str,
                             request: HttpRequest | None = None) -> Flow:
    """Check the typed code; on success the flow moves to the children's birth dates, or
    ends BLOCKED at once when the number is blocked for its wrong dates
    (activation.services.blocked_number_end). Raises FamiliesRefused (a malformed entry
    costs no attempt) or FlowUnavailable."""
    code = codes.code_normalize(typed_code)
    if code is None:
        raise FamiliesRefused(activation_messages.message_code_format(), field="code")
    now = timezone.now()
    refusal = None
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="code", now=now)
        check = codes.code_verify(flow=flow, purpose=CHILD_ATTACH_CODE, code=code,
                                  request=request, now=now)
        if check.verdict == CodeVerdict.ACCEPTED:
            flow_move(flow, step="pupils")
            # A number blocked for its wrong dates: told now, not after the dates.
            blocked_number_end(flow, ActivationData.of(flow), request=request)
        elif check.verdict == CodeVerdict.WRONG:
            refusal = activation_messages.message_code_wrong(check.remaining)
        elif check.verdict == CodeVerdict.DEAD:
            refusal = activation_messages.message_code_dead(check.issued)
        else:
            refusal = activation_messages.message_code_expired()
        flow_touch(flow, now=now)
        flow.save()
    if refusal:
        raise FamiliesRefused(refusal, field="code")
    return flow


def _attach(flow: Flow, data: ActivationData, *, request) -> str | None:
    attached_to = guardian_records_attach(
        account_id=flow.account_id, record_ids=data.confirmed_record_ids,
        method="child_attach", flow=flow, request=request,
    )
    if attached_to is None:
        flow_end(flow, status=FlowStatus.ALREADY_ACTIVE)
        return None
    disputes_withdraw(flow, data, account=attached_to, request=request)
    flow_end(flow, status=FlowStatus.COMPLETED, account=attached_to, step="done")
    return None


def disputes_withdraw(flow: Flow, data: ActivationData, *, account: Account,
                      request: HttpRequest | None = None) -> int:
    """The links of représentant légal between the records and the children just confirmed
    by « Ajouter un enfant » (`data.confirmed_*`, birth dates right) that the guardian had
    disputed (« Je ne suis pas le représentant légal de cet élève », an activation's mis-tap:
    seed 000 says « il faudra procéder à l'ajout d'un enfant ») and the school has not
    examined yet: back to « Actif », in the caller's transaction, with the reason in the
    link's history and CHILD_ATTACH_DISPUTE_WITHDRAWN journaled on `account` (the school's
    list of disputed links no longer holds them). Returns how many."""
    withdrawn = 0
    for link in (Responsibility.objects.select_for_update()
                 .filter(guardian_record_id__in=data.confirmed_record_ids,
                         pupil_id__in=data.confirmed_pupil_ids, is_legal_representative=True,
                         status=ResponsibilityStatus.DISPUTED).order_by("pk")):
        link.status = ResponsibilityStatus.ACTIVE
        link._change_reason = ("Contestation retirée par le responsable : enfant ajouté à son "
                               "compte")
        link.save(update_fields=["status"])
        journal_record(EventKind.CHILD_ATTACH_DISPUTE_WITHDRAWN, request=request,
                       account=account, flow_id=flow.id, pupil_id=link.pupil_id,
                       responsibility_id=link.pk, guardian_record_id=link.guardian_record_id)
        withdrawn += 1
    return withdrawn


def child_attach_pupils_confirm(*, flow_id: UUID, account: Account,
                                answers: list[PupilAnswer],
                                request: HttpRequest | None = None) -> Flow:
    """The children's birth dates (the SMS activation's step 3, its rules and limits:
    activation.services.pupil_answers_apply); when right, the records are attached to the
    account (activation.services.guardian_records_attach) and the flow completes. Raises
    FamiliesRefused (with `field_errors` per pupil) when nothing was applied."""
    now = timezone.now()
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="pupils", now=now)
        data = ActivationData.of(flow)
        outcome = pupil_answers_apply(flow, data, answers, request=request, then=_attach,
                                      date_wrong_message=messages.message_child_date_wrong,
                                      with_disputed=True)
        data.store(flow)
        flow_touch(flow, now=now)
        flow.save()
    if outcome.refusal or outcome.field_errors:
        raise FamiliesRefused(outcome.refusal or "", field_errors=outcome.field_errors)
    return flow


# --- The notice at sign-in -------------------------------------------------------------------


@functools.cache
def _notice_take_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    record = GuardianRecord._meta
    pending = quote(record.get_field("attached_notice_pending").column)
    return (f"UPDATE {quote(record.db_table)} SET {pending} = false "  # noqa: S608
            f"WHERE {quote(record.get_field('account').column)} = %s AND {pending}")


def new_children_notice_take(*, account: Account) -> int:
    """How many of the account's records a roster import attached since the family was last
    told, clearing the flag (one UPDATE; two sign-ins at once tell it once between them).
    Run at every guardian sign-in: its SQL is written once per process (the ORM's
    `filter(…).update(…)` cost 0.3–0.4 ms of CPU to build; issue 14). A raw UPDATE, as
    QuerySet.update(): no model signal, no history row (the flag is not historised)."""
    db = router.db_for_write(GuardianRecord)
    with connections[db].cursor() as cursor:
        cursor.execute(_notice_take_sql(db), [account.pk])
        return cursor.rowcount
