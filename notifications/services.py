"""Every write of the outbox.

Enqueue writes the row in the caller's transaction, and that is all the request does: a
rolled-back action sends nothing, and the web request neither waits for the provider nor
talks to the Celery broker (issue 8 §6: a broker publish made a match cost more than a
non-match, 646 ms with the broker down). The worker side picks the row up: a PostgreSQL
trigger NOTIFYs `educonnect_outbox` at commit, the dispatcher (`manage.py outbox_dispatch`,
notifications/dispatch.py) LISTENs, leases the due rows (`messages_dispatch_due`) and hands
their ids to Celery. Retries are rows whose `next_attempt_at` lies in the future: the
dispatcher hands them over when they are due. In the demo (NOTIFICATIONS_SEND_ON_COMMIT: no
broker, tasks eager) the message is sent in the process right after commit instead.

Why a message is not sent twice under normal operation: a worker first *claims* the row — in a
short transaction, under a row lock, it moves queued → sending — and only then calls the
provider, without holding the lock. A second task for the same row (a duplicate broker
delivery, a periodic re-queue, a task run twice) takes the lock after that commit, sees
`sending` or `sent` and stops. A row goes back from `sending` to `queued` only when it has
stayed there longer than NOTIFICATIONS_SENDING_TIMEOUT_SECONDS, far beyond the provider's HTTP
timeout: that only happens when the worker died or froze mid-send, the one case where the
provider may or may not have the message. Two guards keep that case from sending twice
(docs/outbox.md states the guarantee):
- fencing: the claim's number (`attempts`) is the worker's token; right before the provider
  call the worker checks the row is still `sending` with its number, so a worker resumed after
  its row was taken over (SIGSTOP, a long GC pause, a cut network) does not send;
- provider check: a row taken back from `sending` is marked `check_provider_first`; the next
  attempt asks the provider (backend.find_sent) whether the message reached it, and records it
  sent instead of sending it again. SMTP has no such lookup: an e-mail is sent again.
Transient failures are retried with no limit on the count for as long as the message is worth
sending (`message_expires_at`); then the row is `expired`, journaled (EventKind.MESSAGE_EXPIRED)
and its secret wiped.
"""

import logging
import random
import re
import smtplib
import traceback
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from core.journal import EventKind, journal_record

from .models import WIPED_BODY, Channel, MessageStatus, OutboundMessage
from .sms import (
    BaseSMSBackend,
    SMSPermanentError,
    SMSResult,
    SMSTransientError,
    get_sms_backend,
)

logger = logging.getLogger(__name__)

_E164 = re.compile(r"\+[1-9]\d{6,14}")

# Provider statuses in the order they can happen; a callback never moves a message backwards.
_PROVIDER_STATUS_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 0, "sending": 1, "sent": 2,
    "delivered": 3, "undelivered": 3, "failed": 3, "read": 4,
}
_STATUS_FROM_PROVIDER = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
}


def _schedule_send(message_id: int) -> None:
    from .tasks import send_message

    send_message.delay(message_id)


def _enqueue(**fields) -> OutboundMessage:
    message = OutboundMessage.objects.create(**fields)
    if settings.NOTIFICATIONS_SEND_ON_COMMIT:
        message_id = message.pk
        # The demo only (eager tasks, no broker). robust: a failure of the send must not
        # break the user's request, which has committed already; the row stays queued.
        transaction.on_commit(lambda: _schedule_send(message_id), robust=True)
    return message


def sms_enqueue(*, to: str, body: str, purpose: str, contains_secret: bool = False,
                account=None, flow_id=None) -> OutboundMessage:
    """Write the outbox row in the caller's transaction; send after commit (Celery task).

    `to` is an E.164 number (core.normalization.parse_mobile_phone gives one).
    """
    if not _E164.fullmatch(to or ""):
        raise ValueError("sms_enqueue expects an E.164 number (parse_mobile_phone gives one)")
    if not body or not purpose:
        raise ValueError("sms_enqueue needs a body and a purpose")
    return _enqueue(channel=Channel.SMS, recipient=to, body=body, purpose=purpose,
                    contains_secret=contains_secret, account=account, flow_id=flow_id)


