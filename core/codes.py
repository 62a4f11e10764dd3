"""The verification-code process: every code the product sends, by SMS or e-mail.

Modelled on django-allauth's `AbstractCodeVerificationProcess` (sent at, failed attempts,
resends, maximum attempts, timeout, rate limit per recipient, never saying whether an
account exists), with the codes kept as rows (core.models.FlowCode, one per send) of a flow.

The code. Six characters from an alphabet without look-alikes (no 0/O, 1/I/L): 31^6 ≈ 2^29.7
possibilities, read easily on a phone (NIST SP 800-63B 5.1.3 asks ≥ 20 bits for an
out-of-band secret). What protects it is the wrong-entry limit and its short life. Only an
HMAC is stored, keyed with SECRET_KEY and bound to the purpose and the flow: a leaked table
reveals nothing, and a hash cannot be replayed on another flow or for another purpose.

The limits, and who reads them (every number is a setting named by the `CodePurpose`):

- per code: its lifetime, and the wrong entries it takes before dying. A wrong entry counts
  against every live code of the flow (each is compared with it);
- per flow: the wait before a resend and the number of codes — refused with a message;
- per client IP address: codes asked per window — refused with a message;
- per recipient, across flows: a cooldown (CODE_RECIPIENT_COOLDOWN_SECONDS; a flow's own
  resends follow its resend cooldown instead) and a quota per window. These count only
  messages actually sent and are SILENT: the code is made and stored, not sent, journaled as
  not sent, and the page reads the same — a page that said « too many codes for this
  number » would tell that the number is known.

Several codes of a flow live together: a code sent by a resend does not void the earlier
ones (SMS arrive late and out of order); each lives until its own expiry, until it has taken
its wrong entries, or until a code of the same purpose is used. A code that was never sent
(nothing matched, or a silent limit) is never accepted.

The process works on a flow the caller has locked (select_for_update), inside the caller's
transaction; the outbox row it writes is sent after commit.
"""

from __future__ import annotations

import datetime
import functools
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac

from . import ratelimit
from .cache import REDIS_UNREACHABLE, unreachable_log
from .http import ip_rate_subject
from .journal import EventKind, journal_record
from .models import CodeChannel, CodeNotSentReason, Flow, FlowCode
from .normalization import strip_invisible
from .sql import model_insert, model_rows, quoted_column

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 6
_TYPED_SEPARATORS = re.compile(r"[\s\-.]")
_HMAC_SALT = "core.codes"
logger = logging.getLogger(__name__)
_OUTAGE = "codes (the last sender of a recipient unknown)"


# --- The code itself ---------------------------------------------------------------------


def code_generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def code_normalize(typed: str) -> str | None:
    """The code as typed, uppercased, spaces, dashes and invisible characters (zero-width
    space, soft hyphen… see core.normalization.strip_invisible) dropped; None if it cannot
    be one."""
    compact = _TYPED_SEPARATORS.sub("", strip_invisible(typed or "")).upper()
    if len(compact) != LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def code_hash(*, purpose: str, flow_id: UUID, code: str) -> str:
    """HMAC-SHA256 (64 hex characters) of the code, bound to its purpose and its flow."""
    return salted_hmac(_HMAC_SALT, f"{purpose}:{flow_id}:{code}", algorithm="sha256").hexdigest()


def code_matches(*, purpose: str, flow_id: UUID, code: str, stored_hash: str) -> bool:
    # Constant time: the comparison does not tell how many characters were right.
    return hmac.compare_digest(
        code_hash(purpose=purpose, flow_id=flow_id, code=code), stored_hash or ""
    )


# --- Purposes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeEvents:
    """The journal kinds a purpose writes (core.journal.EventKind members)."""

    sent: EventKind
    not_sent: EventKind
    rejected: EventKind
    too_many: EventKind
    verified: EventKind


# The outbox writer: notifications.services.sms_enqueue, or email_enqueue with its subject
# bound (functools.partial). Called as send(to=, body=, purpose=, contains_secret=, flow_id=).
Sender = Callable[..., object]


