"""Every write of « Mon compte »: the password change, the re-authentication before a change
of e-mail address or phone number, the phone change (flow kind PHONE_CHANGE), the e-mail
change. Keyword-only arguments, one transaction each, journaled (never a password, a code or
a token).

A refusal is raised after the transaction that counted it has committed: the counter (a wrong
password, a wrong code) must stick even though the person reads an error.
"""

from __future__ import annotations

import time
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from core import codes
from core.codes import CodeIssue, CodeRefusalReason, CodeRefused, CodeVerdict
from core.flows import FlowUnavailable, flow_end, flow_lock, flow_start, flow_touch
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.models import Flow, FlowStatus
from core.normalization import mask_phone
from notifications.services import sms_enqueue

from ..middleware import SIGNED_IN_AT
from ..models import Account
from ..services import account_password_set
from . import messages
from .flows import PHONE_CHANGE, PHONE_CHANGE_CODE
from .limits import current_password_attempt_admit, current_password_failures_clear

__all__ = ["FlowUnavailable", "MyAccountRefused"]  # FlowUnavailable: for the views

# The session's key holding when the password was last confirmed (time.time(), seconds).
REAUTHENTICATED_AT = "reauthenticated_at"


class MyAccountRefused(Exception):
    """A refusal the person reads (accounts.my_account.messages); `field` names the form
    field it is about ("" for the form as a whole)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


# --- The current password ----------------------------------------------------------------


def current_password_check(*, account: Account, password: str,
                           request: HttpRequest | None = None,
                           field: str = "current_password") -> None:
    """Check that `password` is the account's, under the wrong-password limit
    (accounts.my_account.limits: counted before the check, slowed down past
    MY_ACCOUNT_MAX_WRONG_PASSWORDS, never locked). Returns None when right.

    Raises MyAccountRefused (on `field`): slowed down (the password was not checked), or
    wrong (journaled as MY_ACCOUNT_PASSWORD_REJECTED, committed before the raise).
    Cost: one Argon2 hash when admitted, none when slowed down.
    """
    decision = current_password_attempt_admit(account_id=account.pk)
    if not decision:
        raise MyAccountRefused(messages.message_current_password_slowed(decision.retry_after),
                               field=field)
    if account.check_password(password):
        current_password_failures_clear(account_id=account.pk)
        return
    journal_record(EventKind.MY_ACCOUNT_PASSWORD_REJECTED, request=request, account=account)
    raise MyAccountRefused(messages.message_current_password_wrong(), field=field)


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the session signed in, or confirmed its password, less than
    ACCOUNT_REAUTHENTICATION_SECONDS ago (issue 8 §4: a change of e-mail address or phone
    number asks for the password again after 5 minutes; ASVS 4.0.3 V3.7.1)."""
    session = request.session
    last = max(float(session.get(SIGNED_IN_AT) or 0), float(session.get(REAUTHENTICATED_AT) or 0))
    return time.time() - last < settings.ACCOUNT_REAUTHENTICATION_SECONDS


def account_reauthenticate(*, account: Account, password: str, request: HttpRequest) -> None:
    """Confirm the password of the signed-in `account` before a sensitive change: on success
    the session remembers when (REAUTHENTICATED_AT; the absolute session lifetime still
    counts from the sign-in). Raises MyAccountRefused on the field « password »."""
    current_password_check(account=account, password=password, request=request,
                           field="password")
    request.session[REAUTHENTICATED_AT] = time.time()
    journal_record(EventKind.MY_ACCOUNT_REAUTHENTICATED, request=request, account=account)


# --- Password ----------------------------------------------------------------------------


def _when() -> dict:
    now = timezone.localtime()
    return {"date": now.strftime("%d/%m/%Y"), "time": now.strftime("%H:%M")}


def _notice_context() -> dict:
    return {**_when(), "assistance_phone": settings.EDUCONNECT_ASSISTANCE_PHONE}


def my_account_password_change(*, account: Account, current_password: str, new_password: str,
                               request: HttpRequest | None = None) -> None:
    """« Modifier mon mot de passe » (FAQ §10): `new_password` already meets the policy (the
    form checks accounts.password_policy with the account's names and identifier).

    Checks the current password (limited, see current_password_check), then sets the new
    one: every other session of the account ends at once, this one is kept with a new key
    (accounts.services.account_password_set, journaled PASSWORD_CHANGED with reason
    « my_account »). The owner is told by SMS on the account's phone (purpose
    « password_changed_notice »), in the same transaction. Raises MyAccountRefused.
    """
    current_password_check(account=account, password=current_password, request=request)
    if account.check_password(new_password):
        raise MyAccountRefused(messages.message_password_unchanged(), field="password")
    with transaction.atomic():
        account_password_set(account=account, password=new_password, reason="my_account",
                             request=request)
        if account.phone:
            body = render_to_string("sms/password_changed.txt", _notice_context()).strip()
            sms_enqueue(to=str(account.phone), body=body, purpose="password_changed_notice",
                        account=account)


# --- Phone number ------------------------------------------------------------------------


