"""The session engine of production (SESSION_ENGINE when REDIS_URL is set): Django's
`cached_db` — read from Redis, written to Redis and PostgreSQL, so that a Redis flush signs
nobody out — with a new session written once instead of three times.

Django's database stores make a new session key by asking both stores whether a random key
is taken (a Redis EXISTS and a SQL SELECT), then write the session at once with that key
(an INSERT in a savepoint and a Redis SET), and the request that signed in changes the
session again, so the response writes it a second time (an UPDATE and a SET). On the
sign-in, `django.contrib.auth.login` → `cycle_key()` → `create()` does exactly that: 3 SQL
statements and 3 Redis round trips for one session (issue 14 measured them).

Here a new key is drawn without the lookups — 32 characters of 36, 165 bits: the INSERT's
unique index still refuses the impossible collision (`ON CONFLICT DO NOTHING`, no savepoint
needed inside a transaction), and another key is drawn — and the session is written when
Django saves it at the end of the request (SessionMiddleware), by one INSERT (its SQL
written once per process, not built by the ORM) and one SET. Nothing reads a new session
from the stores before that: its key reaches the browser in that response's cookie only.
Deleting a session (`cycle_key()` deleting the old key at a rotation or a sign-in,
`flush()`) is one DELETE, its SQL written once per process too, where Django's database
store reads the row first (`get()`, then the instance's `delete()`: a SELECT and a DELETE).
Everything else (loading, the cache entry, `clear_expired()`) is Django's, but for an
unreachable Redis.

When Redis cannot be reached (`core.cache.REDIS_UNREACHABLE`: refused, reset, past the
short socket timeouts), no request fails: the session is read from PostgreSQL and written
there, as Django's `db` engine does, and a WARNING says so at most once a minute per process
(never the session key nor its data). Django's own `cached_db` lets the error through at
several places: the cache write after a database read in `load()`, `exists()`, `delete()`.

A cache entry this process could not write or delete (a session changed, signed out or
rotated during the outage) may still be in Redis when it answers again, if Redis kept its
data (a network cut rather than a restart): it would then be read instead of the newer row,
bringing a signed-out session back. The process keeps the cache keys of such entries (up to
STALE_KEYS_MAX, in memory only) and deletes them at its next session read or write that
reaches Redis, before using the cache; past that bound, or in a process that stopped, they
live at most until their own expiry (SESSION_COOKIE_AGE).
"""

from __future__ import annotations

import functools
import logging

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils.crypto import get_random_string

from core.cache import REDIS_UNREACHABLE, OwedToRedis, unreachable_log

logger = logging.getLogger("django.contrib.sessions")
_OUTAGE = "sessions (read and written in the database only)"

# Cache keys of session entries that may be stale in Redis (see the module docstring).
STALE_KEYS_MAX = 100_000
_stale_keys = OwedToRedis(limit=STALE_KEYS_MAX, logger=logger, what=_OUTAGE)


def _stale_remember(cache_key: str) -> None:
    _stale_keys.add([cache_key])


def stale_keys_count() -> int:
    """How many session cache entries this process still has to delete from Redis."""
    return len(_stale_keys)


@functools.cache
def _insert_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    meta = Session._meta
    key = quote(meta.get_field("session_key").column)
    return (f"INSERT INTO {quote(meta.db_table)} ({key}, "  # noqa: S608 (names from the model)
            f"{quote(meta.get_field('session_data').column)}, "
            f"{quote(meta.get_field('expire_date').column)}) VALUES (%s, %s, %s) "
            f"ON CONFLICT ({key}) DO NOTHING")


@functools.cache
def _delete_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    meta = Session._meta
    return (f"DELETE FROM {quote(meta.db_table)} "  # noqa: S608 (names from the model)
            f"WHERE {quote(meta.get_field('session_key').column)} = %s")


