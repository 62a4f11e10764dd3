"""Read-only foreign keys link only to pages the viewer may open (a tryout finding): an
establishment's page showed its academy as a link, and a school secretary or a helpdesk
agent, who may not open academies, got a 403 from it. The name stays, as plain text; a
national administrator keeps the link. Every link of the main part of a secretary's and an
agent's record and history pages opens."""

import pytest
from bs4 import BeautifulSoup

from backoffice.roles import roles_sync

from .conftest import sign_in

pytestmark = pytest.mark.django_db
ACADEMY_PAGE = "/gestion/pupils/academy/{pk}/change/"


@pytest.fixture(autouse=True)
def _roles(db):
    roles_sync()


def _academy_row(client, establishment):
    response = client.get(f"/gestion/pupils/establishment/{establishment.pk}/change/")
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return soup.select_one(".form-row.field-academy")


@pytest.mark.parametrize("who", ["secretary", "helpdesk_agent"])
def test_the_academy_is_named_not_linked_for_whoever_may_not_open_it(world, who, request,
                                                                    client):
    sign_in(client, request.getfixturevalue(who))
    row = _academy_row(client, world.a1)
    assert row.label.get_text(strip=True).replace("\xa0", " ") == "Académie :"
    assert row.select_one(".readonly").get_text(strip=True) == "Créteil"
    assert row.find("a") is None
    assert client.get(ACADEMY_PAGE.format(pk=world.academy_a.pk)).status_code == 403


def test_a_national_administrator_keeps_the_academy_and_its_link(world, national_admin,
                                                                  client):
    sign_in(client, national_admin)
    row = _academy_row(client, world.a1)
    assert row.select_one("select option[selected]").get_text(strip=True) == "Créteil"
    link = row.find("a", class_="change-related")
    assert link["data-href-template"].startswith("/gestion/pupils/academy/__fk__/change/")
    assert client.get(ACADEMY_PAGE.format(pk=world.academy_a.pk)).status_code == 200


@pytest.mark.parametrize("who", ["secretary", "helpdesk_agent"])
def test_every_link_of_a_record_or_history_page_opens(world, who, request, client):
    sign_in(client, request.getfixturevalue(who))
    pages = [f"/gestion/pupils/{model}/{pk}/{view}/"
             for model, pk in (("establishment", world.a1.pk), ("pupil", world.pupil_a1.pk),
                               ("guardianrecord", world.rec_a1.pk),
                               ("responsibility", world.link_a1.pk))
             for view in ("change", "history")]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        main = BeautifulSoup(response.content.decode(), "html.parser").find(id="content-main")
        for link in main.find_all("a", href=True):
            href = link["href"]
            if not href.startswith("/gestion/") or "/logout" in href:
                continue
            opened = client.get(href)
            assert opened.status_code in (200, 302), f"{page} links to {href}: {opened}"
