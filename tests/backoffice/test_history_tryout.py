"""A secretary's tryout of the back-office (history pages and yes/no columns): the icons of a
yes/no column are read « Oui »/« Non », a history change names an empty account « (aucun) »
and an identifier in capitals, a phone number as other pages write it, a past version's
page is in French and read-only, and « Modifié par » links only to a page the viewer may
open."""

import pytest
from bs4 import BeautifulSoup

from backoffice.roles import roles_sync

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roles(db):
    roles_sync()


def _changed(record, user=None, **fields):
    for name, value in fields.items():
        setattr(record, name, value)
    if user is not None:
        record._history_user = user
    record.save()


def test_a_yes_no_column_is_read_in_french(secretary_client, world):
    response = secretary_client.get("/gestion/pupils/responsibility/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'alt="Oui"' in page
    assert 'alt="True"' not in page and 'alt="False"' not in page


def test_a_history_change_names_the_account_and_the_phone_as_elsewhere(secretary_client,
                                                                        world):
    record = world.rec_a1
    _changed(record, account=None)
    _changed(record, account=world.account_a1, mobile_phone="+33612345678")
    response = secretary_client.get(f"/gestion/pupils/guardianrecord/{record.pk}/history/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    changes = [li.get_text(" ", strip=True).replace("\xa0", " ")
               for li in soup.select("#change-history li")]
    assert "Compte : (aucun) → H.LEFEVRE12" in changes
    assert "Téléphone portable : +33 6 11 22 33 44 → +33 6 12 34 56 78" in changes
    table = soup.find(id="change-history").get_text(" ", strip=True)
    assert "Deleted" not in table and "+33612345678" not in table
    assert "h.lefevre12" not in table and "H.LEFEVRE12" in table
    assert soup.find(id="change-history").find_parent(attrs={"role": "region"}) is not None


def test_who_changed_is_linked_only_for_whoever_may_open_the_account(
        secretary_client, world, helpdesk_agent):
    record = world.rec_a1
    _changed(record, user=helpdesk_agent, email="helene@exemple.fr")
    response = secretary_client.get(f"/gestion/pupils/guardianrecord/{record.pk}/history/")
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    cells = [row.find_all("td")[-3] for row in soup.select("#change-history tbody tr")]
    assert any(str(helpdesk_agent) in cell.get_text() for cell in cells)
    assert not soup.select('#change-history a[href*="/accounts/account/"]')


def test_a_national_administrator_keeps_the_link_to_who_changed(
        national_client, world, helpdesk_agent):
    record = world.rec_a1
    _changed(record, user=helpdesk_agent, email="helene@exemple.fr")
    response = national_client.get(f"/gestion/pupils/guardianrecord/{record.pk}/history/")
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    link = soup.select_one('#change-history a[href*="/accounts/account/"]')
    assert link is not None and national_client.get(link["href"]).status_code == 200


def test_a_past_version_is_in_french_and_read_only(secretary_client, world):
    record = world.rec_a1
    _changed(record, email="helene@exemple.fr")
    version = record.history.earliest()
    response = secretary_client.get(
        f"/gestion/pupils/guardianrecord/{record.pk}/history/{version.history_id}/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    crumbs = soup.select_one(".breadcrumbs, nav.fr-breadcrumb, #breadcrumbs")
    words = crumbs.get_text(" ", strip=True)
    assert "Pupils" not in words and "Historical" not in words
    assert "Élèves et établissements" in words and "Fiches responsables" in words
    for name in ("mobile_phone", "email"):
        field = soup.find(attrs={"name": name})
        assert field is None or field.has_attr("disabled") or field.has_attr("readonly"), name
    assert soup.find(attrs={"name": "email"})["value"] == "Helene.Lefevre@exemple.fr"
    assert words.endswith("Historique › Version passée")
