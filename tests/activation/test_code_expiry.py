"""The SMS code's own time limit on the code page (issue 13 §2, RGAA 13.1, WCAG 2.2.1): the
page counts from the codes' real expiry, warns before it (static/js/code-expiry.js) with
« Recevoir un nouveau code », and, once the code has expired, says so and offers the same
resend — never a dead end. One component (core.code_step) for every flow's code page."""

import datetime

import pytest
from freezegun import freeze_time

from core.models import FlowCode
from notifications import sms
from tests import html as h

pytestmark = pytest.mark.django_db

START = datetime.datetime(2026, 9, 2, 8, 0, tzinfo=datetime.UTC)


def _start(driver, family):
    response = driver.start(last_name=family["last_name"], first_name=family["first_name"],
                            phone=family["phone_typed"])
    assert response.status_code == 302


def _box(driver):
    return h.parse(driver.client.get(driver.url("code"))).find(id="code-expiry")


def _resend_button(box, driver):
    form = box.find("form")
    assert form["method"] == "post" and form["action"] == driver.url("resend")
    return form.find("button")


def test_the_page_counts_from_the_codes_expiry_and_offers_a_new_code_in_the_warning(
        driver, family, settings):
    settings.CODE_EXPIRY_WARNING_SECONDS = 90
    with freeze_time(START):
        _start(driver, family)
    # Twelve minutes later (a reload, another tab): 18 minutes left, not 30.
    with freeze_time(START + datetime.timedelta(minutes=12)):
        box = _box(driver)
    assert box.has_attr("hidden")  # shown by the script, 90 s before the end
    assert box["role"] == "alert"
    assert box["data-seconds-left"] == str(18 * 60)
    assert box["data-warn-seconds"] == "90"
    assert h.text(box.find("h2")) == "Votre code de sécurité va bientôt expirer"
    assert "dans moins de 2 min" in h.text(box)
    assert h.text(_resend_button(box, driver)) == "Recevoir un nouveau code"


def test_an_expired_code_says_so_and_the_resend_in_it_restarts_the_count(
        driver, family, settings):
    settings.ACTIVATION_CODE_TTL_SECONDS = 10 * 60  # shorter than the flow's idle lifetime
    with freeze_time(START):
        _start(driver, family)
    assert len(sms.outbox) == 1
    later = START + datetime.timedelta(minutes=11)
    with freeze_time(later):
        box = _box(driver)
        assert not box.has_attr("hidden") and box["data-seconds-left"] == "0"
        assert h.alerts(h.parse(driver.client.get(driver.url("code"))))
        assert h.text(box.find("h2")) == "Votre code de sécurité a expiré"
        assert box.find(attrs={"data-code-expiry-warning": True}).has_attr("hidden")
        assert "Demandez un nouveau code pour continuer" in h.text(box)
        _resend_button(box, driver)
        page = driver.page(driver.resend())
        box = _box(driver)
    assert "un nouveau code de sécurité est envoyé" in page
    assert len(sms.outbox) == 2
    assert box.has_attr("hidden") and box["data-seconds-left"] == str(10 * 60)
    assert FlowCode.objects.filter(flow_id=driver.flow_id).count() == 2



def test_an_expired_code_page_says_nothing_was_just_sent_and_offers_one_named_resend(
        driver, family, settings):
    """Once the code has expired, the page no longer says that a code is sent (« valable
    10 min »), offers one resend only, and the expired code's message names that button."""
    settings.ACTIVATION_CODE_TTL_SECONDS = 10 * 60  # shorter than the flow's idle lifetime
    with freeze_time(START):
        _start(driver, family)
        code = driver.last_code()
    with freeze_time(START + datetime.timedelta(minutes=11)):
        driver.send_code(code)
        page = h.parse(driver.client.get(driver.url("code")))
    text = h.text(h.main(page))
    assert "un code de sécurité (valable" not in text
    assert "Le délai de 10 minutes pour saisir le code de sécurité est dépassé" in text
    resend_forms = [f for f in page.find_all("form") if f.get("action") == driver.url("resend")]
    assert [h.text(f.find("button")) for f in resend_forms] == ["Recevoir un nouveau code"]
    assert "Renvoyer le SMS" not in text
    error = h.summary_links(page)[0][1]
    assert error.endswith("Demandez un nouveau code avec le bouton « Recevoir un nouveau code ».")
