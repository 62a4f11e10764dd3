"""Test configuration shared by every test module.

Tests that need something the machine may lack (PostgreSQL, Redis, Chromium) carry a marker;
on a machine without it they are skipped with the reason shown. In CI (CI=true) nothing may
be skipped: a skip fails the run.
"""

import copy
import os
import shutil
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

# pytest-django's live_server and Playwright's sync API share the event loop thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port),
                                      timeout=1):
            return True
    except OSError:
        return False


def _missing_for(marker_name: str) -> str | None:
    from django.conf import settings

    if marker_name == "needs_postgres" and not settings.IS_POSTGRES:
        return "needs PostgreSQL: set DATABASE_URL=postgres://…"
    if marker_name == "needs_redis":
        if not settings.REDIS_URL:
            return "needs Redis: set REDIS_URL=redis://…"
        if not _reachable(settings.REDIS_URL, 6379):
            return f"needs Redis: {settings.REDIS_URL} does not answer"
    if marker_name == "browser" and not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
        for name in ("needs_postgres", "needs_redis", "browser"):
            if item.get_closest_marker(name):
                reason = _missing_for(name)
                if reason:
                    item.add_marker(pytest.mark.skip(reason=reason))


_skipped_in_ci: list[str] = []


def pytest_runtest_logreport(report):
    if IN_CI and report.skipped:
        _skipped_in_ci.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if IN_CI and _skipped_in_ci:
        print(f"\nCI=true: {len(_skipped_in_ci)} test(s) were skipped, which CI does not allow:")
        for nodeid in _skipped_in_ci:
            print(f"  {nodeid}")
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _clean_cache():
    """Attempt counters live in the cache and the rate-limit storage: every test starts
    with none."""
    from django.core.cache import cache

    from core import ratelimit

    cache.clear()
    ratelimit.reset_all()
    yield
    cache.clear()
    ratelimit.reset_all()


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    """The locmem SMS backend's outbox, like django.core.mail.outbox, starts empty."""
    from notifications import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


# --- Invalid template variables fail the test -------------------------------------------
# In our own templates (templates/ of the project) a variable that does not resolve raises,
# whatever the test: the page would have shown an empty string. Django's admin and
# django-dsfr's templates rely on missing variables by design, so the check is scoped by the
# file the variable is written in: the innermost template node being rendered names its
# origin. Everywhere else, a missing variable behaves as in production.
OUR_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


class InvalidTemplateVariable(Exception):
    pass


def _variable_origin() -> str:
    from django.template.base import Node

    frame = sys._getframe(2)
    while frame is not None:
        node = frame.f_locals.get("self")
        if isinstance(node, Node) and getattr(node, "origin", None) is not None:
            return node.origin.name
        frame = frame.f_back
    return ""


def _in_our_templates(origin: str) -> bool:
    try:
        return Path(origin).resolve().is_relative_to(OUR_TEMPLATES)
    except (OSError, ValueError):
        return False


class StrictStringIfInvalid(str):
    """`string_if_invalid` of the test settings. Django checks it for truth, then for "%s",
    then formats it with the variable's name: in our templates the truth test says yes and
    the formatting raises; elsewhere it is a false empty string, so that filters such as
    `default` apply as they do in production."""

    def __bool__(self):
        return _in_our_templates(_variable_origin())

    def __contains__(self, key):
        return key == "%s"

    def __mod__(self, variable):
        raise InvalidTemplateVariable(
            f"Invalid template variable {variable!r} in {_variable_origin()}"
        )


@pytest.fixture(autouse=True, scope="session")
def _fail_on_invalid_template_variables():
    from django.conf import settings
    from django.test.utils import override_settings

    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["string_if_invalid"] = StrictStringIfInvalid("")
    with override_settings(TEMPLATES=templates):
        yield


