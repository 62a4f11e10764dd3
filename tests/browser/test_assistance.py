"""The academic assistance form in Chromium (issue 16 §6): a family, keyboard only, reaches
the form from the activation page, sends a request; the helpdesk of that academy finds it in
its queue, answers by e-mail and closes it. axe on every page."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import StaffRole
from assistance.models import AssistanceRequest, Status
from backoffice.roles import roles_sync
from backoffice.services import staff_create
from tests.browser.a11y import assert_accessible
from tests.browser.test_backoffice import STAFF_PASSWORD, sign_in_back_office
from tests.factories import AcademyFactory, EstablishmentFactory


@pytest.fixture
def schools(transactional_db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    roles_sync()
    reunion = AcademyFactory(name="La Réunion")
    return {"academy": reunion,
            "college": EstablishmentFactory(uai="9740002B", name="Collège Leconte-de-Lisle",
                                            academy=reunion)}


def test_a_family_writes_and_the_academys_helpdesk_answers(page, live_server, schools):
    page.goto(live_server.url + reverse("activation:start"))
    page.get_by_role("link", name="écrivez à l'assistance de votre académie").click()
    expect(page.get_by_role("heading", name="Formulaire d'assistance académique")).to_be_visible()
    assert_accessible(page)

    # Sent empty: every error in the summary, each tied to its field.
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.locator("#error-summary")).to_contain_text("Choisissez l'objet de votre demande.")
    expect(page.locator("#id_school_error")).to_contain_text("Saisissez le nom ou le code UAI")
    assert_accessible(page)

    # Keyboard only.
    page.get_by_label("École ou établissement de votre enfant").focus()
    page.keyboard.type("leconte de lisle")
    page.keyboard.press("Tab")
    page.keyboard.type("Yanis BEN SAÏD")
    page.get_by_label("Date de naissance incorrecte").focus()
    page.keyboard.press("Space")
    page.get_by_label("Votre nom").focus()
    page.keyboard.type("Ben Saïd")
    page.keyboard.press("Tab")
    page.keyboard.type("Nadia")
    page.keyboard.press("Tab")
    page.keyboard.type("nadia@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("+33 6 92 12 34 56")
    page.keyboard.press("Tab")
    page.keyboard.type("La date de naissance de Yanis est fausse au collège.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name=re.compile("Votre demande n° \\d+ a été envoyée"))
           ).to_be_visible()
    expect(page.get_by_text("L'assistance de l'académie de La Réunion l'a reçue.", exact=False)
           ).to_be_visible()
    assert_accessible(page)
    item = AssistanceRequest.objects.get()
    assert item.establishment == schools["college"] and str(item.mobile_phone) == "+262692123456"

    agent = staff_create(first_name="Paul", last_name="Hoarau", email="paul@ac-reunion.fr",
                         password=STAFF_PASSWORD, role=StaffRole.HELPDESK,
                         academy=schools["academy"])
    sign_in_back_office(page, live_server, agent.identifier, code_from_page=True)
    page.get_by_role("link", name="Demandes d'assistance").first.click()
    expect(page.get_by_role("heading", name="Demandes d'assistance")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=f"n° {item.pk}").click()
    expect(page.get_by_text("La date de naissance de Yanis est fausse au collège.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.get_by_text("Vous avez pris en charge cette demande.")).to_be_visible()
    page.get_by_label("Réponse à envoyer par mail").fill(
        "Le collège a corrigé la date : vous pouvez reprendre l'activation.")
    page.get_by_role("button", name="Envoyer la réponse").click()
    expect(page.get_by_text("La réponse a été envoyée par mail à la famille.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Clore la demande").click()
    expect(page.get_by_text("La demande est close.")).to_be_visible()

    item.refresh_from_db()
    assert item.status == Status.CLOSED
    replies = [m for m in mail.outbox if "Le collège a corrigé la date" in m.body]
    assert [m.to for m in replies] == [["nadia@example.org"]]
