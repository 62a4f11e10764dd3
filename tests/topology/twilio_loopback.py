"""Twilio faked at its HTTP boundary, for processes the test does not run itself.

`LoopbackTwilioSMSBackend` is notifications.sms.TwilioSMSBackend with the Twilio SDK's own
HTTP client pointed at TWILIO_LOOPBACK_URL instead of https://api.twilio.com: the SDK builds
and signs the request as it would for Twilio; `FakeTwilio` (an HTTP server on loopback, in the
test's process) records each message and answers as Twilio's API does (201, a message sid).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient

from notifications.sms import TwilioSMSBackend

TWILIO_API = "https://api.twilio.com"


class LoopbackTwilioHttpClient(TwilioHttpClient):
    def request(self, method, url, *args, **kwargs):
        url = url.replace(TWILIO_API, os.environ["TWILIO_LOOPBACK_URL"], 1)
        return super().request(method, url, *args, **kwargs)


class LoopbackTwilioSMSBackend(TwilioSMSBackend):
    def __init__(self, **kwargs):
        kwargs.setdefault("http_client",
                          LoopbackTwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS))
        super().__init__(**kwargs)


class FakeTwilio:
    """Records POST …/Messages.json; `messages` holds {"To", "From", "Body", "pid"…}."""

    def __init__(self):
        self.messages: list[dict] = []
        self.arrived = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                sid = "SM" + secrets.token_hex(16)
                with fake.arrived:
                    fake.messages.append({**form, "path": self.path,
                                          "authorization": self.headers.get("Authorization")})
                    fake.arrived.notify_all()
                body = json.dumps({"sid": sid, "status": "queued", "to": form.get("To"),
                                   "from": form.get("From"), "body": form.get("Body")}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float) -> list[dict]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), (
                f"{len(self.messages)} SMS reached the fake Twilio of {count} within {timeout}s")
            return list(self.messages)
