"""Middleware of the project as a whole (installed by settings.py).

- `PermissionsPolicyMiddleware`: response headers the project sets on every answer that
  Django and django-csp do not.
- `DebugNotFoundMiddleware` (DEBUG only, issue 13 §6): in the demo, an unknown URL or a view's
  Http404 shows the product's French « Page introuvable » (templates/errors/404.html, the page
  production serves through handler404), not Django's English technical page. Cost: one URL
  resolution more per request, in DEBUG only.
- `MethodNotAllowedPageMiddleware`: every 405 of the site (an address that only takes a
  form's POST, opened directly) is a French page in the site's frame, status and Allow kept.
"""

from django.conf import settings
from django.http import Http404
from django.urls import Resolver404, resolve

from .views import method_not_allowed, page_not_found


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """The Permissions-Policy header's value for `policy` ({feature: [origins]}).

    An empty list forbids the feature everywhere (`camera=()`); "self" and "*" are written
    bare, any other origin quoted (Structured Fields, W3C Permissions Policy §5).
    """
    parts = []
    for feature, origins in policy.items():
        written = " ".join(o if o in {"self", "*"} else f'"{o}"' for o in origins)
        parts.append(f"{feature}=({written})")
    return ", ".join(parts)


class PermissionsPolicyMiddleware:
    """Adds PERMISSIONS_POLICY (settings) to every response that has none of its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.value = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.value:
            response.headers.setdefault("Permissions-Policy", self.value)
        return response


class DebugNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
        except Resolver404 as error:
            # Not answered here when another path would match (CommonMiddleware, outside
            # this one, redirects /page to /page/ on a 404 whose path with a slash resolves).
            return page_not_found(request, error)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None


class MethodNotAllowedPageMiddleware:
    """Gives Django's empty 405 answers a page (educonnect.views.method_not_allowed).

    One mechanism for the whole site: require_POST, require_http_methods and class-based
    views all answer `HttpResponseNotAllowed` with no body, which a browser shows as a blank
    white page with no way on. A 405 that already has a body (an API's own) is left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.streaming and not response.content:
            return method_not_allowed(request, response)
        return response
