"""A signed-in session that ended without a sign-out says why at the next page (issue 13 §2,
RGAA 13.1): « Votre session a expiré après 30 minutes d'inactivité » on the sign-in page that
the asked page sends the person to, and the sign-in leads back to that page. A sign-out says
nothing of the kind; a visitor who never signed in is told nothing; the marker cookie that
makes it possible names nobody."""

import html

import pytest
from django.conf import settings
from django.core import signing
from django.test import override_settings
from freezegun import freeze_time

from accounts.middleware import SIGNED_IN_MARKER_COOKIE
from tests.factories import DEFAULT_PASSWORD, AccountFactory
from tests.html import alerts, messages, parse

pytestmark = pytest.mark.django_db

MY_ACCOUNT = "/mon-compte/"
SIGN_IN = "/connexion/representant-legal/"
IDLE_WORDS = "Votre session a expiré après 30 minutes d'inactivité"
ENDED_WORDS = "Votre session a pris fin"


@pytest.fixture
def guardian():
    return AccountFactory(identifier="m.dupont12")


def sign_in(client, next_url=""):
    data = {"identifier": "m.dupont12", "password": DEFAULT_PASSWORD}
    if next_url:
        data["next"] = next_url
    response = client.post(SIGN_IN, data)
    assert response.status_code == 302
    return response


def text(response) -> str:
    return html.unescape(response.content.decode())


def notice(response) -> str:
    """The Django messages the page shows, as one text (not the hidden time-limit box)."""
    return " ".join(messages(parse(response)))


# The database store, whose expiry follows the frozen clock (Redis keeps its own).
db_store = override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")


@db_store
def test_an_idle_session_says_it_expired_at_the_sign_in_page_and_leads_back(client, guardian):
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        assert client.get(MY_ACCOUNT).status_code == 200
        frozen.tick(settings.SESSION_COOKIE_AGE + 1)

        asked = client.get(MY_ACCOUNT)
        assert asked.status_code == 302
        assert asked["Location"] == f"/?next={MY_ACCOUNT}"
        # The marker did its work: it is deleted with the notice.
        assert asked.cookies[SIGNED_IN_MARKER_COOKIE].value == ""

        page = client.get(asked["Location"])
        assert page.status_code == 200
        assert IDLE_WORDS in notice(page)
        assert any(IDLE_WORDS in alert.get_text() for alert in alerts(parse(page)))
        # The profile's tile keeps the asked page; signing in there goes back to it.
        assert f"{SIGN_IN}?next={MY_ACCOUNT}" in text(page)
        back = sign_in(client, next_url=MY_ACCOUNT)
        assert back["Location"] == MY_ACCOUNT
        assert client.get(MY_ACCOUNT).status_code == 200

        # Said once: the next pages are quiet.
        assert not notice(client.get("/aide/"))


@db_store
def test_a_public_page_asked_after_the_expiry_says_it_too(client, guardian):
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        frozen.tick(settings.SESSION_COOKIE_AGE + 60)
        page = client.get("/aide/")
        assert page.status_code == 200
        assert IDLE_WORDS in notice(page)
        assert not notice(client.get("/aide/"))


@db_store
def test_prolonger_after_the_end_says_it_is_too_late_and_the_next_page_says_why(client,
                                                                              guardian):
    """« Prolonger » clicked once the session is over extends nothing: 410 (the warning
    then says « Votre session a expiré »), and the next page explains."""
    keep_alive = {"HTTP_X_EDUCONNECT_KEEP_ALIVE": "1"}
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        assert client.post("/session/prolonger/", **keep_alive).status_code == 200
        frozen.tick(settings.SESSION_COOKIE_AGE + 1)
        assert client.post("/session/prolonger/", **keep_alive).status_code == 410
        page = client.get(MY_ACCOUNT, follow=True)
        assert IDLE_WORDS in notice(page)


@db_store
def test_the_sign_in_page_asked_straight_after_the_expiry_says_it(client, guardian):
    """The empty sign-in page is kept and served to everybody (accounts.views): not when it
    must carry this visitor's notice."""
    client.get(SIGN_IN)  # the kept page exists
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        frozen.tick(settings.SESSION_COOKIE_AGE + 1)
        page = client.get(SIGN_IN)
        assert IDLE_WORDS in notice(page)
        # Signing in there: the next page does not say it again.
        sign_in(client)
        assert not notice(client.get("/aide/"))


@db_store
def test_a_sign_out_is_not_an_expiry(client, guardian):
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        signed_out = client.post("/deconnexion/")
        assert signed_out.cookies[SIGNED_IN_MARKER_COOKIE].value == ""
        assert "Vous êtes déconnecté(e)" in text(client.get(signed_out["Location"]))
        frozen.tick(settings.SESSION_COOKIE_AGE + 1)
        page = client.get(MY_ACCOUNT, follow=True)
        assert page.redirect_chain[0][0] == f"/?next={MY_ACCOUNT}"
        assert not notice(page)


def test_the_absolute_lifetime_says_so(client, guardian):
    step = 20 * 60  # active every 20 minutes: only the absolute lifetime ends the session
    with freeze_time("2026-09-01 08:00:00") as frozen:
        sign_in(client)
        elapsed = 0
        while elapsed + step <= settings.SESSION_ABSOLUTE_SECONDS:
            frozen.tick(step)
            elapsed += step
            client.get(MY_ACCOUNT)
        frozen.tick(settings.SESSION_ABSOLUTE_SECONDS - elapsed + 1)
        page = client.get(MY_ACCOUNT, follow=True)
        assert page.redirect_chain[0][0] == f"/?next={MY_ACCOUNT}"
        assert "elle dure au plus 8 heures" in notice(page)


def test_a_session_ended_on_the_server_says_it_ended_not_that_it_idled(client, guardian):
    """A new password set elsewhere ends the other sessions: the marker is recent, so the
    message does not blame inactivity."""
    from accounts.services import account_password_set

    sign_in(client)
    account_password_set(account=guardian, password="Nouveau-Mot-2026!", reason="my_account",
                         request=None)
    page = client.get(MY_ACCOUNT, follow=True)
    assert page.redirect_chain[0][0] == f"/?next={MY_ACCOUNT}"
    assert ENDED_WORDS in notice(page)
    assert "inactivité" not in notice(page)


def test_the_marker_is_signed_http_only_and_names_nobody(client, guardian):
    cookie = sign_in(client).cookies[SIGNED_IN_MARKER_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE
    assert cookie["max-age"] == settings.SESSION_ABSOLUTE_SECONDS
    # Two times (the sign-in, the session's last save), nothing about the account.
    payload = signing.loads(cookie.value, salt="accounts.middleware.signed_in_marker")
    assert len(payload) == 2 and all(isinstance(t, int) for t in payload)
    assert "dupont" not in cookie.value.lower()


def test_a_visitor_who_never_signed_in_is_told_nothing_even_with_a_forged_marker(client, db):
    assert not notice(client.get("/"))
    client.cookies[SIGNED_IN_MARKER_COOKIE] = "WzE3NTYsMTc1Nl0:forged:signature"
    page = client.get(MY_ACCOUNT, follow=True)
    assert page.status_code == 200
    assert not notice(page)
