"""The demo's e-mail delivery backend (NOTIFICATIONS_EMAIL_DELIVERY_BACKEND in DEBUG).

Like notifications.sms.DemoSMSBackend: the message is printed on the console, as a developer
expects, and kept as a file in EMAIL_FILE_PATH (one `.eml` per message, named from its
Message-ID) so that the demo page « Messages envoyés » can show a message whose text held a
link token and was wiped from the database once sent.
"""

import hashlib
import os
import tempfile
from email import policy
from email.message import EmailMessage as ParsedEmail
from email.parser import BytesParser
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

EML_SUFFIX = ".eml"


def eml_name(message_id: str) -> str:
    """The file name of the message with this Message-ID header (a hash: no path in it)."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:32] + EML_SUFFIX


def eml_read(message_id: str, file_path=None) -> ParsedEmail | None:
    """The message kept for this Message-ID, parsed; None if there is none."""
    path = Path(file_path or settings.EMAIL_FILE_PATH) / eml_name(message_id)
    try:
        with path.open("rb") as handle:
            return BytesParser(policy=policy.default).parse(handle)
    except OSError:
        return None


class DemoEmailBackend(ConsoleEmailBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            mime = message.message()
            name = eml_name(mime["Message-ID"] or "")
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(mime.as_bytes())
                os.replace(tmp, folder / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return sent
