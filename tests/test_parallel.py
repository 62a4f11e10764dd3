"""The parallel workers' Redis databases (tests/parallel.py): two workers never share one, so
that one's FLUSHDB never empties the other's cache or broker."""

import pytest

from tests.parallel import redis_url_for_worker


@pytest.mark.parametrize(("worker", "cache", "broker"), [
    ("", "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14"),
    ("gw0", "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14"),
    ("gw1", "redis://127.0.0.1:6379/13", "redis://127.0.0.1:6379/12"),
    ("gw3", "redis://127.0.0.1:6379/9", "redis://127.0.0.1:6379/8"),
])
def test_each_worker_has_databases_of_its_own(worker, cache, broker):
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", worker) == cache
    assert redis_url_for_worker("redis://127.0.0.1:6379/14", worker) == broker


def test_a_url_without_a_database_or_empty_is_left_as_it_is():
    assert redis_url_for_worker("", "gw1") == ""
    assert redis_url_for_worker("redis://127.0.0.1:6379", "gw1") == "redis://127.0.0.1:6379"


def test_too_many_workers_for_the_databases_is_said():
    with pytest.raises(ValueError, match="no Redis database left for worker gw8"):
        redis_url_for_worker("redis://127.0.0.1:6379/15", "gw8")

