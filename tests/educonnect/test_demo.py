"""The demo (issue 13 §6): served on the port one variable names, with the printed URLs
following it; no broker warning when tasks run eagerly."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_serves_on_the_port_given_and_its_urls_follow():
    plan = subprocess.run(["make", "-n", "demo", "PORT=8091"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    commands = [line for line in plan.splitlines() if "manage.py" in line]
    assert commands, plan
    # Every step sees the same public address (demo_accounts prints it, e-mails link to it).
    assert all("EDUCONNECT_SITE_URL=http://127.0.0.1:8091" in line for line in commands)
    assert commands[-1].endswith("manage.py runserver 127.0.0.1:8091")


def test_the_demo_without_a_broker_sends_eagerly_without_a_broker_warning():
    env = {key: value for key, value in os.environ.items()
           if key not in ("CELERY_BROKER_URL", "DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_DEBUG="true", DJANGO_SETTINGS_MODULE="educonnect.settings")
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from educonnect.celery import app\n"
        "assert settings.CELERY_TASK_ALWAYS_EAGER\n"
        "with app.connection_for_write() as connection: print(connection.info()['transport'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("memory")
    assert "No hostname was supplied" not in done.stderr
