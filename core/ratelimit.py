"""Every rate limit of the product, on one API: moving windows kept in Redis by `limits`.

A `Rule` names a scope and the two settings that give its limit and window; `hit()` counts an
event and says in the same atomic step whether it was within the limit (the `limits` moving
window is a Lua script on Redis: two web nodes or two parallel requests can never both take
the last place). Counters live in Redis in production (`RATELIMIT_STORAGE_URL`, by default
the `REDIS_URL`), so every web node sees the same counts; the demo keeps them in memory.

Subjects (phone numbers, identifiers, IP addresses, e-mail addresses) are keyed-hashed
(HMAC-SHA256 with SECRET_KEY) before they become Redis keys: a dump of Redis reveals no
number, and the hash cannot be reversed by trying every phone number without the key
(ASVS 8.3.4, personal data not stored in clear where not needed).

Shapes: limits are counts of events, windows are seconds; `Decision.retry_after` is a whole
number of seconds, for the French messages that say how long to wait.

Round trips to Redis: `hit()` costs two (the `limits` Lua script, then the window's count);
`hit_in_order()` counts several windows in one Lua script, one round trip whatever their
number; `peek_many()` reads several in one pipeline; `clear()` one, `clear_many()` one for
any number of windows.

When Redis cannot be reached (a refused connection, a connect or read timeout of
REDIS_SOCKET_CONNECT_TIMEOUT / REDIS_SOCKET_TIMEOUT: `core.cache.REDIS_UNREACHABLE`), a call
neither fails nor lets everything through: it is made again, with the same rules, on a moving
window of `limits`' `MemoryStorage` kept in this process (one per process, shared by its
threads), and an ERROR is logged at most once a minute per process. Redis is tried again
REDIS_RETRY_SECONDS later (core.cache.redis_skipped: meanwhile the calls go to memory at
once, without waiting a socket timeout each), so counting goes back to Redis within that
delay of its return. The trade-off, chosen for a
national service that must keep signing families in: during an outage the limits count per
web process — stricter for a client whose requests keep reaching the same process (it has
the whole limit there, and the process's counts start from zero rather than from what Redis
held), looser across the platform (an attacker spread over N processes gets up to N times
the limit, and counters held in Redis before the outage are not seen). What was counted in
memory is not copied to Redis afterwards, and a `clear()` made during the outage clears the
memory only. docs/architecture.md, « Rate limits », says the same.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, ngettext
from limits import RateLimitItemPerSecond
from limits.storage import (
    MemoryStorage,
    RedisClusterStorage,
    RedisStorage,
    Storage,
    storage_from_string,
)
from limits.strategies import MovingWindowRateLimiter

from core.cache import (
    REDIS_UNREACHABLE,
    redis_down,
    redis_options,
    redis_skipped,
    unreachable_log,
)

_HMAC_SALT = "core.ratelimit.subject"
logger = logging.getLogger(__name__)
_OUTAGE = "rate limits (counting in this process's memory)"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Rule:
    """`limit_setting` events per `window_setting` seconds, per subject, in `scope`.

    The numbers are read from settings at each use, so a test or an operator's change of a
    setting applies at once. A limit of 0 or less refuses everything.
    """

    scope: str
    limit_setting: str
    window_setting: str

    @property
    def limit(self) -> int:
        return int(getattr(settings, self.limit_setting))

    @property
    def window_seconds(self) -> int:
        return int(getattr(settings, self.window_setting))

    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(max(self.limit, 0), max(self.window_seconds, 1),
                                      namespace="rl")


@dataclass(frozen=True)
class Decision:
    """What a limit said: `allowed`, and when refused, how long until a place frees up."""

    allowed: bool
    remaining: int
    retry_after: int = 0

    def __bool__(self) -> bool:
        return self.allowed


def wait_text(seconds: int) -> str:
    """A wait of `seconds` (a `Decision.retry_after`) in French words, never shorter than
    the truth: « 45 secondes », « 15 minutes », « 1 heure et 30 minutes », « 24 heures ».

    Under a minute the seconds are given; beyond, whole minutes rounded up (a message saying
    « 1 minute » when 100 s remain would send the user back to a refusal), grouped in hours
    from the sixtieth.
    """
    seconds = max(1, int(seconds))
    if seconds < 60:
        return ngettext("%(n)d seconde", "%(n)d secondes", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    minutes_text = ngettext("%(n)d minute", "%(n)d minutes", minutes % 60) % {"n": minutes % 60}
    if minutes < 60:
        return minutes_text
    hours = minutes // 60
    hours_text = ngettext("%(n)d heure", "%(n)d heures", hours) % {"n": hours}
    if minutes % 60 == 0:
        return hours_text
    return gettext("%(hours)s et %(minutes)s") % {"hours": hours_text, "minutes": minutes_text}


def subject_key(subject: str) -> str:
    """The subject as it appears in Redis: a keyed hash, 32 hex characters."""
    return salted_hmac(_HMAC_SALT, subject, algorithm="sha256").hexdigest()[:32]


@functools.cache
def _limiter_for(url: str) -> tuple[Storage, MovingWindowRateLimiter]:
    # One storage (and so one connection pool) per process and URL, reused by every call.
    # Redis clients get the short socket timeouts of core.cache.redis_options().
    options = redis_options() if url.startswith(("redis", "rediss", "valkey")) else {}
    storage = storage_from_string(url, **options)
    return storage, MovingWindowRateLimiter(storage)


# The fallback while Redis cannot be reached: this process's memory (see the module
# docstring). Created once; `limits`' MemoryStorage is thread-safe (a lock per key).
_fallback_lock = threading.Lock()
_fallback: tuple[MemoryStorage, MovingWindowRateLimiter] | None = None


def _fallback_pair() -> tuple[MemoryStorage, MovingWindowRateLimiter]:
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            storage = MemoryStorage()
            _fallback = (storage, MovingWindowRateLimiter(storage))
        return _fallback


def _fallback_limiter() -> MovingWindowRateLimiter:
    return _fallback_pair()[1]


def _limiter() -> MovingWindowRateLimiter:
    return _limiter_for(settings.RATELIMIT_STORAGE_URL)[1]


def _storage() -> Storage:
    return _limiter_for(settings.RATELIMIT_STORAGE_URL)[0]


def _unreachable(error: Exception) -> MovingWindowRateLimiter:
    """The fallback's limiter, once the outage is recorded (core.cache.redis_down: Redis is
    not tried again for REDIS_RETRY_SECONDS) and logged (at most once a minute)."""
    redis_down(settings.RATELIMIT_STORAGE_URL)
    unreachable_log(logger, logging.ERROR, _OUTAGE, error)
    return _fallback_limiter()


def _counted(work: Callable[[MovingWindowRateLimiter], _T]) -> _T:
    """`work(limiter)` on the configured storage; when Redis cannot be reached, or was found
    unreachable less than REDIS_RETRY_SECONDS ago, on this process's memory (the whole of
    it: an event half-counted in Redis is counted again there, which errs on the strict
    side)."""
    if redis_skipped(settings.RATELIMIT_STORAGE_URL):
        return work(_fallback_limiter())
    try:
        return work(_limiter())
    except REDIS_UNREACHABLE as error:
        return work(_unreachable(error))


def _refusal(limiter: MovingWindowRateLimiter, rule: Rule, key: str) -> Decision:
    stats = limiter.get_window_stats(rule.item(), rule.scope, key)
    wait = max(1, math.ceil(stats.reset_time - time.time()))
    return Decision(allowed=False, remaining=0, retry_after=wait)


def _hit(limiter: MovingWindowRateLimiter, rule: Rule, key: str, cost: int) -> Decision:
    item = rule.item()
    if rule.limit > 0 and limiter.hit(item, rule.scope, key, cost=cost):
        remaining = limiter.get_window_stats(item, rule.scope, key).remaining
        return Decision(allowed=True, remaining=remaining)
    return _refusal(limiter, rule, key)


def hit(rule: Rule, subject: str, *, cost: int = 1) -> Decision:
    """Count `cost` events for `subject` if they fit in the window, atomically.

    Returns Decision(allowed=True, remaining=…) when counted; Decision(allowed=False,
    retry_after=seconds) when the window is full, and then nothing is counted. An empty
    subject (no IP address known) is counted under the empty string, never skipped. Never
    raises for an unreachable Redis: the process's memory counts instead (module docstring).

    One event of a window that has room (`limit` > 0) is counted by hit_in_order's script:
    one round trip on Redis that answers `remaining` too, where `limits`' hit() then
    get_window_stats() took two (issue 14: the activation's step 1 made six).
    """
    if cost == 1 and rule.limit > 0:
        return hit_in_order((rule, subject))[-1]
    key = subject_key(subject or "")
    return _counted(lambda limiter: _hit(limiter, rule, key, cost))


def _peek(limiter: MovingWindowRateLimiter, rule: Rule, key: str) -> Decision:
    # One reading of the window answers both: `limits`' test() is `remaining >= 1` of the
    # same get_window_stats(), which then gives `remaining` or the wait (one round trip on
    # Redis instead of two).
    if rule.limit <= 0:
        return _refusal(limiter, rule, key)
    stats = limiter.get_window_stats(rule.item(), rule.scope, key)
    if stats.remaining >= 1:
        return Decision(allowed=True, remaining=stats.remaining)
    return Decision(allowed=False, remaining=0,
                    retry_after=max(1, math.ceil(stats.reset_time - time.time())))


def peek(rule: Rule, subject: str) -> Decision:
    """Whether one more event would be allowed now, without counting it (from the process's
    memory while Redis cannot be reached)."""
    key = subject_key(subject or "")
    return _counted(lambda limiter: _peek(limiter, rule, key))


def used(rule: Rule, subject: str) -> int:
    """How many events of `subject` the current window holds (for the helpdesk; while Redis
    cannot be reached, what this process counted)."""
    key = subject_key(subject or "")
    stats = _counted(lambda limiter: limiter.get_window_stats(rule.item(), rule.scope, key))
    return max(rule.limit - stats.remaining, 0)


def clear(rule: Rule, subject: str) -> None:
    """Forget the events of `subject` under `rule` (an unlock by the helpdesk, a success).
    While Redis cannot be reached, only the process's memory is cleared."""
    key = subject_key(subject or "")
    _counted(lambda limiter: limiter.clear(rule.item(), rule.scope, key))


def reset_all() -> None:
    """Forget every counter of the configured storage and of the process's fallback memory.
    Tests and the demo only."""
    _storage().reset()
    _fallback_pair()[0].reset()


# --- Several windows in one step --------------------------------------------------------------

# The `limits` moving window (acquire_moving_window.lua), for several windows in order, in one
# script: Redis runs it atomically, so it keeps hit()'s guarantee across every window. The
# data is the same (a list of timestamps per key, newest first, trimmed to the limit, expiring
# with the window): peek(), used() and clear() read and clear what it counts.
_HIT_IN_ORDER_LUA = """
local now = tonumber(ARGV[1])
local result = {0, 0}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1])
    if limit <= 0 then
        result[1] = i
        result[2] = expiry
        return result
    end
    local last = redis.call('lindex', key, limit - 1)
    if last and tonumber(last) >= now - expiry then
        result[1] = i
        result[2] = math.max(1, math.ceil(tonumber(last) + expiry - now))
        return result
    end
    redis.call('lpush', key, ARGV[1])
    redis.call('ltrim', key, 0, limit - 1)
    redis.call('expire', key, expiry)
    local count = 0
    for _, entry in ipairs(redis.call('lrange', key, 0, limit - 1)) do
        if tonumber(entry) >= now - expiry then
            count = count + 1
        end
    end
    result[i + 2] = limit - count
end
return result
"""


@functools.cache
def _hit_in_order_script(url: str):
    storage = _limiter_for(url)[0]
    return storage.get_connection().register_script(_HIT_IN_ORDER_LUA)


def _single_redis(storage: Storage) -> bool:
    # A cluster would refuse a script over keys of several slots: it counts window by window.
    return isinstance(storage, RedisStorage) and not isinstance(storage, RedisClusterStorage)


def _redis_key(storage: RedisStorage, rule: Rule, subject: str) -> str:
    return storage.prefixed_key(rule.item().key_for(rule.scope, subject_key(subject or "")))


def _hit_one_by_one(limiter: MovingWindowRateLimiter,
                    steps: tuple[tuple[Rule, str], ...]) -> list[Decision]:
    decisions = []
    for rule, subject in steps:
        decisions.append(_hit(limiter, rule, subject_key(subject or ""), 1))
        if not decisions[-1].allowed:
            break
    return decisions


def hit_in_order(*steps: tuple[Rule, str]) -> list[Decision]:
    """Count one event for each `(rule, subject)` of `steps`, in order, until a window is
    full: that window and the ones after it count nothing.

    Returns one Decision per window reached: allowed ones (with `remaining`), then, when a
    window was full, its refusal (with `retry_after` seconds) last. `decisions[-1].allowed`
    is the verdict. On Redis it is one atomic script, one round trip whatever the number of
    windows (parallel requests can never both take a window's last place, as with hit());
    on another storage (the demo's memory), one hit() after the other; while Redis cannot
    be reached, one after the other in the process's memory (module docstring).
    """
    storage = _storage()
    if not _single_redis(storage) or redis_skipped(settings.RATELIMIT_STORAGE_URL):
        return _counted(lambda limiter: _hit_one_by_one(limiter, steps))
    keys = [_redis_key(storage, rule, subject) for rule, subject in steps]
    args: list[str | int] = [repr(time.time())]
    for rule, _subject in steps:
        args += [max(rule.limit, 0), max(rule.window_seconds, 1)]
    try:
        refused, wait, *remaining = _hit_in_order_script(settings.RATELIMIT_STORAGE_URL)(
            keys=keys, args=args
        )
    except REDIS_UNREACHABLE as error:
        return _hit_one_by_one(_unreachable(error), steps)
    decisions = [Decision(allowed=True, remaining=int(left)) for left in remaining]
    if refused:
        decisions.append(Decision(allowed=False, remaining=0, retry_after=int(wait)))
    return decisions


def _clear_one_by_one(limiter: MovingWindowRateLimiter,
                      steps: tuple[tuple[Rule, str], ...]) -> None:
    for rule, subject in steps:
        limiter.clear(rule.item(), rule.scope, subject_key(subject or ""))


def clear_many(*steps: tuple[Rule, str]) -> None:
    """Forget the events of each `(rule, subject)`: one round trip on Redis (one DEL); while
    Redis cannot be reached, in the process's memory only."""
    storage = _storage()
    if not _single_redis(storage) or redis_skipped(settings.RATELIMIT_STORAGE_URL):
        _counted(lambda limiter: _clear_one_by_one(limiter, steps))
        return
    if not steps:
        return
    try:
        storage.get_connection().delete(
            *(_redis_key(storage, rule, subject) for rule, subject in steps)
        )
    except REDIS_UNREACHABLE as error:
        _clear_one_by_one(_unreachable(error), steps)


def _peek_one_by_one(limiter: MovingWindowRateLimiter,
                     steps: tuple[tuple[Rule, str], ...]) -> list[Decision]:
    return [_peek(limiter, rule, subject_key(subject or "")) for rule, subject in steps]


def peek_many(*steps: tuple[Rule, str]) -> list[Decision]:
    """Whether one more event would be allowed now in each `(rule, subject)` window, without
    counting anything: one Decision per step, in order (refusals with `retry_after` seconds,
    the time until the window's oldest counted event leaves it).

    On Redis, one round trip whatever the number of windows (a pipeline of LRANGE over the
    lists hit_in_order() and hit() write, newest timestamp first; read-only, so it needs no
    atomicity); on another storage, or while Redis cannot be reached, peek() after peek()
    (module docstring). For the helpdesk, which reads many windows of one account at once.
    """
    storage = _storage()
    if not _single_redis(storage) or redis_skipped(settings.RATELIMIT_STORAGE_URL):
        return _counted(lambda limiter: _peek_one_by_one(limiter, steps))
    if not steps:
        return []
    pipeline = storage.get_connection().pipeline(transaction=False)
    for rule, subject in steps:
        pipeline.lrange(_redis_key(storage, rule, subject), 0, max(rule.limit, 1) - 1)
    try:
        lists = pipeline.execute()
    except REDIS_UNREACHABLE as error:
        return _peek_one_by_one(_unreachable(error), steps)
    now = time.time()
    decisions = []
    for (rule, _subject), entries in zip(steps, lists, strict=True):
        window = max(rule.window_seconds, 1)
        live = [float(entry) for entry in entries if float(entry) >= now - window]
        if rule.limit <= 0:
            decisions.append(Decision(allowed=False, remaining=0, retry_after=window))
        elif len(live) >= rule.limit:
            wait = max(1, math.ceil(min(live) + window - now))
            decisions.append(Decision(allowed=False, remaining=0, retry_after=wait))
        else:
            decisions.append(Decision(allowed=True, remaining=rule.limit - len(live)))
    return decisions