@dataclass(frozen=True)
class CodePurpose:
    """What a code is for, how it travels, and the settings that limit it.

    `template` renders the message text with `code` and `minutes` (the lifetime) in its
    context, e.g. templates/sms/activation_code.txt. The app that declares the purpose
    gives its outbox writer as `send` (core imports no other app).
    """

    name: str
    channel: str
    template: str
    send: Sender
    events: CodeEvents
    ttl_setting: str
    max_wrong_setting: str
    resend_cooldown_setting: str
    max_sends_per_flow_setting: str
    recipient_rule: ratelimit.Rule
    ip_rule: ratelimit.Rule

    def __post_init__(self):
        if self.channel not in CodeChannel.values:
            raise ValueError(f"Code purpose {self.name!r}: unknown channel {self.channel!r}")

    def _setting(self, name: str) -> int:
        return int(getattr(settings, name))

    @property
    def ttl_seconds(self) -> int:
        return self._setting(self.ttl_setting)

    @property
    def ttl_minutes(self) -> int:
        return max(1, round(self.ttl_seconds / 60))

    @property
    def max_wrong(self) -> int:
        return self._setting(self.max_wrong_setting)

    @property
    def resend_cooldown_seconds(self) -> int:
        return self._setting(self.resend_cooldown_setting)

    @property
    def max_sends_per_flow(self) -> int:
        return self._setting(self.max_sends_per_flow_setting)


@dataclass(frozen=True)
class _OnePerWindow(ratelimit.Rule):
    """One event per window: a cooldown."""

    @property
    def limit(self) -> int:
        return 1


# Across flows and purposes: whatever sent the last code to this recipient.
RECIPIENT_COOLDOWN = _OnePerWindow(scope="codes:recipient-cooldown", limit_setting="",
                                   window_setting="CODE_RECIPIENT_COOLDOWN_SECONDS")


def recipient_key(channel: str, recipient: str) -> str:
    """The subject of the per-recipient limits (hashed by core.ratelimit)."""
    return f"{channel}:{str(recipient).strip().lower()}"


# --- Sending -----------------------------------------------------------------------------

# Where a rehearsed message is addressed (never sent: its row is rolled back).
DECOY_RECIPIENTS = {CodeChannel.SMS: "+33600000000", CodeChannel.EMAIL: "personne@example.invalid"}


