"""Session lifetimes: absolute (a session dies SESSION_ABSOLUTE_SECONDS after sign-in) and
idle (SESSION_COOKIE_AGE after the last request, renewed by SessionRefreshMiddleware); and
the notice of a signed-in session that ended without a sign-out (SessionEndNoticeMiddleware,
issue 13 §2, RGAA 13.1).
"""

import datetime
import functools
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.core import signing
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.journal import EventKind
from core.models import JournalEvent

SIGNED_IN_AT = "signed_in_at"
# Unix seconds of the session's last save by SessionRefreshMiddleware.
REFRESHED_AT = "refreshed_at"

# The signed-in marker: a cookie that outlives the session cookie, so that the request after
# a session's end can tell « your session expired » from « you were never signed in » (the
# browser drops the expired session cookie). It holds two Unix times (the sign-in, the
# session's last save), signed (django.core.signing, its own salt), HttpOnly: no identifier,
# nothing about the account. Written with the session's cookie while signed in, deleted by a
# sign-out and by the notice; it lives SESSION_ABSOLUTE_SECONDS after its last write, so a
# visitor coming back later than that is not told about a session of yesterday.
SIGNED_IN_MARKER_COOKIE = "educonnect_signed_in"
_SIGNED_IN_MARKER_SALT = "accounts.middleware.signed_in_marker"


def signed_in_marker_read(request) -> tuple[float, float] | None:
    """(signed in at, last saved at), Unix seconds, from the request's marker cookie; None
    without a cookie or when it is forged, damaged or older than SESSION_ABSOLUTE_SECONDS."""
    value = request.COOKIES.get(SIGNED_IN_MARKER_COOKIE)
    if not value:
        return None
    try:
        signed_in_at, saved_at = signing.loads(
            value, salt=_SIGNED_IN_MARKER_SALT, max_age=settings.SESSION_ABSOLUTE_SECONDS)
        return float(signed_in_at), float(saved_at)
    except (signing.BadSignature, TypeError, ValueError):
        return None


