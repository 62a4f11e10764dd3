"""Site-wide template context.

django-dsfr's own context processor reads a DsfrConfig row on every request; our page frame
(templates/base.html) is fixed and written in the template, so it is not installed.
"""

from django.conf import settings
from django.urls import reverse

from core.flows import SESSION_FLOWS


def site(request):
    return {
        "ASSISTANCE_PHONE": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "ASSISTANCE_URL": settings.EDUCONNECT_ASSISTANCE_URL,
        "time_limit": time_limit_of(request),
        # The demo page of the SMS and e-mails sent (notifications.views.demo_outbox), linked
        # from the footer in DEBUG only: the page itself is a 404 without DEBUG.
        "DEMO_OUTBOX_URL": reverse("notifications:demo_outbox") if settings.DEBUG else "",
        # The answer's Content-Security-Policy nonce (django-csp), for the few inline
        # <style>/<script> blocks: `nonce="{{ CSP_NONCE }}"`. Lazy: the header names a nonce
        # only when a template used it. Empty for a request that did not cross the middleware.
        "CSP_NONCE": _LazyNonce(request),
    }


class _LazyNonce:
    def __init__(self, request):
        self.request = request

    def __str__(self) -> str:
        return str(getattr(self.request, "csp_nonce", ""))


def time_limit_of(request) -> dict | None:
    """The time limit a page warns about (issue 13 §2, templates/components/time_limit.html):
    the session's idle lifetime, renewed by every request, for a family signed in or a browser
    in the middle of a flow (the flow lives in the session; every kind's idle lifetime is at
    least the session's by default). None elsewhere: nothing to lose."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated and not user.is_staff
    in_flow = session is not None and bool(session.get(SESSION_FLOWS))
    if not (signed_in or in_flow):
        return None
    seconds = settings.SESSION_COOKIE_AGE
    return {"seconds": seconds, "minutes": max(1, round(seconds / 60)),
            "warn_seconds": min(settings.SESSION_EXPIRY_WARNING_SECONDS, seconds // 2)}
