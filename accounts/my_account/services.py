"""Every write of « Mon compte »: the password change, the re-authentication before a change
of e-mail address or phone number, the phone change (flow kind PHONE_CHANGE), the e-mail
change. Keyword-only arguments, one transaction each, journaled (never a password, a code or
a token).

A refusal is raised after the transaction that counted it has committed: the counter (a wrong
password, a wrong code) must stick even though the person reads an error.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import codes
from core.codes import CodeIssue, CodeRefusalReason, CodeRefused, CodeVerdict
from core.flows import (
    FlowUnavailable,
    flow_end,
    flow_lock,
    flow_start,
    flow_touch,
    flows_replace,
)
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.models import Flow, FlowStatus
from core.moments import account_sms_phone, moment_for_email, moment_for_recipient
from core.normalization import mask_phone, password_normalize
from core.tokens import link_token_consume, link_token_issue, link_tokens_revoke
from notifications.emails import absolute_url, email_send
from notifications.services import sms_enqueue

from ..middleware import SIGNED_IN_AT
from ..models import Account, AccountKind
from ..services import account_password_set
from . import messages
from .flows import PHONE_CHANGE, PHONE_CHANGE_CODE
from .limits import (
    current_password_attempt_admit,
    current_password_failures_clear,
    email_link_send_admit,
    phone_change_start_admit,
)
from .selectors import EMAIL_CHANGE_PURPOSE, email_change_pending

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


def _notice_context(phone: str | None = None, *, email_to: Account | None = None) -> dict:
    """The context of a notice: now as its recipient reads it (core.moments: the SMS to
    `phone` in that number's time; an e-mail to the account `email_to` in the time its SMS
    would state, named), and the assistance's number."""
    moment = (moment_for_email(phone=account_sms_phone(email_to)) if email_to is not None
              else moment_for_recipient(phone=phone))
    return {**moment, "assistance_phone": settings.EDUCONNECT_ASSISTANCE_PHONE}


