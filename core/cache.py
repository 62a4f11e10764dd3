"""Django's Redis cache with one `redis.Redis` client per connection pool, reused by every call.

Django's `RedisCache` builds a new `redis.Redis` object around its pool at each call
(`RedisCacheClient.get_client`): about 0.07 ms of CPU per cache operation, paid by every
session load and save (issue 14 measured it on the sign-in and on « Mes services »). The
client is a thin, thread-safe wrapper around the pool, so one per pool is enough: this
backend keeps it. Everything else (pools, serializer, options, the `LOCATION` list) is
Django's.

Settings: `CACHES["default"]["BACKEND"] = "core.cache.RedisCache"` (educonnect/settings.py
when `REDIS_URL` is set), its `OPTIONS` the short socket timeouts REDIS_SOCKET_CONNECT_TIMEOUT
and REDIS_SOCKET_TIMEOUT (the same as `redis_options()`, which the rate limits use).
Django keeps one cache object per thread, so one client per thread and pool.

When Redis cannot be reached, Django's backend raises (`REDIS_UNREACHABLE`): each caller on
the request paths catches it and goes on without the cache (the session from PostgreSQL,
`accounts.sessions`; a page built as if nothing were kept, `services_portal.page_cache` and
`core.versions`; the rate limits in the process's memory, `core.ratelimit`) and says so with
`unreachable_log`, at most once a minute per process. Nothing waits longer than the socket
timeouts: redis-py makes no retry for a client built on a connection pool (Django's and
`limits`' are), so a call costs at most one connect timeout, or one read timeout. And once a
call found a server unreachable, the process does not try it again for REDIS_RETRY_SECONDS
(`redis_skipped`: the calls raise `RedisSkipped`, one of `REDIS_UNREACHABLE`, at once), so
that a Redis that hangs costs a worker one timeout per that delay, not several per request.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _WatchedRedis(redis.Redis):
    """A `redis.Redis` that tells `redis_down()` when its server cannot be reached."""

    def __init__(self, *args, location: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._location = location

    def execute_command(self, *args, **options):
        try:
            return super().execute_command(*args, **options)
        except REDIS_UNREACHABLE:
            redis_down(self._location)
            raise


class ReusedRedisCacheClient(RedisCacheClient):
    """`RedisCacheClient` whose `get_client` returns the same `redis.Redis` per pool, and
    raises `RedisSkipped` at once while that server was found unreachable less than
    REDIS_RETRY_SECONDS ago (`redis_skipped`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        location = self._servers[index]
        if redis_skipped(location):
            raise RedisSkipped(location)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = _WatchedRedis(connection_pool=pool,
                                                          location=location)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient


# --- When Redis is unreachable ------------------------------------------------------------

# What a Redis that cannot be reached raises (redis-py wraps socket errors in these): refused
# or reset connections, the connect and read timeouts of REDIS_SOCKET_CONNECT_TIMEOUT and
# REDIS_SOCKET_TIMEOUT, a server still loading its data (BusyLoadingError, a ConnectionError).
# Other Redis errors (a wrong command, a full memory) are bugs or configuration to fix: they
# are not caught.
REDIS_UNREACHABLE: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError,
                                                  redis.exceptions.TimeoutError)



class RedisSkipped(redis.exceptions.ConnectionError):
    """Not tried: this server was found unreachable less than REDIS_RETRY_SECONDS ago."""

    def __init__(self, location: str):
        super().__init__("not tried: unreachable less than REDIS_RETRY_SECONDS ago")
        self.location = location


# Per process: when each Redis (by its URL) may be tried again. A dict read without a lock:
# a race costs one more try, never a wrong answer.
_down_until: dict[str, float] = {}


def redis_skipped(location: str) -> bool:
    """Whether calls to the Redis at `location` (a URL, as in settings) are skipped now: it
    could not be reached, in this process, less than REDIS_RETRY_SECONDS ago. Then the
    callers go on without it at once instead of waiting a socket timeout on every call of
    every request (a hung Redis would otherwise cost each request several timeouts). The
    first call after that delay tries Redis again: its answer ends the outage."""
    until = _down_until.get(location)
    if until is None:
        return False
    if time.monotonic() < until:
        return True
    _down_until.pop(location, None)
    return False


def redis_down(location: str) -> None:
    """Record that the Redis at `location` could not be reached just now (see
    `redis_skipped`)."""
    _down_until[location] = time.monotonic() + float(settings.REDIS_RETRY_SECONDS)


def redis_retry_reset() -> None:
    """Forget which servers were found unreachable (tests)."""
    _down_until.clear()


_LOG_EVERY_SECONDS = 60.0
_last_logged: dict[tuple[str, str], float] = {}
_log_lock = threading.Lock()


def redis_options() -> dict[str, float]:
    """The socket timeouts every Redis client of a web request gets, in seconds (settings
    REDIS_SOCKET_CONNECT_TIMEOUT and REDIS_SOCKET_TIMEOUT): a fraction of a second, so that
    a dead or unreachable Redis costs a request that long per call, never a hung worker.
    Passed to `redis.ConnectionPool.from_url` (the cache's OPTIONS) and to `limits`'
    `storage_from_string` (the rate limits)."""
    return {"socket_connect_timeout": float(settings.REDIS_SOCKET_CONNECT_TIMEOUT),
            "socket_timeout": float(settings.REDIS_SOCKET_TIMEOUT)}


def unreachable_log(logger: logging.Logger, level: int, what: str, error: Exception) -> bool:
    """Log that Redis could not be reached for `what` (a short English phrase naming the
    use, never a key, a subject or a secret), at most once a minute per process for each
    (logger, what): during an outage every request meets the same error. The error's class
    and text are logged (redis-py's name the host and port, never a password). Returns
    whether it was logged."""
    now = time.monotonic()
    mark = (logger.name, what)
    with _log_lock:
        last = _last_logged.get(mark)
        if last is not None and now - last < _LOG_EVERY_SECONDS:
            return False
        _last_logged[mark] = now
    logger.log(level, "Redis unreachable for %s (%s: %s)", what, type(error).__name__, error)
    return True


class OwedToRedis:
    """What this process owes Redis: writes it could not make while Redis was unreachable
    (session entries to delete, accounts.sessions; version bumps to write again,
    core.versions), kept in memory, at most `limit` of them (past it, what is not kept lives
    out its own expiry in Redis). Thread-safe.

    `add(items)` remembers them; `settle(write)` calls `write(items)` (a list, one round
    trip) for all of them and forgets them once it returned, and returns True when nothing
    is owed any more — False, with a WARNING at most once a minute (`unreachable_log`,
    `what`), while Redis still cannot be reached."""

    def __init__(self, *, limit: int, logger: logging.Logger, what: str):
        self._items: set[str] = set()
        self._lock = threading.Lock()
        self._limit = limit
        self._logger = logger
        self._what = what

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items) -> None:
        with self._lock:
            for item in items:
                if len(self._items) >= self._limit:
                    return
                self._items.add(item)

    def settle(self, write) -> bool:
        if not self._items:
            return True
        with self._lock:
            items = sorted(self._items)
        try:
            write(items)
        except REDIS_UNREACHABLE as error:
            unreachable_log(self._logger, logging.WARNING, self._what, error)
            return False
        with self._lock:
            self._items.difference_update(items)
        return True

    def clear(self) -> None:
        """Forget everything owed (tests)."""
        with self._lock:
            self._items.clear()


def unreachable_log_reset() -> None:
    """Forget when each outage was last logged (tests)."""
    with _log_lock:
        _last_logged.clear()
