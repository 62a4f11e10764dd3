from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.views import safe_next_url
from core.flows import flows_keep_alive


def csrf_failure(request, reason=""):
    """A French page instead of Django's English one; the reason is not shown to the user."""
    return render(request, "errors/csrf.html", status=403)


def permission_denied(request, exception):
    """A French page instead of Django's « 403 Forbidden » (issue 16 §5)."""
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    return render(request, "errors/500.html", status=500)


@never_cache
@require_POST
def session_keep_alive(request):
    """« Prolonger » of the time-limit warning (templates/components/time_limit.html, issue
    13 §2): the request itself renews the session's idle lifetime (SESSION_SAVE_EVERY_REQUEST;
    never its absolute one), and this browser's open flows are pushed back like an action.
    JSON for the page's script ({"seconds": the new idle lifetime}); without JavaScript the
    form posts here and comes back to the page it was on (`next`, a path of this site)."""
    flows_keep_alive(request=request)
    request.session.modified = True
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"seconds": settings.SESSION_COOKIE_AGE})
    return redirect(safe_next_url(request) or "/")
