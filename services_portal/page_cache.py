"""« Mes services » kept in the cache per account, never stale (issue 14).

The page of one account is rendered once and kept in the default cache (Redis) under
`mes-services:v2:<account id>` (entry_key), with what it was built from:

- the version tokens (core.versions) of every name whose writes change it: the account
  (`account:<id>`: its guardian records, its pupil), each school of its guardian records
  and of its children (`school:<id>`: the school's name, its pupils, the links of its
  records, its messages), the services catalogue (`catalogue`) and the news (`news`).
  Model writes bump them through services_portal.receivers; bulk writes bump explicitly
  (pupils.roster_import). The tokens are read *before* the page's queries, so a write that
  commits meanwhile leaves a page that its bump, after the commit, makes unusable;
- the day it was built for: messages and news are shown between two dates (DateFields, in
  TIME_ZONE), so a page is kept until the next local midnight at most (and at most
  MAX_SECONDS, the bound of a bump lost while Redis was unreachable);
- what the request brings to the frame: the account's names, identifier, kind and state
  (loaded by the session anyway), the language, the time-limit box's figures, the deploy's
  templates and static files (RELEASE, computed once per process).

Per request, only the CSRF token of the sign-out form is put into the kept page (it is
rendered with CSRF_PLACEHOLDER). A request with pending Django messages is rendered for
itself and not kept (the messages are shown once); so is a page that used the request's
CSP nonce (base.html uses none today).

Cost of a hit: one cache round trip (MGET of the entry and the tokens the worker last saw
for that account), a second one only when the account's schools changed since; no SQL. With
Redis (core.cache.RedisCache) the MGET goes to the client directly and the tokens are
compared as the bytes Redis holds (Django's pickled form), never unpickled: the entry is the
only value loaded (one `pickle.loads`). The page is kept without its indentation (a quarter
of its bytes: nothing inside `<pre>` or `<textarea>`, which keep it) and compressed (zlib
level 1: 30 kB of HTML for 4 children take 3.9 kB in Redis; compressing costs about 0.05 ms
once, inflating about 0.025 ms per hit).

Pages are kept only in a cache every process shares (Redis). The demo's (no REDIS_URL: Django's
LocMemCache) lives in each process's memory: the version bumps of another process
(`manage.py import_roster`, a shell) never reach the web server's, whose kept page would
show the family as it was before (tryout: a child the import added missing, a renamed
child under the old name). There the page is rendered at each request (`_cache_shared`).

When Redis cannot be reached (`core.cache.REDIS_UNREACHABLE`), the page is rendered from the
database as if nothing were kept, and not kept; a WARNING says so at most once a minute per
process. Nor is a kept page served, or a page kept, while this process holds a version bump
it could not write (core.versions.versions_settle): its kept pages could be stale.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import logging
import zlib
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.functional import empty
from django.utils.translation import get_language

from core.cache import REDIS_UNREACHABLE, unreachable_log
from core.versions import versions_ensure, versions_get, versions_settle

logger = logging.getLogger(__name__)
_OUTAGE = "« Mes services » (pages built, not kept)"

# The length of a masked CSRF token (64), so that the page's length does not change.
CSRF_PLACEHOLDER = "educonnectmyservicescsrf" + "0" * 40
_PLACEHOLDER_BYTES = CSRF_PLACEHOLDER.encode()
MAX_SECONDS = 60 * 60
# v2: a JSON head and the zlib page, in bytes (v1, a pickled tuple, is never read).
_ENTRY_PREFIX = "mes-services:v2:"
_VERSION_PREFIX = "version:"  # core.versions' keys: read in the same MGET as the entry

# Per worker: the version names of the last page kept for each account, so that a hit reads
# the entry and its tokens in one round trip. A guess only (checked against the entry).
_LAST_NAMES: dict[int, tuple[str, ...]] = {}
_LAST_NAMES_MAX = 20_000
_release: str | None = None
_shared: bool | None = None


@receiver(setting_changed)
def _forget(**kwargs):
    global _release, _shared
    _release = None
    _shared = None
    _LAST_NAMES.clear()


def _cache_shared() -> bool:
    """Whether the default cache is seen by every process (Redis), so that a version bump
    made by any of them reaches the kept pages; False for a process's own memory
    (LocMemCache, the demo's). Decided once per process (and again when CACHES changes)."""
    global _shared
    if _shared is None:
        _shared = not isinstance(caches["default"], LocMemCache)
    return _shared


def entry_key(account_id: int) -> str:
    """The cache key (before the cache's prefix) of the kept page of one account."""
    return _ENTRY_PREFIX + str(account_id)


def _raw_client():
    """The `redis.Redis` client of the default cache when it is Django's Redis backend (the
    product's core.cache.RedisCache), else None (the demo's memory cache)."""
    client_of = getattr(caches["default"], "_cache", None)
    if client_of is None or not hasattr(client_of, "get_client"):
        return None
    return client_of.get_client()


def _read(keys: list[str]) -> list[bytes | None]:
    """The values of `keys` (cache keys, before the cache's prefix) in one round trip, as
    bytes: what Redis holds (Django's pickled form for the version tokens, ours for an
    entry), or the same bytes from another backend; None for a missing key."""
    client = _raw_client()
    if client is not None:
        make_key = caches["default"].make_key  # one lookup of this thread's cache object
        return client.mget([make_key(k) for k in keys])
    found = cache.get_many(keys)
    return [_token_bytes(found[k]) if isinstance(found.get(k), str) else found.get(k)
            for k in keys]


def _token_bytes(token: str) -> bytes:
    # A token as _read answers it: Django's Redis serializer pickles any str.
    client_of = getattr(cache, "_cache", None)
    serializer = getattr(client_of, "_serializer", None)
    if serializer is not None:
        return serializer.dumps(token)
    return token.encode()


def _write(key: str, value: bytes, timeout: int) -> None:
    client = _raw_client()
    if client is not None:
        client.set(cache.make_key(key), value, ex=timeout)
    else:
        cache.set(key, value, timeout=timeout)


def without_indentation(html: str) -> str:
    """`html` without the spaces that start and end its lines nor its blank lines: what a
    browser shows is the same (a run of whitespace that holds a line break stays one line
    break), unless the page has a `<pre>` or a `<textarea>`, whose text keeps its spaces:
    such a page is returned as it is. About 0.2 ms for 40 kB, once per kept page."""
    lowered = html.lower()
    if "<pre" in lowered or "<textarea" in lowered:
        return html
    return "\n".join(filter(None, (line.strip() for line in html.splitlines())))


def csrf_token(request) -> str:
    """The CSRF token put in the kept page's sign-out form: Django's own `get_token`, masked
    anew for each response (BREACH). A copy of Django's masking drawn from one `os.urandom`
    read saved 0.03 ms a hit; it was left out: it leaned on the CSRF middleware's private
    `request.META` keys, and the CSRF protection stays Django's."""
    return get_token(request)


def release() -> str:
    """A digest of what the frame of every page is made of in this deploy: the project's
    templates, the static files' manifest (hashed names), Django's and django-dsfr's
    versions. A deploy that changes one of them never serves a page kept by the previous
    one. Computed once per process (a few ms)."""
    global _release
    if _release is None:
        digest = hashlib.sha256()
        for package in ("django", "django-dsfr"):
            try:
                digest.update(importlib.metadata.version(package).encode())
            except importlib.metadata.PackageNotFoundError:
                digest.update(b"-")
        roots = [Path(d) for t in settings.TEMPLATES for d in t.get("DIRS", [])]
        for root in roots:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    digest.update(str(path.relative_to(root)).encode())
                    digest.update(path.read_bytes())
        manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
        if manifest.is_file():
            digest.update(manifest.read_bytes())
        _release = digest.hexdigest()[:16]
    return _release


def has_pending_messages(request) -> bool:
    """Whether Django's messages framework holds messages for this browser (its default
    storage: a cookie, then the session), which the next page shows once."""
    if request.COOKIES.get(getattr(settings, "MESSAGE_COOKIE_NAME", "messages")):
        return True
    session = getattr(request, "session", None)
    return bool(session is not None and session.session_key and session.get("_messages"))


def _frame(request, account, time_limit: dict | None) -> tuple:
    # request.user is a SimpleLazyObject, loaded by the time a view runs: its attributes are
    # read from the account itself (each through the proxy costs a few µs).
    wrapped = getattr(account, "_wrapped", empty)
    account = account if wrapped is empty else wrapped
    # Everything besides the data that the kept page depends on; compared for equality.
    limit = tuple(sorted(time_limit.items())) if time_limit else None
    return (account.pk, account.first_name, account.last_name, account.identifier,
            account.kind, account.state, account.is_staff, get_language(), limit,
            settings.EDUCONNECT_ASSISTANCE_PHONE, settings.EDUCONNECT_ASSISTANCE_URL,
            release())


def _seconds_to_keep(now: datetime.datetime) -> int:
    local = timezone.localtime(now)
    midnight = datetime.datetime.combine(local.date() + datetime.timedelta(days=1),
                                         datetime.time(), tzinfo=local.tzinfo)
    return max(1, min(MAX_SECONDS, int((midnight - local).total_seconds())))


def cached_page(request, *, account, base_names: tuple[str, ...], time_limit: dict | None,
                render: Callable[[dict], tuple[str, set[str]]]) -> HttpResponse:
    """« Mes services » of `account` from the cache, or rendered by `render` and kept.

    `base_names` are the version names known before any query (the account's, the
    catalogue's, the news'); `render(context_extra)` renders the page with `context_extra`
    added to its context and returns (html, every version name the page depends on: the
    base names and its schools'). Returns the response, the request's CSRF token put in."""
    now = timezone.now()
    today = timezone.localdate(now)
    frame = _frame(request, account, time_limit)
    key = entry_key(account.pk)
    if has_pending_messages(request) or not _cache_shared():
        html, _names = render({})
        return HttpResponse(html)

    if not versions_settle():
        html, _names = render({})
        return HttpResponse(html)
    guess = _LAST_NAMES.get(account.pk, base_names)
    try:
        return _kept_or_built(request, account=account, key=key, guess=guess, today=today,
                              now=now, frame=frame, render=render)
    except REDIS_UNREACHABLE as error:
        # Before the page was rendered (a read): render it now, as if nothing were kept.
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        html, _names = render({})
        return HttpResponse(html)


def _kept_or_built(request, *, account, key: str, guess: tuple[str, ...],
                   today: datetime.date, now: datetime.datetime, frame: tuple,
                   render: Callable[[dict], tuple[str, set[str]]]) -> HttpResponse:
    values = _read([key] + [_VERSION_PREFIX + n for n in guess])
    if values[0] is not None:
        # The entry: a JSON head (the tokens as Redis holds them, latin-1 text of their
        # bytes; the day; the frame's repr), a line break, the compressed page.
        head, _, html = values[0].partition(b"\n")
        kept_tokens, kept_day, kept_frame = json.loads(head)
        raw = {n: v.decode("latin-1")
               for n, v in zip(guess, values[1:], strict=True) if v is not None}
        missing = [n for n in kept_tokens if n not in raw and n not in guess]
        if missing:
            found = _read([_VERSION_PREFIX + n for n in missing])
            raw.update((n, v.decode("latin-1"))
                       for n, v in zip(missing, found, strict=True) if v is not None)
            _LAST_NAMES[account.pk] = tuple(kept_tokens)
        if kept_day == today.toordinal() and kept_frame == repr(frame) and all(
                raw.get(n) == t for n, t in kept_tokens.items()):
            page = zlib.decompress(html)
            return HttpResponse(page.replace(_PLACEHOLDER_BYTES, csrf_token(request).encode()))

    # Built now: the tokens of the names known before the queries are fixed first.
    tokens = versions_ensure(guess, versions_get(guess))
    html, names = render({"csrf_token": CSRF_PLACEHOLDER})
    html = without_indentation(html)
    nonce_used = isinstance(getattr(request, "_csp_nonce", None), str)
    if set(names) <= set(tokens) and not nonce_used:
        kept = {n: _token_bytes(tokens[n]).decode("latin-1") for n in names}
        head = json.dumps([kept, today.toordinal(), repr(frame)]).encode()
        try:
            _write(key, head + b"\n" + zlib.compress(html.encode(), 1),
                   _seconds_to_keep(now))
        except REDIS_UNREACHABLE as error:
            unreachable_log(logger, logging.WARNING, _OUTAGE, error)
    if len(_LAST_NAMES) >= _LAST_NAMES_MAX:
        _LAST_NAMES.clear()
    # A page whose schools were not known before its queries is not kept this time: their
    # tokens were not read first. The next request reads them first, then keeps it.
    _LAST_NAMES[account.pk] = tuple(sorted(names))
    return HttpResponse(html.replace(CSRF_PLACEHOLDER, csrf_token(request)))
