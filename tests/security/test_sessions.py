"""Sessions survive a Redis flush (cached_db: read from Redis, kept in PostgreSQL too), and
expired rows are purged (issue 12 §3)."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from core.tasks import sessions_purge_task
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

MY_SERVICES = "/services/"


def _sign_in(client):
    AccountFactory(identifier="m.dupont12")
    response = client.post("/connexion/representant-legal/",
                           {"identifier": "m.dupont12", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get(MY_SERVICES).status_code == 200


@pytest.mark.needs_redis
def test_with_redis_sessions_are_cached_db_and_survive_a_flush(client):
    assert settings.SESSION_ENGINE == "accounts.sessions"  # cached_db, written once
    _sign_in(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    cache.clear()  # FLUSHDB, a restart without persistence, an eviction
    assert client.get(MY_SERVICES).status_code == 200
    # Read back from PostgreSQL, then from Redis again.
    assert cache.get(f"django.contrib.sessions.cached_db{key}") is not None


def test_the_daily_purge_deletes_expired_sessions_only(client, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    _sign_in(client)
    Session.objects.create(session_key="x" * 32, session_data="",
                           expire_date=timezone.now() - timezone.timedelta(seconds=1))
    sessions_purge_task()
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        client.cookies[settings.SESSION_COOKIE_NAME].value]
