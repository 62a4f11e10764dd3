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
Everything else (loading, the cache entry, `cycle_key()` deleting the old key, `flush()`,
`clear_expired()`) is Django's.
"""

from __future__ import annotations

import functools
import logging

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils.crypto import get_random_string

logger = logging.getLogger("django.contrib.sessions")


@functools.cache
def _insert_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    meta = Session._meta
    key = quote(meta.get_field("session_key").column)
    return (f"INSERT INTO {quote(meta.db_table)} ({key}, "  # noqa: S608 (names from the model)
            f"{quote(meta.get_field('session_data').column)}, "
            f"{quote(meta.get_field('expire_date').column)}) VALUES (%s, %s, %s) "
            f"ON CONFLICT ({key}) DO NOTHING")


class SessionStore(CachedDbStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        # A key made by create() whose session is not in the stores yet.
        self._unwritten = False

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
        as Django's stores do."""
        if self.session_key is None:
            self.create()
        if not self._unwritten:
            super().save(must_create=must_create)
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
        try:
            self._cache.set(self.cache_key, self._session, self.get_expiry_age())
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)
