"""Pages whose empty form is the same bytes for every anonymous visitor but the CSRF token:
rendered once per process and language, the token put in at each request (issue 14).

The sign-in page of each profile (accounts.views.SignInView) and the SMS activation's step 1
(activation.views.start) are the first page of a family's visit, and the ones that September
brings by the million: rendering either cost 2 to 3 ms of CPU per request, as much as the
rest of the request. A kept page is only served when nothing in it can depend on who asks:

- an anonymous visitor (the header of a signed-in person shows their menu);
- no query string (`next`, « Précédent » from a later step: values typed earlier);
- no pending Django message (shown at the top of the page);
- no flow in progress in the session (its pages carry the session's time-limit warning,
  templates/components/time_limit.html, which a kept page would show to later visitors).

Anything else is rendered for the visitor alone, as any page. A page that carries the
answer's Content-Security-Policy nonce (django-csp) is never kept (none does today: base.html
uses no nonce). Kept pages are forgotten when a setting changes (tests).

« Mes services » keeps its own per-account pages in the cache (services_portal.page_cache):
those are one person's, not everybody's.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

from .flows import session_flow_ids

# Where the token goes while the page is rendered once: the length of a masked token.
CSRF_PLACEHOLDER = "educonnectcsrfplaceholder" + "0" * 39

_PAGES: dict[tuple[str, str], str] = {}


@receiver(setting_changed)
def _pages_forget(**kwargs):
    _PAGES.clear()


def has_pending_messages(request: HttpRequest) -> bool:
    """Whether this request has Django messages to show (so its page is its own)."""
    # Added by this very request (the notice of a session that has just ended,
    # accounts.middleware.SessionEndNoticeMiddleware).
    if getattr(request, "signed_in_session_ended", False):
        return True
    # Django's default storage: a cookie, then the session (read only if already loaded
    # from a cookie that exists: an anonymous visitor without one has none).
    if request.COOKIES.get(getattr(settings, "MESSAGE_COOKIE_NAME", "messages")):
        return True
    session = getattr(request, "session", None)
    return bool(session is not None and session.session_key and session.get("_messages"))


def empty_page_servable(request: HttpRequest) -> bool:
    """Whether `request` may be answered with a kept page (see the module's list): a GET or
    HEAD of an anonymous visitor without query string, message or flow in progress."""
    return (request.method in ("GET", "HEAD")
            and not request.GET
            and not request.user.is_authenticated
            and not has_pending_messages(request)
            and not session_flow_ids(request))


def empty_page(request: HttpRequest, name: str, render: Callable[[str], str]) -> HttpResponse:
    """The kept page `name` (a view's own key: « sign-in:representant-legal ») in the
    current language, with this visitor's CSRF token.

    `render(csrf_token)` renders the page's HTML with the given token in place of the
    visitor's; it is called the first time in each process and language (and each time the
    page turns out to hold the answer's CSP nonce, which is then not kept). Only call this
    when `empty_page_servable(request)`.
    """
    key = (name, get_language())
    page = _PAGES.get(key)
    if page is None:
        page = render(CSRF_PLACEHOLDER)
        nonce = getattr(request, "csp_nonce", None)
        if not (nonce and str(nonce) in page):
            _PAGES[key] = page
    return HttpResponse(page.replace(CSRF_PLACEHOLDER, get_token(request)))
