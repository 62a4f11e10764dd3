"""Time limits that can be extended (issue 13 §2, RGAA 13.1): the pages of a flow carry the
warning and its « Prolonger » form; the keep-alive pushes back this browser's flow (never
beyond its maximum age) and nobody else's."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from core.models import Flow
from tests import html as h

pytestmark = pytest.mark.django_db

KEEP_ALIVE = "/session/prolonger/"


def _start(driver, family):
    response = driver.start(last_name=family["last_name"], first_name=family["first_name"],
                            phone=family["phone_typed"])
    assert response.status_code == 302


def test_the_pages_of_a_flow_warn_before_the_session_ends(driver, family, settings):
    settings.SESSION_EXPIRY_WARNING_SECONDS = 90
    assert h.parse(Client().get("/")).find(id="time-limit") is None  # nothing to lose yet
    _start(driver, family)
    box = h.parse(driver.client.get(driver.url("code"))).find(id="time-limit")
    assert box.has_attr("hidden")  # shown by the script, warn_seconds before the end
    assert box["data-seconds"] == str(settings.SESSION_COOKIE_AGE)
    assert box["data-warn-seconds"] == "90"
    button = box.find("button")
    assert button["data-keep-alive"] == KEEP_ALIVE
    assert button.get_text().startswith("Prolonger de 30 minutes")


def test_prolonger_pushes_back_this_browsers_flow_within_its_maximum_age(driver, family,
                                                                         settings):
    start = datetime.datetime(2026, 9, 2, 8, 0, tzinfo=datetime.UTC)
    with freeze_time(start):
        _start(driver, family)
    flow = Flow.objects.get(pk=driver.flow_id)
    assert flow.expires_at == start + datetime.timedelta(seconds=30 * 60)

    # Someone else posting the keep-alive changes nothing.
    with freeze_time(start + datetime.timedelta(minutes=20)):
        Client().post(KEEP_ALIVE, HTTP_X_EDUCONNECT_KEEP_ALIVE="1")
    flow.refresh_from_db()
    assert flow.expires_at == start + datetime.timedelta(minutes=30)

    with freeze_time(start + datetime.timedelta(minutes=28)):
        response = driver.client.post(KEEP_ALIVE, HTTP_X_EDUCONNECT_KEEP_ALIVE="1")
    assert response.status_code == 200
    assert response.json() == {"seconds": settings.SESSION_COOKIE_AGE}
    flow.refresh_from_db()
    assert flow.expires_at == start + datetime.timedelta(minutes=58)
    # The code page still answers (the flow is alive at minute 50).
    with freeze_time(start + datetime.timedelta(minutes=50)):
        assert driver.client.get(driver.url("code")).status_code == 200

    # Kept alive again and again: never beyond the kind's maximum age (2 hours).
    for minute in (55, 80, 105):
        with freeze_time(start + datetime.timedelta(minutes=minute)):
            driver.client.post(KEEP_ALIVE, HTTP_X_EDUCONNECT_KEEP_ALIVE="1")
    flow.refresh_from_db()
    assert flow.expires_at == start + datetime.timedelta(hours=2)


def test_the_keep_alive_needs_its_header_and_a_post(driver, family):
    """Without the header a page's script sends (a cross-site form could not send it), nothing
    is touched."""
    _start(driver, family)
    before = Flow.objects.get(pk=driver.flow_id).expires_at
    assert driver.client.post(KEEP_ALIVE).status_code == 400
    assert driver.client.get(KEEP_ALIVE, HTTP_X_EDUCONNECT_KEEP_ALIVE="1").status_code == 405
    assert Flow.objects.get(pk=driver.flow_id).expires_at == before
    assert reverse("session_keep_alive") == KEEP_ALIVE