def write_or_rehearse(write: Callable[[], object], *, deliver: bool) -> None:
    """Run `write` — the outbox writes of a message (and a link token's row) — in a savepoint
    of the caller's transaction, kept when `deliver`, rolled back otherwise.

    Issue 8 §6: a request that matched nothing must do the same work as one that did, and the
    outbox INSERT was the one difference left (about 0.2 ms on an idle PostgreSQL, 4 ms and
    more on a loaded one). Rehearsed, a non-match runs the same statements (SAVEPOINT, the
    INSERTs, then RELEASE or ROLLBACK TO SAVEPOINT) and keeps nothing: no row, no NOTIFY to
    the outbox dispatcher, no on_commit callback (Django drops those of a rolled-back
    savepoint). Foreign keys are checked at commit (PostgreSQL, deferred): a rehearsed row may
    name an account that does not exist, as long as it is rolled back.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("write_or_rehearse runs inside the caller's transaction")
    # Not transaction.atomic(): its rollback also releases the savepoint, one statement more
    # than a kept one. Its bookkeeping is kept: the savepoint id is listed while `write` runs,
    # so that the on_commit callbacks registered meanwhile are dropped with a rollback.
    savepoint = connection.savepoint()
    connection.savepoint_ids.append(savepoint)
    try:
        write()
    except BaseException:
        connection.savepoint_ids.pop()
        connection.savepoint_rollback(savepoint)
        raise
    connection.savepoint_ids.pop()
    if deliver:
        connection.savepoint_commit(savepoint)  # RELEASE SAVEPOINT
    else:
        # ROLLBACK TO SAVEPOINT: the rows go, and the on_commit callbacks registered since.
        connection.savepoint_rollback(savepoint)



class CodeRefusalReason(StrEnum):
    RESEND_COOLDOWN = "resend_cooldown"  # the flow's last code is too recent
    FLOW_LIMIT = "flow_limit"  # the flow had its maximum of codes
    IP_LIMIT = "ip_limit"  # this IP address asked for too many codes


class CodeRefused(Exception):
    """A send refused with a reason the person may read; `retry_after` in seconds (0 when
    waiting does not help)."""

    def __init__(self, reason: CodeRefusalReason, *, retry_after: int = 0):
        super().__init__(reason.value)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class CodeIssue:
    """A code made for a flow. `sent` False with `not_sent_reason` (CodeNotSentReason) when
    nothing matched or a silent per-recipient limit held it back; `retry_after` (seconds)
    then says when that recipient may receive one again — for staff, never for the person."""

    code: FlowCode
    sent: bool
    not_sent_reason: str = ""
    retry_after: int = 0


def code_issue(
    *,
    flow: Flow,
    purpose: CodePurpose,
    recipient: str,
    deliver: bool,
    ip: str = "",
    request=None,
    now: datetime.datetime | None = None,
    new_flow: bool = False,
) -> CodeIssue:
    """Make a code for `flow` (locked by the caller, in its transaction) and send it to
    `recipient` (E.164 number or e-mail address) through the outbox.

    `deliver` False when nothing matched what the person typed: the code is made and stored
    all the same, never sent nor accepted (same page, same work: its message is rendered
    and its outbox row rehearsed, see write_or_rehearse). `ip` empty (an agent's
    resend) skips the per-IP limit; an IPv6 address counts with its /64
    (core.http.ip_rate_subject), as every per-IP limit.

    `new_flow` True: the caller started `flow` in this very transaction (core.flows
    .flow_start), so it has no code yet and none is read (one query less at the first step
    of every flow that sends a code; issue 14). A match and a non-match pass the same.

    Raises CodeRefused: RESEND_COOLDOWN (retry_after = seconds left), FLOW_LIMIT, IP_LIMIT
    (retry_after = seconds until the window frees a place). Silent limits do not raise.
    """
    now = now or timezone.now()
    # By SQL written once per process (core.sql); by flow_id, not flow.codes, whose related
    # manager reads each row's flow_id to attach the flow.
    issued = [] if new_flow else model_rows(
        FlowCode, where={"flow_id": flow.pk, "purpose": purpose.name}, order_by=("-created_at",))
    if issued:
        elapsed = (now - issued[0].created_at).total_seconds()
        cooldown = purpose.resend_cooldown_seconds
        if elapsed < cooldown:
            raise CodeRefused(CodeRefusalReason.RESEND_COOLDOWN,
                              retry_after=int(cooldown - elapsed) + 1)
        if len(issued) >= purpose.max_sends_per_flow:
            raise CodeRefused(CodeRefusalReason.FLOW_LIMIT)
    if ip:
        decision = ratelimit.hit(purpose.ip_rule, ip_rate_subject(ip))
        if not decision:
            raise CodeRefused(CodeRefusalReason.IP_LIMIT, retry_after=decision.retry_after)

    reason, retry_after = _recipient_allows(purpose, recipient, flow=flow, deliver=deliver)
    code = code_generate()
    row = FlowCode(
        flow=flow, purpose=purpose.name, channel=purpose.channel,
        code_hash=code_hash(purpose=purpose.name, flow_id=flow.id, code=code),
        sent=not reason, not_sent_reason=reason, created_at=now,
        expires_at=now + datetime.timedelta(seconds=purpose.ttl_seconds),
    )
    model_insert(row)  # FlowCode.objects.create, its SQL written once per process
    ordinal = len(issued) + 1
    # Rendered whether or not it leaves: a non-match takes as long as a match.
    body = render_to_string(
        purpose.template, {"code": code, "minutes": purpose.ttl_minutes}
    ).strip()
    to = str(recipient) if not reason else DECOY_RECIPIENTS[purpose.channel]
    write_or_rehearse(
        lambda: purpose.send(to=to, body=body, purpose=purpose.name, contains_secret=True,
                             flow_id=flow.id),
        deliver=not reason,
    )
    if reason:
        journal_record(purpose.events.not_sent, request=request, flow_id=flow.id, send=ordinal,
                       reason=reason)
    else:
        journal_record(purpose.events.sent, request=request, flow_id=flow.id, send=ordinal)
    return CodeIssue(code=row, sent=not reason, not_sent_reason=reason, retry_after=retry_after)


def _recipient_allows(
    purpose: CodePurpose, recipient: str, *, flow: Flow, deliver: bool
) -> tuple[str, int]:
    """(not-sent reason or "", seconds to wait). A non-match makes the same Redis round trips
    as a message sent, as reads (only a message actually sent is counted): what differs
    between the two is the outbox row.

    The cooldown holds back codes of *other* flows: when the last code sent to this
    recipient came from this very flow, the flow's own resend cooldown (already passed) is
    the rule, so that a resend the page allows is never silently eaten at the boundary.
    """
    key = recipient_key(purpose.channel, recipient)
    quota = ratelimit.peek(purpose.recipient_rule, key)
    window = RECIPIENT_COOLDOWN.window_seconds
    if not deliver:
        # The same Redis round trips as a message sent (cooldown, quota, last sender), as
        # reads: a non-match takes as long and counts nothing against the number typed.
        if window > 0:
            ratelimit.peek(RECIPIENT_COOLDOWN, key)
        ratelimit.peek(purpose.recipient_rule, key)
        if window > 0:
            _last_sender_get(key)
        return CodeNotSentReason.NO_MATCH, 0
    if not quota:
        return CodeNotSentReason.RECIPIENT_QUOTA, quota.retry_after
    if window > 0:
        cooldown = ratelimit.hit(RECIPIENT_COOLDOWN, key)
        if not cooldown:
            if _last_sender_get(key) != str(flow.id):
                return CodeNotSentReason.RECIPIENT_COOLDOWN, cooldown.retry_after
            ratelimit.clear(RECIPIENT_COOLDOWN, key)  # restart the window from this send
            ratelimit.hit(RECIPIENT_COOLDOWN, key)
    counted = ratelimit.hit(purpose.recipient_rule, key)
    if not counted:  # another request took the last place meanwhile
        return CodeNotSentReason.RECIPIENT_QUOTA, counted.retry_after
    if window > 0:
        try:
            cache.set(_last_sender_key(key), str(flow.id), timeout=window + 5)
        except REDIS_UNREACHABLE as error:
            unreachable_log(logger, logging.WARNING, _OUTAGE, error)
    return "", 0


def _last_sender_key(key: str) -> str:
    return f"codes:last-sender:{ratelimit.subject_key(key)}"


def _last_sender_get(key: str) -> str | None:
    """The flow id that last sent a code to this recipient, or None: none within the
    cooldown, or Redis unreachable (then the cooldown holds back every flow's code, its own
    resend included: the strict side)."""
    try:
        return cache.get(_last_sender_key(key))
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return None


# --- Checking ----------------------------------------------------------------------------


class CodeVerdict(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"  # `remaining` entries left
    DEAD = "dead"  # every live code took its wrong entries (now, or before)
    EXPIRED = "expired"  # no code of the flow is alive any more


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on a typed code. `remaining`: wrong entries left before every live code
    dies; `issued`: codes made in the flow for this purpose (against its per-flow limit)."""

    verdict: CodeVerdict
    remaining: int = 0
    issued: int = 0

    @property
    def accepted(self) -> bool:
        return self.verdict == CodeVerdict.ACCEPTED


