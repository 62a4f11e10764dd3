"""SMS backends, chosen by settings.SMS_BACKEND (a dotted path) like Django's EMAIL_BACKEND.

- ConsoleSMSBackend: prints each SMS on stdout (development).
- FileSMSBackend: one file per SMS in settings.SMS_FILE_PATH (black-box tests, demo page).
- LocmemSMSBackend: appends to `notifications.sms.outbox` (unit tests).
- TwilioSMSBackend: production.

A backend's `send(to=, body=)` returns an SMSResult or raises SMSTransientError (worth trying
again later) or SMSPermanentError (never will work). Error messages must never quote the body:
it may hold a code.

A backend whose provider can be asked what it received (`supports_lookup`) implements
`find_sent(to=, body=, since=)`: the SMSResult of a message with that recipient and text
created at or after `since`, None if the provider has none, SMSTransientError if it could not
say. The outbox asks it before sending again a message whose worker stopped mid-send
(docs/outbox.md).
"""

import os
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SentSMS:
    to: str
    body: str


@dataclass(frozen=True)
class SMSResult:
    provider_message_id: str = ""
    provider_status: str = ""


class SMSError(Exception):
    """Base of backend errors; str(error) is safe to store (no message text in it)."""


class SMSTransientError(SMSError):
    pass


class SMSPermanentError(SMSError):
    pass


# LocmemSMSBackend appends here, like django.core.mail.outbox; tests empty it between tests.
outbox: list[SentSMS] = []


class BaseSMSBackend:
    # Whether find_sent can tell if the provider already has a message.
    supports_lookup = False

    def __init__(self, **kwargs):
        pass

    def send(self, *, to: str, body: str) -> SMSResult:
        raise NotImplementedError

    def find_sent(self, *, to: str, body: str, since: datetime) -> SMSResult | None:
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    def __init__(self, *, stream=None, **kwargs):
        super().__init__(**kwargs)
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, *, to: str, body: str) -> SMSResult:
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(f"To: {to}\n\n{body}\n{'-' * 79}\n")
            stream.flush()
        return SMSResult(provider_message_id=f"console:{uuid.uuid4().hex}", provider_status="sent")


class LocmemSMSBackend(BaseSMSBackend):
    supports_lookup = True

    def send(self, *, to: str, body: str) -> SMSResult:
        outbox.append(SentSMS(to=to, body=body))
        return SMSResult(provider_message_id=f"locmem:{uuid.uuid4().hex}", provider_status="sent")

    def find_sent(self, *, to: str, body: str, since: datetime) -> SMSResult | None:
        # The in-memory outbox has no dates: any message with that recipient and text.
        if SentSMS(to=to, body=body) in outbox:
            return SMSResult(provider_message_id="locmem:found", provider_status="sent")
        return None


FILE_PROVIDER_PREFIX = "file:"


