"""Attempt counters kept in the Django cache. BEING REPLACED by core.ratelimit (the `limits`
library, moving windows): each caller moves to it and this module goes.

A counter is a cache key incremented atomically; its window starts with its first hit.
"""

import hashlib

from django.core.cache import cache


def _key(scope: str, subject: str) -> str:
    # Subjects (identifiers, phone numbers, addresses) are hashed: keys in Redis leak nothing.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}"


def hit(scope: str, subject: str, *, window_seconds: int) -> int:
    """Count one attempt and return the number of attempts in the current window."""
    key = _key(scope, subject)
    if cache.add(key, 1, timeout=window_seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window_seconds)
        return 1


def count(scope: str, subject: str) -> int:
    return cache.get(_key(scope, subject), 0)


def reset(scope: str, subject: str) -> None:
    cache.delete(_key(scope, subject))


def exceeded(scope: str, subject: str, *, limit: int) -> bool:
    return count(scope, subject) >= limit
