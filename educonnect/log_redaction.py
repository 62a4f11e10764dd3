"""The single-use tokens of e-mailed links kept out of every log line (issue 12 §3: nothing
secret in logs).

A link's token is in its path — « Mot de passe oublié ? » (`/mot-de-passe-oublie/lien/<token>/`,
valid an hour, from any browser), the e-mail validations of « Mon compte » and of a letter's
first sign-in (`…/valider/<token>/`) — so a log that keeps paths and drops query strings
still holds them: gunicorn's and nginx's access logs, Django's « Not Found: <path> » and
« Gone: <path> » warnings (django.request), runserver's request lines (django.server). Anyone
who reads those logs could use a link opened but not yet used. Here the segment after
`/lien/` or `/valider/` becomes `***`.

Used by: the LOGGING filter `RedactLinkTokens` (settings.py, on the console handler), the
gunicorn access logger (deploy/gunicorn.conf.py) and, as the same expression, nginx's
`map` (deploy/nginx/templates/educonnect.conf.template). No Django import: gunicorn's
configuration loads it before the application.
"""

from __future__ import annotations

import logging
import re

# The URL patterns that carry a token (accounts/recovery/urls.py, accounts/my_account/urls.py,
# activation/provisional/urls.py); tests/security/test_log_redaction.py checks the list.
LINK_TOKEN = re.compile(r"(/(?:lien|valider)/)[^/\s?#\"]+")
REDACTED = r"\1***"


def path_redact(text: str) -> str:
    """`text` (a path, a request line or a log message) with every link token replaced by
    `***`: « /mot-de-passe-oublie/lien/Xy…/ » → « /mot-de-passe-oublie/lien/***/ »."""
    return LINK_TOKEN.sub(REDACTED, text)


class RedactLinkTokens(logging.Filter):
    """A logging filter that redacts link tokens in a record's message and its string
    arguments (the path of « Not Found: %s », runserver's request line), keeping every
    record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = path_redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(path_redact(arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: path_redact(value) if isinstance(value, str) else value
                           for key, value in record.args.items()}
        return True