def code_verify(
    *,
    flow: Flow,
    purpose: CodePurpose,
    code: str,
    request=None,
    now: datetime.datetime | None = None,
) -> CodeCheck:
    """Check `code` (already through code_normalize) against the live codes of `flow`
    (locked by the caller, who saves it afterwards: `flow.wrong_codes` grows on a wrong
    entry).

    Compared with every live code, in constant time each. Accepted only if it matches a code
    that was sent; then that code is used and every other code of the purpose is void. A
    wrong entry counts against every live code; a code dies at `max_wrong` wrong entries.
    Expired or dead codes are not compared and cost nothing.
    """
    now = now or timezone.now()
    max_wrong = purpose.max_wrong
    codes = model_rows(FlowCode, where={"flow_id": flow.pk, "purpose": purpose.name},
                       order_by=("-created_at",))
    pending = [c for c in codes if c.used_at is None and c.revoked_at is None]
    live = [c for c in pending if now < c.expires_at and c.wrong_attempts < max_wrong]
    if not live:
        dead = bool(pending) and pending[0].wrong_attempts >= max_wrong
        return CodeCheck(CodeVerdict.DEAD if dead else CodeVerdict.EXPIRED, issued=len(codes))

    digest = code_hash(purpose=purpose.name, flow_id=flow.id, code=code)
    hits = [c for c in live if hmac.compare_digest(digest, c.code_hash)]
    matched = next((c for c in hits if c.sent), None)
    if matched is not None:
        _code_use(flow=flow, purpose=purpose, matched=matched, now=now)
        journal_record(purpose.events.verified, request=request, flow_id=flow.id)
        return CodeCheck(CodeVerdict.ACCEPTED, issued=len(codes))

    FlowCode.objects.filter(pk__in=[c.pk for c in live]).update(
        wrong_attempts=F("wrong_attempts") + 1
    )
    flow.wrong_codes += 1
    remaining = max(max_wrong - (c.wrong_attempts + 1) for c in live)
    journal_record(purpose.events.rejected, request=request, flow_id=flow.id,
                   attempt=max_wrong - remaining)
    if remaining <= 0:
        journal_record(purpose.events.too_many, request=request, flow_id=flow.id,
                       sends=len(codes))
        return CodeCheck(CodeVerdict.DEAD, issued=len(codes))
    return CodeCheck(CodeVerdict.WRONG, remaining=remaining, issued=len(codes))


