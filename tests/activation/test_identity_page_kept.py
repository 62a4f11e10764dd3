"""Step 1's empty form is rendered once per process and served to every newcomer with their
own CSRF token (core.empty_pages, issue 14); anything that is one visitor's own (a flow in
progress, « Précédent » from a later step, a message) is rendered for them alone."""

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client, RequestFactory
from django.urls import reverse

from core.empty_pages import CSRF_PLACEHOLDER
from core.flows import SESSION_FLOWS

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
START = reverse("activation:start")


def token_of(response) -> str:
    return CSRF_INPUT.search(response.content.decode()).group(1)


def without_csrf(response) -> str:
    return CSRF_INPUT.sub('name="csrfmiddlewaretoken" value=""', response.content.decode())


def test_newcomers_get_the_same_page_rendered_once_each_with_a_token_of_their_own():
    first, second = Client().get(START), Client().get(START)
    assert first.status_code == second.status_code == 200
    assert without_csrf(first) == without_csrf(second)
    # The second newcomer's page rendered no template: it is the kept one.
    assert [t.name for t in second.templates] == []
    assert token_of(first) != token_of(second)
    assert CSRF_PLACEHOLDER not in first.content.decode()
    assert first["Cache-Control"] == second["Cache-Control"]
    assert "no-store" in second["Cache-Control"]


def test_the_kept_page_is_the_page_rendered_for_one_visitor():
    kept = Client().get(START)
    # An unknown « reprendre » flow gives a blank form, rendered for this visitor alone.
    rendered = Client().get(START, {"reprendre": "00000000-0000-0000-0000-000000000000"})
    assert "activation/identity.html" in [t.name for t in rendered.templates]
    assert without_csrf(kept) == without_csrf(rendered)


def test_the_kept_pages_token_passes_the_csrf_check(family):
    browser = Client(enforce_csrf_checks=True)
    Client().get(START)  # the page is kept by someone else's visit
    page = browser.get(START)
    response = browser.post(START, {
        "csrfmiddlewaretoken": token_of(page), "last_name": family["last_name"],
        "first_name": family["first_name"], "phone": family["phone_typed"],
    })
    assert response.status_code == 302
    assert "/code/" in response["Location"]


def test_a_browser_in_a_flow_gets_its_time_limit_and_does_not_leave_it_to_others(client):
    session = client.session
    session[SESSION_FLOWS] = {"00000000-0000-0000-0000-000000000000": "secret"}
    session.save()
    assert 'id="time-limit"' in client.get(START).content.decode()
    assert 'id="time-limit"' not in Client().get(START).content.decode()


def test_a_pending_message_is_shown_to_its_browser_and_not_kept_for_others(client):
    Client().get(START)
    # A message left by an earlier request, in Django's messages cookie.
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies[CookieStorage.cookie_name] = storage._encode(
        [Message(constants.WARNING, "Votre démarche a pris fin : recommencez.")])
    page = client.get(START)
    assert "Votre démarche a pris fin : recommencez." in page.content.decode()
    assert "Votre démarche a pris fin" not in Client().get(START).content.decode()
