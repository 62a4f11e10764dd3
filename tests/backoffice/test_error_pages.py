"""The error pages of back-office addresses (/gestion/): 403, 404 and 400 in the
back-office's frame, in French, leading back to the back-office's index rather than to the
family portal (educonnect.views: permission_denied, page_not_found, bad_request). DEBUG is
False in tests: what production shows."""

import pytest
from django.urls import reverse

from tests import html as h

pytestmark = pytest.mark.django_db

BACK = {"Revenir à l'accueil de l'espace de gestion": "/gestion/"}


def _back_office_error_page(response, status: int, title: str):
    assert response.status_code == status
    page = h.parse(response)
    assert page.find("html")["lang"] == "fr"
    assert h.text(page.find("h1")) == title
    # The back-office's frame, not the families' DSFR one.
    assert h.text(page.find(id="site-name")) == "ÉduConnect — espace de gestion"
    assert page.find("footer", class_="fr-footer") is None
    content = page.find(id="content")
    assert {h.text(a): a["href"] for a in content.find_all("a")} == BACK
    return content


def test_a_secretary_refused_the_helpdesk_is_led_back_to_the_back_office(secretary_client):
    response = secretary_client.get("/gestion/assistance/")
    content = _back_office_error_page(response, 403, "Accès refusé")
    assert "Votre rôle ne donne pas accès à cette page" in h.text(content)


def test_a_record_out_of_scope_is_a_back_office_404(secretary_client, world):
    response = secretary_client.get(f"/gestion/pupils/pupil/{world.pupil_b1.pk}/change/")
    _back_office_error_page(response, 404, "Page introuvable")


def test_an_unknown_back_office_address_is_a_back_office_404(national_client):
    response = national_client.get("/gestion/assistance/nulle-part/")
    _back_office_error_page(response, 404, "Page introuvable")


def test_a_filter_the_list_does_not_offer_is_a_french_400_in_the_back_office(
        national_client):
    response = national_client.get("/gestion/pupils/pupil/",
                                   {"establishment__academy__id__exact": "99"})
    content = _back_office_error_page(response, 400, "Adresse incorrecte")
    text = h.text(content)
    assert "un filtre qui n'est pas proposé sur la page" in text
    assert "DisallowedModelAdminLookup" not in response.content.decode()


def test_the_portals_error_pages_still_lead_to_the_portal(client):
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    page = h.parse(response)
    assert page.find("footer", class_="fr-footer") is not None
    assert page.find("a", string="Revenir à l'accueil d'ÉduConnect")["href"] == "/"


def test_a_host_not_allowed_under_the_back_office_is_a_french_400_not_a_500(client):
    """Refused before the authentication middleware ran (no user): the portal's 400 page."""
    response = client.get("/gestion/", HTTP_HOST="pas-le-bon.example")
    assert response.status_code == 400
    assert h.text(h.parse(response).find("h1")) == "Adresse incorrecte"


def test_a_back_office_page_that_fails_is_a_back_office_500(national_client, monkeypatch):
    # The failure may be the database's: the page reads nothing of it (no staff menu).
    def broken(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr("django.contrib.admin.sites.AdminSite.each_context", broken)
    national_client.raise_request_exception = False
    response = national_client.get("/gestion/")
    content = _back_office_error_page(response, 500, "Erreur du service")
    assert "L'espace de gestion a rencontré un problème" in h.text(content)
    assert "database gone" not in response.content.decode()


def test_a_portal_page_that_fails_is_the_portals_500(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.views.render", broken)
    client.raise_request_exception = False
    response = client.get(reverse("accounts:profile_choice"))
    assert response.status_code == 500
    page = h.parse(response)
    assert page.find("footer", class_="fr-footer") is not None
    assert "Le service a rencontré un problème" in h.text(page)
    assert page.find("a", string="Revenir à l'accueil d'ÉduConnect")["href"] == "/"
