"""A pysaml2 service provider served over HTTP on loopback (a thread of the test process):
its ACS receives the IdP's POST like a real ENT would, checks the Response and shows who
signed in (names, affiliation, children's identity vectors, RelayState)."""

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from saml_idp.attributes import OIDS
from tests.saml_idp.sp import TestSP

_NAMES = {oid: name for name, oid in OIDS.items()}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        """/ent/login: the ENT's « Se connecter avec ÉduConnect », by the POST binding."""
        if self.path != "/ent/login":
            self.send_error(404)
            return
        action, fields, request_id = self.server.sp.post_request("https://ent.example.test/")
        self.server.request_ids.append(request_id)
        inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in fields.items())
        self._page(200, f'<h1>ENT</h1><form id="f" method="post" action="{html.escape(action)}">'
                        f'{inputs}<button>Se connecter avec ÉduConnect</button></form>'
                        '<script>document.getElementById("f").submit()</script>')

    def do_POST(self):
        sp: TestSP = self.server.sp
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path != "/ent/acs" or "SAMLResponse" not in form:
            self.send_error(404)
            return
        try:
            parsed = sp.parse_response(form["SAMLResponse"],
                                       outstanding_ids=self.server.request_ids)
        except Exception as exc:
            self.server.errors.append(repr(exc))
            self._page(400, f"<h1>Réponse refusée</h1><p>{html.escape(repr(exc))}</p>")
            return
        ava = {_NAMES.get(k, k): v for k, v in parsed.ava.items()}
        self.server.received.append({"ava": ava, "relay_state": form.get("RelayState", ""),
                                     "name_id": parsed.assertion.subject.name_id.text,
                                     "in_response_to": parsed.in_response_to})
        items = "".join(f"<li><b>{html.escape(k)}</b> : {html.escape(', '.join(v))}</li>"
                        for k, v in sorted(ava.items()))
        relay = html.escape(form.get("RelayState", ""))
        self._page(200, f"<h1>Bienvenue sur l'ENT, {html.escape(ava['givenName'][0])}</h1>"
                        f"<ul>{items}</ul><p id='relay'>{relay}</p>")

    def _page(self, status, body):
        data = ("<!DOCTYPE html><html lang='fr'><head><title>ENT</title></head>"
                f"<body><main>{body}</main></body></html>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LoopbackSP:
    """`with LoopbackSP() as ent:` — ent.sp (TestSP at http://127.0.0.1:<port>/ent/…),
    ent.received (what the ACS accepted), ent.errors."""

    def __init__(self, **sp_options):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        port = self.server.server_address[1]
        self.sp = TestSP(f"http://127.0.0.1:{port}", name="ent", **sp_options)
        self.server.sp = self.sp
        self.server.received = []
        self.server.errors = []
        self.server.request_ids = []
        self.received = self.server.received
        self.errors = self.server.errors
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
