"""How the session store commits (issue 14): a rotation of a session not signed in deletes
the old key in the transaction that writes the new one, that transaction does not wait for
the WAL flush, and nothing of that reaches the other transactions; a signed-in session's
old key, a sign-out, are deleted at once, in a commit that waits (accounts/sessions.py)."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import sessions
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_redis,
              pytest.mark.needs_postgres]

CACHED_SESSION = "django.contrib.sessions.cached_db"
ASYNC = "SET LOCAL synchronous_commit TO OFF"


def written_store(**data) -> sessions.SessionStore:
    store = sessions.SessionStore()
    store.update(data)
    store.save()
    return store


def statements(captured) -> list[list[str]]:
    """Each round trip as the commands of its SQL string (SET LOCAL whole, others by verb)."""
    return [[part if part.startswith("SET") else part.split(" ")[0]
             for part in q["sql"].split("; ")] for q in captured.captured_queries]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_rotation_before_sign_in_deletes_the_old_key_with_the_new_sessions_write():
    store = written_store(flow="activation")
    old = store.session_key
    with CaptureQueriesContext(connection) as at_rotation:
        store.cycle_key()
    # Nothing is deleted yet: the request may still fail.
    assert at_rotation.captured_queries == []
    assert Session.objects.filter(session_key=old).exists()
    with CaptureQueriesContext(connection) as at_save:
        store.save()
    # One round trip: one implicit transaction, whose commit does not wait for the WAL flush.
    assert statements(at_save) == [[ASYNC, "DELETE", "INSERT"]]
    assert not Session.objects.filter(session_key=old).exists()
    assert cache.get(CACHED_SESSION + old) is None
    assert sessions.SessionStore(store.session_key).load() == {"flow": "activation"}
    # SET LOCAL ended with its transaction: the connection's next commits wait again.
    assert synchronous_commit() == "on"


def test_a_request_that_fails_after_a_rotation_leaves_the_old_session_as_it_was():
    store = written_store(flow="activation")
    old = store.session_key
    store.cycle_key()
    store["step"] = "code"
    # No save (SessionMiddleware does not save on a 500): the browser keeps its old cookie.
    assert sessions.SessionStore(old).load() == {"flow": "activation"}
    assert not Session.objects.filter(session_key=store.session_key).exists()


def test_a_signed_in_sessions_rotation_and_a_sign_out_delete_at_once_and_wait_for_the_flush():
    store = written_store(**{"_auth_user_id": "1"})
    old = store.session_key
    with CaptureQueriesContext(connection) as at_rotation:
        store.cycle_key()
    assert statements(at_rotation) == [["DELETE"]]
    assert not Session.objects.filter(session_key=old).exists()
    store.save()
    with CaptureQueriesContext(connection) as at_sign_out:
        store.flush()
    assert statements(at_sign_out) == [["DELETE"]]
    assert not Session.objects.exists()


def test_a_sign_out_after_a_rotation_in_the_same_request_deletes_both_keys():
    store = written_store(flow="recovery")
    old = store.session_key
    store.cycle_key()
    store.flush()
    assert not Session.objects.filter(session_key=old).exists()
    assert cache.get(CACHED_SESSION + old) is None


def test_a_sign_in_from_an_anonymous_session_commits_its_session_once(client):
    AccountFactory(identifier="m.dupont12")
    session = client.session
    session["seen"] = True
    session.save()
    anonymous = session.session_key
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/connexion/representant-legal/",
                               {"identifier": "m.dupont12", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    # The old key deleted and the new session written by one commit that does not wait
    # (there were two that did).
    session_writes = [commands for commands, q in zip(statements(captured),
                                                      captured.captured_queries, strict=True)
                      if "django_session" in q["sql"]]
    assert session_writes == [[ASYNC, "DELETE", "INSERT"]]
    new = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert new != anonymous
    assert not Session.objects.filter(session_key=anonymous).exists()
    assert client.get("/services/").status_code == 200
    assert synchronous_commit() == "on"
