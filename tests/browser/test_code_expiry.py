"""The SMS code's own time limit in Chromium, under Playwright's clock (issue 13 §2, RGAA
13.1, WCAG 2.2.1): on the SMS activation's code page the warning appears two minutes before
the code expires, read at once (an alert), without taking the focus; its « Recevoir un
nouveau code » is reached with Tab and sends a new code; left alone, the page says that the
code has expired and still offers a new one, as the page's only resend. axe finds nothing
moderate or worse."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from core.models import Flow, FlowCode
from tests.browser.a11y import assert_accessible
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

CODE_TTL = 10 * 60  # shorter than the session (30 min): the code's warning comes first


@pytest.fixture
def family(transactional_db):
    college = EstablishmentFactory(uai="0941234X", name="Collège Romain-Rolland")
    record = GuardianRecordFactory(establishment=college, last_name="NGUYEN",
                                   first_name="Linh", mobile_phone="+33622334455")
    ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(
        establishment=college, last_name="NGUYEN", first_names="Bao",
        birth_date=datetime.date(2013, 4, 7)))
    return record


def _tab_to(page, locator, *, limit=20) -> None:
    """Press Tab (only) until `locator` has the focus."""
    handle = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => el === document.activeElement", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def test_the_code_page_warns_before_the_code_expires_and_offers_a_new_code(
        page, live_server, family, sms_folder, settings):
    settings.ACTIVATION_CODE_TTL_SECONDS = CODE_TTL
    settings.CODE_EXPIRY_WARNING_SECONDS = 120
    # The browser's clock runs ahead of the server's: the resend must not wait for it.
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    page.set_viewport_size({"width": 360, "height": 740})
    page.clock.install()
    page.goto(live_server.url + "/activation/")
    page.get_by_label("Nom", exact=True).fill("Nguyen")
    page.get_by_label("Prénom", exact=True).fill("Linh")
    page.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill("0622334455")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    flow = Flow.objects.get()

    warning = page.get_by_role("alert").filter(has_text="Votre code de sécurité va bientôt")
    expect(warning).to_have_count(0)
    code_field = page.get_by_label("Code de sécurité")
    code_field.focus()
    page.keyboard.type("K7P")

    # The page counts from the code's expiry as the server saw it when it rendered the page
    # (a second or two after the send, on a busy machine): five seconds of margin. The
    # deferred script sets its timers before « load »: the clock runs after it.
    page.wait_for_load_state("load")
    page.clock.run_for((CODE_TTL - 125) * 1000)
    expect(warning).to_have_count(0)
    page.clock.run_for(6 * 1000)  # two minutes left: the warning, read at once
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("ne sera plus valable dans moins de 2 min")
    expect(code_field).to_be_focused()  # no focus theft: typing goes on
    expect(code_field).to_have_value("K7P")
    assert_accessible(page, strict=True)

    # The next Tab reaches « Recevoir un nouveau code »; Enter sends one.
    new_code = warning.get_by_role("button", name="Recevoir un nouveau code")
    _tab_to(page, new_code, limit=3)
    page.keyboard.press("Enter")
    expect(page.get_by_text("un nouveau code de sécurité est envoyé")
           ).to_be_visible()
    assert FlowCode.objects.filter(flow=flow).count() == 2
    assert len(list(sms_folder.iterdir())) == 2
    box = page.locator("#code-expiry")
    expect(box).to_be_hidden()  # a new code: the count starts again

    # Left alone: the page says that the code has expired, and still offers a new one.
    page.clock.run_for((CODE_TTL + 1) * 1000)
    expect(box).to_be_visible()
    expect(box.get_by_role("heading")).to_have_text("Votre code de sécurité a expiré")
    expect(box.get_by_text("Demandez un nouveau code pour continuer")).to_be_visible()
    expect(box.get_by_role("button", name="Recevoir un nouveau code")).to_be_visible()
    # One action, one name: « Renvoyer le SMS » is gone, so is « un code … est envoyé au ».
    expect(page.get_by_role("button", name="Renvoyer le SMS")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("nouveau code|Renvoyer"))).to_have_count(1)
    expect(page.get_by_text("un code de sécurité (valable")).to_be_hidden()
    assert_accessible(page, strict=True)
