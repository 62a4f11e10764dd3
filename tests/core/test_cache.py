"""The Redis cache backend (core.cache): Django's, with its client reused across calls."""

import pytest
from django.conf import settings
from django.core.cache import cache


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Redis backend needs REDIS_URL")
def test_every_call_uses_one_client_and_one_connection():
    """Django's RedisCache built a redis.Redis per call (issue 14); ours keeps one per pool,
    and its pool keeps one connection for calls made one after the other."""
    client = cache._cache.get_client("k", write=True)
    assert cache._cache.get_client("other", write=True) is client
    assert cache._cache.get_client("k") is client  # one server: reads go to the same pool
    cache.set("core.cache.test", {"n": 1}, 30)
    for _ in range(20):
        assert cache.get("core.cache.test") == {"n": 1}
    assert client.connection_pool._created_connections == 1
    cache.delete("core.cache.test")
