"""« Mot de passe oublié ? » by SMS: the session key changes when the code is accepted (issue 12
§3), so that a key planted before does not reach the new-password step."""

from django.conf import settings
from django.test import Client

from .conftest import last_code


def test_an_accepted_code_rotates_the_session_and_the_planted_key_is_refused(
    recovery, guardian
):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    planted = recovery.client.cookies[settings.SESSION_COOKIE_NAME].value
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert attacker.get(recovery.url("code")).status_code == 200

    page = recovery.page(recovery.send_code(last_code()))
    assert "Je choisis mon nouveau mot de passe" in page
    assert recovery.client.cookies[settings.SESSION_COOKIE_NAME].value != planted
    assert attacker.get(recovery.url("password")).status_code == 404
