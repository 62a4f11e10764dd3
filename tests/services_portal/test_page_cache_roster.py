"""« Mes services » kept per account and the roster import (issue 14): the import writes pupils,
records and links in bulk, which sends no model signal; it bumps the version names itself
(pupils.roster_import). Here the school already stands as the roster says, so nothing but
those explicit bumps can make the kept page unusable."""

import pytest
from django.test import Client

from pupils.models import GuardianRecord
from pupils.roster_import import roster_import
from tests.factories import AccountFactory
from tests.pupils.test_roster_import import row, write_roster
from tests.services_portal.test_page_cache import children, kept_page, page

pytestmark = pytest.mark.django_db


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


