"""Every write of « Identifiant oublié ? » and « Mot de passe oublié ? »: keyword-only
arguments, one transaction each.

No enumeration (issue 8 §6). Whatever was typed — an identifier, a name and number, an
address that is no account's, an account of the other profile, a closed one — the person
reads the same pages and words, and the request does the same work: the same lookups, the
same flow and journal rows, the same rate-limit calls (a recipient's silent quota is *read*
for a non-match where a match *counts* it: one Redis script either way), the same code made
and stored (`deliver=False`). What a match adds is the message itself: one outbox row,
written in the transaction, sent by the worker after commit.

A refusal the person may read (too many requests from their connection, a wrong code) is
raised as RecoveryRefused, after the transaction that counted it has committed.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict
from uuid import UUID

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.db.models import CharField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Lower
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core import codes, ratelimit
from core.codes import (
    DECOY_RECIPIENTS,
    CodeRefusalReason,
    CodeRefused,
    CodeVerdict,
    write_or_rehearse,
)
from core.flows import (
    FlowUnavailable,
    flow_end,
    flow_lock,
    flow_move,
    flow_rebind,
    flow_start,
    flow_touch,
)
from core.http import client_ip, ip_rate_subject
from core.journal import EventKind, journal_record
from core.models import CodeChannel, Flow, FlowStatus, JournalEvent, LinkToken
from core.moments import account_sms_phone, moment_for_email, moment_for_recipient
from core.normalization import name_key
from core.tokens import link_token_consume, link_token_find, link_token_issue, link_token_peek
from notifications.emails import absolute_url, email_send
from notifications.services import sms_enqueue

from ..limits import sign_in_owner_proven
from ..models import Account, AccountKind, AccountState
from ..password_policy import ERROR_SAME_AS_CURRENT, password_errors
from ..selectors import MERGE_CHAIN_MAX
from ..services import account_password_set
from . import messages
from .flows import (
    IDENTIFIER_REMINDERS_PER_IP,
    IDENTIFIER_REMINDERS_PER_RECIPIENT,
    LINK_PURPOSE,
    LINKS_PER_RECIPIENT,
    PASSWORD_RECOVERY,
    PASSWORD_RESET_SMS,
    RECOVERY_STARTS_PER_IP,
    Channel,
    RecoveryData,
)
from .masking import channel_masks
from .pending import password_recovery_older_end

__all__ = ["FlowUnavailable", "RecoveryRefused"]  # FlowUnavailable: for the views

# Characters a copy-paste brings along and nobody means (zero-width, soft hyphen, BOM).
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
NOT_SENT_NO_MATCH = "no_match"
# What a message rendered for nobody lists (the same work as a match, never sent).
DECOY_IDENTIFIER = "P.IDENTIFIANT00"
NOT_SENT_RECIPIENT_QUOTA = "recipient_quota"


class RecoveryRefused(Exception):
    """A refusal the person reads (recovery.messages); `retry_after` in seconds, for the
    429's Retry-After when waiting helps (0 otherwise)."""

    def __init__(self, message: str, *, retry_after: int = 0):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def identifier_clean(typed: str) -> str:
    """An identifier as typed, as stored: trimmed, invisible characters dropped, lowercase
    (letters print it in capitals)."""
    return _INVISIBLE.sub("", typed or "").strip().lower()


def _ip_admit(rule: ratelimit.Rule, request: HttpRequest | None) -> None:
    """Count one request of the client's address under `rule`; RecoveryRefused when full."""
    ip = client_ip(request) if request is not None else ""
    decision = ratelimit.hit(rule, ip_rate_subject(ip))
    if not decision:
        raise RecoveryRefused(messages.message_ip_limit(decision.retry_after),
                              retry_after=decision.retry_after)


def _recipient_admit(key: str, *, deliver: bool) -> str:
    """The silent per-recipient quota of identifier reminders: "" when a message may leave,
    else why not. A match counts one message; a non-match reads the counter (the same single
    Redis script), never counts: typing someone's number with wrong names spends nothing of
    theirs."""
    if not deliver:
        ratelimit.peek(IDENTIFIER_REMINDERS_PER_RECIPIENT, key)
        return NOT_SENT_NO_MATCH
    if not ratelimit.hit(IDENTIFIER_REMINDERS_PER_RECIPIENT, key):
        return NOT_SENT_RECIPIENT_QUOTA
    return ""


