"""A back-office address that only takes a form's POST, opened directly: the back-office's
frame, in French, with a link to its index, status 405 and Allow kept
(educonnect.middleware.MethodNotAllowedPageMiddleware)."""

import pytest

from tests import html as h

pytestmark = pytest.mark.django_db


def test_the_helpdesk_identifier_address_opened_directly_is_a_back_office_page(
        helpdesk_client, locked_account):
    response = helpdesk_client.get(f"/gestion/assistance/comptes/{locked_account.pk}/identifiant/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = h.parse(response)
    assert page.find("html")["lang"] == "fr"
    assert h.text(page.find("h1")) == "Cette adresse ne s'ouvre pas directement"
    content = page.find(id="content")
    assert "Rien n'a été envoyé ni modifié." in h.text(content)
    links = {h.text(a): a["href"] for a in content.find_all("a")}
    assert links == {"Revenir à l'accueil de l'espace de gestion": "/gestion/"}
    # The back-office's frame, not the families' DSFR one.
    assert h.text(page.find(id="site-name")) == "ÉduConnect — espace de gestion"
    assert page.find("footer", class_="fr-footer") is None


def test_the_back_office_sign_out_opened_directly_is_a_back_office_page(helpdesk_client):
    response = helpdesk_client.get("/gestion/logout/")
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert h.text(h.parse(response).find("h1")) == "Cette adresse ne s'ouvre pas directement"
