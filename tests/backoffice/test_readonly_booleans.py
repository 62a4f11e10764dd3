"""Read-only yes/no values of the back-office's forms are read « Oui »/« Non », as its lists'
icons are (test_history_tryout.py): a read-only field (an account's « Adresse vérifiée »), a
past version of a record, the links of a record one may only consult, and a history's
changes (« Représentant légal : non → oui », as its columns say « oui »/« non »)."""

import re

import pytest
from bs4 import BeautifulSoup

from backoffice.roles import roles_sync

pytestmark = pytest.mark.django_db

ENGLISH = re.compile(r"\b(True|False)\b")


@pytest.fixture(autouse=True)
def _roles(db):
    roles_sync()


def _readonly_words(html: str) -> list[str]:
    """Each read-only value's icon, as a screen reader or a page without images reads it."""
    soup = BeautifulSoup(html, "html.parser")
    cells = ".readonly img, td.field-is_legal_representative img"
    return [img["alt"] for img in soup.select(cells)]


def test_an_accounts_read_only_yes_no_fields_say_oui_non(national_client, world):
    account = world.account_a1
    account.phone_verified = True
    account.save(update_fields=["phone_verified"])
    response = national_client.get(f"/gestion/accounts/account/{account.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not ENGLISH.search(html.split("<body", 1)[1]), ENGLISH.findall(html)
    words = _readonly_words(html)
    assert "Oui" in words and "Non" in words


def test_a_past_version_of_an_account_says_oui_non(national_client, world):
    account = world.account_a1
    account.email_verified = True
    account.save()
    version = account.history.earliest()
    response = national_client.get(
        f"/gestion/accounts/account/{account.pk}/history/{version.history_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not ENGLISH.search(html.split("<body", 1)[1]), ENGLISH.findall(html)
    assert "Oui" in _readonly_words(html) or "Non" in _readonly_words(html)


def test_the_links_of_a_record_the_helpdesk_consults_say_oui(helpdesk_client, world):
    response = helpdesk_client.get(f"/gestion/pupils/guardianrecord/{world.rec_a1.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not ENGLISH.search(html.split("<body", 1)[1]), ENGLISH.findall(html)
    assert _readonly_words(html) == ["Oui"]


def test_a_history_change_of_a_yes_no_field_is_in_words(secretary_client, world):
    link = world.link_a1
    link.is_legal_representative = False
    link.save()
    response = secretary_client.get(f"/gestion/pupils/responsibility/{link.pk}/history/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    changes = [li.get_text(" ", strip=True).replace("\xa0", " ")
               for li in soup.select("#change-history li")]
    assert "Représentant légal : oui → non" in changes, changes
    assert not ENGLISH.search(soup.find(id="change-history").get_text())