def _one_line(value: str) -> bool:
    return "\n" not in value and "\r" not in value


def email_enqueue(*, to: str, subject: str, body: str, purpose: str,
                  contains_secret: bool = False, account=None, flow_id=None,
                  html_body: str = "", from_email: str = "",
                  reply_to: list[str] | None = None) -> OutboundMessage:
    """Write the outbox row in the caller's transaction; send after commit (Celery task).

    One row per recipient `to` (one address). `body` is the text part, `html_body` the HTML
    alternative ("" for none); `from_email` "" means DEFAULT_FROM_EMAIL at sending time.
    Prefer notifications.emails.email_send, which renders both bodies from templates.
    Raises ValueError on anything that could inject a header (a line break in an address or
    the subject) or on a missing body or purpose.
    """
    reply_to = list(reply_to or [])
    if ("@" not in (to or "") or not all(map(_one_line, [to, subject, from_email, *reply_to]))
            or not body or not purpose):
        raise ValueError("email_enqueue needs one address, a one-line subject, a body, a purpose")
    return _enqueue(channel=Channel.EMAIL, recipient=to, subject=subject, body=body,
                    html_body=html_body, from_email=from_email, reply_to=reply_to,
                    purpose=purpose, contains_secret=contains_secret, account=account,
                    flow_id=flow_id)


@dataclass(frozen=True)
class SendOutcome:
    """What the task should do next: nothing, or try again in `retry_in` seconds."""

    status: str
    retry_in: int | None = None


def retry_delay(attempts: int) -> int:
    """Exponential backoff with jitter: base·2^(n-1), capped, ±20 %."""
    base = settings.NOTIFICATIONS_RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    capped = min(base, settings.NOTIFICATIONS_RETRY_BACKOFF_MAX_SECONDS)
    return max(1, round(capped * random.uniform(0.8, 1.2)))


# last_error of an expired row; %s is the last failure.
NOT_SENT_IN_TIME = "Non envoyé à temps, le message n'était plus utile (dernier échec : %s)"


def message_max_age_seconds(*, channel: str, contains_secret: bool) -> int:
    """How long after it was written a message is still worth sending, in seconds: an SMS
    holding a code lives as long as the code (NOTIFICATIONS_SECRET_MAX_AGE_SECONDS), another
    SMS NOTIFICATIONS_SMS_MAX_AGE_SECONDS, an e-mail NOTIFICATIONS_EMAIL_MAX_AGE_SECONDS (its
    links open a page that says whether they still work)."""
    if channel == Channel.EMAIL:
        return settings.NOTIFICATIONS_EMAIL_MAX_AGE_SECONDS
    if contains_secret:
        return settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS
    return settings.NOTIFICATIONS_SMS_MAX_AGE_SECONDS


def message_expires_at(message: OutboundMessage):
    """The moment after which `message` is no longer sent (created_at + its max age)."""
    return message.created_at + timedelta(seconds=message_max_age_seconds(
        channel=message.channel, contains_secret=message.contains_secret))


def _expire(messages: list[OutboundMessage], *, now, cause: str = "") -> int:
    """Mark these rows `expired` (from queued or sending), wipe the secrets, journal each one;
    in the caller's transaction, rows locked by it. `cause`: the last failure ("" = the row's
    own last_error). Returns how many moved."""
    moved = 0
    for message in messages:
        reason = NOT_SENT_IN_TIME % (cause or message.last_error or "aucun essai")
        fields = {"status": MessageStatus.EXPIRED, "last_error": reason[:500],
                  "sending_started_at": None, "updated_at": now}
        if message.contains_secret:
            fields.update(body=WIPED_BODY, html_body="")
        if not OutboundMessage.objects.filter(
                pk=message.pk, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
        ).update(**fields):
            continue
        moved += 1
        # Facts only: never the text (it may hold a code) nor the address.
        journal_record(EventKind.MESSAGE_EXPIRED, account=message.account,
                       flow_id=message.flow_id, message_id=message.pk,
                       channel=message.channel, purpose=message.purpose,
                       attempts=message.attempts, last_error=reason[:200],
                       age_seconds=round((now - message.created_at).total_seconds()))
        logger.error("Outbox message %s expired after %s attempt(s) (%s, %s): %s", message.pk,
                     message.attempts, message.channel, message.purpose, reason)
    return moved


