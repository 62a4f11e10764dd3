"""A POST-only address opened directly (a link, a bookmark, the address bar, a reload): a
French page in the site's frame with a way on, status 405 and the Allow header kept
(educonnect.middleware.MethodNotAllowedPageMiddleware). The back-office's is in
tests/backoffice/test_method_not_allowed_page.py."""


import pytest

from tests import html as h
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _links(page) -> dict[str, str]:
    return {h.text(a): a["href"] for a in h.main(page).find_all("a")}


@pytest.mark.parametrize("path", [
    "/deconnexion/",
    # A fixed id: the parallel workers (pytest-xdist) must collect the same test names.
    "/activation/3f2b8c1e-5d4a-4e7b-9c60-2a1d8e4f7b93/renvoyer-le-sms/",
    "/session/prolonger/",
])
def test_a_post_only_address_opened_directly_is_a_french_page_with_a_way_home(client, path):
    response = client.get(path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = h.parse(response)
    assert page.find("html")["lang"] == "fr"
    assert h.text(page.find("h1")) == "Cette adresse ne s'ouvre pas directement"
    assert "Rien n'a été envoyé ni modifié." in h.text(h.main(page))
    assert _links(page) == {"Revenir à l'accueil d'ÉduConnect": "/"}
    # The DSFR frame: its header and footer.
    assert page.find("header", class_="fr-header") and page.find("footer", class_="fr-footer")


def test_a_signed_in_family_is_offered_my_services(client):
    client.force_login(AccountFactory())
    response = client.get("/deconnexion/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = h.parse(response)
    assert h.text(page.find("h1")) == "Cette adresse ne s'ouvre pas directement"
    assert _links(page) == {"Aller à « Mes services »": "/services/"}


def test_a_405_of_several_methods_keeps_its_allow_header(client):
    # require_http_methods(["GET", "POST"]) refusing a PUT.
    response = client.put("/activation/")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    assert h.text(h.parse(response).find("h1")) == "Cette adresse ne s'ouvre pas directement"
