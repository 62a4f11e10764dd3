"""The footer's pages (issue 13 §5): each link of the footer leads to a page of the portal,
and the pages state what the running product does (retention settings, real cookies, the
audit's own rate). The DEBUG 404 (§6)."""

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.urls import clear_url_caches, reverse

from accounts.limits import DEVICE_COOKIE_NAME
from accounts.middleware import SIGNED_IN_MARKER_COOKIE
from educonnect import pages
from services_portal import page_cache
from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

FOOTER_LINKS = {
    "Plan du site": "Plan du site",
    "Accessibilité : partiellement conforme": "Déclaration d'accessibilité",
    "Mentions légales": "Mentions légales",
    "Données personnelles": "Données personnelles",
    "Gestion des cookies": "Gestion des cookies",
    "Aide et assistance": "Aide et assistance",
}


def _footer_links(page) -> dict[str, str]:
    footer = page.find("footer")
    return {h.text(a): a["href"] for a in footer.find_all("a") if a["href"] != "/"}


@pytest.mark.parametrize("path", ["/", "/activation/", "/connexion/representant-legal/"])
def test_every_footer_link_leads_to_a_page_of_the_portal(client, path):
    links = _footer_links(h.parse(client.get(path)))
    assert set(FOOTER_LINKS) <= set(links)
    for label, heading in FOOTER_LINKS.items():
        response = client.get(links[label])
        assert response.status_code == 200, label
        page = h.parse(response)
        assert h.text(page.find("h1")) == heading
        assert page.find("title").get_text().startswith(heading)
        # A way back from every page (issue 13 §3).
        assert h.main(page).find("a", string=re.compile("Retour à l'accueil"))["href"] == "/"


def test_the_personal_data_page_states_the_retention_settings_in_force(client, settings):
    settings.ACTIVATION_FLOW_RETENTION_DAYS = 12
    settings.LINK_TOKEN_RETENTION_DAYS = 45
    settings.SESSION_COOKIE_AGE = 20 * 60
    settings.SESSION_ABSOLUTE_SECONDS = 6 * 3600
    settings.NOTIFICATIONS_SECRET_MAX_AGE_SECONDS = 25 * 60
    settings.LETTERS_FILE_TTL_SECONDS = 6 * 3600
    table = h.parse(client.get(reverse("pages:personal_data"))).find(id="retention-table")
    rows = {h.text(tr.th): h.text(tr.td) for tr in table.tbody.find_all("tr")}
    activation = next(v for k, v in rows.items() if "Auto-inscription par SMS" in k)
    assert activation == "Supprimée 12 jours après son début."
    assert any("supprimée 45 jours après son expiration" in v for v in rows.values())
    assert rows["Session de connexion"] == (
        "Fermée après 20 minutes sans activité, et au plus tard 6 heures après la connexion.")
    assert any("au plus tard après 25 minutes" in v for v in rows.values())
    assert any(v == "Le fichier est supprimé 6 heures après sa préparation." for v in rows.values())
    # « Mes services » kept in Redis (services_portal.page_cache): its real bound.
    kept = next(v for k, v in rows.items() if k.startswith("Page « Mes services »"))
    assert kept.startswith(f"Au plus {page_cache.MAX_SECONDS // 60} minutes, jamais au-delà")
    # One row per kind of flow the product runs.
    assert sum("Démarche en cours" in k for k in rows) == len(pages.registered_kinds())


def test_the_cookies_page_lists_the_cookies_a_sign_in_really_sets(client):
    AccountFactory(identifier="c.martin12", password=DEFAULT_PASSWORD)
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("accounts:login", args=["representant-legal"]))
    token = page.cookies[django_settings.CSRF_COOKIE_NAME].value
    response = client.post(reverse("accounts:login", args=["representant-legal"]), {
        "identifier": "c.martin12", "password": DEFAULT_PASSWORD,
        "csrfmiddlewaretoken": token,
    })
    assert response.status_code == 302
    set_by_sign_in = set(client.cookies)
    assert set_by_sign_in == {django_settings.SESSION_COOKIE_NAME,
                              django_settings.CSRF_COOKIE_NAME, DEVICE_COOKIE_NAME,
                              SIGNED_IN_MARKER_COOKIE}
    table = h.parse(client.get(reverse("pages:cookies"))).find(id="cookies-table")
    listed = {h.text(tr.th) for tr in table.tbody.find_all("tr")}
    assert listed == set_by_sign_in


def test_the_accessibility_statement_publishes_the_audit_and_its_non_conformities(client):
    page = h.parse(client.get(reverse("pages:accessibility")))
    text = h.text(h.main(page))
    assert "partiellement conforme" in text
    assert f"{pages.audit_rate()} % des critères" in text
    non_conformities = [h.text(li) for li in page.find(id="non-conformities").find_all("li")]
    expected = [row for row in pages.AUDIT if row[2] == "NC"]
    if expected:
        assert len(non_conformities) == len(expected)
        for listed, (criterion, *_rest) in zip(non_conformities, expected, strict=True):
            assert listed.startswith(f"Critère {criterion} ")
    else:
        # Every examined criterion conforms: said so, and the audit said to be partial.
        assert non_conformities == ["Aucune sur les critères examinés."]
        assert "ne couvre pas encore tous les critères du référentiel" in text
    assert "Défenseur des droits" in text
    # How to report a problem: the assistance's contacts.
    assert django_settings.EDUCONNECT_ASSISTANCE_PHONE in text


def test_the_audit_rate_counts_applicable_criteria_only():
    applicable = [row for row in pages.AUDIT if row[2] in ("C", "NC")]
    conforming = [row for row in applicable if row[2] == "C"]
    assert pages.audit_rate() == len(conforming) * 100 // len(applicable)
    # The audit examines a part of the RGAA's criteria: even at 100 % of them the site is
    # « partiellement conforme », as the footer says.
    assert 0 < pages.audit_rate() <= 100


def test_the_help_page_has_the_faq_and_the_assistance_contacts(client):
    page = h.parse(client.get(reverse("pages:help")))
    questions = [h.text(h3) for h3 in h.main(page).find_all("h3")]
    assert "2. Comment créer mon compte ?" in questions
    assert "5. J'ai oublié mon identifiant" in questions
    contacts = page.find(id="assistance-contacts")
    assert django_settings.EDUCONNECT_ASSISTANCE_PHONE in h.text(contacts)
    assert contacts.find("a", href=reverse("assistance:form"))


def test_every_new_password_links_to_the_password_help(client):
    page = h.parse(client.get(reverse("pages:password_help")))
    rules = [h.text(li) for li in page.find(id="password-rules").find_all("li")]
    assert "Doit contenir 1 majuscule" in rules


@pytest.fixture
def debug_urls(settings):
    """DEBUG on, with the middleware settings.py adds in DEBUG."""
    settings.DEBUG = True
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "educonnect.middleware.DebugNotFoundMiddleware"]
    clear_url_caches()
    yield
    clear_url_caches()


def test_in_the_demo_an_unknown_url_shows_the_french_404(client, debug_urls):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    page = h.parse(response)
    assert h.text(page.find("h1")) == "Page introuvable"
    assert page.find("html")["lang"] == "fr"
    # A path that only lacks its final slash is still redirected (CommonMiddleware).
    assert client.get("/aide").status_code == 301


@override_settings(DEBUG=False)
def test_in_production_the_same_404(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    assert h.text(h.parse(response).find("h1")) == "Page introuvable"
