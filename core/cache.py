"""Django's Redis cache with one `redis.Redis` client per connection pool, reused by every call.

Django's `RedisCache` builds a new `redis.Redis` object around its pool at each call
(`RedisCacheClient.get_client`): about 0.07 ms of CPU per cache operation, paid by every
session load and save (issue 14 measured it on the sign-in and on « Mes services »). The
client is a thin, thread-safe wrapper around the pool, so one per pool is enough: this
backend keeps it. Everything else (pools, serializer, options, the `LOCATION` list) is
Django's.

Settings: `CACHES["default"]["BACKEND"] = "core.cache.RedisCache"` (educonnect/settings.py
when `REDIS_URL` is set). Django keeps one cache object per thread, so one client per thread
and pool.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    """`RedisCacheClient` whose `get_client` returns the same `redis.Redis` per pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
