"""Middleware of the project as a whole (installed by settings.py).

`DebugNotFoundMiddleware` (DEBUG only, issue 13 §6): in the demo, an unknown URL or a view's
Http404 shows the product's French « Page introuvable » (templates/errors/404.html, the page
production serves through handler404), not Django's English technical page — a family trying
the demo on a phone should meet the real page. Cost: one URL resolution more per request, in
DEBUG only.
"""

from django.http import Http404
from django.urls import Resolver404, resolve

from .views import page_not_found


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