# --- « Identifiant oublié ? » ------------------------------------------------------------


def accounts_for_phone_and_names(*, phone: str, last_name: str, first_name: str) -> list[Account]:
    """Active family and pupil accounts whose proven mobile number is `phone` (E.164) and
    whose names have the comparison keys of the names typed (core.normalization.name_key:
    case, accents, hyphens and spaces ignored, as at activation).

    One indexed lookup (account_phone_idx); the few accounts sharing a number are compared
    in Python."""
    last_key, first_key = name_key(last_name), name_key(first_name)
    candidates = Account.objects.filter(
        phone=phone, phone_verified=True, state=AccountState.ACTIVE,
        kind__in=(AccountKind.GUARDIAN, AccountKind.PUPIL),
    ).only("identifier", "first_name", "last_name", "phone").order_by("identifier")
    return [account for account in candidates
            if name_key(account.last_name) == last_key
            and name_key(account.first_name) == first_key]


def accounts_for_email(*, email: str) -> list[Account]:
    """Active family and pupil accounts whose *validated* address is `email`, in any case.

    The filter is on LOWER(email), the expression of the index account_email_ci_idx: one
    index lookup whatever the number of accounts."""
    return list(
        Account.objects.annotate(email_ci=Lower("email"))
        .filter(email_ci=email.strip().lower(), email_verified=True, state=AccountState.ACTIVE,
                kind__in=(AccountKind.GUARDIAN, AccountKind.PUPIL))
        .only("identifier", "email", "kind").order_by("identifier")
    )


def identifier_reminder_by_sms(
    *, last_name: str, first_name: str, phone: str, request: HttpRequest | None = None
) -> None:
    """Send by SMS, to `phone` (E.164), the identifiers of the active accounts that have this
    number proven and these names — or send nothing. The caller shows the same page either
    way. Raises RecoveryRefused when the client's address made too many requests
    (IDENTIFIER_REMINDER_MAX_PER_IP per window); the per-number quota is silent."""
    _ip_admit(IDENTIFIER_REMINDERS_PER_IP, request)
    with transaction.atomic():
        found = accounts_for_phone_and_names(phone=phone, last_name=last_name,
                                             first_name=first_name)
        reason = _recipient_admit(f"sms:{phone}", deliver=bool(found))
        # Rendered whether or not it leaves (a decoy for a non-match): the same work.
        identifiers = [a.display_identifier for a in found] or [DECOY_IDENTIFIER]
        body = render_to_string(
            "sms/identifier_reminder.txt", {"identifiers": identifiers, "count": len(identifiers)},
        ).strip()
        write_or_rehearse(
            lambda: sms_enqueue(to=phone, body=body, purpose="identifier_reminder",
                                account=found[0] if found else None),
            deliver=not reason,
        )
        if reason:
            journal_record(EventKind.IDENTIFIER_REMINDER_NOT_SENT, request=request,
                           channel=Channel.SMS, reason=reason)
            return
        for account in found:
            journal_record(EventKind.IDENTIFIER_REMINDER_SENT, request=request, account=account,
                           channel=Channel.SMS)


# --- « Mot de passe oublié ? » -----------------------------------------------------------


def _accounts_with_raw_phone():
    """Accounts whose mobile number is read as the stored E.164 text, `phone_e164` ("" when
    none), the parsed `phone` being deferred (never touch it on these rows: a query each).

    Issue 8 §6 (same work whatever the identifier): building and validating a PhoneNumber
    (phonenumbers' parse, then is_valid_number at each str()) costs about 0.5 ms of CPU that
    only an existing account's request would spend — it was the last measured gap between a
    known and an unknown identifier on the recovery's pages. The column holds E.164 already
    (PhoneNumberField stores it so), so nothing is lost by not parsing it."""
    return Account.objects.annotate(phone_e164=Cast("phone", CharField())).defer("phone")


