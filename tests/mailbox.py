"""A real SMTP server on loopback for tests (aiosmtpd), and reading what it received.

The `smtp_server` fixture (tests/conftest.py) starts one per test and points the outbox's
delivery (NOTIFICATIONS_EMAIL_DELIVERY_BACKEND, EMAIL_HOST, EMAIL_PORT) at it:

    def test_reset_link(smtp_server, …):
        … the action that sends the e-mail, committed …
        [message] = smtp_server.wait_for(1)
        assert message["To"] == "marie@example.org"
        client.get(urlsplit(link_from(message)).path)

`smtp_server.refuse(code_and_text, times=1)` makes the next DATA commands answer an error
(e.g. "451 4.3.0 Réessayez plus tard" then delivery, or "550 5.1.1 Boîte inconnue").
"""

import re
import socket
import threading
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler:
    def __init__(self, server: "SMTPTestServer"):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        return self.server._receive(envelope)


class SMTPTestServer:
    """aiosmtpd on 127.0.0.1 in a thread. `.messages`: every accepted message, parsed
    (email.message.EmailMessage, policy default), in order of arrival; `.envelopes`: the
    (MAIL FROM, [RCPT TO…]) of each; `.refused`: how many DATA commands were refused."""

    def __init__(self):
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused = 0
        self._refusals: list[str] = []
        self._cond = threading.Condition()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)

    def start(self) -> "SMTPTestServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def refuse(self, reply: str, times: int = 1) -> None:
        """Answer `reply` (e.g. "451 4.3.0 Réessayez plus tard") to the next `times` DATA."""
        with self._cond:
            self._refusals.extend([reply] * times)

    def _receive(self, envelope) -> str:
        with self._cond:
            if self._refusals:
                self.refused += 1
                return self._refusals.pop(0)
            self.messages.append(BytesParser(policy=policy.default).parsebytes(
                envelope.original_content or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until `count` messages have arrived (AssertionError after `timeout` seconds);
        returns the list of every message received so far."""
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self.messages) >= count, timeout)
            assert arrived, f"{len(self.messages)} message(s) of {count} within {timeout}s"
            return list(self.messages)


def text_of(message: EmailMessage) -> str:
    """The text/plain part of a received message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no text part"
    return part.get_content()


def html_of(message: EmailMessage) -> str:
    """The text/html part of a received message."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return part.get_content()


def link_from(message: EmailMessage, base_url: str | None = None) -> str:
    """The one link to the portal (EDUCONNECT_SITE_URL, or `base_url`) in the text part; fails
    if there is none or several different ones."""
    from django.conf import settings

    base = (base_url or settings.SITE_URL).rstrip("/")
    links = set(re.findall(re.escape(base) + r"/[^\s<>\"']*", text_of(message)))
    assert len(links) == 1, f"expected one link to {base} in the text part, found {links}"
    return links.pop()
