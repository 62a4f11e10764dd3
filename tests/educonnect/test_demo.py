"""The demo (issue 13 §6): served on the port one variable names, with the printed URLs
following it; no broker warning when tasks run eagerly."""

import os
import subprocess
import sys
from pathlib import Path

from tests.sqlite import django_on_sqlite

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


def test_the_readme_shows_every_roster_column_with_an_example_line_that_imports():
    """README « Roster format »: the header names the importer's every column (required and
    optional, « classe » included), the table documents each, and the example line is read
    without a rejected row."""
    import re
    import tempfile

    from pupils.roster import COLUMNS, OPTIONAL_COLUMNS, RosterFile, RosterRow

    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Roster format")[1]
    block = re.search(r"```\n(.*?)```", section, re.S).group(1)
    header, _example = block.strip().splitlines()
    assert header.split(";") == [*COLUMNS, *OPTIONAL_COLUMNS]
    documented = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)?", section, re.M))
    assert {name for pair in documented for name in pair if name} == {*COLUMNS,
                                                                        *OPTIONAL_COLUMNS}
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as file:
        file.write(block)
        file.flush()
        rows = list(RosterFile(file.name))
    assert len(rows) == 1 and isinstance(rows[0], RosterRow), rows
    assert rows[0].division == "5B"


def test_the_readme_links_the_demo_page_of_sent_messages():
    from django.urls import reverse

    demo = (ROOT / "README.md").read_text(encoding="utf-8").split("## ")[1]
    url = "http://127.0.0.1:8000" + reverse("notifications:demo_outbox")
    assert f"[{url}]({url})" in demo


DEMO_ACTIVATION = r'''
import re, sys
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from notifications import sms

call_command("migrate", verbosity=0)
call_command("import_roster", "demo/roster.csv", verbosity=0)
browser = Client(HTTP_HOST="127.0.0.1")
page = browser.post(reverse("activation:start"), {
    "last_name": "Bensaïd", "first_name": "Karim", "phone": "06 12 89 01 23"})
assert page.status_code == 302, page.status_code
flow = page["Location"].rstrip("/").split("/")[-2]
url = lambda name: reverse(f"activation:{name}", kwargs={"flow_id": flow})
code = re.search(r"code de sécurité est ([A-Z0-9]{6})", sms.outbox[-1].body).group(1)
assert browser.post(url("code"), {"code": code})["Location"] == url("flow")
pupils = browser.get(url("pupils")).content.decode()
prefixes = {name.split()[0]: prefix for prefix, name in
            re.findall(r'id="(eleve\d+)-title">([^<]+)</h3>', pupils)}
answers = {}
for name, (day, month, year) in {"Adam": ("12", "12", "2018"),
                                 "Yasmine": ("23", "05", "2011")}.items():
    prefix = prefixes[name]
    answers.update({f"{prefix}_lien": "oui", f"{prefix}_jour": day,
                    f"{prefix}_mois": month, f"{prefix}_annee": year})
assert browser.post(url("pupils"), answers)["Location"] == url("flow"), prefixes
done = browser.post(url("password"), {"password": "Cartable-Vert-2024!",
                                      "password_confirm": "Cartable-Vert-2024!"})
page = browser.get(done["Location"], follow=True).content.decode()
found = re.search(r"k\.bensaid\d+", page, re.IGNORECASE)
assert found, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[:1500]
identifier = found.group(0).lower()
services = browser.get(reverse("services_portal:my_services")).content.decode()
assert "Yasmine" in services and "Adam" in services
browser.post(reverse("accounts:logout"))
again = Client(HTTP_HOST="127.0.0.1")
signed_in = again.post(reverse("accounts:login", args=["representant-legal"]),
                       {"identifier": identifier, "password": "Cartable-Vert-2024!"})
assert signed_in.status_code == 302, signed_in.status_code
assert "Yasmine" in again.get(reverse("services_portal:my_services"), follow=True
                              ).content.decode()
print("activated")
'''


def test_the_demo_on_sqlite_activates_a_family_by_sms(tmp_path):
    """The README's demo runs on SQLite, which the test suite (PostgreSQL) never reaches
    otherwise: a family of the demo roster activates by SMS end to end there (SQL written
    for PostgreSQL — arrays, FOR UPDATE — must fall back)."""
    done = django_on_sqlite(DEMO_ACTIVATION, tmp_path,
                            SMS_BACKEND="notifications.sms.LocmemSMSBackend")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("activated")


def test_two_requests_writing_at_once_on_the_demos_sqlite_both_succeed(tmp_path):
    # Two identical POSTs at once (two tabs, a network retry) each read, then write, in a
    # transaction: on SQLite's default deferred transactions both took the read lock and
    # one failed at once, « database is locked », a 500 (tryout of the demo). select_for_update
    # is a no-op there; immediate transactions make the second wait for the first.
    script = (
        "import threading, time, django; django.setup()\n"
        "from django.db import connection, transaction\n"
        "with connection.cursor() as c:\n"
        "    c.execute('CREATE TABLE counter (id integer primary key, n integer)')\n"
        "    c.execute('INSERT INTO counter VALUES (1, 0)')\n"
        "errors = []\n"
        "def request():\n"
        "    try:\n"
        "        with transaction.atomic(), connection.cursor() as c:\n"
        "            c.execute('SELECT n FROM counter WHERE id = 1')\n"
        "            time.sleep(0.3)\n"
        "            c.execute('UPDATE counter SET n = n + 1 WHERE id = 1')\n"
        "    except Exception as error:\n"
        "        errors.append(repr(error))\n"
        "    finally:\n"
        "        connection.close()\n"
        "threads = [threading.Thread(target=request) for _ in range(2)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "with connection.cursor() as c:\n"
        "    c.execute('SELECT n FROM counter')\n"
        "    print(errors, c.fetchone()[0])\n"
    )
    done = django_on_sqlite(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] 2"