def _claim(message_id: int) -> OutboundMessage | None:
    """Move a queued row to `sending` under a row lock and give it its fencing token (the new
    `attempts`); None if it is not ours to send. A row past its useful life is expired here
    instead (a code that arrives after it expired only confuses)."""
    with transaction.atomic():
        message = (OutboundMessage.objects.select_for_update(of=("self",))
                   .select_related("account").filter(pk=message_id).first())
        if message is None or message.status != MessageStatus.QUEUED:
            return None
        now = timezone.now()
        if now >= message_expires_at(message):
            _expire([message], now=now)
            return None
        message.status = MessageStatus.SENDING
        message.attempts += 1
        message.sending_started_at = now
        message.save(update_fields=["status", "attempts", "sending_started_at", "updated_at"])
        return message


def _still_ours(message: OutboundMessage) -> bool:
    """The fencing check, right before the provider call: the row is still `sending` under
    the claim this worker holds (one primary-key lookup). False when the worker stalled past
    NOTIFICATIONS_SENDING_TIMEOUT_SECONDS and the row was taken back or claimed again."""
    return OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING,
                                          attempts=message.attempts).exists()


def _mine(message: OutboundMessage):
    """The row, if it still is in the state this worker's claim left it (fenced updates)."""
    return OutboundMessage.objects.filter(pk=message.pk, status=MessageStatus.SENDING,
                                          attempts=message.attempts)


def _deliver_email(message: OutboundMessage) -> SMSResult:
    """Hand one e-mail to NOTIFICATIONS_EMAIL_DELIVERY_BACKEND (SMTP in production), never to
    EMAIL_BACKEND, which is the outbox itself."""
    # Our own Message-ID, so that the provider id is known before the SMTP dialogue.
    message_id = make_msgid(domain=DNS_NAME)
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.body,
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL, to=[message.recipient],
        reply_to=message.reply_to or None, headers={"Message-ID": message_id},
        connection=get_connection(settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND,
                                  fail_silently=False),
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        # The one recipient refused at RCPT TO: 4xx (greylisting, full mailbox) is retried.
        codes = [code for code, _text in exc.recipients.values()] or [550]
        _raise_smtp_error(max(codes), exc)
    except smtplib.SMTPResponseException as exc:
        _raise_smtp_error(exc.smtp_code, exc)
    except (smtplib.SMTPException, OSError) as exc:  # OSError covers refusals and timeouts
        raise SMSTransientError(
            f"Serveur de messagerie injoignable ({exc.__class__.__name__}), nouvel essai"
        ) from exc
    return SMSResult(provider_message_id=message_id, provider_status="sent")


def _raise_smtp_error(code: int, exc: Exception):
    """4xx: transient (RFC 5321 §4.2.1), tried again; anything else: permanent. The text
    read in the admin is French and names the code only (the server's words may quote the
    address)."""
    if 400 <= code < 500:
        raise SMSTransientError(
            f"Refus temporaire du serveur de messagerie (SMTP {code}), nouvel essai"
        ) from exc
    raise SMSPermanentError(
        f"Refusé par le serveur de messagerie (SMTP {code}) : adresse inexistante ou message "
        "rejeté"
    ) from exc


PROVIDER_CLOCK_MARGIN_SECONDS = 60


