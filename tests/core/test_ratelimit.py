"""core.ratelimit: one API for every limit, moving windows, atomic, subjects hashed."""

import threading

import pytest
from django.conf import settings
from django.test import override_settings
from freezegun import freeze_time

from core import ratelimit

RULE = ratelimit.Rule("test:sends", "TEST_LIMIT", "TEST_WINDOW")


@pytest.fixture(autouse=True)
def _limit_settings(settings):
    settings.TEST_LIMIT = 3
    settings.TEST_WINDOW = 60


def test_counts_until_the_limit_then_refuses_and_says_how_long_to_wait():
    decisions = [ratelimit.hit(RULE, "+33612345678") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert 1 <= decisions[3].retry_after <= 60


def test_a_refused_hit_is_not_counted_and_other_subjects_are_apart():
    for _ in range(5):
        ratelimit.hit(RULE, "a")
    assert ratelimit.used(RULE, "a") == 3
    assert ratelimit.hit(RULE, "b").allowed


def test_peek_does_not_count():
    assert ratelimit.peek(RULE, "a").allowed
    assert ratelimit.used(RULE, "a") == 0


def test_clear_gives_the_places_back():
    for _ in range(3):
        ratelimit.hit(RULE, "a")
    ratelimit.clear(RULE, "a")
    assert ratelimit.hit(RULE, "a").allowed


def test_the_limit_follows_the_setting(settings):
    settings.TEST_LIMIT = 1
    assert ratelimit.hit(RULE, "a").allowed
    assert not ratelimit.hit(RULE, "a").allowed


def test_a_limit_of_zero_refuses_everything(settings):
    settings.TEST_LIMIT = 0
    assert not ratelimit.hit(RULE, "a").allowed


def test_the_window_moves():
    # The memory storage reads the clock: the first hit leaves the window after 60 s,
    # while the later ones still count (a moving window, not a fixed one).
    with override_settings(RATELIMIT_STORAGE_URL="memory://"), freeze_time() as clock:
        ratelimit.reset_all()
        ratelimit.hit(RULE, "a")
        clock.tick(30)
        ratelimit.hit(RULE, "a")
        ratelimit.hit(RULE, "a")
        assert not ratelimit.hit(RULE, "a").allowed
        clock.tick(31)
        assert ratelimit.hit(RULE, "a").allowed
        assert not ratelimit.hit(RULE, "a").allowed


def test_subjects_are_keyed_hashes():
    key = ratelimit.subject_key("+33612345678")
    assert len(key) == 32 and "33612345678" not in key
    assert key == ratelimit.subject_key("+33612345678")
    assert key != ratelimit.subject_key("+33612345679")


@pytest.mark.needs_redis
def test_on_redis_parallel_hits_never_pass_the_limit_and_keys_leak_no_subject():
    import redis

    assert settings.RATELIMIT_STORAGE_URL.startswith("redis://")
    barrier = threading.Barrier(12)
    results = []

    def attempt():
        barrier.wait()
        results.append(ratelimit.hit(RULE, "+33698765432").allowed)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 3
    keys = redis.Redis.from_url(settings.RATELIMIT_STORAGE_URL).keys("*")
    assert keys and not any(b"98765432" in key for key in keys)


def test_the_deploy_check_refuses_counters_in_process_memory(settings):
    from educonnect.checks import shared_rate_limits_in_production

    settings.RATELIMIT_STORAGE_URL = "memory://"
    assert [e.id for e in shared_rate_limits_in_production(None)] == ["educonnect.E003"]
    settings.RATELIMIT_STORAGE_URL = "redis://redis:6379/0"
    assert shared_rate_limits_in_production(None) == []


# --- hit_in_order: several windows in one step ---------------------------------------------

OTHER = ratelimit.Rule("test:other", "TEST_OTHER_LIMIT", "TEST_WINDOW")


@pytest.fixture
def memory_storage(settings):
    settings.RATELIMIT_STORAGE_URL = "memory://"
    ratelimit.reset_all()  # one storage per process and URL: other tests may have used it
    yield
    ratelimit.reset_all()


@pytest.mark.parametrize("storage", [
    pytest.param("redis", marks=pytest.mark.needs_redis), "memory",
])
def test_hit_in_order_stops_at_the_first_full_window_and_counts_nothing_after(
    storage, settings, request
):
    if storage == "memory":
        request.getfixturevalue("memory_storage")
    settings.TEST_OTHER_LIMIT = 2
    first = ratelimit.hit_in_order((RULE, "a"), (OTHER, "b"))
    assert [(d.allowed, d.remaining) for d in first] == [(True, 2), (True, 1)]
    ratelimit.hit_in_order((RULE, "a"), (OTHER, "b"))
    # The second window is full: the first counted, the second refused with the wait.
    third = ratelimit.hit_in_order((RULE, "a"), (OTHER, "b"))
    assert [d.allowed for d in third] == [True, False]
    assert 1 <= third[-1].retry_after <= 60
    # The first window is full: nothing after it is counted.
    assert ratelimit.used(OTHER, "b") == 2
    fourth = ratelimit.hit_in_order((RULE, "a"), (OTHER, "c"))
    assert len(fourth) == 1 and not fourth[0].allowed
    assert ratelimit.used(OTHER, "c") == 0
    # What it counts, hit(), peek(), used() and clear() read.
    assert ratelimit.used(RULE, "a") == 3 and not ratelimit.peek(RULE, "a")
    ratelimit.clear_many((RULE, "a"), (OTHER, "b"))
    assert ratelimit.used(RULE, "a") == ratelimit.used(OTHER, "b") == 0


@pytest.mark.needs_redis
def test_on_redis_hit_in_order_is_atomic_across_windows():
    barrier = threading.Barrier(12)
    results = []

    def attempt(n):
        barrier.wait()
        results.append(ratelimit.hit_in_order((OTHER, f"x{n}"), (RULE, "shared"))[-1].allowed)

    with override_settings(TEST_OTHER_LIMIT=5):
        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results.count(True) == 3
