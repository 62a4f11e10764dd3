"""Session lifetimes after sign-in: idle (renewed by activity) and absolute (whatever the
activity), and the session cookie's attributes."""

import time

import pytest
from django.conf import settings
from django.test import override_settings
from freezegun import freeze_time

from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

MY_SERVICES = "/services/"
SIGN_IN = "/connexion/representant-legal/"


@pytest.fixture
def guardian():
    return AccountFactory(identifier="m.dupont12")


def sign_in(client):
    response = client.post(SIGN_IN, {"identifier": "m.dupont12", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return response


def signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/?next=")


def test_session_cookie_attributes(client, guardian):
    cookie = sign_in(client).cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE == 30 * 60
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE


# The store's own clock: frozen time can move the database's, not Redis's. This test pins the
# database store to check the rule at its real scale; the next one checks the configured store.
@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def test_idle_lifetime_is_renewed_by_activity_then_ends(client, guardian):
    idle = settings.SESSION_COOKIE_AGE
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        frozen.tick(idle - 60)
        assert client.get(MY_SERVICES).status_code == 200
        frozen.tick(idle - 60)  # longer than the idle lifetime since sign-in, not since use
        assert client.get(MY_SERVICES).status_code == 200
        frozen.tick(idle + 1)
        assert signed_out(client.get(MY_SERVICES))


@override_settings(SESSION_COOKIE_AGE=4)
def test_idle_lifetime_on_the_real_clock_of_the_configured_store(client, guardian):
    """Whatever the session store (database, or Redis in production), activity renews the
    session and an idle session dies on the server."""
    sign_in(client)
    time.sleep(1.5)
    assert client.get(MY_SERVICES).status_code == 200
    time.sleep(2)  # 3.5 s since sign-in, 2 s since the last request (2 s of margin)
    assert client.get(MY_SERVICES).status_code == 200
    time.sleep(5)
    assert signed_out(client.get(MY_SERVICES))


def test_absolute_lifetime_ends_even_an_active_session(client, guardian):
    absolute = settings.SESSION_ABSOLUTE_SECONDS
    step = 20 * 60  # active every 20 minutes: the idle lifetime never ends this session
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        elapsed = 0
        while elapsed + step < absolute:
            frozen.tick(step)
            elapsed += step
            assert client.get(MY_SERVICES).status_code == 200, f"after {elapsed} s"
        frozen.tick(absolute - elapsed + 1)
        assert signed_out(client.get(MY_SERVICES))
        # Signing in again starts a new absolute lifetime.
        sign_in(client)
        assert client.get(MY_SERVICES).status_code == 200


def test_sign_in_records_last_login_without_adding_an_audit_row(client, db):
    from tests.factories import DEFAULT_PASSWORD, AccountFactory

    account = AccountFactory()
    history_before = account.history.count()

    client.post(
        "/connexion/representant-legal/",
        {"identifier": account.identifier, "password": DEFAULT_PASSWORD},
    )

    account.refresh_from_db()
    assert account.last_login is not None
    assert account.history.count() == history_before


def test_a_new_password_ends_every_other_session_and_keeps_the_one_that_set_it(guardian):
    from django.test import Client, RequestFactory

    from accounts.services import account_password_set
    from core.models import JournalEvent

    phone, laptop = Client(), Client()
    sign_in(phone)
    sign_in(laptop)
    assert phone.get(MY_SERVICES).status_code == 200

    # The laptop's session changes the password; the phone's session is over.
    request = RequestFactory().post("/")
    request.session = laptop.session
    request.user = guardian
    account_password_set(account=guardian, password="Nouveau-Mot-2026!", reason="my_account",
                         request=request)
    request.session.save()
    laptop.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key

    assert signed_out(phone.get(MY_SERVICES))
    assert laptop.get(MY_SERVICES).status_code == 200
    event = JournalEvent.objects.get(kind="password_changed")
    assert event.account_id == guardian.pk
    assert event.data == {"reason": "my_account"}


def test_an_unchanged_session_is_saved_only_once_its_last_save_is_old(client, guardian):
    """Issue 14: the idle lifetime is renewed without a store write at every request. Within
    the refresh interval a page sends no session cookie and leaves the store's entry as it
    was; past it, the session is saved again and its cookie renewed."""
    from accounts.middleware import session_refresh_interval

    interval = session_refresh_interval()
    assert 0 < interval <= settings.SESSION_COOKIE_AGE / 10
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        frozen.tick(interval / 2)
        quiet = client.get(MY_SERVICES)
        assert quiet.status_code == 200
        assert settings.SESSION_COOKIE_NAME not in quiet.cookies
        frozen.tick(interval)
        renewed = client.get(MY_SERVICES)
        assert renewed.status_code == 200
        assert renewed.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == (
            settings.SESSION_COOKIE_AGE
        )


def test_a_visitor_without_a_session_gets_none_from_the_refresh(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_a_sign_in_commits_its_writes_once(client):
    """Issue 14: last_login, the journal row and the other writes of a successful sign-in
    are written in one transaction (one commit, one WAL flush), not in autocommits."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.models import JournalEvent

    account = AccountFactory(identifier="m.dupont12")
    with CaptureQueriesContext(connection) as captured:
        sign_in(client)
    sqls = [q["sql"] for q in captured.captured_queries]
    statements = [sql.split()[0].upper() for sql in sqls]
    # The sign-in's own writes (the session store's, with cached_db, are the store's).
    writes = [i for i, s in enumerate(statements)
              if s in ("INSERT", "UPDATE", "DELETE") and "django_session" not in sqls[i]]
    # last_login, the journal row, and whatever receivers of user_logged_in write (the
    # guardian records' follow-up since issue 9): all of them in the one block below.
    assert any('"last_login"' in sqls[i] for i in writes)
    assert any("accounts_journalevent" in sqls[i] for i in writes)
    account.refresh_from_db()
    assert account.last_login is not None
    assert JournalEvent.objects.filter(account=account, kind="login_succeeded").exists()
    # Both inside one atomic block (a savepoint here, the test's transaction being
    # outermost; a transaction in production): opened before the first, released after the
    # last, nothing opened or closed between them.
    opened = [i for i, s in enumerate(statements) if s == "SAVEPOINT"]
    released = [i for i, s in enumerate(statements) if s == "RELEASE"]
    assert [i for i in opened if i < writes[0]]
    assert [i for i in released if i > writes[-1]]
    assert not [i for i in opened + released if writes[0] < i < writes[-1]]