@functools.cache
def _use_sql(db: str) -> str:
    """_code_use's UPDATE, from the model's table and columns (quoted); the values are
    parameters: the used code's id (twice), now (twice), the flow, the purpose."""
    quote = connections[db].ops.quote_name
    meta = FlowCode._meta
    col = functools.partial(quoted_column, meta, db=db)

    used, revoked, pk = col("used_at"), col("revoked_at"), col("id")
    return (f"UPDATE {quote(meta.db_table)} "  # noqa: S608 (names from the model)
            f"SET {used} = CASE WHEN {pk} = %s THEN %s ELSE {used} END, "
            f"{revoked} = CASE WHEN {pk} = %s THEN {revoked} ELSE %s END "
            f"WHERE {col('flow')} = %s AND {col('purpose')} = %s "
            f"AND {used} IS NULL AND {revoked} IS NULL")


def _code_use(*, flow: Flow, purpose: CodePurpose, matched: FlowCode,
              now: datetime.datetime) -> None:
    """`matched` is used at `now` and every other pending code of the purpose void, by one
    UPDATE (its SQL written once per process) rather than two: `matched` is pending itself
    (live), and the flow's lock keeps its codes as read."""
    db = router.db_for_write(FlowCode)
    connection = connections[db]
    meta = FlowCode._meta
    # Every value as its field prepares it (a UUID is text on the demo's SQLite).
    when = meta.get_field("used_at").get_db_prep_save(now, connection)
    code_id = meta.pk.get_db_prep_value(matched.pk, connection)
    flow_id = meta.get_field("flow").get_db_prep_value(flow.pk, connection)
    with connection.cursor() as cursor:
        cursor.execute(_use_sql(db), [code_id, when, code_id, when, flow_id, purpose.name])


def codes_issued(*, flow: Flow, purpose: CodePurpose) -> int:
    """Codes made in `flow` for `purpose`, sent or not."""
    return flow.codes.filter(purpose=purpose.name).count()


def code_seconds_left(
    *, flow: Flow, purpose: CodePurpose, now: datetime.datetime | None = None
) -> int | None:
    """Seconds (rounded down, ≥ 0) until no code of `flow` for `purpose` can be accepted any
    more, as the code page counts them (issue 13 §2, RGAA 13.1: warn before the code expires).

    Every live code counts, sent or not, as code_verify reads them: a code that is neither
    used nor void nor out of wrong entries, until its own `expires_at` (the latest of them
    wins, since any of them is accepted). A flow whose number matched nothing holds codes
    made the same way and gets the same count. 0: every code has expired (code_verify's
    EXPIRED: the page says so and offers a new one). None: no code made yet, or code_verify
    would answer DEAD (the refusal already says what to do; there is no time to count).
    """
    now = now or timezone.now()
    # By SQL written once per process (core.sql), the used and void codes left out here.
    pending = [c for c in model_rows(FlowCode, where={"flow_id": flow.pk,
                                                      "purpose": purpose.name},
                                     order_by=("-created_at",))
               if c.used_at is None and c.revoked_at is None]
    if not pending:
        return None
    max_wrong = purpose.max_wrong
    live = [c for c in pending if now < c.expires_at and c.wrong_attempts < max_wrong]
    if live:
        return int((max(c.expires_at for c in live) - now).total_seconds())
    # The same reading as code_verify's DEAD / EXPIRED when nothing is alive.
    return None if pending[0].wrong_attempts >= max_wrong else 0
