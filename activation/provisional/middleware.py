"""A provisional account (school letter, issue 9 §2) reaches nothing but its first sign-in.

Every request of a session signed in as a PROVISIONAL account is sent to the flow
(`activation:provisional`, which starts or resumes it), except the flow's own pages (under
its URL prefix, the e-mail's link page included), the sign-out, the academic assistance
form, static files, the footer's public pages (accessibility statement, legal notice,
personal data — which the e-mail step refers to —, cookies, site map, help: the `pages`
namespace, RGAA 12.x asks that they be reachable from every page), the session keep-alive of
the time-limit warning, and the demo's page of sent messages (DEBUG only, where the letter's
validation e-mail is read). So « Mes services », « Mon compte », the SAML and OpenID Connect
endpoints (which would release the account's identity to a service) and every page to come
are closed until the flow is done, without each view having to say so.

Cost: none for a signed-out request; for a signed-in one, the account is the one
AuthenticationMiddleware loaded (no query).
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse

from accounts.models import AccountState

# Pages open to a provisional account at their exact path (see the module docstring).
OPEN_PAGES = ("pages:accessibility", "pages:legal_notice", "pages:personal_data",
              "pages:cookies", "pages:site_map", "pages:help", "pages:password_help",
              "session_keep_alive", "notifications:demo_outbox")


class ProvisionalAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._open_prefixes: tuple[str, ...] | None = None
        self._open_pages: frozenset[str] | None = None

    def open_prefixes(self) -> tuple[str, ...]:
        if self._open_prefixes is None:
            self._open_prefixes = (
                reverse("activation:provisional"),
                reverse("accounts:logout"),
                reverse("assistance:form"),
                settings.STATIC_URL or "/static/",
            )
        return self._open_prefixes

    def open_pages(self) -> frozenset[str]:
        if self._open_pages is None:
            paths = set()
            for name in OPEN_PAGES:
                try:
                    paths.add(reverse(name))
                except NoReverseMatch:  # a page this deployment does not route
                    continue
            self._open_pages = frozenset(paths)
        return self._open_pages

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                and getattr(user, "state", None) == AccountState.PROVISIONAL
                and not request.path.startswith(self.open_prefixes())
                and request.path not in self.open_pages()):
            return redirect("activation:provisional")
        return self.get_response(request)
