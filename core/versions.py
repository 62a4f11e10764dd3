"""Version tokens of what a cached page shows (issue 14: « Mes services » served from a cache).

A version is a random token kept in the default cache (Redis in production) under a name
such as `account:42`, `school:7`, `catalogue` or `news`. A page kept in the cache remembers
the tokens of every name it was built from; it is served again only while each of them is
unchanged. A write that changes what such a page shows *bumps* the names it touches: each
gets a new random token after the write's transaction commits, so the next reader builds the
page again from the committed rows.

Random tokens rather than counters: a token that Redis evicted or lost comes back as a new
random value (never an old one that a kept page could still match), and a missing token
means « build the page », never « serve it ». So tokens may expire: they live
TOKEN_TTL_SECONDS (longer than any kept page), which also makes them evictable under the
production Redis' `volatile-lru` policy (docker-compose.yml) — tokens without an expiry would
never be evicted and would, one per family, crowd out the sessions and rate-limit windows.

The names are plain strings so that any app can bump them without importing the app that
keeps the pages (core imports no project app): `school_version(pk)`, `account_version(pk)`,
`CATALOGUE`, `NEWS`. Bulk writes (`bulk_create`, `QuerySet.update`) send no model signals:
their callers bump explicitly (pupils.roster_import bumps the schools of each chunk).

When Redis cannot be reached (`core.cache.REDIS_UNREACHABLE`), nothing raises: a name whose
token cannot be read has none (the page is built, not kept), and a bump that cannot be
written is kept in this process (`versions_settle`) and written again before this process
reads or serves a kept page: until then it serves none. A WARNING says so, at most once a
minute per process. The bound of a bump lost with its process (a worker restarted during
the outage, while Redis kept its data) is the kept page's own lifetime (an hour at most).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from core.cache import REDIS_UNREACHABLE, OwedToRedis, unreachable_log

logger = logging.getLogger(__name__)
_OUTAGE = "version tokens (pages built, not kept)"
_PREFIX = "version:"
# Names whose bump could not be written (Redis unreachable), written again by
# versions_settle(); bounded: past it, their pages live out their own lifetime.
_PENDING_MAX = 100_000
_pending = OwedToRedis(limit=_PENDING_MAX, logger=logger, what=_OUTAGE)
# Longer than a kept page lives (services_portal.page_cache: an hour at most); an expired or
# evicted token only costs a page built again.
TOKEN_TTL_SECONDS = 2 * 24 * 3600

# The national services catalogue (every Service, national or a school's own, and the SAML
# service providers behind them) and the national news.
CATALOGUE = "catalogue"
NEWS = "news"


def account_version(account_id: int) -> str:
    """The name of what is known of one account's family: its guardian records, its pupil."""
    return f"account:{account_id}"


def school_version(establishment_id: int) -> str:
    """The name of one establishment's data shown to its families: its name, its pupils, the
    links of its guardian records, its messages."""
    return f"school:{establishment_id}"


def _new_token() -> str:
    return secrets.token_hex(8)


def versions_settle() -> bool:
    """Write again the bumps this process could not write while Redis was unreachable.
    Returns True when none is left (the tokens in Redis can be trusted), False while Redis
    still cannot be reached (then no kept page may be served nor kept). One round trip when
    some are pending, none otherwise."""
    return _pending.settle(lambda names: cache.set_many(
        {_PREFIX + n: _new_token() for n in names}, timeout=TOKEN_TTL_SECONDS))


def versions_get(names: Iterable[str]) -> dict[str, str]:
    """The current token of each name that has one (one cache round trip: MGET); a name
    without a token is absent from the answer, and so is every name while Redis cannot be
    reached or a bump of this process is still unwritten (versions_settle)."""
    names = list(names)
    if not versions_settle():
        return {}
    try:
        found = cache.get_many([_PREFIX + n for n in names])
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        return {}
    return {n: found[_PREFIX + n] for n in names if _PREFIX + n in found}


def versions_ensure(names: Iterable[str], known: dict[str, str]) -> dict[str, str]:
    """`known` (from versions_get) completed with a token for every name of `names`: a name
    without one gets a new random token (set only if still absent: `cache.add`, so that two
    workers agree on it). Returns the tokens of all of `names`, but for the names whose token
    could not be read or set (Redis unreachable, or evicted meanwhile): a page that depends
    on one of those is not kept."""
    tokens = {n: known[n] for n in names if n in known}
    for name in names:
        if name not in tokens:
            try:
                cache.add(_PREFIX + name, _new_token(), timeout=TOKEN_TTL_SECONDS)
                token = cache.get(_PREFIX + name)
            except REDIS_UNREACHABLE as error:
                unreachable_log(logger, logging.WARNING, _OUTAGE, error)
                return tokens
            if token is not None:
                tokens[name] = token
    return tokens


def versions_bump(*names: str, using: str | None = None) -> None:
    """Give each name a new token now and again once the current transaction of `using`
    commits (once only outside a transaction). Empty names are skipped.

    Now: the pages kept so far are unusable from the write on (the writing request's own
    next page included, and a test's, whose transaction never commits). After the commit: a
    reader that built its page between the two from rows not yet committed kept it under
    the first new token; the second makes it unusable too. A rollback leaves pages rebuilt
    for nothing, never wrong. Never raises for an unreachable Redis: the bump waits in this
    process (versions_settle)."""
    wanted = sorted({n for n in names if n})
    if wanted:
        _bump_now(wanted)
        if transaction.get_connection(using).in_atomic_block:
            transaction.on_commit(lambda: _bump_now(wanted), using=using)


def _bump_now(names: list[str]) -> None:
    try:
        cache.set_many({_PREFIX + n: _new_token() for n in names}, timeout=TOKEN_TTL_SECONDS)
    except REDIS_UNREACHABLE as error:
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        _pending.add(names)