@pytest.fixture(autouse=True, scope="session")
def _fail_on_a_doubled_brand_in_titles():
    """Every HTML page any test renders (test client and live server alike) has the brand at
    most once as a part of its <title>: base.html adds « — ÉduConnect » after `page_title`,
    so a view must not add it too (tests/html.py, doubled_brand_title)."""
    from django.core.handlers.base import BaseHandler

    from tests.html import doubled_brand_title

    original = BaseHandler.get_response

    def get_response(self, request):
        response = original(self, request)
        if (not getattr(response, "streaming", False)
                and response.get("Content-Type", "").startswith("text/html")):
            title = doubled_brand_title(response.content)
            if title is not None:
                raise AssertionError(f"{request.path}: the brand twice in <title>: {title!r}")
        return response

    BaseHandler.get_response = get_response
    try:
        yield
    finally:
        BaseHandler.get_response = original


# --- E-mail ------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _email_through_the_outbox(settings):
    """As in production, EMAIL_BACKEND is the outbox (pytest-django swaps in locmem at start:
    this puts the project's back). Delivery goes to django.core.mail.outbox unless a test
    takes the `smtp_server` fixture; links in e-mails start with http://testserver, the test
    client's host (a browser test sets EDUCONNECT_SITE_URL = live_server.url)."""
    settings.EMAIL_BACKEND = "notifications.backends.OutboxEmailBackend"
    settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback, with the outbox's delivery pointed at it:
    `.messages` (parsed email.message.EmailMessage), `.wait_for(count, timeout)`,
    `.refuse("451 …", times)`. See tests/mailbox.py (and its `link_from`)."""
    from tests.mailbox import SMTPTestServer

    server = SMTPTestServer().start()
    settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def back_to_the_latest_migrations():
    """For a test that migrates some apps backwards: afterwards every app's latest migrations
    are applied again (those that depended on what was unapplied too, such as assistance on
    pupils), so that the tests after it find every table whatever the order."""
    yield
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def outage_redis(settings):
    """A Redis of the test's own (tests/redis_server.py: a real redis-server on a free port),
    started, with the cache, the sessions and the rate limits pointed at it as in production
    (one URL for all three). `.stop()` makes it unreachable (connections refused), `.start()`
    brings it back empty on the same port; `.cut()` points everything at a closed port while
    the server keeps its data, `.mend()` back at the server (a network cut rather than a
    restart). REDIS_RETRY_SECONDS is 0, every call tries Redis, unless the test sets it."""
    from accounts import sessions
    from core import cache as core_cache
    from core import versions
    from tests.redis_server import OwnRedis, free_port

    if not OwnRedis.available():
        pytest.skip("needs redis-server (apt-get install -y redis-server)")

    class Outage:
        def __init__(self):
            self.server = OwnRedis()
            self.closed_port = free_port()

        def point_at(self, url):
            settings.CACHES = {"default": {
                "BACKEND": "core.cache.RedisCache", "LOCATION": url,
                "KEY_PREFIX": "educonnect",
                "OPTIONS": {"socket_connect_timeout": settings.REDIS_SOCKET_CONNECT_TIMEOUT,
                            "socket_timeout": settings.REDIS_SOCKET_TIMEOUT},
            }}
            settings.RATELIMIT_STORAGE_URL = url

        def start(self):
            self.server.start()

        def stop(self):
            self.server.stop()

        def cut(self):
            self.point_at(f"redis://127.0.0.1:{self.closed_port}/0")

        def mend(self):
            self.point_at(self.server.url(0))

        def client(self):
            return self.server.client(0)

    def forget_the_outages():
        core_cache.redis_retry_reset()
        core_cache.unreachable_log_reset()
        versions._pending.clear()
        sessions._stale_keys.clear()

    outage = Outage()
    outage.start()
    try:  # the server is stopped whatever happens from here
        settings.SESSION_ENGINE = "accounts.sessions"
        settings.REDIS_RETRY_SECONDS = 0
        outage.mend()
        forget_the_outages()
        yield outage
    finally:
        outage.stop()
        forget_the_outages()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`commit(call, *args, **kwargs)`: run a request (or any call) with its on-commit
    callbacks executed, as after a real commit (the outbox then sends its SMS and mails)."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def today():
    """The product's date (timezone.localdate, Paris) read when the test starts, not when
    its module is collected: a run that crossed midnight between the two judged the
    messages of « today » against yesterday (CI at 00:03, Paris time)."""
    from django.utils import timezone

    return timezone.localdate()
