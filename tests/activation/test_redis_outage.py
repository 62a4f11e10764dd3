"""The SMS activation's first step while Redis cannot be reached: the code is sent and its
page shown (the flow in PostgreSQL, the session too), and the limit per IP address still
refuses with its French message (counted in the process's memory), never a 5xx. A
redis-server of the test's own, really stopped (`outage_redis`, tests/conftest.py)."""

from html import unescape

import pytest
from django.test import Client

from core.models import Flow
from notifications import sms

from .conftest import Driver

pytestmark = pytest.mark.django_db


def test_the_first_step_sends_the_code_while_redis_is_down(driver, family, outage_redis):
    outage_redis.stop()
    assert driver.client.get("/activation/").status_code == 200
    response = driver.start(last_name="ben said", first_name="nadia", phone="0692 12 34 56")
    assert response.status_code == 302
    page = driver.client.get(driver.url("code"))
    assert page.status_code == 200
    text = unescape(page.content.decode())
    assert "Vérifiez vos SMS" in text
    assert "Étape 2 sur 5" in text
    assert [m.to for m in sms.outbox] == ["+262692123456"]
    # The code typed on the next page is checked (the flow and the session in PostgreSQL).
    assert driver.send_code(driver.last_code()).status_code == 302
    assert "Je confirme mon lien avec les élèves" in unescape(
        driver.client.get(driver.url("pupils")).content.decode())


def test_the_limit_per_ip_still_refuses_while_redis_is_down(
        family, settings, outage_redis, django_capture_on_commit_callbacks):
    settings.ACTIVATION_MAX_SENDS_PER_IP = 2
    outage_redis.stop()
    responses = []
    for index in range(3):
        driver = Driver(Client(REMOTE_ADDR="203.0.113.7"), django_capture_on_commit_callbacks)
        responses.append(driver.start(last_name="Durand", first_name="Léa",
                                      phone=f"06 12 34 56 {70 + index}"))
    assert [r.status_code for r in responses] == [302, 302, 429]
    refused = unescape(responses[-1].content.decode())
    assert "depuis votre connexion internet" in refused
    assert "Réessayez dans 60 minutes." in refused
    assert Flow.objects.count() == 2
