"""Absolute session lifetime: a session dies SESSION_ABSOLUTE_SECONDS after sign-in.

The idle lifetime is Django's own (SESSION_COOKIE_AGE renewed on every request).
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.utils import timezone

SIGNED_IN_AT = "signed_in_at"


class AbsoluteSessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            if started is None or time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


def remember_sign_in_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


def record_last_login(sender, request, user, **kwargs):
    now = timezone.now()
    type(user).objects.filter(pk=user.pk).update(last_login=now)
    user.last_login = now
