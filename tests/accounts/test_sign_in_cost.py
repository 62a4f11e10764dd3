"""What a successful sign-in costs the stores (issue 14): its session written once, the
statements and Redis round trips of the POST, and the hand-written SQL of the sign-in path
reading and writing what the ORM would."""

import pytest
import redis.connection
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import sessions
from accounts.authn import SIGN_IN_METHODS_KEY
from accounts.backends import account_by_identifier
from accounts.models import Account
from accounts.my_account.selectors import EMAIL_CHANGE_PURPOSE, email_to_check
from core.journal import EventKind, journal_record
from core.models import JournalEvent, LinkToken
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

SIGN_IN = "/connexion/representant-legal/"
CACHED_SESSION = "django.contrib.sessions.cached_db"


@pytest.fixture
def guardian():
    return AccountFactory(identifier="m.dupont12", phone="+33612345678")


def sign_in(client):
    response = client.post(SIGN_IN, {"identifier": "m.dupont12", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return response


def session_statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "django_session" in q["sql"]]


@pytest.mark.needs_redis
def test_a_sign_in_writes_its_new_session_once_in_both_stores(client, guardian):
    assert settings.SESSION_ENGINE == "accounts.sessions"
    with CaptureQueriesContext(connection) as captured:
        response = sign_in(client)
    written = session_statements(captured)
    # One INSERT; no lookup of the new key, no second write of the same session.
    assert len(written) == 1 and written[0].startswith("INSERT"), written
    key = response.cookies[settings.SESSION_COOKIE_NAME].value
    stored = Session.objects.get(session_key=key).get_decoded()
    assert stored[SIGN_IN_METHODS_KEY] == ["pwd"]
    assert cache.get(CACHED_SESSION + key)[SIGN_IN_METHODS_KEY] == ["pwd"]
    assert client.get("/services/").status_code == 200


@pytest.mark.needs_redis
def test_a_new_key_already_taken_never_overwrites_that_session(client, guardian, monkeypatch):
    """The key is not looked up before the INSERT: the unique index refuses a taken one and
    another key is drawn, so another person's session is never replaced."""
    taken = "a" * 32
    Session.objects.create(session_key=taken, session_data="someone else's",
                           expire_date=timezone.now() + timezone.timedelta(hours=1))
    keys = iter([taken, "b" * 32])
    monkeypatch.setattr(sessions.SessionStore, "_get_new_session_key",
                        lambda self: next(keys))
    response = sign_in(client)
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == "b" * 32
    assert Session.objects.get(session_key=taken).session_data == "someone else's"
    assert SIGN_IN_METHODS_KEY in Session.objects.get(session_key="b" * 32).get_decoded()


@pytest.mark.needs_redis
def test_a_new_session_asked_to_be_created_on_a_taken_key_says_so(db):
    from django.contrib.sessions.backends.base import CreateError

    Session.objects.create(session_key="c" * 32, session_data="",
                           expire_date=timezone.now() + timezone.timedelta(hours=1))
    store = sessions.SessionStore()
    store.create()
    store._session_key = "c" * 32
    store["x"] = 1
    with pytest.raises(CreateError):
        store.save(must_create=True)


@pytest.mark.needs_redis
def test_a_sign_in_post_makes_six_statements_and_three_redis_round_trips(
        client, guardian, monkeypatch):
    """From a new browser: the account, last_login, the guardian records' notice, the
    pending address, the journal row, the session; Redis: the limits' script, their
    clearing, the session's SET. (They were 10 statements and 5 round trips.)"""
    round_trips = []
    send = redis.connection.AbstractConnection.send_packed_command
    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command",
                        lambda self, *args, **kwargs: round_trips.append(1)
                        or send(self, *args, **kwargs))
    with CaptureQueriesContext(connection) as captured:
        sign_in(client)
    statements = [q["sql"] for q in captured.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 6, statements
    assert len(round_trips) == 3


def test_the_account_lookup_reads_what_the_orm_reads(guardian):
    found = account_by_identifier("\u200bM.Dupont12 ")
    expected = Account.objects.get(pk=guardian.pk)
    assert found.pk == guardian.pk and not found._state.adding
    for field in Account._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    assert str(found.phone) == "+33612345678"  # a PhoneNumber, as the ORM gives it
    assert account_by_identifier("m.dupont13") is None


def test_the_pending_address_is_the_latest_live_link(guardian):
    guardian.email, guardian.email_verified = "ancienne@example.fr", False
    now = timezone.now()

    def link(email, digest, **dates):
        LinkToken.objects.create(
            purpose=EMAIL_CHANGE_PURPOSE, account=guardian, digest=digest,
            payload={"email": email}, expires_at=dates.pop("expires_at", now
                                                            + timezone.timedelta(hours=1)),
            **dates)

    assert email_to_check(guardian) == "ancienne@example.fr"
    link("expiree@example.fr", "1" * 64, created_at=now - timezone.timedelta(hours=1),
         expires_at=now - timezone.timedelta(seconds=1))
    link("utilisee@example.fr", "2" * 64, used_at=now)
    assert email_to_check(guardian) == "ancienne@example.fr"
    link("premiere@example.fr", "3" * 64, created_at=now - timezone.timedelta(minutes=5))
    link("nouvelle@example.fr", "4" * 64, created_at=now)
    link("annulee@example.fr", "5" * 64, created_at=now + timezone.timedelta(seconds=1),
         revoked_at=now)
    assert email_to_check(guardian) == "nouvelle@example.fr"


def test_a_journal_row_is_written_as_the_orm_would(rf, guardian):
    request = rf.get("/", REMOTE_ADDR="192.0.2.7")
    event = journal_record(EventKind.LOGIN_SUCCEEDED, request=request, account=guardian,
                           profile="guardian", counts=[1, 2])
    stored = JournalEvent.objects.get(pk=event.pk)
    assert (stored.kind, stored.account_id, stored.actor_id, stored.ip_address, stored.data) \
        == ("login_succeeded", guardian.pk, None, "192.0.2.7", {"profile": "guardian",
                                                                   "counts": [1, 2]})
    assert stored.at == event.at
    with pytest.raises(ValueError):
        journal_record(EventKind.LOGIN_FAILED, account=guardian, password="x")
