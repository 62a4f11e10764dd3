"""Running a Django script on SQLite, the demo's database, which the suite (PostgreSQL)
never reaches otherwise: in a child process of its own, settings read from the environment
as `make demo` does."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_on_sqlite(script: str, tmp_path: Path, **environment: str
                     ) -> subprocess.CompletedProcess:
    """Run `script` (Python source that calls django.setup() itself) with DEBUG on and a
    fresh SQLite file under `tmp_path`, without the suite's broker, database and Redis;
    `environment` adds or overrides variables. Returns the finished process (text output);
    times out after 300 s."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("CELERY_BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_DEBUG="true", DJANGO_SETTINGS_MODULE="educonnect.settings",
               DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", **environment)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