def _send_refusal(refused: CodeRefused) -> MyAccountRefused:
    if refused.reason == CodeRefusalReason.RESEND_COOLDOWN:
        return MyAccountRefused(messages.message_resend_cooldown(refused.retry_after))
    if refused.reason == CodeRefusalReason.FLOW_LIMIT:
        return MyAccountRefused(messages.message_resend_flow_limit())
    return MyAccountRefused(messages.message_ip_limit(refused.retry_after), field="phone")


def phone_change_start(*, account: Account, phone: str,
                       request: HttpRequest | None = None) -> tuple[Flow, str]:
    """Start changing the account's mobile number to `phone` (E.164, from
    FrenchMobileNumberField): open a PHONE_CHANGE flow naming the account and send a code by
    SMS to the new number (core.codes, purpose PHONE_CHANGE_CODE).

    Returns the flow and the secret to keep in the browser's session (core.flows.flow_bind).
    Raises MyAccountRefused: the number is already the account's (field « phone »), or this
    IP address asked for too many codes (nothing is written then). A number shared with
    other accounts is allowed: families share phones, and saying so would tell who has one.
    """
    phone = str(phone)
    if account.phone and phone == str(account.phone):
        raise MyAccountRefused(messages.message_phone_same(), field="phone")
    ip = client_ip(request) if request is not None else ""
    now = timezone.now()
    try:
        with transaction.atomic():
            flow, secret = flow_start(kind=PHONE_CHANGE, step="code", phone=phone, now=now)
            flow.account = account
            flow.save(update_fields=["account"])
            journal_record(EventKind.PHONE_CHANGE_STARTED, request=request, account=account,
                           flow_id=flow.id)
            codes.code_issue(flow=flow, purpose=PHONE_CHANGE_CODE, recipient=phone,
                             deliver=True, ip=ip, request=request, now=now)
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return flow, secret


def _lock(*, flow_id: UUID, account: Account, step: str, now) -> Flow:
    flow = flow_lock(flow_id=flow_id, kind=PHONE_CHANGE, step=step, now=now)
    if flow.account_id != account.pk:
        raise FlowUnavailable()  # another account's flow, in a browser shared by two
    return flow


def phone_change_code_resend(*, flow_id: UUID, account: Account,
                             request: HttpRequest | None = None) -> CodeIssue:
    """« Renvoyer le SMS »: one more code to the new number; earlier codes stay valid.
    Raises MyAccountRefused (too early, the flow's maximum, this IP's maximum) or
    FlowUnavailable."""
    now = timezone.now()
    ip = client_ip(request) if request is not None else ""
    try:
        with transaction.atomic():
            flow = _lock(flow_id=flow_id, account=account, step="code", now=now)
            issue = codes.code_issue(flow=flow, purpose=PHONE_CHANGE_CODE,
                                     recipient=str(flow.phone), deliver=True, ip=ip,
                                     request=request, now=now)
            flow_touch(flow, now=now)
            flow.save()
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return issue


def phone_change_code_verify(*, flow_id: UUID, account: Account, typed_code: str,
                             request: HttpRequest | None = None) -> Flow:
    """Check the typed code. When right, in one transaction: the new number becomes the
    account's (verified), the flow ends completed, PHONE_CHANGED is journaled (numbers
    masked), and the old number, if any, gets an SMS saying the number changed (purpose
    « phone_changed_notice »). Raises MyAccountRefused (field « code »; a malformed entry
    costs no attempt) or FlowUnavailable."""
    code = codes.code_normalize(typed_code)
    if code is None:
        raise MyAccountRefused(messages.message_code_format(), field="code")
    now = timezone.now()
    refusal = None
    with transaction.atomic():
        flow = _lock(flow_id=flow_id, account=account, step="code", now=now)
        check = codes.code_verify(flow=flow, purpose=PHONE_CHANGE_CODE, code=code,
                                  request=request, now=now)
        if check.verdict == CodeVerdict.ACCEPTED:
            _phone_set(flow, request=request)
        elif check.verdict == CodeVerdict.WRONG:
            refusal = messages.message_code_wrong(check.remaining)
        elif check.verdict == CodeVerdict.DEAD:
            refusal = messages.message_code_dead(check.issued)
        else:
            refusal = messages.message_code_expired()
        flow_touch(flow, now=now)
        flow.save()
    if refusal:
        raise MyAccountRefused(refusal, field="code")
    return flow


def _phone_set(flow: Flow, *, request) -> None:
    account = Account.objects.select_for_update().get(pk=flow.account_id)
    old_phone = str(account.phone) if account.phone else ""
    account.phone = str(flow.phone)
    account.phone_verified = True
    account._change_reason = "Numéro modifié par son titulaire (Mon compte)"
    account.save(update_fields=["phone", "phone_verified"])
    flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
    journal_record(EventKind.PHONE_CHANGED, request=request, account=account, flow_id=flow.id,
                   old_phone=mask_phone(old_phone) if old_phone else "",
                   new_phone=mask_phone(str(flow.phone)))
    if old_phone and old_phone != str(flow.phone):
        body = render_to_string("sms/phone_changed.txt", _notice_context()).strip()
        sms_enqueue(to=old_phone, body=body, purpose="phone_changed_notice", account=account,
                    flow_id=flow.id)
