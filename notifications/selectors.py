"""Named reads of the outbox."""

from dataclasses import dataclass
from datetime import datetime

from .mail import eml_read
from .models import WIPED_BODY, Channel, OutboundMessage
from .sms import FILE_PROVIDER_PREFIX, FileSMSBackend


@dataclass(frozen=True)
class DemoMessage:
    channel: str
    recipient: str
    subject: str
    created_at: datetime
    status: str
    body: str
    body_available: bool
    is_email: bool


def outbox_demo_latest(*, limit: int = 50) -> list[DemoMessage]:
    """The latest messages with their text, for the DEBUG-only demo page.

    A message that held a code or a link has its body wiped once sent; an SMS sent through the
    file backend still has its text in that backend's folder (its provider id names the file),
    an e-mail delivered by the demo's DemoEmailBackend in EMAIL_FILE_PATH (its provider id is
    its Message-ID). One query on the created_at index, then at most `limit` small file reads.
    """
    rows = (OutboundMessage.objects
            .only("channel", "recipient", "subject", "created_at", "status", "body",
                  "provider_message_id")
            .order_by("-created_at")[:limit])
    result = []
    for row in rows:
        body = row.body
        if (body == WIPED_BODY and row.channel == Channel.SMS
                and row.provider_message_id.startswith(FILE_PROVIDER_PREFIX)):
            sms = FileSMSBackend.read_file(row.provider_message_id[len(FILE_PROVIDER_PREFIX):])
            if sms is not None:
                body = sms.body
        if body == WIPED_BODY and row.channel == Channel.EMAIL and row.provider_message_id:
            email = eml_read(row.provider_message_id)
            part = email.get_body(preferencelist=("plain",)) if email is not None else None
            if part is not None:
                body = part.get_content().strip()
        result.append(DemoMessage(
            channel=row.get_channel_display(), recipient=row.recipient, subject=row.subject,
            created_at=row.created_at, status=row.get_status_display(), body=body,
            body_available=body != WIPED_BODY, is_email=row.channel == Channel.EMAIL,
        ))
    return result
