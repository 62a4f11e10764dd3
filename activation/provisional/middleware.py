"""A provisional account (school letter, issue 9 §2) reaches nothing but its first sign-in.

Every request of a session signed in as a PROVISIONAL account is sent to the flow
(`activation:provisional`, which starts or resumes it), except the flow's own pages (under
its URL prefix, the e-mail's link page included), the sign-out, the academic assistance
form and static files. So « Mes services », « Mon compte », the SAML and OpenID Connect
endpoints (which would release the account's identity to a service) and every page to come
are closed until the flow is done, without each view having to say so.

Cost: none for a signed-out request; for a signed-in one, the account is the one
AuthenticationMiddleware loaded (no query).
"""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import AccountState


class ProvisionalAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._open_prefixes: tuple[str, ...] | None = None

    def open_prefixes(self) -> tuple[str, ...]:
        if self._open_prefixes is None:
            self._open_prefixes = (
                reverse("activation:provisional"),
                reverse("accounts:logout"),
                reverse("assistance:form"),
                settings.STATIC_URL or "/static/",
            )
        return self._open_prefixes

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                and getattr(user, "state", None) == AccountState.PROVISIONAL
                and not request.path.startswith(self.open_prefixes())):
            return redirect("activation:provisional")
        return self.get_response(request)
