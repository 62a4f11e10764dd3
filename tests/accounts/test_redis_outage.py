"""The portal sign-in while Redis cannot be reached: the right password signs in (the
session written to and read from PostgreSQL), wrong passwords are still refused past the
limit (the rate limits count in the process's memory) with the usual French message, never
a 5xx; once Redis is back, attempts count in Redis again. A redis-server of the test's own,
really stopped (`outage_redis`, tests/conftest.py)."""

import logging

import pytest
from django.conf import settings
from django.test import override_settings

from accounts.forms import INVALID_LOGIN_MESSAGE as _INVALID_LOGIN_MESSAGE
from accounts.limits import SIGN_IN_PER_IDENTIFIER_AND_IP, sign_in_attempt_admit
from core import ratelimit
from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

SIGN_IN = "/connexion/representant-legal/"
MY_SERVICES = "/services/"
WRONG_PASSWORD = "Mauvais-1!"
INVALID_LOGIN_MESSAGE = str(_INVALID_LOGIN_MESSAGE)


@pytest.fixture
def guardian():
    return AccountFactory(identifier="m.dupont12")


def sign_in(client, password):
    return client.post(SIGN_IN, {"identifier": "m.dupont12", "password": password})


def test_the_right_password_signs_in_and_the_session_holds_while_redis_is_down(
        client, guardian, outage_redis, caplog):
    outage_redis.stop()
    with caplog.at_level(logging.WARNING):
        assert client.get(SIGN_IN).status_code == 200
        response = sign_in(client, DEFAULT_PASSWORD)
        assert response.status_code == 302
        assert response["Location"] == MY_SERVICES
        assert client.get(MY_SERVICES).status_code == 200  # the session, from PostgreSQL
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    outages = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert outages and {r.levelname for r in outages} <= {"WARNING", "ERROR"}
    assert "WARNING" in {r.levelname for r in outages if r.name == "django.contrib.sessions"}
    assert session_key not in caplog.text
    assert DEFAULT_PASSWORD not in caplog.text


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP=3, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_wrong_passwords_past_the_limit_are_refused_by_the_memory_fallback(
        client, guardian, outage_redis, caplog):
    outage_redis.stop()
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            response = sign_in(client, WRONG_PASSWORD)
            assert response.status_code == 200
            assert h.summary_title(h.parse(response)) == INVALID_LOGIN_MESSAGE
        refused = sign_in(client, DEFAULT_PASSWORD)  # even the right one, as with Redis
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 600
    page = h.parse(refused)
    assert h.summary_title(page) == "Connexion momentanément suspendue"
    [alert] = h.alerts(page)
    assert ("Trop de tentatives de connexion ont échoué. Pour protéger les comptes, la "
            "connexion est suspendue : réessayez dans 10 minutes.") in h.text(alert)
    errors = [r for r in caplog.records if r.name == "core.ratelimit"]
    assert [r.levelname for r in errors] == ["ERROR"]  # once, not once per attempt


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP=3, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_once_redis_is_back_attempts_count_in_redis_again(client, guardian, outage_redis):
    outage_redis.stop()
    for _ in range(2):
        assert sign_in(client, WRONG_PASSWORD).status_code == 200
    outage_redis.start()
    assert sign_in(client, WRONG_PASSWORD).status_code == 200
    subject = "m.dupont12\n127.0.0.1"  # accounts.limits: (identifier, client IP)
    assert ratelimit.used(SIGN_IN_PER_IDENTIFIER_AND_IP, subject) == 1  # Redis' count
    assert outage_redis.client().keys("*rl*")  # the windows are in Redis
    # And Redis refuses past the limit again, shared by every process.
    for _ in range(2):
        assert sign_in_attempt_admit(identifier="m.dupont12", ip="127.0.0.1").allowed
    assert sign_in(client, DEFAULT_PASSWORD).status_code == 429