def _signed_in_marker_write(response, *, signed_in_at: float, saved_at: float) -> None:
    response.set_cookie(
        SIGNED_IN_MARKER_COOKIE,
        signing.dumps([round(signed_in_at), round(saved_at)], salt=_SIGNED_IN_MARKER_SALT),
        max_age=settings.SESSION_ABSOLUTE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _signed_in_marker_follow(request, response, *, session_saved: bool, now: float) -> None:
    """Writes the marker along with the session's cookie while a person is signed in;
    deletes it once the request ends signed out (a sign-out, or the notice already given).
    Leaves it alone when the request never reached the authentication middleware."""
    user = getattr(request, "user", None)
    if user is None:
        return
    if user.is_authenticated:
        if session_saved or not request.COOKIES.get(SIGNED_IN_MARKER_COOKIE):
            signed_in_at = request.session.get(SIGNED_IN_AT)
            _signed_in_marker_write(
                response,
                signed_in_at=signed_in_at if isinstance(signed_in_at, (int, float)) else now,
                saved_at=now,
            )
    elif request.COOKIES.get(SIGNED_IN_MARKER_COOKIE):
        response.delete_cookie(SIGNED_IN_MARKER_COOKIE, samesite="Lax")


def session_refresh_interval() -> float:
    """Seconds between two saves of an unchanged session: SESSION_REFRESH_SECONDS, never more
    than a tenth of the idle lifetime (SESSION_COOKIE_AGE)."""
    return min(settings.SESSION_REFRESH_SECONDS, settings.SESSION_COOKIE_AGE / 10)


class SessionRefreshMiddleware:
    """Renew the idle lifetime of a session without saving it at every request.

    Django's SESSION_SAVE_EVERY_REQUEST writes the session to its store (and sends its
    cookie) at every request: on « Mes services » that write was a third of the session's cost
    (issue 14). Here an unchanged session is saved — its store entry and its cookie given
    SESSION_COOKIE_AGE again — only when its last save is older than
    `session_refresh_interval()`: an idle session then dies between SESSION_COOKIE_AGE minus
    that interval and SESSION_COOKIE_AGE after its last request. A session changed by the
    request is saved by Django anyway (and stamped here). An empty session (a visitor who
    never signed in nor started anything) is never created by this.

    Sits right after SessionMiddleware (its response part runs first); any session engine.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None:
            return response
        now = time.time()
        if not session.accessed or session.is_empty():
            _signed_in_marker_follow(request, response, session_saved=False, now=now)
            return response
        if session.modified:
            session[REFRESHED_AT] = now
        else:
            last = session.get(REFRESHED_AT)
            if not isinstance(last, (int, float)) or now - last >= session_refresh_interval():
                session[REFRESHED_AT] = now  # marks it modified: Django saves it
        _signed_in_marker_follow(request, response, session_saved=session.modified, now=now)
        return response


class AbsoluteSessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The account the session cookie named, read before `request.user` (which flushes a
        # session whose password hash no longer matches): SessionEndNoticeMiddleware says why
        # such a session ended when a new school letter is the cause.
        session = getattr(request, "session", None)
        request.session_account_id = session.get(SESSION_KEY) if session is not None else None
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            if started is None or time.time() - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


class SessionEndNoticeMiddleware:
    """Tells the person whose signed-in session ended without a sign-out why, at the next
    request (issue 13 §2; RGAA 13.1, WCAG 2.2.1): a warning message (Django's messages,
    shown at the top of the next rendered page: the sign-in page that a page needing sign-in
    redirects to with its `next`, or the public page asked for).

    The session is gone but the signed-in marker cookie (see SIGNED_IN_MARKER_COOKIE) is
    there: the session ended by its idle lifetime when its last save is at least the idle
    lifetime minus the refresh interval ago, by its absolute lifetime when the sign-in is more
    than SESSION_ABSOLUTE_SECONDS ago; else it was ended on the server (a new password set
    elsewhere, a merge) and the message says only that it ended; the request carries
    `signed_in_session_ended = True` (the keep-alive answers 410). A sign-out deletes the
    marker: no message. When the session the cookie named was ended on the server because
    the school made a new letter for its account (« Refaire la lettre »: pupils.letters
    replaced the password, journaled LETTER_ISSUED after the sign-in), the message says so and
    what to do (`letter_reissued_session_end_message`): the browser held that account's
    session, so it tells nothing to a stranger. Sits after AbsoluteSessionLifetimeMiddleware
    (whose logout it then sees, and which notes the session's account) and
    MessageMiddleware; costs nothing to a visitor without the marker, and reads one journal
    row (its (account, -at) index) only for a session ended on the server.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.COOKIES.get(SIGNED_IN_MARKER_COOKIE) and not request.user.is_authenticated:
            marker = signed_in_marker_read(request)
            if marker is not None:
                message = (letter_reissued_session_end_message()
                           if _letter_reissued_since(request, signed_in_at=marker[0])
                           else session_end_message(*marker, now=time.time()))
                messages.warning(request, message)
                request.signed_in_session_ended = True
        return self.get_response(request)


def _letter_reissued_since(request, *, signed_in_at: float) -> bool:
    """Whether the account of the ended session (noted by AbsoluteSessionLifetimeMiddleware)
    got a new school letter (journaled LETTER_ISSUED, reissued) since `signed_in_at` (Unix
    seconds)."""
    try:
        account_id = int(getattr(request, "session_account_id", None) or 0)
    except (TypeError, ValueError):
        return False
    if not account_id:
        return False
    # The marker keeps whole seconds: a letter made in the second of the sign-in counts.
    since = datetime.datetime.fromtimestamp(signed_in_at - 1, tz=datetime.UTC)
    return JournalEvent.objects.filter(account_id=account_id, kind=EventKind.LETTER_ISSUED.value,
                                       at__gte=since, data__reissued=True).exists()


def letter_reissued_session_end_message() -> str:
    """The French words for a session ended because the school made a new letter for its
    account (SessionEndNoticeMiddleware)."""
    return _("Votre session a pris fin : l'établissement a fait un nouveau courrier pour ce "
             "compte, et le mot de passe que vous aviez choisi n'est plus valable. "
             "Reconnectez-vous avec l'identifiant et le mot de passe provisoire du nouveau "
             "courrier.")


def session_end_message(signed_in_at: float, saved_at: float, *, now: float) -> str:
    """The French words for a session that ended `now` (Unix seconds), signed in at
    `signed_in_at` and last saved at `saved_at` (see SessionEndNoticeMiddleware)."""
    idle = settings.SESSION_COOKIE_AGE
    if now - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
        hours = max(1, round(settings.SESSION_ABSOLUTE_SECONDS / 3600))
        return ngettext(
            "Votre session a expiré : pour votre sécurité, elle dure au plus %(hours)d heure. "
            "Reconnectez-vous pour continuer.",
            "Votre session a expiré : pour votre sécurité, elle dure au plus %(hours)d heures. "
            "Reconnectez-vous pour continuer.",
            hours,
        ) % {"hours": hours}
    if now - saved_at >= idle - session_refresh_interval():
        minutes = max(1, round(idle / 60))
        return ngettext(
            "Votre session a expiré après %(minutes)d minute d'inactivité, pour protéger vos "
            "données. Reconnectez-vous pour continuer.",
            "Votre session a expiré après %(minutes)d minutes d'inactivité, pour protéger vos "
            "données. Reconnectez-vous pour continuer.",
            minutes,
        ) % {"minutes": minutes}
    return _("Votre session a pris fin. Reconnectez-vous pour continuer.")


def remember_sign_in_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = time.time()


def record_last_login(sender, request, user, **kwargs):
    """user_logged_in receiver: write `last_login` alone (no history row), by one UPDATE
    written once per process (`_last_login_sql`) rather than built by the ORM at each
    sign-in (0.45 ms against 0.19 ms of CPU, issue 14)."""
    now = timezone.now()
    model = type(user)
    db = router.db_for_write(model, instance=user)
    field = model._meta.get_field("last_login")
    with connections[db].cursor() as cursor:
        cursor.execute(_last_login_sql(model, db),
                       [field.get_db_prep_save(now, connections[db]), user.pk])
    user.last_login = now


@functools.cache
def _last_login_sql(model, db: str) -> str:
    quote = connections[db].ops.quote_name
    return (f"UPDATE {quote(model._meta.db_table)} "  # noqa: S608 (names from the model)
            f"SET {quote(model._meta.get_field('last_login').column)} = %s "
            f"WHERE {quote(model._meta.pk.column)} = %s")
