"""A completed « Mot de passe oublié ? » signs in at once with the new password from the
browser that completed it (a tryout, severity major): five wrong passwords from one browser
without a device cookie fill the (identifier, address) window, and the recovery used to
clear only the identifier's shared window, so the new password was refused « Connexion
momentanément suspendue » for 15 minutes. The recovery now proves the owner: it clears the
(identifier, address) window of the browser that completed it and the shared one, and gives
that browser the device cookie (accounts.limits.sign_in_owner_proven, OWASP device cookies).
The address's own window is kept."""

from html import unescape
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.limits import DEVICE_COOKIE_NAME, SIGN_IN_PER_IP
from core import ratelimit
from core.http import ip_rate_subject
from tests.factories import DEFAULT_PASSWORD
from tests.mailbox import link_from

from .conftest import NEW_PASSWORD, last_code

pytestmark = pytest.mark.needs_redis

GUARDIAN_URL = "/connexion/representant-legal/"
WRONG = "Mauvais-1!"
ADDRESS = "127.0.0.1"  # the test client's REMOTE_ADDR
SUSPENDED = "la connexion est suspendue : réessayez dans 15 minutes"


def sign_in(client, password):
    return client.post(GUARDIAN_URL, {"identifier": "s.nguyen21", "password": password})


def suspend_from(client, settings):
    """The tryout's first step: wrong passwords until the (identifier, address) window is
    full; then even the right password is refused."""
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP):
        assert sign_in(client, WRONG).status_code == 200
    refused = sign_in(client, DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert SUSPENDED in unescape(refused.content.decode())
    assert not client.cookies.get(DEVICE_COOKIE_NAME)


def signs_in_after_recovery(recovery, final_step, ip_window_before):
    """The final step's response gives the device cookie; the same browser signs in with the
    new password, then another browser at the same address without the cookie too; the
    address's own window was not cleared."""
    assert final_step.status_code == 302
    assert final_step.cookies[DEVICE_COOKIE_NAME].value
    assert ratelimit.used(SIGN_IN_PER_IP, ip_rate_subject(ADDRESS)) == ip_window_before
    done = unescape(recovery.client.get(final_step["Location"]).content.decode())
    assert "Votre mot de passe a été modifié" in done

    signed_in = sign_in(recovery.client, NEW_PASSWORD)
    assert signed_in.status_code == 302, unescape(signed_in.content.decode())
    other_browser = Client()  # same address, no device cookie
    assert not other_browser.cookies.get(DEVICE_COOKIE_NAME)
    signed_in = sign_in(other_browser, NEW_PASSWORD)
    assert signed_in.status_code == 302, unescape(signed_in.content.decode())


@pytest.mark.django_db
def test_the_tryout_path_by_sms_signs_in_at_once_from_the_same_browser(recovery, guardian,
                                                                        settings):
    suspend_from(recovery.client, settings)
    ip_window_before = ratelimit.used(SIGN_IN_PER_IP, ip_rate_subject(ADDRESS))
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    signs_in_after_recovery(recovery, recovery.new_password(), ip_window_before)


@pytest.mark.django_db(transaction=True)
def test_the_same_by_the_email_link(recovery, guardian, settings, smtp_server):
    suspend_from(recovery.client, settings)
    ip_window_before = ratelimit.used(SIGN_IN_PER_IP, ip_rate_subject(ADDRESS))
    recovery.start("s.nguyen21")
    recovery.choose("email")
    [message] = smtp_server.wait_for(1)
    opened = recovery.client.post(urlsplit(link_from(message)).path)
    assert opened["Location"] == recovery.url("password")
    signs_in_after_recovery(recovery, recovery.new_password(), ip_window_before)


@pytest.mark.django_db
def test_a_refused_new_password_gives_no_device_cookie_and_clears_nothing(recovery, guardian,
                                                                          settings):
    suspend_from(recovery.client, settings)
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    refused = recovery.new_password(DEFAULT_PASSWORD)  # the current password typed again
    assert not refused.cookies.get(DEVICE_COOKIE_NAME)
    assert sign_in(Client(), DEFAULT_PASSWORD).status_code == 429