# The last account of the chain of merges that starts from the account %(start)s, when
# that account was closed by a merge: each closed account's latest ACCOUNT_CLOSED_BY_MERGE
# event names the account it was merged into (families.services; accounts.selectors
# .account_merged_into reads the same, a step at a time). One statement whatever the chain
# (MERGE_CHAIN_MAX merges at most), nothing for an account not closed or for no account.
_MERGE_SUCCESSOR_SQL = """
    WITH RECURSIVE chain(id, depth) AS (
        SELECT a.id, 0 FROM {account} a WHERE a.id = %s
      UNION ALL
        SELECT kept.id, chain.depth + 1
        FROM chain
        JOIN {account} closed ON closed.id = chain.id AND closed.state = %s
        CROSS JOIN LATERAL (
            SELECT (e.data ->> 'kept_account_id')::bigint AS id FROM {journal} e
            WHERE e.account_id = chain.id AND e.kind = %s ORDER BY e.at DESC LIMIT 1
        ) kept
        WHERE chain.depth < %s AND kept.id IS NOT NULL
    )
    SELECT id FROM chain WHERE depth > 0 ORDER BY depth DESC LIMIT 1
"""


def _account_for_recovery(identifier: str, profile: str) -> tuple[Account | None, str]:
    """The account whose password the recovery of `identifier` (typed on the sign-in page
    of `profile`) resets, and the identifier it was typed as when that is another account's:

    - the active account of this identifier and profile: (account, "");
    - an identifier closed by a merge (« Regrouper mes comptes »): the active account of
      this profile it was merged into, following chains (a into b, then b into c:
      MERGE_CHAIN_MAX merges), and `identifier` (the pages name both once the code or the
      link is accepted, views.password);
    - else (no account, another profile, closed otherwise, locked): (None, "").

    Always two queries, whatever was typed (issue 8 §6): the identifier's unique index, then
    the chain of merges (_MERGE_SUCCESSOR_SQL, from no account when there is none). Numbers
    are `phone_e164` (see _accounts_with_raw_phone)."""
    typed = _accounts_with_raw_phone().filter(identifier=identifier).first()
    sql = _MERGE_SUCCESSOR_SQL.format(account=Account._meta.db_table,
                                      journal=JournalEvent._meta.db_table)
    # Table names from the models, every value a parameter: nothing typed reaches the SQL.
    successor = _accounts_with_raw_phone().filter(pk=RawSQL(sql, (  # noqa: S611
        typed.pk if typed is not None else 0, AccountState.CLOSED.value,
        EventKind.ACCOUNT_CLOSED_BY_MERGE.value, MERGE_CHAIN_MAX))).first()
    if typed is not None and typed.kind == profile and typed.state == AccountState.ACTIVE:
        return typed, ""
    if (successor is not None and successor.kind == profile
            and successor.state == AccountState.ACTIVE):
        return successor, identifier
    return None, ""


def password_recovery_start(
    *, identifier: str, profile: str, request: HttpRequest | None = None
) -> tuple[Flow, str]:
    """Open a recovery flow at « channel » for `identifier` typed on the sign-in page of
    `profile` (an AccountKind value: guardian or pupil).

    The flow names the account when there is one (for the helpdesk), and stores the masks
    the channel page shows (masking.channel_masks): an account reached by its proven number
    or validated address is offered those only, real masks; an unknown identifier, or an
    account nothing reaches, the identifier's stable decoy. A pupil is offered the e-mail
    only. Returns the flow and
    the secret for the browser's session. Raises RecoveryRefused when this address started
    too many recoveries (PASSWORD_RECOVERY_MAX_STARTS_PER_IP).

    An identifier closed by a merge leads to the account it was merged into
    (_account_for_recovery): that account's channels and masks, its password; the flow's
    `merged_identifier` keeps the identifier typed, named only after the code or the link.
    The masks are the masks of an account like any other: nothing tells it apart from an
    account of its own or from a decoy.
    """
    identifier = identifier_clean(identifier)
    _ip_admit(RECOVERY_STARTS_PER_IP, request)
    account, merged_identifier = _account_for_recovery(identifier, profile)
    phone_known = bool(account and profile == AccountKind.GUARDIAN and account.phone_e164
                       and account.phone_verified)
    email_known = bool(account and account.email and account.email_verified)
    masks = channel_masks(identifier, phone_e164=account.phone_e164 if phone_known else "",
                          email=account.email if email_known else "",
                          sms_offered=profile == AccountKind.GUARDIAN)
    data = RecoveryData(
        profile=profile, identifier=identifier, phone_known=phone_known,
        email_known=email_known, phone_mask=masks.phone, email_mask=masks.email,
        merged_identifier=merged_identifier,
    )
    now = timezone.now()
    with transaction.atomic():
        flow, secret = flow_start(kind=PASSWORD_RECOVERY, step="channel", data=asdict(data),
                                  now=now)
        flow.account = account
        flow.save(update_fields=["account"])
        journal_record(EventKind.PASSWORD_RECOVERY_STARTED, request=request, account=account,
                       flow_id=flow.id, profile=profile, matched=account is not None)
    return flow, secret


