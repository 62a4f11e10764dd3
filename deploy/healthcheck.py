"""Healthchecks of the containers (docker-compose.yml), standard library only.

    python deploy/healthcheck.py web [PATH]   the node answers PATH (default /) with < 500,
                                              asked as the proxy asks (Host, https)
    python deploy/healthcheck.py beat [AGE]   beat's schedule file changed within AGE s (300)

Exit status 0 when healthy, 1 otherwise (Docker's convention).
"""

import glob
import os
import sys
import time
import urllib.error
import urllib.request


def web(path: str = "/") -> bool:
    host = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")[0].strip()
    port = os.environ.get("GUNICORN_BIND", ":8000").rsplit(":", 1)[1]
    bind = os.environ.get("GUNICORN_BIND", "").rsplit(":", 1)[0]
    bind = f"{bind if bind not in ('', '0.0.0.0') else '127.0.0.1'}:{port}"  # noqa: S104
    request = urllib.request.Request(
        f"http://{bind}{path}", headers={"Host": host, "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (loopback)
            return answer.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


def beat(max_age: str = "300") -> bool:
    files = glob.glob(os.environ.get("CELERY_BEAT_SCHEDULE_FILE", "/app/var/celerybeat-schedule")
                      + "*")
    return bool(files) and time.time() - max(os.path.getmtime(f) for f in files) < float(max_age)


if __name__ == "__main__":
    checks = {"web": web, "beat": beat}
    sys.exit(0 if checks[sys.argv[1]](*sys.argv[2:]) else 1)