def _provider_has(message: OutboundMessage, backend: BaseSMSBackend) -> SMSResult | None:
    """Whether the provider already holds `message` (a previous worker stopped mid-send).
    Raises SMSTransientError when it cannot tell. E-mail and backends without a lookup: None
    (SMTP has no way to ask; the message is sent again)."""
    if message.channel != Channel.SMS or not backend.supports_lookup:
        return None
    # The earliest moment a previous attempt could have reached the provider, less a margin
    # for the provider's clock and its dates rounded to the second.
    since = message.created_at - timedelta(seconds=PROVIDER_CLOCK_MARGIN_SECONDS)
    return backend.find_sent(to=message.recipient, body=message.body, since=since)


def message_send(*, message_id: int) -> SendOutcome:
    """Send one outbox message once; record the provider's answer. Called by the task,
    outside any transaction: the provider is called with no row lock held.

    Outcomes (SendOutcome.status): "sent", "queued" (retry_in seconds), "failed", "expired",
    "skipped" (not queued: sent, claimed by another worker, or missing) and "fenced" (this
    worker's claim was taken over before the provider call: nothing sent).
    """
    message = _claim(message_id)
    if message is None:
        return SendOutcome(status="skipped")
    backend = get_sms_backend() if message.channel == Channel.SMS else None
    try:
        found = _provider_has(message, backend) if message.check_provider_first else None
        if found is not None:
            logger.warning("Outbox message %s: the provider had it already (%s), not sent "
                           "again", message.pk, found.provider_message_id)
            return _record_sent(message, found)
        if not _still_ours(message):
            logger.warning("Outbox message %s: claim %s was taken over, not sent by this worker",
                           message.pk, message.attempts)
            return SendOutcome(status="fenced")
        result = backend.send(to=message.recipient, body=message.body) if backend else (
            _deliver_email(message))
    except SMSTransientError as exc:
        return _record_failure(message, error=str(exc), transient=True)
    except SMSPermanentError as exc:
        return _record_failure(message, error=str(exc), transient=False)
    except Exception as exc:
        # A bug or an unexpected library error: logged with its type and stack only (its
        # message could quote the body), kept for a later attempt.
        logger.error("Unexpected %s sending outbox message %s\n%s", exc.__class__.__name__,
                     message_id, "".join(traceback.format_tb(exc.__traceback__)))
        return _record_failure(message, error=f"Erreur inattendue : {exc.__class__.__name__}",
                               transient=True)
    return _record_sent(message, result)


def _record_sent(message: OutboundMessage, result: SMSResult) -> SendOutcome:
    now = timezone.now()
    fields = {
        "status": MessageStatus.SENT,
        "provider_message_id": result.provider_message_id[:100],
        "provider_status": result.provider_status[:30],
        "sent_at": now,
        "last_error": "",
        "check_provider_first": False,
        "updated_at": now,
    }
    if message.contains_secret:
        fields.update(body=WIPED_BODY, html_body="")
    # Fenced, and conditional on `sending`: never overwrite what a fast status callback wrote,
    # nor a row another worker claimed since.
    if not _mine(message).update(**fields):
        logger.warning("Outbox message %s: sent by a worker whose claim %s had been taken "
                       "over", message.pk, message.attempts)
    logger.info("Outbox message %s sent (%s, %s)", message.pk, message.channel, message.purpose)
    return SendOutcome(status=MessageStatus.SENT)


