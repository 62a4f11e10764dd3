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

A rotation (`cycle_key()`: after an SMS code, at a sign-in) of a session that is not signed
in deletes the old key when the new session is written, in the same transaction: one commit
instead of two (Django's stores delete the old key at once, in a commit of its own). A
request that fails before the save (a 500) thus leaves the old, unsigned-in session as it
was, and no new one. A signed-in session's old key is deleted at once, as before.

The database copy of a session is the fallback behind Redis, so a new session's write
(and the rotation's delete with it) commits without waiting for the WAL flush: one string
`SET LOCAL synchronous_commit TO OFF; DELETE …; INSERT …`, which PostgreSQL runs as one
implicit transaction (one round trip, as the INSERT alone took; PostgreSQL documentation,
« Asynchronous Commit » and « Multiple Statements in a Simple Query »):
a commit that returns is on disk within three `wal_writer_delay` (600 ms by default). Only
a PostgreSQL crash in that window, while Redis also lost the entry, would lose the session:
its owner signs in again. Nothing else is risked (no corruption, no other transaction
touched: the setting is only used when the session write is a transaction of its own),
and the deletion of a signed-in session (a sign-out, a rotation of a signed-in session) is
never written this way. Measured on this project's bench machine (issue 14): a commit that
waits for the flush costs 0.3 ms on an idle disk and 4 ms on a busy one; three of the SMS
activation's ten commits, and one of the sign-in's, were the session's.
"""

from __future__ import annotations

import contextlib
import functools
import logging

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.contrib.sessions.models import Session
from django.db import connections, router, transaction
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
        # Keys of sessions not signed in that a rotation left behind, deleted by the save
        # that writes the new session (see the module docstring).
        self._rotated_keys: list[str] = []

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
        """Delete the session from PostgreSQL (one DELETE, committed before it returns: see
        the module docstring) and Redis (a Redis that cannot be reached is remembered: see
        the module docstring). Without a key, this session's, and the keys its rotations left
        behind."""
        keys = [session_key]
        if session_key is None:
            keys, self._rotated_keys = self._rotated_keys, []
            if self.session_key is not None:
                keys.append(self.session_key)
        if not keys:
            return
        db = router.db_for_write(self.model)
        with connections[db].cursor() as cursor:
            for key in keys:
                cursor.execute(_delete_sql(db), [key])
        for key in keys:
            self._cache_delete(self.cache_key_prefix + key)

    def flush(self) -> None:
        """Empty the session and delete it at once from both stores, with the keys its
        rotations in this request left behind (a sign-out, a sign-in as someone else)."""
        self.clear()
        self.delete()
        self._session_key = None
        self._unwritten = False

    def cycle_key(self) -> None:
        """A new key for this session's data (session fixation, ASVS 4.0.3 V3.2.1). The old
        key of a session not signed in is deleted by the save that writes the new one, in its
        transaction; a signed-in session's old key at once (see the module docstring)."""
        data = self._session
        key = self.session_key
        written = key is not None and not self._unwritten
        self.create()
        self._session_cache = data
        if not written:
            return  # a key made in this request is in no store
        if SESSION_KEY in data:
            self.delete(key)
        else:
            self._rotated_keys.append(key)

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
        rotated = self._rotated_keys
        asynchronous = _asynchronous_commit_possible(connection)
        # Elsewhere (SQLite, a caller's transaction), the DELETEs and the INSERT in one.
        together = rotated and not asynchronous and not connection.in_atomic_block
        with (transaction.atomic(using=db) if together else contextlib.nullcontext()), \
                connection.cursor() as cursor:
            if asynchronous:
                # One implicit transaction (PostgreSQL: the statements of one simple query
                # string commit together), which SET LOCAL makes commit without waiting.
                cursor.execute(_session_write_sql(db, len(rotated)),
                               [*rotated, self.session_key, encoded, expire_date])
                while cursor.nextset():  # the INSERT's result is the last one
                    pass
            else:
                for key in rotated:
                    cursor.execute(_delete_sql(db), [key])
                cursor.execute(_insert_sql(db), [self.session_key, encoded, expire_date])
            while cursor.rowcount != 1:
                if must_create:
                    raise CreateError
                self._session_key = self._get_new_session_key()
                cursor.execute(_insert_sql(db), [self.session_key, encoded, expire_date])
        self._unwritten = False
        self._rotated_keys = []
        for key in rotated:
            self._cache_delete(self.cache_key_prefix + key)
        if self._cache_ready():
            self._cache_set(self.cache_key, self._session, self.get_expiry_age())


def _asynchronous_commit_possible(connection) -> bool:
    """Whether a new session's write may be one statement string that commits without
    waiting for the WAL flush (see the module docstring): on PostgreSQL, outside a caller's
    transaction (whose commit SET LOCAL would change), with psycopg's client-side binding
    (Django's default: a server-side bound statement holds one command only)."""
    return (connection.vendor == "postgresql" and not connection.in_atomic_block
            and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"))


@functools.cache
def _session_write_sql(db: str, rotated: int) -> str:
    """`SET LOCAL synchronous_commit TO OFF`, `rotated` DELETEs of old keys, then the new
    session's INSERT, as one string: parameters (*old keys, key, data, expiry)."""
    return "; ".join(["SET LOCAL synchronous_commit TO OFF",
                      *[_delete_sql(db)] * rotated, _insert_sql(db)])
