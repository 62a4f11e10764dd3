"""Every style sheet of the back-office resolves: on each page a staff role reaches (the
sign-in, the home page, the changelists, add, change and history pages of every registered
model, the helpdesk's, the letters' and the requests' pages), every `<link rel=stylesheet>`
answers 200 with the test client (WhiteNoise serves from the finders in tests), and so does
every `@import` of those sheets, resolved against the sheet's own URL as a browser does
(Django's `admin/css/forms.css` imports `widgets.css` by a relative URL)."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, reverse

from accounts.models import StaffRole
from pupils import letters
from tests import html

from .conftest import make_staff, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("letters_here")]
IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)""")


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _sheets_missing(client, page_url: str) -> tuple[int, list[str]]:
    """The page's status and every style sheet (or import of one) that does not answer 200."""
    response = client.get(page_url)
    if response.status_code != 200:
        return response.status_code, []
    missing: list[str] = []
    base = "http://testserver" + page_url
    for link in html.parse(response).select("link[rel~=stylesheet][href]"):
        sheet_url = urljoin(base, link["href"])
        todo, seen = [sheet_url], set()
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            answer = client.get(urlsplit(url).path)
            if answer.status_code != 200:
                missing.append(f"{page_url}: {link['href']} → {urlsplit(url).path} "
                               f"({answer.status_code})")
                continue
            todo += [urljoin(url, target) for target in IMPORT.findall(_body(answer))]
    return 200, missing


def _admin_pages(world) -> list[str]:
    pages = ["/gestion/", "/gestion/password_change/"]
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages += [reverse(f"{info}_changelist"), reverse(f"{info}_add")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            for name in ("change", "history"):
                try:
                    pages.append(reverse(f"{info}_{name}", args=[first.pk]))
                except NoReverseMatch:
                    pass
    return pages


def test_the_sign_in_page_style_sheets_resolve(client):
    status, missing = _sheets_missing(client, reverse("admin:login"))
    assert status == 200 and missing == []


def test_every_back_office_page_style_sheets_resolve(world):
    secretary = make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Secretaire")
    helpdesk = make_staff(StaffRole.HELPDESK, academy=world.academy_a, last_name="Assistance")
    national = make_staff(StaffRole.NATIONAL, last_name="National")
    run = letters.letter_run_request(establishment=world.a1, actor=secretary,
                                     pupil_ids=[world.pupil_a1_bis.pk], delivery="paper")
    common = _admin_pages(world)
    pages = {
        national: common,
        secretary: [
            *common,
            "/gestion/lettres/", f"/gestion/lettres/?etablissement={world.a1.pk}",
            f"/gestion/lettres/{run.pk}/", "/gestion/suivi-des-comptes/",
            f"/gestion/suivi-des-comptes/?etablissement={world.a1.pk}", "/gestion/demandes/",
        ],
        helpdesk: [
            *common,
            "/gestion/assistance/", "/gestion/assistance/?q=lefevre",
            f"/gestion/assistance/comptes/{world.account_a1.pk}/",
            f"/gestion/assistance/fiches/{world.rec_a1.pk}/", "/gestion/demandes/",
        ],
    }
    missing, rendered = [], 0
    for staff, urls in pages.items():
        client = sign_in(Client(), staff)
        for url in urls:
            status, page_missing = _sheets_missing(client, url)
            rendered += status == 200
            missing += page_missing
    assert missing == []
    assert rendered > 40  # the roles' own pages were reached, not only refusals