def _send_refusal(refused: CodeRefused) -> RecoveryRefused:
    if refused.reason == CodeRefusalReason.RESEND_COOLDOWN:
        return RecoveryRefused(messages.message_resend_cooldown(refused.retry_after))
    if refused.reason == CodeRefusalReason.FLOW_LIMIT:
        return RecoveryRefused(messages.message_resend_flow_limit())
    return RecoveryRefused(messages.message_ip_limit(refused.retry_after),
                           retry_after=refused.retry_after)


def _flow_account(flow: Flow) -> Account | None:
    """The flow's account, read with one query whether there is one or not (a lazy
    `flow.account` would query for a known identifier only); its number is `phone_e164`
    (see _accounts_with_raw_phone)."""
    return _accounts_with_raw_phone().filter(pk=flow.account_id).first()


def _code_send(flow: Flow, data: RecoveryData, account: Account | None, *, request,
               now) -> bool:
    """Send the flow's code to the account's proven number, or rehearse it (no account, no
    proven number). Returns whether the SMS leaves (a silent limit may hold it back)."""
    if not data.phone_known:
        account = None
    issue = codes.code_issue(
        flow=flow, purpose=PASSWORD_RESET_SMS,
        recipient=account.phone_e164 if account is not None else "",
        deliver=account is not None,
        ip=client_ip(request) if request is not None else "", request=request, now=now,
    )
    # The helpdesk finds an account's recoveries by the number too (flow_phone_created).
    flow.phone = account.phone_e164 if account is not None else ""
    return issue.sent


