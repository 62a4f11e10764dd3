"""gunicorn's configuration for the web nodes (docker-compose.yml's `web`).

Everything a deployment changes is an environment variable: GUNICORN_BIND (where the node
listens, default 0.0.0.0:8000, the proxy's upstream), GUNICORN_WORKERS (processes per node,
default 2 × CPU + 1 capped at 8), GUNICORN_TIMEOUT (seconds a request may take before its
worker is restarted, default 30: above every provider timeout a request could meet, since
requests never call a provider).

The access log never holds a query string nor a Referer: helpdesk and admin searches
(`?q=…`) carry names, phone numbers and identifiers (issue 12 §3). It reads
`<peer> [<time>] "<METHOD> <path> <protocol>" <status> <bytes> <µs>`.
"""

import multiprocessing
import os
import sys
from pathlib import Path

from gunicorn import glogging

# The project's root (the image's /app), for the one module shared with the application.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from educonnect.log_redaction import path_redact

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# The application is imported once by the master, then forked: workers start at once and
# share its memory pages. Django opens database and Redis connections lazily, per worker.
preload_app = True
graceful_timeout = 30
# Longer than the proxy's keepalive_timeout to its upstreams (deploy/nginx), so that the
# proxy, not gunicorn, closes idle connections.
keepalive = 75
accesslog = "-"
errorlog = "-"
# %(U)s is the path without its query string; no %(r)s, %(q)s or %(f)s (Referer).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)s'


class RedactingLogger(glogging.Logger):
    """gunicorn's logger, the link tokens of paths replaced by *** in the access log
    (educonnect/log_redaction.py: a password-reset link works from any browser for an hour)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = path_redact(atoms["U"])
        return atoms


logger_class = RedactingLogger
# The client's address comes from X-Forwarded-For, read by the application
# (core.http.client_ip with TRUSTED_PROXY_COUNT), not by gunicorn.
