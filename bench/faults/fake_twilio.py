"""A fake Twilio Messages API on loopback, and the SMS backend that talks to it.

    python bench/faults/fake_twilio.py PORT          # the server, as its own process

The server answers what TwilioSMSBackend uses: POST …/Messages.json (create) and GET
…/Messages.json?To=&From= (list, newest first, for the lookup before a resend). It keeps every
message it accepted, in memory. Control (the fault scripts):
- POST /_control with mode=ok|503|429 and delay=<seconds> (the time a create takes; the message
  is recorded *before* that wait: a worker stopped during the call left it at the provider);
- GET /_log: every accepted message as JSON [{sid, to, body, created}].

`LoopbackTwilioBackend` is notifications.sms.TwilioSMSBackend whose twilio HTTP client sends to
FAKE_TWILIO_URL instead of https://api.twilio.com: the real backend's code, error mapping and
lookup, against the fake. Bench only: never in a setting of production.
"""

import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from notifications.sms import TwilioSMSBackend


class LoopbackTwilioBackend(TwilioSMSBackend):
    def __init__(self, **kwargs):
        from twilio.http.http_client import TwilioHttpClient

        base = os.environ.get("FAKE_TWILIO_URL", "http://127.0.0.1:8999")

        class Client(TwilioHttpClient):
            def request(self, method, url, *args, **kw):
                return super().request(method, url.replace("https://api.twilio.com", base),
                                       *args, **kw)

        from django.conf import settings
        super().__init__(http_client=Client(timeout=settings.TWILIO_TIMEOUT_SECONDS), **kwargs)


STATE = {"mode": "ok", "delay": 0.0, "messages": [], "refused": 0}
LOCK = threading.Lock()


def _message_json(m):
    return {"sid": m["sid"], "status": "queued", "body": m["body"], "to": m["to"],
            "from": m["from"], "account_sid": "AC" + "0" * 32,
            "date_created": format_datetime(m["created"]), "date_sent": None}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/_log":
            with LOCK:
                log = [dict(m, created=m["created"].isoformat()) for m in STATE["messages"]]
            return self._answer(200, {"messages": log, "refused": STATE["refused"]})
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if STATE["mode"] in ("503", "429"):
            code = int(STATE["mode"])
            return self._answer(code, {"status": code, "code": 20000 + code, "message": "x"})
        with LOCK:
            found = [m for m in reversed(STATE["messages"])
                     if m["to"] == query.get("To") and m["from"] == query.get("From")]
        size = int(query.get("PageSize", 50))
        return self._answer(200, {"messages": [_message_json(m) for m in found[:size]],
                                  "next_page_uri": None, "page": 0, "page_size": size,
                                  "uri": url.path})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path.startswith("/_control"):
            with LOCK:
                STATE["mode"] = form.get("mode", STATE["mode"])
                STATE["delay"] = float(form.get("delay", STATE["delay"]))
            return self._answer(200, {"mode": STATE["mode"], "delay": STATE["delay"]})
        if STATE["mode"] in ("503", "429"):
            code = int(STATE["mode"])
            with LOCK:
                STATE["refused"] += 1
            return self._answer(code, {"status": code, "code": 20000 + code, "message": "x"})
        message = {"sid": "SM" + uuid.uuid4().hex, "to": form.get("To", ""),
                   "from": form.get("From", ""), "body": form.get("Body", ""),
                   "created": datetime.now(UTC)}
        with LOCK:
            STATE["messages"].append(message)
        time.sleep(STATE["delay"])  # accepted, answer slow: the window of a stopped worker
        return self._answer(201, _message_json(message))


def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
