"""A bare WSGI app that only checks a password against one Argon2id hash (bench_signin.py).

GET answers a tiny page; POST reads `password` from the form and verifies it against the
hash in $BENCH_HASH (the product's parameters) with libsodium, as the product does
(accounts.hashers), answering 302 when it matches, 401 otherwise. No framework, no database,
no session: on this machine, the bound a web framework's sign-in can reach.
"""

import os
from urllib.parse import parse_qs

from nacl.bindings import crypto_pwhash_str_verify
from nacl.exceptions import InvalidkeyError

_HASH = os.environ["BENCH_HASH"].encode()


def application(environ, start_response):
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b"<form method=post></form>"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    fields = parse_qs(environ["wsgi.input"].read(length).decode())
    try:
        ok = crypto_pwhash_str_verify(_HASH, fields.get("password", [""])[0].encode())
    except InvalidkeyError:
        ok = False
    if ok:
        start_response("302 Found", [("Location", "/"), ("Content-Length", "0")])
    else:
        start_response("401 Unauthorized", [("Content-Length", "0")])
    return [b""]