def my_account_password_change(*, account: Account, current_password: str, new_password: str,
                               request: HttpRequest | None = None) -> bool:
    """« Modifier mon mot de passe » (FAQ §10): `new_password` already meets the policy (the
    form checks accounts.password_policy with the account's names and identifier).

    Checks the current password (limited, see current_password_check), then sets the new
    one: every other session of the account ends at once, this one is kept with a new key
    (accounts.services.account_password_set, journaled PASSWORD_CHANGED with reason
    « my_account »). The owner is told by SMS on the account's phone (purpose
    « password_changed_notice »), in the same transaction. Raises MyAccountRefused, on the
    new password when it is the current one.

    Returns True when a change of e-mail address was pending and is now cancelled (a new
    password voids it, deliberately: accounts.my_account.pending), so that the page says
    it must be asked for again; False otherwise.

    Cost: one Argon2 verification (the current password's). Once the current password is
    proven, the new one is the same password exactly when both have the same NFKC form
    (accounts.hashers hashes that form, and every form a legacy hash may match has the same
    NFKC form), so comparing the two strings says it without a second verification.
    """
    current_password_check(account=account, password=current_password, request=request)
    if hmac.compare_digest(password_normalize(new_password).encode(),
                           password_normalize(current_password).encode()):
        raise MyAccountRefused(messages.message_password_unchanged(), field="password")
    with transaction.atomic():
        email_change_cancelled = account_password_set(
            account=account, password=new_password, reason="my_account", request=request,
        ) > 0
        if account.phone:
            body = render_to_string("sms/password_changed.txt",
                                    _notice_context(str(account.phone))).strip()
            sms_enqueue(to=str(account.phone), body=body, purpose="password_changed_notice",
                        account=account)
        if account.email and account.email_verified:
            email_send(to=account.email, template="my_account_password_changed",
                       context={**_notice_context(email_to=account), "account": account},
                       purpose="password_changed_notice", account=account)
    return email_change_cancelled


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
    SMS to the new number (core.codes, purpose PHONE_CHANGE_CODE). The account's changes
    still open end as replaced (core.flows.flows_replace): the code of an older one is then
    refused, its page saying a newer change replaced it — as a newer e-mail link revokes the
    older ones (email_change_request). Journaled PHONE_CHANGE_STARTED, with
    `replaced=True` when it ended one.

    Returns the flow and the secret to keep in the browser's session (core.flows.flow_bind).
    Raises MyAccountRefused (field « phone »): the number is already the account's, the
    account started PHONE_CHANGE_MAX_STARTS_PER_ACCOUNT changes in the window (SMS pumping
    through a session), or this IP address asked for too many codes; nothing is written
    then. A number shared with
    other accounts is allowed: families share phones, and saying so would tell who has one.
    """
    phone = str(phone)
    if account.phone and phone == str(account.phone):
        raise MyAccountRefused(messages.message_phone_same(), field="phone")
    decision = phone_change_start_admit(account_id=account.pk)
    if not decision:
        raise MyAccountRefused(messages.message_phone_changes_limit(decision.retry_after),
                               field="phone")
    ip = client_ip(request) if request is not None else ""
    now = timezone.now()
    try:
        with transaction.atomic():
            # A newer change replaces the older ones, as a newer address link does: their
            # codes no longer change the number (only the last number asked for can win).
            replaced = flows_replace(kind=PHONE_CHANGE, account=account)
            flow, secret = flow_start(kind=PHONE_CHANGE, step="code", phone=phone, now=now)
            flow.account = account
            flow.save(update_fields=["account"])
            # « remplace une demande en cours : oui » for the helpdesk, only when it did.
            facts = {"replaced": True} if replaced else {}
            journal_record(EventKind.PHONE_CHANGE_STARTED, request=request, account=account,
                           flow_id=flow.id, **facts)
            codes.code_issue(flow=flow, purpose=PHONE_CHANGE_CODE, recipient=phone,
                             deliver=True, ip=ip, request=request, now=now, new_flow=True)
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


# The key of a completed phone change's `flow.data`: True when the old number got the SMS
# « phone_changed_notice » (phone_change_code_verify), read by the done page.
OLD_PHONE_TOLD = "old_phone_told"


def phone_change_code_verify(*, flow_id: UUID, account: Account, typed_code: str,
                             request: HttpRequest | None = None) -> Flow:
    """Check the typed code. When right, in one transaction: the new number becomes the
    account's (verified), the flow ends completed, PHONE_CHANGED is journaled (numbers
    masked), and the old number, if any, gets an SMS saying the number changed (purpose
    « phone_changed_notice »; `flow.data[OLD_PHONE_TOLD]` says whether it did, for the done
    page). Raises MyAccountRefused (field « code »; a malformed entry costs no attempt) or
    FlowUnavailable."""
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
    old_told = bool(old_phone) and old_phone != str(flow.phone)
    # The done page says the old number was told only when it was (an account with no
    # number, a pupil's often, had none to tell).
    flow.data = {**(flow.data or {}), OLD_PHONE_TOLD: old_told}
    flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
    journal_record(EventKind.PHONE_CHANGED, request=request, account=account, flow_id=flow.id,
                   old_phone=mask_phone(old_phone) if old_phone else "",
                   new_phone=mask_phone(str(flow.phone)))
    if old_told:
        body = render_to_string("sms/phone_changed.txt", _notice_context(old_phone)).strip()
        sms_enqueue(to=old_phone, body=body, purpose="phone_changed_notice", account=account,
                    flow_id=flow.id)


# --- E-mail address ----------------------------------------------------------------------


def mask_email(address: str) -> str:
    """« a•••@example.org »: what the journal keeps of an address (the helpdesk sees the
    account's own address on its file; the journal needs only to tell two apart)."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def _validation_send(account: Account, email: str) -> None:
    token = link_token_issue(purpose=EMAIL_CHANGE_PURPOSE, account=account,
                             ttl_seconds=settings.EMAIL_CHANGE_LINK_TTL_SECONDS,
                             payload={"email": email})
    url = absolute_url(reverse("accounts:my_account:email_validate", args=[token]))
    current = (account.email or "").strip().lower()
    # The words fit the account (a pupil is no parent) and the case: a first address (or
    # the account's own unvalidated one, FAQ §7) replaces nothing that works.
    replaces = bool(current) and account.email_verified and current != email
    email_send(to=email, template="my_account_email_validation",
               context={"account": account, "url": url, "new_email": email,
                        "is_pupil": account.kind == AccountKind.PUPIL,
                        "replaces_address": replaces,
                        "days": max(1, round(settings.EMAIL_CHANGE_LINK_TTL_SECONDS / 86400))},
               purpose=EMAIL_CHANGE_PURPOSE, contains_secret=True, account=account)


@dataclass(frozen=True)
class EmailChangeNotices:
    """Who is told of a change of the account's address, for the words of « Modifier mon
    adresse mail »: `current_address`, by mail at the request (`email_change_request`), only
    when the account's address was validated (one never validated may be a stranger's: a
    typing error); `phone`, by SMS once the new address is validated
    (`_email_changed_notice`), when the account's phone is verified."""

    current_address: bool
    phone: bool


def email_change_notices(account: Account) -> EmailChangeNotices:
    """Who a change of `account`'s address would be told to (EmailChangeNotices): the same
    rule as the writes below, read once."""
    return EmailChangeNotices(current_address=bool(account.email) and account.email_verified,
                              phone=bool(account.phone) and account.phone_verified)


def email_change_request(*, account: Account, email: str,
                         request: HttpRequest | None = None) -> None:
    """« Modifier mon adresse mail » (FAQ §11, §7, §8): `email` (already a valid address,
    lowercased) gets a validation link (core.tokens, EMAIL_CHANGE_LINK_TTL_SECONDS, payload
    {"email": …}); the old address, if the account has one, is told the new one. Until the
    link is used the account keeps its old address. A new request replaces a pending one
    (« J'ai fait une erreur de saisie… »): the older links are voided.

    An address already used by other accounts is accepted, and nothing says so: families
    share mailboxes (issue 8 §2 has one e-mail list several identifiers), and a refusal
    would tell whether an address has an account. The account's own validated address is
    refused (nothing to change); its own unvalidated address gets a new link (FAQ §7).

    Raises MyAccountRefused (field « email »): same validated address, or the account's
    EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT reached (nothing is written then).
    """
    email = email.strip().lower()
    current = (account.email or "").strip().lower()
    if email == current and account.email_verified:
        raise MyAccountRefused(messages.message_email_same(), field="email")
    decision = email_link_send_admit(account_id=account.pk)
    if not decision:
        raise MyAccountRefused(messages.message_email_links_limit(decision.retry_after),
                               field="email")
    with transaction.atomic():
        replaced = link_tokens_revoke(account=account, purpose=EMAIL_CHANGE_PURPOSE)
        _validation_send(account, email)
        # An address never validated is not told (it may be a stranger's: a typing error).
        old_told = email_change_notices(account).current_address and email != current
        if old_told:
            email_send(to=account.email, template="my_account_email_change_notice",
                       context={**_notice_context(email_to=account), "account": account,
                                "new_email": email},
                       purpose="email_change_notice", account=account)
        journal_record(EventKind.EMAIL_CHANGE_REQUESTED, request=request, account=account,
                       new_email=mask_email(email), replaced=bool(replaced),
                       old_told=old_told)


def email_change_resend(*, account: Account, request: HttpRequest | None = None) -> str:
    """« Renvoyer l'email de validation » (FAQ §8): a new link to the pending address (the
    earlier links stay valid: e-mails arrive late). Returns the address. Raises
    MyAccountRefused: nothing pending (field ""), or the account's limit (field ""), and
    then nothing is sent."""
    pending = email_change_pending(account)
    if pending is None:
        raise MyAccountRefused(messages.message_email_nothing_pending())
    decision = email_link_send_admit(account_id=account.pk)
    if not decision:
        raise MyAccountRefused(messages.message_email_links_limit(decision.retry_after))
    email = pending.payload["email"]
    with transaction.atomic():
        _validation_send(account, email)
        journal_record(EventKind.EMAIL_CHANGE_LINK_RESENT, request=request, account=account,
                       new_email=mask_email(email))
    return email


def email_change_cancel(*, account: Account, request: HttpRequest | None = None) -> bool:
    """Void the pending change (its links die; the address stays the old one). Returns
    whether one was pending."""
    with transaction.atomic():
        voided = link_tokens_revoke(account=account, purpose=EMAIL_CHANGE_PURPOSE)
        if voided:
            journal_record(EventKind.EMAIL_CHANGE_CANCELLED, request=request, account=account)
    return bool(voided)


def email_change_validate(*, token: str, request: HttpRequest | None = None) -> Account | None:
    """The POST of the validation page (signed in or not, from any device): consume the
    token and make its address the account's, validated; the other pending links die.
    Returns the account, or None when the link is not valid (used, replaced, expired,
    unknown, or the account is closed or locked): nothing changes then. One transaction; the
    token is consumed by one conditional UPDATE (core.tokens), so two clicks validate once.
    """
    with transaction.atomic():
        row = link_token_consume(token=token, purpose=EMAIL_CHANGE_PURPOSE)
        if row is None:
            return None
        account = Account.objects.select_for_update().get(pk=row.account_id)
        if not account.is_active:
            transaction.set_rollback(True)
            return None
        old_email = account.email
        account.email = row.payload["email"]
        account.email_verified = True
        account._change_reason = "Adresse mail validée par son titulaire (Mon compte)"
        account.save(update_fields=["email", "email_verified"])
        link_tokens_revoke(account=account, purpose=EMAIL_CHANGE_PURPOSE)
        # A new address can receive « Mot de passe oublié ? » links: the account's phone is
        # told, as the old number is of a new number (ASVS 4.0.3 V2.5.5 / V3.7.1).
        phone_told = _email_changed_notice(account, old_email=old_email)
        journal_record(EventKind.EMAIL_CHANGED, request=request, account=account,
                       old_email=mask_email(old_email) if old_email else "",
                       new_email=mask_email(account.email), phone_told=phone_told)
    return account


def _email_changed_notice(account: Account, *, old_email: str) -> bool:
    """The SMS « l'adresse mail de votre compte a été remplacée » (« une adresse mail a été
    ajoutée à votre compte » when it had none) to the account's verified phone once its
    address has become another one (not when the address it already had is validated).
    Returns whether it was queued (in the caller's transaction: the outbox)."""
    changed = (old_email or "").strip().lower() != (account.email or "").strip().lower()
    if not (changed and email_change_notices(account).phone):
        return False
    body = render_to_string("sms/email_changed.txt",
                            {**_notice_context(str(account.phone)),
                             "added": not (old_email or "").strip()}).strip()
    sms_enqueue(to=str(account.phone), body=body, purpose="email_changed_notice",
                account=account)
    return True
