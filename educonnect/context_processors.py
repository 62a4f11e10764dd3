"""Site-wide template context.

django-dsfr's own context processor reads a DsfrConfig row on every request; our page frame
(templates/base.html) is fixed and written in the template, so it is not installed.
"""

from django.conf import settings


def site(request):
    return {
        "ASSISTANCE_PHONE": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "ASSISTANCE_URL": settings.EDUCONNECT_ASSISTANCE_URL,
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
