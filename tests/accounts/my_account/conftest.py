"""Fixtures of « Mon compte »: a guardian signed in through the real sign-in form, SMS in the
locmem outbox sent at each commit (as in production, after the transaction)."""

import re

import pytest
from django.urls import reverse

from notifications import sms
from tests.factories import DEFAULT_PASSWORD, AccountFactory

CODE_IN_SMS = re.compile(r"saisissez le code ([A-Z0-9]{6})")
NEW_PASSWORD = "Trousse-Bleue-2025?"


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def guardian(db):
    return AccountFactory(identifier="a.benali14", first_name="Amina", last_name="Benali",
                          phone="+33612345678", phone_verified=True,
                          email="amina.benali@example.org", email_verified=True)


def sign_in(client, identifier="a.benali14", password=DEFAULT_PASSWORD):
    response = client.post(reverse("accounts:login", args=["representant-legal"]),
                           {"identifier": identifier, "password": password})
    assert response.status_code == 302, response.status_code
    return client


@pytest.fixture
def signed_in(client, guardian):
    return sign_in(client)