def _record_failure(message: OutboundMessage, *, error: str, transient: bool) -> SendOutcome:
    """A transient failure goes back to the queue with the backoff, whatever the number of
    attempts, unless the next attempt would fall past the message's useful life: then it is
    expired. A permanent one is failed. Both wipe a secret."""
    now = timezone.now()
    error = error[:500]
    if message.contains_secret:
        # Belt and braces: a backend's error text must not carry the code.
        error = error.replace(message.body, "[…]")
    if transient:
        delay = retry_delay(message.attempts)
        next_attempt_at = now + timedelta(seconds=delay)
        if next_attempt_at < message_expires_at(message):
            _mine(message).update(
                status=MessageStatus.QUEUED, last_error=error, sending_started_at=None,
                next_attempt_at=next_attempt_at, updated_at=now,
            )
            logger.warning("Outbox message %s: attempt %s failed, retry in %ss: %s",
                           message.pk, message.attempts, delay, error)
            return SendOutcome(status=MessageStatus.QUEUED, retry_in=delay)
        with transaction.atomic():
            if _mine(message).select_for_update().exists():
                _expire([message], now=now, cause=error)
        return SendOutcome(status=MessageStatus.EXPIRED)
    fields = {"status": MessageStatus.FAILED, "last_error": error, "updated_at": now}
    if message.contains_secret:
        fields.update(body=WIPED_BODY, html_body="")
    _mine(message).update(**fields)
    logger.error("Outbox message %s failed after %s attempt(s): %s",
                 message.pk, message.attempts, error)
    return SendOutcome(status=MessageStatus.FAILED)


@dataclass(frozen=True)
class RequeueReport:
    requeued: int = 0
    unstuck: int = 0
    expired: int = 0


def messages_requeue_stale(*, batch_size: int | None = None,
                           max_batches: int = 20) -> tuple[RequeueReport, list[int]]:
    """Find rows a lost broker message or a dead worker left behind; returns the ids to send.

    - `sending` for longer than NOTIFICATIONS_SENDING_TIMEOUT_SECONDS: the worker died or
      froze → queued with `check_provider_first` (the next attempt asks the provider before
      sending again) and handed over; the stalled worker's claim is void (fencing).
    - `queued` past its useful life (message_max_age_seconds: a code's lifetime for an SMS
      holding one, hours for another SMS, days for an e-mail) → expired, secret wiped,
      journaled (EventKind.MESSAGE_EXPIRED).
    - `queued` and overdue by NOTIFICATIONS_REQUEUE_AFTER_SECONDS: handed to Celery again.
    Each batch is a short transaction; a row handed over is leased like the dispatcher's
    (next_attempt_at moves NOTIFICATIONS_REQUEUE_AFTER_SECONDS ahead), so neither the next
    batch, nor the next run, nor the dispatcher hands it over again meanwhile.
    """
    batch_size = batch_size or settings.NOTIFICATIONS_REQUEUE_BATCH_SIZE
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    unstuck = expired = 0
    ids_to_send: list[int] = []

    stuck_cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_SENDING_TIMEOUT_SECONDS)
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(OutboundMessage.objects.select_for_update(skip_locked=True)
                       .filter(status=MessageStatus.SENDING, sending_started_at__lt=stuck_cutoff)
                       .order_by("sending_started_at").values_list("pk", flat=True)[:batch_size])
            OutboundMessage.objects.filter(pk__in=ids, status=MessageStatus.SENDING).update(
                status=MessageStatus.QUEUED, sending_started_at=None,
                next_attempt_at=lease_until, check_provider_first=True,
                last_error="Envoi interrompu (worker arrêté), nouvel essai", updated_at=now,
            )
        unstuck += len(ids)
        ids_to_send.extend(ids)
        if len(ids) < batch_size:
            break

    past_useful_life = Q(pk__in=[])
    for channel, secret in ((Channel.SMS, True), (Channel.SMS, False), (Channel.EMAIL, None)):
        cutoff = now - timedelta(seconds=message_max_age_seconds(channel=channel,
                                                                 contains_secret=bool(secret)))
        kind = Q(channel=channel) if secret is None else Q(channel=channel,
                                                          contains_secret=secret)
        past_useful_life |= kind & Q(created_at__lt=cutoff)
    for _ in range(max_batches):
        with transaction.atomic():
            rows = list(OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
                        .select_related("account")
                        .filter(past_useful_life, status=MessageStatus.QUEUED)
                        .order_by("next_attempt_at")[:batch_size])
            expired += _expire(rows, now=now)
        if len(rows) < batch_size:
            break

    due_cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(OutboundMessage.objects.select_for_update(skip_locked=True)
                       .filter(status=MessageStatus.QUEUED, next_attempt_at__lt=due_cutoff)
                       .order_by("next_attempt_at").values_list("pk", flat=True)[:batch_size])
            OutboundMessage.objects.filter(pk__in=ids).update(next_attempt_at=lease_until,
                                                              updated_at=now)
        ids_to_send.extend(ids)
        if len(ids) < batch_size:
            break

    if unstuck or expired or ids_to_send:
        logger.warning("Outbox requeue: %s stuck in sending, %s expired, %s re-queued",
                       unstuck, expired, len(ids_to_send))
    report = RequeueReport(requeued=len(ids_to_send), unstuck=unstuck, expired=expired)
    return report, ids_to_send


