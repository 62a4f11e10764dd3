"""After sign-in the portal goes to `next` only when it is a path of this site: a service
can bring someone back through its (registered) authorization request, nobody can use the
sign-in page to send them elsewhere."""

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from accounts.authn import SIGN_IN_METHODS_KEY, is_local_path
from tests.factories import AccountFactory

PASSWORD = "Demo-Parent-2026!"
LOCAL = "/oidc/authorize/?client_id=abc&redirect_uri=https%3A%2F%2Fent.example.org%2Fcb"


@pytest.fixture
def guardian(db):
    return AccountFactory(identifier="h.duprelagarde12", password=PASSWORD)


def _sign_in(client, next_url):
    return client.post(reverse("accounts:login", args=["representant-legal"]),
                       {"identifier": "h.duprelagarde12", "password": PASSWORD, "next": next_url})


def test_a_local_path_is_followed_and_the_method_recorded(client, guardian):
    response = _sign_in(client, LOCAL)
    assert response.status_code == 302
    assert response["Location"] == LOCAL
    assert client.session[SIGN_IN_METHODS_KEY] == ["pwd"]


@pytest.mark.parametrize("next_url", [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "http://testserver/services/",  # this host, but absolute: not a path
    "javascript:alert(1)",
    " /services/",
])
def test_anything_else_goes_to_my_services(client, guardian, next_url):
    response = _sign_in(client, next_url)
    assert response.status_code == 302
    assert response["Location"] == resolve_url(settings.LOGIN_REDIRECT_URL)


def test_the_profile_choice_passes_only_local_paths_on(client, db):
    page = client.get(reverse("accounts:profile_choice"), {"next": "https://evil.example/"})
    assert "evil.example" not in page.content.decode()
    page = client.get(reverse("accounts:profile_choice"), {"next": LOCAL})
    assert "?next=/oidc/authorize/%3Fclient_id%3Dabc" in page.content.decode()


@pytest.mark.parametrize("url,local", [
    ("/", True), ("/a?b=c", True), ("", False), ("//x", False), ("/\\x", False),
    ("http://x/", False), ("x/y", False),
])
def test_is_local_path(url, local):
    assert is_local_path(url) is local
