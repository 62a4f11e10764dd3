"""« Mes services » kept per account and the roster import (issue 14): the import writes pupils,
records and links in bulk, which sends no model signal; it bumps the version names itself
(pupils.roster_import). Here the school already stands as the roster says, so nothing but
those explicit bumps can make the kept page unusable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from pupils.models import GuardianRecord, Pupil
from pupils.roster_import import roster_import
from tests.factories import AccountFactory
from tests.pupils.test_roster_import import row, write_roster
from tests.services_portal.test_page_cache import children, kept_page, page

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def imported(tmp_path):
    """The collège's roster imported (Lucas, his mother Hélène), then Hélène's account
    covering her record there: a browser signed in to it."""
    roster_import(path=write_roster(tmp_path, [row()], name="first.csv"))
    account = AccountFactory(identifier="h.duprelagarde3", first_name="Hélène",
                             last_name="Dupré-Lagarde")
    record = GuardianRecord.objects.get()
    record.account = account
    record.save()
    client = Client()
    client.force_login(account)
    assert children(kept_page(client)) == ["Lucas DUPRÉ-LAGARDE"]
    return client


def test_a_child_the_import_links_to_a_record_shows_at_once(imported, tmp_path):
    roster_import(path=write_roster(tmp_path, [row(), row(ine="223456789BB",
                                                        eleve_prenoms="Chloé")]))
    assert children(page(imported)) == ["Chloé DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"]


def test_a_child_of_a_new_school_the_import_attaches_shows_at_once(imported, tmp_path):
    roster_import(path=write_roster(tmp_path, [row(
        uai="0750002B", etablissement="École Jean-Jaurès", type_etablissement="ecole",
        ine="323456789CC", eleve_prenoms="Inès", niveau="CM1")]))
    html = page(imported)
    assert children(html) == ["Inès DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"]
    assert "École Jean-Jaurès — niveau : CM1" in html


def test_a_child_the_import_moves_to_another_school_shows_there_at_once(imported, tmp_path):
    """The new school's row gives another address: its record is not Hélène's (issue 11
    §2), so only the school Lucas left, bumped by the import, says that he moved."""
    roster_import(path=write_roster(tmp_path, [row(
        uai="0750003C", etablissement="Collège Albert-Camus", niveau="4EME",
        responsable_email="autre@example.org")]))
    assert GuardianRecord.objects.get(establishment__uai="0750003C").account_id is None
    assert "Collège Albert-Camus — niveau : 4e" in page(imported)




def test_a_child_the_import_renames_shows_renamed_at_once(imported, tmp_path):
    roster_import(path=write_roster(tmp_path, [row(eleve_prenoms="Léo")]))
    assert children(page(imported)) == ["Léo DUPRÉ-LAGARDE"]


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_demo_shows_at_once_what_manage_py_import_roster_imported(settings, tmp_path):
    """The demo (`make demo`: no REDIS_URL) keeps its cache in each process's memory, so the
    bumps of `manage.py import_roster`, another process, never reach the web server's
    memory: a page kept there would show the family as it was before the import (tryout:
    Jade missing, a renamed child under the old name, until a back-office save)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    roster_import(path=write_roster(tmp_path, [row()], name="first.csv"))
    account = AccountFactory(identifier="h.duprelagarde3", first_name="Hélène",
                             last_name="Dupré-Lagarde")
    GuardianRecord.objects.update(account=account)
    client = Client()
    client.force_login(account)
    for _ in range(3):
        assert children(page(client)) == ["Lucas DUPRÉ-LAGARDE"]

    # The tester's command, in a process of its own, on this test's (committed) database.
    database = connection.settings_dict
    env = {**os.environ, "REDIS_URL": "", "DJANGO_DEBUG": "true",
           "DATABASE_URL": (f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@"
                            f"{database['HOST']}:"
                            f"{database['PORT']}/{database['NAME']}")}
    path = write_roster(tmp_path, [row(eleve_prenoms="Léo"), row(
        ine="223456789BB", eleve_prenoms="Jade", eleve_date_naissance="01/02/2014")])
    subprocess.run([sys.executable, "manage.py", "import_roster", str(path), "--no-progress"],
                   cwd=BASE_DIR, env=env, check=True, capture_output=True)
    assert set(Pupil.objects.values_list("first_names", flat=True)) == {"Léo", "Jade"}

    assert children(page(client)) == ["Jade DUPRÉ-LAGARDE", "Léo DUPRÉ-LAGARDE"]
