"""The session key changes when the SMS code is accepted (issue 12 §3): a key planted in the
browser before (session fixation) does not follow the flow to the children's names."""

from django.conf import settings
from django.test import Client


def test_an_accepted_code_rotates_the_session_and_the_planted_key_sees_nothing(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    # The key the browser holds now (in an attack: one planted in it before).
    planted = driver.client.cookies[settings.SESSION_COOKIE_NAME].value
    # Whoever planted the key follows the flow until the code.
    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    assert attacker.get(driver.url("code")).status_code == 200

    assert driver.send_code(driver.last_code()).status_code == 302
    rotated = driver.client.cookies[settings.SESSION_COOKIE_NAME].value
    assert rotated != planted
    page = driver.client.get(driver.url("pupils"))
    assert page.status_code == 200 and "Inès" in page.content.decode()
    # The planted key is gone: the flow's pages are a 404 for it, no name shown.
    answer = attacker.get(driver.url("pupils"))
    assert answer.status_code == 404
    assert "Inès" not in answer.content.decode()


def test_a_wrong_code_keeps_the_session_key(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    before = driver.client.cookies[settings.SESSION_COOKIE_NAME].value
    wrong = "AAAAAA" if driver.last_code() != "AAAAAA" else "BBBBBB"
    driver.send_code(wrong)
    assert driver.client.cookies[settings.SESSION_COOKIE_NAME].value == before


