"""A block by attempt limits, read by the helpdesk (tryout of an academy's agent): the
account page said « Suspendue … encore 15 minutes » or « Bloquée : … pendant encore
24 heures », the address suspension « jusqu'à 14:05 » with no day, and the record page only
counted the number's wrong dates and SMS (« 4 sur 4 permises ») without saying it was
blocked nor until when. On the phone with a parent, the agent needs the end of the block:
« jusqu'au 2 décembre 2026 à 14 h 05 », in Paris time, on both pages.
"""

import datetime
import zoneinfo
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.limits import SIGN_IN_PER_IDENTIFIER
from activation.flows import ACTIVATION_CODE, WRONG_DATES_PER_PHONE
from core import codes, ratelimit
from tests import html as h
from tests.backoffice.test_helpdesk_letter_unblock import (  # noqa: F401 (fixture)
    blocked,
    letter_parent,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")


def ends(seconds: int) -> list[str]:
    """« jusqu'au 2 décembre 2026 à 14 h 05 » for a block ending `seconds` from now, as
    read a second before to a minute after (the page rounds nothing, the test runs)."""
    now = timezone.now()
    words = []
    for slack in (-1, 0, 30, 60, 61):
        at = (now + datetime.timedelta(seconds=seconds + slack)).astimezone(PARIS)
        words.append(f"jusqu'au {at.day} {MONTHS[at.month - 1]} {at.year} à "
                     f"{at.hour:02d} h {at.minute:02d}")
    return words


def page_text(client, url) -> str:
    return " ".join(h.text(h.main(h.parse(client.get(url)))).split())


def shows(text: str, before: str, seconds: int) -> bool:
    return any(f"{before} {end}" in text for end in ends(seconds))


def test_the_account_page_says_until_when_sign_in_is_suspended(helpdesk_client, world,
                                                               settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 2
    account = world.account_a1
    portal = Client()
    for _ in range(2):
        portal.post("/connexion/representant-legal/",
                    {"identifier": account.identifier, "password": "Mauvais-1!"})
    wait = ratelimit.peek(SIGN_IN_PER_IDENTIFIER, account.identifier).retry_after
    assert wait > 0

    text = page_text(helpdesk_client, reverse("admin:helpdesk_account", args=[account.pk]))
    assert shows(text, "Suspendue après trop d'échecs", wait), text


def test_the_account_page_says_until_when_an_address_is_suspended(helpdesk_client, world,
                                                                  settings):
    account = world.account_a1
    portal = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP):
        portal.post("/connexion/representant-legal/",
                    {"identifier": account.identifier, "password": "Mauvais-1!"})

    text = page_text(helpdesk_client, reverse("admin:helpdesk_account", args=[account.pk]))
    assert shows(text, "Suspendue après trop d'échecs depuis 1 adresse IP (198.51.100.7),",
                 settings.LOGIN_FAILURE_WINDOW_SECONDS), text


def test_the_account_page_says_until_when_the_letters_first_sign_in_is_blocked(
        helpdesk_client, letter_parent, world, commit, settings):  # noqa: F811
    blocked(letter_parent, world, commit, settings)
    text = page_text(helpdesk_client,
                     reverse("admin:helpdesk_account", args=[letter_parent.pk]))
    assert shows(text, "Bloquée", settings.ACTIVATION_PHONE_WINDOW_SECONDS), text


def test_the_record_page_says_until_when_its_number_is_blocked(helpdesk_client, world,
                                                               settings):
    phone = str(world.rec_a2.mobile_phone)
    url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])
    text = page_text(helpdesk_client, url)
    assert "bloqué" not in text.lower().replace("débloqu", "")

    # Wrong birth dates: the number's window is full.
    ratelimit.hit(WRONG_DATES_PER_PHONE, phone, cost=WRONG_DATES_PER_PHONE.limit)
    text = page_text(helpdesk_client, url)
    assert shows(text, "Numéro bloqué", settings.ACTIVATION_PHONE_WINDOW_SECONDS), text
    assert "trop de dates de naissance incorrectes" in text
    ratelimit.clear(WRONG_DATES_PER_PHONE, phone)

    # SMS codes: the number received as many activation codes as allowed.
    rule = ACTIVATION_CODE.recipient_rule
    ratelimit.hit(rule, codes.recipient_key(ACTIVATION_CODE.channel, phone), cost=rule.limit)
    text = page_text(helpdesk_client, url)
    assert shows(text, "Numéro bloqué", rule.window_seconds), text
    assert "nombre maximal de SMS d'activation" in text
    assert unescape(text).count("Numéro bloqué") == 1


def test_the_account_page_says_until_when_its_number_gets_no_more_reset_codes(
        helpdesk_client, world, settings):
    from accounts.recovery.flows import PASSWORD_RESET_SMS

    account = world.account_a1
    url = reverse("admin:helpdesk_account", args=[account.pk])
    assert "Numéro bloqué" not in page_text(helpdesk_client, url)
    rule = PASSWORD_RESET_SMS.recipient_rule
    ratelimit.hit(rule, codes.recipient_key(PASSWORD_RESET_SMS.channel, str(account.phone)),
                  cost=rule.limit)
    text = page_text(helpdesk_client, url)
    assert shows(text, "Numéro bloqué", rule.window_seconds), text
    assert "nombre maximal de codes de « Mot de passe oublié ? »" in text