class SessionStore(CachedDbStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # A key made by create() whose session is not in the stores yet.
        self._unwritten = False

    # --- The cache, never fatal -------------------------------------------------------------

    def _cache_ready(self) -> bool:
        """Delete the entries left stale by an outage; False when Redis cannot be reached
        (then the caller does without the cache)."""
        return _stale_keys.settle(self._cache.delete_many)

    def _cache_set(self, cache_key: str, data, timeout) -> None:
        try:
            self._cache.set(cache_key, data, timeout)
        except REDIS_UNREACHABLE as error:
            unreachable_log(logger, logging.WARNING, _OUTAGE, error)
            _stale_remember(cache_key)

    def _cache_delete(self, cache_key: str) -> None:
        try:
            self._cache.delete(cache_key)
        except REDIS_UNREACHABLE as error:
            unreachable_log(logger, logging.WARNING, _OUTAGE, error)
            _stale_remember(cache_key)

    def load(self) -> dict:
        """The session's data: from Redis, else from PostgreSQL (then put in Redis). An
        unreachable Redis reads PostgreSQL; an expired or missing session is {}."""
        data = None
        reachable = self._cache_ready()
        if reachable:
            try:
                data = self._cache.get(self.cache_key)
            except REDIS_UNREACHABLE as error:
                unreachable_log(logger, logging.WARNING, _OUTAGE, error)
                reachable = False  # one timeout per request is enough
            except Exception:  # as Django: a key some backends refuse (#17810)
                data = None
        if data is None:
            row = self._get_session_from_db()
            if row:
                data = self.decode(row.session_data)
                if reachable:
                    self._cache_set(self.cache_key, data,
                                    self.get_expiry_age(expiry=row.expire_date))
            else:
                data = {}
        return data

    def exists(self, session_key) -> bool:
        """Whether a session has this key, in Redis or in PostgreSQL (PostgreSQL only while
        Redis cannot be reached)."""
        if not session_key:
            return False
        try:
            if (self.cache_key_prefix + session_key) in self._cache:
                return True
        except REDIS_UNREACHABLE as error:
            unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return super(CachedDbStore, self).exists(session_key)

    def delete(self, session_key=None) -> None:
        """Delete the session from PostgreSQL (one DELETE: see the module docstring) and
        Redis (a Redis that cannot be reached is remembered: see the module docstring)."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        db = router.db_for_write(self.model)
        with connections[db].cursor() as cursor:
            cursor.execute(_delete_sql(db), [session_key])
        self._cache_delete(self.cache_key_prefix + session_key)

    # --- A new session written once -------------------------------------------------------

    def _get_new_session_key(self) -> str:
        """A random key, not looked up: the INSERT of `save()` refuses a taken one."""
        return get_random_string(32, VALID_KEY_CHARS)

    def create(self) -> None:
        """A new key for this session, written by the next `save()` (see the module
        docstring), not now."""
        self._session_key = self._get_new_session_key()
        self._unwritten = True
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        """Write the session: an UPDATE and a SET, or for a session created in this request,
        an INSERT and a SET (another key is drawn in the impossible event that the INSERT
        finds its key taken). `must_create=True` raises CreateError when the key is taken,
        as Django's stores do. While Redis cannot be reached, the database write only."""
        if self.session_key is None:
            self.create()
        if not self._unwritten:
            super(CachedDbStore, self).save(must_create=must_create)
            if self._cache_ready():
                self._cache_set(self.cache_key, self._session, self.get_expiry_age())
            else:
                _stale_remember(self.cache_key)
            return
        data = self._get_session(no_load=True)
        db = router.db_for_write(self.model)
        connection = connections[db]
        encoded = self.encode(data)
        expire_date = self.model._meta.get_field("expire_date").get_db_prep_save(
            self.get_expiry_date(), connection)
        while True:
            with connection.cursor() as cursor:
                cursor.execute(_insert_sql(db), [self.session_key, encoded, expire_date])
                written = cursor.rowcount == 1
            if written:
                break
            if must_create:
                raise CreateError
            self._session_key = self._get_new_session_key()
        self._unwritten = False
        if self._cache_ready():
            self._cache_set(self.cache_key, self._session, self.get_expiry_age())