def messages_dispatch_due(*, limit: int = 100) -> list[int]:
    """Lease up to `limit` queued rows that are due and return their ids, oldest due first.

    The dispatcher hands each id to Celery; the lease moves the row's next_attempt_at
    NOTIFICATIONS_REQUEUE_AFTER_SECONDS ahead, so that the row is handed over again only if
    no worker has claimed it by then (a lost broker message). One short transaction:
    SELECT … FOR UPDATE SKIP LOCKED on the partial index of queued rows (outbox_queued_due_idx,
    which holds only the few queued rows whatever the size of the table), then one UPDATE;
    several dispatchers never lease the same row.
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.NOTIFICATIONS_REQUEUE_AFTER_SECONDS)
    with transaction.atomic():
        ids = list(OutboundMessage.objects.select_for_update(skip_locked=True)
                   .filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
                   .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
        if ids:
            OutboundMessage.objects.filter(pk__in=ids).update(next_attempt_at=lease_until,
                                                              updated_at=now)
    return ids


def messages_dispatch_release(*, message_ids: list[int], retry_in: float) -> int:
    """Give back leased rows that could not be handed to Celery (broker down): due again in
    `retry_in` seconds. Returns how many rows were still queued."""
    now = timezone.now()
    return OutboundMessage.objects.filter(pk__in=message_ids, status=MessageStatus.QUEUED).update(
        next_attempt_at=now + timedelta(seconds=retry_in), updated_at=now)


def messages_next_due_in() -> float | None:
    """Seconds until the earliest queued row is due (0 if one is due now), None if no row is
    queued. One MIN on the partial index of queued rows."""
    earliest = (OutboundMessage.objects.filter(status=MessageStatus.QUEUED)
                .aggregate(earliest=Min("next_attempt_at"))["earliest"])
    if earliest is None:
        return None
    return max((earliest - timezone.now()).total_seconds(), 0.0)


def message_provider_status_record(*, provider_message_id: str, provider_status: str,
                                   error_code: str = "") -> bool:
    """Record a delivery report; True if the message moved. Idempotent and never backwards.

    The update is one conditional UPDATE: a replayed or late callback matches no row.
    """
    provider_status = (provider_status or "").strip().lower()[:30]
    rank = _PROVIDER_STATUS_RANK.get(provider_status)
    if not provider_message_id or rank is None:
        return False
    # Statuses this report may move a message from: those of a lower rank, or an unset one.
    lower = [s for s, r in _PROVIDER_STATUS_RANK.items() if r < rank]
    fields = {"provider_status": provider_status, "updated_at": timezone.now()}
    new_status = _STATUS_FROM_PROVIDER.get(provider_status)
    if new_status is not None:
        fields["status"] = new_status
    if provider_status in ("failed", "undelivered") and error_code:
        fields["last_error"] = f"Rapport de distribution : code {error_code[:20]}"
    updated = (OutboundMessage.objects
               .filter(provider_message_id=provider_message_id)
               .filter(Q(provider_status__in=lower) | Q(provider_status=""))
               .update(**fields))
    return bool(updated)

