"""When Redis cannot be reached (core/cache.py, « When Redis is unreachable »): the clients'
short timeouts, the rate limits counted in the process's memory then in Redis again, the
version tokens and the sessions going on without it. Real servers only: a redis-server of
the test's own, stopped (`outage_redis`), or a listener that never answers."""

import datetime
import logging
import socket
import threading
import time

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from freezegun import freeze_time

from accounts.sessions import SessionStore, stale_keys_count
from core import ratelimit
from core.cache import redis_options
from core.versions import versions_bump, versions_ensure, versions_get, versions_settle

RULE = ratelimit.Rule("test:outage", "TEST_LIMIT", "TEST_WINDOW")
OTHER = ratelimit.Rule("test:outage-other", "TEST_LIMIT", "TEST_WINDOW")


@pytest.fixture(autouse=True)
def _limit_settings(settings):
    settings.TEST_LIMIT = 3
    settings.TEST_WINDOW = 60


def ratelimit_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "core.ratelimit"]


@pytest.fixture
def silent_redis():
    """A TCP listener on 127.0.0.1 that accepts connections and never answers: a Redis that
    hangs. Yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


# --- Timeouts ------------------------------------------------------------------------------


def test_the_clients_get_short_timeouts_from_the_settings(settings, outage_redis):
    settings.REDIS_SOCKET_CONNECT_TIMEOUT = 0.2
    settings.REDIS_SOCKET_TIMEOUT = 0.3
    outage_redis.mend()  # the cache built again with these settings
    assert redis_options() == {"socket_connect_timeout": 0.2, "socket_timeout": 0.3}
    pool = caches["default"]._cache.get_client(write=True).connection_pool
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.2
    assert pool.connection_kwargs["socket_timeout"] == 0.3
    storage = ratelimit._limiter_for(settings.RATELIMIT_STORAGE_URL)[0]
    kwargs = storage.get_connection().connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] == 0.2
    assert kwargs["socket_timeout"] == 0.3


def test_a_hung_redis_costs_one_timeout_then_is_skipped_for_a_while(settings, silent_redis,
                                                                    caplog):
    settings.REDIS_SOCKET_TIMEOUT = 0.2
    settings.REDIS_RETRY_SECONDS = 30
    settings.RATELIMIT_STORAGE_URL = silent_redis
    started = time.monotonic()
    assert ratelimit.hit(RULE, "a").allowed  # one read timeout, then memory
    first = time.monotonic() - started
    assert 0.2 <= first < 2
    started = time.monotonic()
    decisions = [ratelimit.hit(RULE, "a") for _ in range(5)]
    assert time.monotonic() - started < 0.5  # not tried again (5 timeouts: 1 s): memory
    assert [d.allowed for d in decisions] == [True, True, False, False, False]
    assert len(ratelimit_errors(caplog)) == 1


# --- Rate limits ---------------------------------------------------------------------------


def test_while_redis_is_down_limits_count_in_memory_then_in_redis_again(outage_redis, caplog):
    assert ratelimit.hit(RULE, "+33612345678").allowed
    assert outage_redis.client().keys("*")  # counted in Redis
    outage_redis.stop()
    with caplog.at_level(logging.ERROR):
        decisions = [ratelimit.hit(RULE, "+33612345678") for _ in range(4)]
    # Not failed open: the process's memory counts with the same rule (from zero).
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert 1 <= decisions[3].retry_after <= 60
    assert not ratelimit.peek(RULE, "+33612345678").allowed
    assert ratelimit.used(RULE, "+33612345678") == 3
    # Logged once for the whole outage (at most once a minute per process), no subject.
    errors = ratelimit_errors(caplog)
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert "+33612345678" not in errors[0].getMessage()
    assert ratelimit.subject_key("+33612345678") not in errors[0].getMessage()

    outage_redis.start()  # back, empty
    assert ratelimit.hit(RULE, "+33612345678").allowed
    assert ratelimit.used(RULE, "+33612345678") == 1  # Redis' count, not the memory's
    assert len(outage_redis.client().keys("*")) == 1


def test_hit_in_order_and_clear_many_fall_back_to_memory_too(outage_redis):
    outage_redis.stop()
    steps = ((RULE, "ip"), (OTHER, "identifier"))
    for _ in range(3):
        assert ratelimit.hit_in_order(*steps)[-1].allowed
    refused = ratelimit.hit_in_order(*steps)
    assert len(refused) == 1 and not refused[0].allowed  # the first window is full
    ratelimit.clear_many(*steps)
    assert ratelimit.hit_in_order(*steps)[-1].allowed
    ratelimit.clear(RULE, "ip")
    assert ratelimit.used(RULE, "ip") == 0

    outage_redis.start()
    decisions = ratelimit.hit_in_order(*steps)
    assert [d.remaining for d in decisions] == [2, 2]  # in Redis, from zero
    assert len(outage_redis.client().keys("*")) == 2


def test_redis_is_tried_again_after_the_retry_delay(settings, outage_redis):
    settings.REDIS_RETRY_SECONDS = 30
    # Frozen at the real now and moved forward only (the memory storage's expiry thread
    # reads the real clock); freezegun moves time.monotonic too.
    with freeze_time(datetime.datetime.now(datetime.UTC)) as clock:
        outage_redis.stop()
        ratelimit.hit(RULE, "a")
        outage_redis.start()
        clock.tick(29)
        ratelimit.hit(RULE, "a")
        assert outage_redis.client().keys("*") == []  # within the delay: still memory
        clock.tick(2)
        ratelimit.hit(RULE, "a")
        assert len(outage_redis.client().keys("*")) == 1


# --- Version tokens ------------------------------------------------------------------------


@pytest.mark.django_db
def test_version_tokens_are_unknown_while_redis_is_down_and_a_lost_bump_is_written_after(
        outage_redis, caplog):
    tokens = versions_ensure(["account:1"], versions_get(["account:1"]))
    outage_redis.cut()
    with caplog.at_level(logging.WARNING):
        assert versions_get(["account:1"]) == {}
        assert versions_ensure(["account:1"], {}) == {}
        versions_bump("account:1")  # no error: the bump waits in the process
    assert not versions_settle()
    assert [r.levelno for r in caplog.records if r.name == "core.versions"] == [logging.WARNING]
    outage_redis.mend()  # the server kept the old token
    assert versions_settle()
    assert versions_get(["account:1"])["account:1"] != tokens["account:1"]


# --- Sessions ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sessions_are_read_and_written_in_the_database_while_redis_is_down(outage_redis,
                                                                         caplog):
    store = SessionStore()
    store["step"] = "before"
    store.save()
    key = store.session_key
    outage_redis.stop()
    with caplog.at_level(logging.WARNING):
        store = SessionStore(key)
        assert store["step"] == "before"  # from PostgreSQL
        store["step"] = "during"
        store.save()
        assert SessionStore(key)["step"] == "during"
        assert SessionStore().exists(key)
        new = SessionStore()
        new["n"] = 1
        new.save()
        assert Session.objects.filter(session_key=new.session_key).exists()
        new.delete()
        assert not Session.objects.filter(session_key=new.session_key).exists()
    warnings = [r for r in caplog.records if r.name == "django.contrib.sessions"]
    assert [r.levelno for r in warnings] == [logging.WARNING]  # once a minute at most
    assert key not in caplog.text and new.session_key not in caplog.text


@pytest.mark.django_db
def test_an_entry_left_stale_by_a_cut_is_deleted_before_the_cache_is_read_again(outage_redis):
    store = SessionStore()
    store["signed_in"] = True
    store.save()
    key = store.session_key
    assert SessionStore(key)["signed_in"] is True  # in Redis
    outage_redis.cut()  # Redis keeps the entry
    SessionStore(key).delete()  # a sign-out during the cut: PostgreSQL only
    assert stale_keys_count() == 1
    outage_redis.mend()
    # The old entry is not read back: the sign-out holds.
    assert "signed_in" not in SessionStore(key).load()
    assert stale_keys_count() == 0
    assert outage_redis.client().keys("*cached_db*") == []
