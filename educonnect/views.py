import logging

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.flows import flow_after_csrf_failure, flows_keep_alive

logger = logging.getLogger(__name__)


def csrf_failure(request, reason=""):
    """A French page instead of Django's English one; the reason is not shown to the user.
    A step of a flow this browser has finished meanwhile (another tab) goes to the flow's
    own page instead (core.flows.flow_after_csrf_failure)."""
    response = flow_after_csrf_failure(request)
    if response is not None:
        return response
    return render(request, "errors/csrf.html", status=403)


def _under_backoffice(request) -> bool:
    # A request refused before the authentication middleware ran (a Host not allowed) has
    # no user for the back-office's frame: it gets the portal's page.
    return request.path_info.startswith(reverse("admin:index")) and hasattr(request, "user")


def _backoffice_error(request, status: int, title: str) -> HttpResponse:
    """The error page `status` of a back-office address (/gestion/): in the back-office's
    frame (templates/admin/errors/<status>.html) with a link back to its index, not to the
    family portal. `each_context` shows the staff menu only to a signed-in staff user."""
    context = {
        **admin.site.each_context(request),
        "title": title,
        "subtitle": None,
    }
    return render(request, f"admin/errors/{status}.html", context, status=status)


def bad_request(request, exception):
    """A French page instead of Django's « Bad Request (400) » (a suspicious request: a
    filter the admin does not allow in its address, a wrong Host…); the reason is not shown."""
    if _under_backoffice(request):
        return _backoffice_error(request, 400, gettext("Adresse incorrecte"))
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception):
    """A French page instead of Django's « 403 Forbidden » (issue 16 §5); under /gestion/ in
    the back-office's frame, with a link to its index."""
    if _under_backoffice(request):
        return _backoffice_error(request, 403, gettext("Accès refusé"))
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception):
    """A French 404 page; under /gestion/ in the back-office's frame, with a link to its
    index."""
    if _under_backoffice(request):
        return _backoffice_error(request, 404, gettext("Page introuvable"))
    return render(request, "errors/404.html", status=404)


def server_error(request):
    """A French 500 page; under /gestion/ in the back-office's frame, with a link to its
    index (a secretary is not sent to the family portal's home page). That page reads
    nothing from the database or the session (no staff menu, the user taken as anonymous):
    the failure may be theirs. If it cannot be rendered either, the portal's page."""
    if request.path_info.startswith(reverse("admin:index")):
        context = {
            "title": gettext("Erreur du service"),
            "subtitle": None,
            "site_header": admin.site.site_header,
            "site_title": admin.site.site_title,
            "site_url": None,
            "has_permission": False,
            "is_nav_sidebar_enabled": False,
            "user": AnonymousUser(),
        }
        try:
            return render(request, "admin/errors/500.html", context, status=500)
        except Exception:  # the back-office's frame failed too: the plainer page below
            logger.exception("The back-office's 500 page failed; the portal's is served")
    return render(request, "errors/500.html", status=500)


def method_not_allowed(request, response: HttpResponse) -> HttpResponse:
    """The page of a 405 (an address that only takes a form's POST, opened by a link, a
    bookmark or the address bar): `response`, Django's empty « 405 » (require_POST,
    require_http_methods, a class-based view's http_method_not_allowed), given a French body
    in the site's frame, its status and headers (Allow, Cache-Control…) kept.

    Under the back-office (/gestion/) the back-office's frame with a link to its index;
    elsewhere the DSFR frame (templates/errors/405.html, like the 403/404/500 pages) with a
    link to « Mes services » for a signed-in visitor, to the home page otherwise. Called by
    educonnect.middleware.MethodNotAllowedPageMiddleware; returns `response`, changed."""
    if request.path_info.startswith(reverse("admin:index")):
        context = {
            **admin.site.each_context(request),
            "title": gettext("Cette adresse ne s'ouvre pas directement"),
            "subtitle": None,
        }
        body = render_to_string("admin/errors/405.html", context, request=request)
    else:
        body = render_to_string("errors/405.html", request=request)
    response.content = body
    response["Content-Type"] = "text/html; charset=utf-8"
    return response


KEEP_ALIVE_HEADER = "X-EduConnect-Keep-Alive"


@never_cache
@csrf_exempt
@require_POST
def session_keep_alive(request):
    """« Prolonger » of the time-limit warning (templates/components/time_limit.html, issue
    13 §2): the request itself renews the session's idle lifetime (SESSION_SAVE_EVERY_REQUEST;
    never its absolute one), and this browser's open flows are pushed back like an action.
    Answers {"seconds": the new idle lifetime}; 410 when the signed-in session has already
    ended.

    No CSRF token, so that the warning's markup is the same on every page of a session (the
    flows' « not found » pages must not differ by a token): a cross-site page cannot use it,
    since the session cookie (SameSite=Lax) is not sent on a cross-site POST and the required
    header makes a cross-origin fetch ask a CORS preflight this site never grants. At worst
    it keeps alive what the caller's own session already holds. Without the header: 400."""
    if request.headers.get(KEEP_ALIVE_HEADER) != "1":
        return HttpResponseBadRequest()
    # The signed-in session it would extend is already over (accounts.middleware.
    # SessionEndNoticeMiddleware): 410, and the warning says that the session has expired
    # rather than « Session prolongée »; the next page says why.
    if getattr(request, "signed_in_session_ended", False):
        return JsonResponse({"seconds": 0}, status=410)
    flows_keep_alive(request=request)
    request.session.modified = True
    return JsonResponse({"seconds": settings.SESSION_COOKIE_AGE})