def password_recovery_channel_choose(
    *, flow_id: UUID, channel: str, request: HttpRequest | None = None
) -> Flow:
    """« Je choisis comment recevoir mon code ou mon lien »: send a code by SMS (then
    « code ») or a link by e-mail (then « link ») — to the account's proven number or
    validated address, or, for a decoy's channel (an identifier that reaches no one), make
    and store the code all the same and send nothing.

    Raises RecoveryRefused (too many codes from this address) or FlowUnavailable; ValueError
    for a channel the flow did not offer (its mask is "": the view's form offers only the
    others).
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            flow = flow_lock(flow_id=flow_id, kind=PASSWORD_RECOVERY, step="channel", now=now)
            data = RecoveryData.of(flow)
            account = _flow_account(flow)
            # Only a channel the page offered (a mask stored for it at the start).
            if (channel == Channel.SMS and data.profile == AccountKind.GUARDIAN
                    and data.phone_mask):
                sent = _code_send(flow, data, account, request=request, now=now)
                # This newer request replaces the account's older links and recoveries
                # (pending.password_recovery_older_end); the same UPDATEs, changing
                # nothing, when no SMS leaves.
                password_recovery_older_end(
                    account_id=account.pk if sent and account is not None else 0,
                    keep_flow=flow)
                flow_move(flow, step="code")
            elif channel == Channel.EMAIL and data.email_mask:
                _link_send(flow, data, account, request=request, now=now, replace_older=True)
                flow_move(flow, step="link")
            else:
                raise ValueError(f"Recovery channel {channel!r} not offered by this flow")
            data.channel = channel
            data.store(flow)
            journal_record(EventKind.PASSWORD_RECOVERY_CHANNEL_CHOSEN, request=request,
                           account=account, flow_id=flow.id, channel=channel)
            flow_touch(flow, now=now)
            flow.save()
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused
    return flow


def password_recovery_code_resend(*, flow_id: UUID, request: HttpRequest | None = None) -> None:
    """« Renvoyer le SMS »: one more code to the same number; earlier codes stay valid.
    Raises RecoveryRefused (too early, the flow's maximum, this address's maximum) or
    FlowUnavailable. Silent limits read the same as a sent SMS."""
    now = timezone.now()
    try:
        with transaction.atomic():
            flow = flow_lock(flow_id=flow_id, kind=PASSWORD_RECOVERY, step="code", now=now)
            _code_send(flow, RecoveryData.of(flow), _flow_account(flow), request=request,
                       now=now)
            flow_touch(flow, now=now)
            flow.save()
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused


def password_recovery_code_verify(
    *, flow_id: UUID, typed_code: str, request: HttpRequest | None = None
) -> Flow:
    """Check the code typed; accepted, the flow moves to « password ». Raises RecoveryRefused
    (a malformed entry costs no attempt) or FlowUnavailable."""
    code = codes.code_normalize(typed_code)
    if code is None:
        raise RecoveryRefused(messages.message_code_format())
    now = timezone.now()
    refusal = None
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=PASSWORD_RECOVERY, step="code", now=now)
        check = codes.code_verify(flow=flow, purpose=PASSWORD_RESET_SMS, code=code,
                                  request=request, now=now)
        if check.verdict == CodeVerdict.ACCEPTED:
            flow_move(flow, step="password")
        elif check.verdict == CodeVerdict.WRONG:
            refusal = messages.message_code_wrong(check.remaining)
        elif check.verdict == CodeVerdict.DEAD:
            refusal = messages.message_code_dead(check.issued)
        else:
            refusal = messages.message_code_expired()
        flow_touch(flow, now=now)
        flow.save()
    if refusal:
        raise RecoveryRefused(refusal)
    return flow


# How many new passwords one recovery flow compares with the current one (an Argon2
# verification each): enough for a person who typed their old password again, too few to
# make a flow an oracle that tests guesses without changing the password.
SAME_PASSWORD_CHECKS = 3


def password_recovery_password_set(
    *, flow_id: UUID, password: str, request: HttpRequest | None = None
) -> Account:
    """Give the account its new password (the published policy, checked again here), end
    every other session of the account (accounts.services.account_password_set), tell the
    other channel, end the flow completed, and forget the failed sign-ins that would refuse
    the new password from this request's browser (accounts.limits.sign_in_owner_proven: the
    identifier's shared window and its window at this client IP; the caller gives the
    browser its device cookie, accounts.limits.device_cookie_set).

    Only a flow whose code or link was accepted reaches « password », and only an account's
    own number or address ever received one: the flow names its account. Raises
    RecoveryRefused (the policy, or the current password typed again) or FlowUnavailable.

    The current password is refused: one Argon2 verification of the new password against
    the account's hash, the cost of a sign-in, paid only by a password that meets the
    policy, and only SAME_PASSWORD_CHECKS times per flow (each flow needs a code or a link
    of its own, themselves limited). The person proved the account's number or address;
    past that count the password is set without the comparison.
    """
    now = timezone.now()
    with transaction.atomic():
        flow = flow_lock(flow_id=flow_id, kind=PASSWORD_RECOVERY, step="password", now=now)
        account = Account.objects.select_for_update().get(pk=flow.account_id)
        errors = password_errors(password, first_name=account.first_name,
                                 last_name=account.last_name, identifier=account.identifier)
        if errors:
            raise RecoveryRefused(errors[0])
        data = RecoveryData.of(flow)
        same = False
        if data.same_checks < SAME_PASSWORD_CHECKS:
            data.same_checks += 1
            data.store(flow)
            # Django's check_password without the account's setter: nothing re-hashed here.
            same = check_password(password, account.password)
        if not same:
            # Every other link and open recovery of the account dies with the old password
            # (accounts.recovery.pending), this flow apart: it ends completed below.
            account_password_set(account=account, password=password,
                                 reason=f"recovery_{data.channel}", request=request,
                                 recovery_flow=flow)
            _tell_other_channel(account, flow=flow, channel=data.channel, request=request,
                                now=now)
            flow_end(flow, status=FlowStatus.COMPLETED, account=account, step="done")
            journal_record(EventKind.PASSWORD_RECOVERY_COMPLETED, request=request,
                           account=account, flow_id=flow.id, channel=data.channel)
        flow_touch(flow, now=now)
        flow.save()
    if same:  # the count of comparisons is saved; nothing else changed
        raise RecoveryRefused(str(ERROR_SAME_AS_CURRENT))
    # The owner proved their number or address: the failures counted against their
    # identifier (someone else guessing, or themselves) no longer slow them down, neither in
    # the identifier's shared window nor from this browser's address (accounts.limits); the
    # view gives this browser the device cookie.
    sign_in_owner_proven(identifier=account.identifier,
                         ip=client_ip(request) if request is not None else "")
    return account


def _tell_other_channel(account: Account, *, flow: Flow, channel: str, request,
                        now: datetime.datetime) -> None:
    """« Votre mot de passe a été modifié »: by e-mail after an SMS reset, by SMS after an
    e-mail reset, when the account has that channel proven."""
    context = {"identifier": account.display_identifier,
               "assistance_phone": settings.EDUCONNECT_ASSISTANCE_PHONE}
    if channel == Channel.EMAIL and account.phone and account.phone_verified:
        body = render_to_string("sms/password_recovered.txt", {
            **context, **moment_for_recipient(now, phone=str(account.phone))}).strip()
        sms_enqueue(to=str(account.phone), body=body, purpose="password_changed",
                    account=account, flow_id=flow.id)
        journal_record(EventKind.PASSWORD_CHANGE_NOTIFIED, request=request, account=account,
                       flow_id=flow.id, channel=Channel.SMS)
    elif channel == Channel.SMS and account.email and account.email_verified:
        _password_changed_email(account, flow=flow,
                                context={**context, **moment_for_email(
                                    now, phone=account_sms_phone(account))})
        journal_record(EventKind.PASSWORD_CHANGE_NOTIFIED, request=request, account=account,
                       flow_id=flow.id, channel=Channel.EMAIL)


# --- The e-mail path (core.tokens, notifications.emails) ---------------------------------



def identifier_reminder_by_email(*, email: str, request: HttpRequest | None = None) -> None:
    """Send one e-mail listing the identifiers of the active accounts whose *validated*
    address is `email` — or send nothing. The caller shows the same page either way. Raises
    RecoveryRefused when the client's address made too many requests; the per-address quota
    is silent."""
    _ip_admit(IDENTIFIER_REMINDERS_PER_IP, request)
    with transaction.atomic():
        found = accounts_for_email(email=email)
        reason = _recipient_admit(f"email:{email.strip().lower()}", deliver=bool(found))
        identifiers = [a.display_identifier for a in found] or [DECOY_IDENTIFIER]
        context = {"identifiers": identifiers, "count": len(identifiers),
                   "sign_in_url": absolute_url(reverse("accounts:profile_choice"))}
        write_or_rehearse(
            lambda: email_send(to=found[0].email if found else email,
                               template="identifier_reminder", context=context,
                               purpose="identifier_reminder",
                               account=found[0] if found else None),
            deliver=not reason,
        )
        if reason:
            journal_record(EventKind.IDENTIFIER_REMINDER_NOT_SENT, request=request,
                           channel=Channel.EMAIL, reason=reason)
            return
        for account in found:
            journal_record(EventKind.IDENTIFIER_REMINDER_SENT, request=request, account=account,
                           channel=Channel.EMAIL)


def _link_send(flow: Flow, data: RecoveryData, account: Account | None, *, request,
               now: datetime.datetime, replace_older: bool = False) -> None:
    """Send the reset link to the account's validated address, or, when there is none (or
    no account), do the same checks and counting and send nothing.

    `replace_older` (the channel step, a new request; not « Renvoyer le mail »): before the
    new link is made, the account's older links and open recoveries end
    (pending.password_recovery_older_end) when this mail leaves; the same statements,
    changing nothing, when it does not.

    Limits, as for the codes (core.codes): the resend wait and the number of e-mails per
    flow (PASSWORD_RESET_RESEND_COOLDOWN_SECONDS, PASSWORD_RESET_MAX_SENDS_PER_FLOW) and per
    IP address (the codes' per-IP rule: one budget for both channels), shown; per address
    (PASSWORD_RESET_MAX_SENDS_PER_EMAIL), silent. Raises CodeRefused."""
    if data.last_link_at:
        elapsed = (now - datetime.datetime.fromisoformat(data.last_link_at)).total_seconds()
        cooldown = PASSWORD_RESET_SMS.resend_cooldown_seconds
        if elapsed < cooldown:
            raise CodeRefused(CodeRefusalReason.RESEND_COOLDOWN,
                              retry_after=int(cooldown - elapsed) + 1)
        if data.links_sent >= PASSWORD_RESET_SMS.max_sends_per_flow:
            raise CodeRefused(CodeRefusalReason.FLOW_LIMIT)
    ip = client_ip(request) if request is not None else ""
    if ip:
        decision = ratelimit.hit(PASSWORD_RESET_SMS.ip_rule, ip_rate_subject(ip))
        if not decision:
            raise CodeRefused(CodeRefusalReason.IP_LIMIT, retry_after=decision.retry_after)
    deliver = data.email_known and account is not None
    address = account.email.strip().lower() if deliver else data.identifier
    key = f"email:{address}"
    # One Redis script either way: a match counts, a non-match reads.
    if deliver:
        reason = "" if ratelimit.hit(LINKS_PER_RECIPIENT, key) else NOT_SENT_RECIPIENT_QUOTA
    else:
        ratelimit.peek(LINKS_PER_RECIPIENT, key)
        reason = NOT_SENT_NO_MATCH
    data.links_sent += 1
    data.last_link_at = now.isoformat()
    minutes = max(1, round(settings.PASSWORD_RESET_LINK_TTL_SECONDS / 60))
    if replace_older:
        password_recovery_older_end(account_id=account.pk if reason == "" else 0,
                                    keep_flow=flow)

    def write():
        # A rehearsal (nothing to send) names the flow's account if any, else an account
        # that does not exist: its rows are rolled back before the deferred FK check.
        token = link_token_issue(purpose=LINK_PURPOSE, account=account or Account(pk=0),
                                 flow_id=flow.id,
                                 ttl_seconds=settings.PASSWORD_RESET_LINK_TTL_SECONDS)
        email_send(
            to=account.email if reason == "" else DECOY_RECIPIENTS[CodeChannel.EMAIL],
            template="password_reset",
            # The mail goes to the account's own address: it names the account whose
            # password is reset, and the merged identifier typed, if any.
            context={"identifier": (account.display_identifier if reason == ""
                                    else data.identifier.upper()),
                     "merged_identifier": data.merged_identifier.upper(), "minutes": minutes,
                     "url": absolute_url(reverse("accounts:password_recovery_link_open",
                                                 args=[token]))},
            purpose="password_reset_link", contains_secret=True, account=account,
            flow_id=flow.id,
        )

    write_or_rehearse(write, deliver=not reason)
    if reason:
        journal_record(EventKind.PASSWORD_RESET_LINK_NOT_SENT, request=request, account=account,
                       flow_id=flow.id, send=data.links_sent, reason=reason)
        return
    journal_record(EventKind.PASSWORD_RESET_LINK_SENT, request=request, account=account,
                   flow_id=flow.id, send=data.links_sent)


def password_recovery_link_resend(*, flow_id: UUID, request: HttpRequest | None = None) -> None:
    """« Renvoyer le mail »: one more link to the same address; earlier links stay valid
    until used or expired. Raises RecoveryRefused or FlowUnavailable."""
    now = timezone.now()
    try:
        with transaction.atomic():
            flow = flow_lock(flow_id=flow_id, kind=PASSWORD_RECOVERY, step="link", now=now)
            data = RecoveryData.of(flow)
            _link_send(flow, data, _flow_account(flow), request=request, now=now)
            data.store(flow)
            flow_touch(flow, now=now)
            flow.save()
    except CodeRefused as refused:
        raise _send_refusal(refused) from refused


def _flow_waiting_for(link, *, now) -> Flow | None:
    flow = Flow.objects.filter(pk=link.flow_id, kind=PASSWORD_RECOVERY.name).first()
    if flow is None or not flow.is_open_at("link", now) or flow.account_id != link.account_id:
        return None
    return flow


def password_recovery_link_live(*, token: str) -> LinkToken | None:
    """The e-mail's link when it may still be used: its token is live (core.tokens, nothing
    spent) and its flow waits for it; else None. For the page the link opens (its
    `account_id` tells whether the browser is signed in as another account)."""
    link = link_token_peek(token=token, purpose=LINK_PURPOSE)
    if link is None or _flow_waiting_for(link, now=timezone.now()) is None:
        return None
    return link


def password_recovery_link_consume(
    *, token: str, request: HttpRequest | None = None
) -> tuple[Flow, str] | None:
    """The POST of the e-mail's link: spend the token (once, whoever races), move its flow to
    « password » and give the flow a new browser secret, returned with the flow for the
    browser that posted (core.flows.flow_rebind): the browser where the mail was read goes
    on, the one that started no longer opens the flow. None when the token is not live or its
    flow no longer waits for it (the token then stays unspent)."""
    now = timezone.now()
    with transaction.atomic():
        link = link_token_peek(token=token, purpose=LINK_PURPOSE)
        if link is None or _flow_waiting_for(link, now=now) is None:
            return None
        flow = flow_lock(flow_id=link.flow_id, kind=PASSWORD_RECOVERY, step="link", now=now)
        if link_token_consume(token=token, purpose=LINK_PURPOSE) is None:
            return None  # another request spent it a moment ago
        flow_move(flow, step="password")
        secret = flow_rebind(flow)
        journal_record(EventKind.PASSWORD_RESET_LINK_USED, request=request,
                       account=_flow_account(flow), flow_id=flow.id)
        flow_touch(flow, now=now)
        flow.save()
    return flow, secret


# Why a reset link that is not live any more died, for its page
# (password_recovery_link_dead_reason); "" for expired, used, or unknown.
LINK_OUTDATED = "outdated"
LINK_REPLACED = "replaced"


def _password_changed_since(account_id, moment: datetime.datetime) -> bool:
    return JournalEvent.objects.filter(account_id=account_id,
                                       kind=EventKind.PASSWORD_CHANGED.value,
                                       at__gte=moment).exists()


def password_recovery_link_dead_reason(*, token: str) -> str:
    """Why the e-mail's link `token`, never used, no longer works, for the page the dead
    link opens, which then says so: LINK_OUTDATED when the account's password was
    changed after the mail was sent (« Mon compte », another recovery, a first sign-in: a
    PASSWORD_CHANGED event of its account in the journal since the link's creation,
    accounts.recovery.pending.password_recovery_pending_end ended it); LINK_REPLACED when a
    newer « Mot de passe oublié ? » request of the account voided it
    (pending.password_recovery_older_end); "" otherwise (expired, used, unknown). Spends
    nothing; one indexed query for an unknown token, two otherwise. The token is a secret
    only the mailbox holds: saying why tells nobody else anything."""
    row = link_token_find(token=token, purpose=LINK_PURPOSE)
    if row is None or row.used_at is not None:
        return ""
    if _password_changed_since(row.account_id, row.created_at):
        return LINK_OUTDATED
    return LINK_REPLACED if row.revoked_at is not None else ""


def password_recovery_replaced(flow: Flow) -> bool:
    """Whether the ended recovery `flow` (status REPLACED) was replaced by a newer request of
    its account (pending.password_recovery_older_end) rather than ended by a change of the
    account's password (no PASSWORD_CHANGED event since the flow began). For the page of
    the ended flow, shown only to the browser holding it. One indexed query."""
    return (flow.status == FlowStatus.REPLACED
            and not _password_changed_since(flow.account_id, flow.created_at))


def _password_changed_email(account: Account, *, flow: Flow, context: dict) -> None:
    email_send(to=account.email, template="password_changed", context=context,
               purpose="password_changed", account=account, flow_id=flow.id)