class FileSMSBackend(BaseSMSBackend):
    """One file per SMS; names sort by time of sending; content "To: <number>\\n\\n<body>".

    Each file is written under a temporary dot-name then renamed, so a reader never sees a half
    written file. The file name is returned as the provider id ("file:<name>"), which is how the
    demo page finds the text of a message whose body was wiped from the database.
    """

    suffix = ".sms.txt"

    def __init__(self, *, file_path=None, **kwargs):
        super().__init__(**kwargs)
        self.file_path = Path(file_path or settings.SMS_FILE_PATH)

    def send(self, *, to: str, body: str) -> SMSResult:
        try:
            self.file_path.mkdir(parents=True, exist_ok=True)
            # Microsecond UTC timestamp first (sortable), random tail (unique across processes).
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}{self.suffix}"
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.file_path)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(f"To: {to}\n\n{body}")
                os.replace(tmp, self.file_path / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise SMSTransientError(f"SMS file not written: {exc.__class__.__name__}") from exc
        return SMSResult(provider_message_id=f"{FILE_PROVIDER_PREFIX}{name}",
                         provider_status="sent")

    @classmethod
    def read_messages(cls, file_path=None) -> list[SentSMS]:
        """Every SMS in the folder, oldest first (for black-box tests and the demo page)."""
        folder = Path(file_path or settings.SMS_FILE_PATH)
        if not folder.is_dir():
            return []
        names = sorted(p.name for p in folder.iterdir() if p.name.endswith(cls.suffix))
        return [m for m in (cls.read_file(name, file_path=folder) for name in names) if m]

    @classmethod
    def read_file(cls, name: str, file_path=None) -> SentSMS | None:
        """The SMS in one file of the folder; None if missing or not one of ours."""
        # Names come from our own provider ids; refuse anything that could leave the folder.
        if not name.endswith(cls.suffix) or Path(name).name != name or name.startswith("."):
            return None
        path = Path(file_path or settings.SMS_FILE_PATH) / name
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return None
        head, _, body = text.partition("\n\n")
        return SentSMS(to=head.removeprefix("To: "), body=body)


class DemoSMSBackend(FileSMSBackend):
    """The demo's default: the SMS is printed on the console, as a developer expects, and kept
    in a file so that the demo page « Messages envoyés » can show it after the body has been
    wiped from the database."""

    def send(self, *, to: str, body: str) -> SMSResult:
        result = super().send(to=to, body=body)
        ConsoleSMSBackend().send(to=to, body=body)
        return result


# Twilio answers that are worth trying again: rate limiting and its own outages.
TWILIO_TRANSIENT_HTTP = {408, 409, 425, 429}
TWILIO_TRANSIENT_CODES = {20429, 20500, 20503, 30001}


class TwilioSMSBackend(BaseSMSBackend):
    """Twilio Programmable Messaging; delivery reports come back to notifications:twilio_status.

    `http_client` replaces twilio's HTTP client (tests pass a fake one: no network).
    """

    def __init__(self, *, http_client=None, **kwargs):
        super().__init__(**kwargs)
        self.http_client = http_client

    def _client(self):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = self.http_client or TwilioHttpClient(
            timeout=settings.TWILIO_TIMEOUT_SECONDS
        )
        return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
                      http_client=http_client)

    @staticmethod
    def status_callback_url() -> str:
        return settings.SITE_URL.rstrip("/") + reverse("notifications:twilio_status")

    def send(self, *, to: str, body: str) -> SMSResult:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        if not (sid and token and settings.TWILIO_FROM):
            raise SMSPermanentError("Twilio is not configured (TWILIO_ACCOUNT_SID, "
                                    "TWILIO_AUTH_TOKEN, TWILIO_FROM)")
        try:
            message = self._client().messages.create(
                to=to, from_=settings.TWILIO_FROM, body=body,
                status_callback=self.status_callback_url(),
            )
        except TwilioRestException as exc:
            # Only the status and Twilio's error code: its free text may quote what we sent.
            detail = f"Twilio HTTP {exc.status}, code {exc.code}"
            if exc.status >= 500 or exc.status in TWILIO_TRANSIENT_HTTP or (
                exc.code in TWILIO_TRANSIENT_CODES
            ):
                raise SMSTransientError(detail) from exc
            raise SMSPermanentError(detail) from exc
        except TwilioException as exc:
            # Raised by twilio's HTTP layer for network failures and timeouts.
            raise SMSTransientError(f"Twilio unreachable: {exc.__class__.__name__}") from exc
        except OSError as exc:
            raise SMSTransientError(f"Twilio unreachable: {exc.__class__.__name__}") from exc
        return SMSResult(provider_message_id=message.sid or "",
                         provider_status=message.status or "")

    supports_lookup = True
    # Messages read back per lookup (newest first): a number gets a handful of SMS a day.
    LOOKUP_PAGE_SIZE = 50

    def find_sent(self, *, to: str, body: str, since: datetime) -> SMSResult | None:
        """Twilio's Message list, filtered by To and From, newest first; the one whose Body is
        ours and whose DateCreated is at or after `since` (one GET, LOOKUP_PAGE_SIZE rows).

        Twilio keeps no idempotency key of ours on a message (its StatusCallback is not read
        back), so the text is the marker: every SMS that matters holds a fresh code, and two
        other texts alike to one number within the window are the same message for the
        family anyway. DateSent is left out of the filter: a message Twilio still queues has
        none.
        """
        from twilio.base.exceptions import TwilioException

        try:
            messages = self._client().messages.list(
                to=to, from_=settings.TWILIO_FROM, limit=self.LOOKUP_PAGE_SIZE,
                page_size=self.LOOKUP_PAGE_SIZE,
            )
        except (TwilioException, OSError) as exc:
            status = getattr(exc, "status", "")
            raise SMSTransientError(
                f"Twilio lookup failed: {exc.__class__.__name__} {status}".strip()) from exc
        for message in messages:
            created = message.date_created
            if message.body == body and (created is None or created >= since):
                return SMSResult(provider_message_id=message.sid or "",
                                 provider_status=message.status or "")
        return None


def get_sms_backend(backend: str | None = None, **kwargs) -> BaseSMSBackend:
    """An instance of the backend named by `backend` or settings.SMS_BACKEND."""
    return import_string(backend or settings.SMS_BACKEND)(**kwargs)
