"""The password step open in two tabs: the first tab finishes the activation (and signs the
parent in, which gives the browser a new CSRF token); the second tab's submit then reads the
activation's result, not « Session expirée … recommencez »."""

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from tests import html as h

from .conftest import STRONG_PASSWORD
from .test_flow import walk_to_pupils

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _tab(client, url) -> str:
    """Open `url` in a tab: the CSRF token of its form."""
    return TOKEN.search(client.get(url).content.decode()).group(1)


def _password(token):
    return {"csrfmiddlewaretoken": token, "password": STRONG_PASSWORD,
            "password_confirm": STRONG_PASSWORD}


@pytest.fixture
def at_password_step(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    # From here on, as in a browser: every POST must carry the page's CSRF token.
    driver.client.handler.enforce_csrf_checks = True
    return driver


def test_the_second_tab_reads_that_the_account_is_activated(at_password_step):
    driver = at_password_step
    url = driver.url("password")
    first, second = _tab(driver.client, url), _tab(driver.client, url)

    done = driver.client.post(url, _password(first))
    assert done["Location"] == driver.url("done")
    account = Account.objects.get()

    response = driver.client.post(url, _password(second))
    assert response.status_code == 302
    page = h.parse(driver.client.get(response["Location"], follow=True))
    text = unescape(h.text(h.main(page)))
    assert "Session expirée" not in text
    assert "Votre compte a été activé avec succès" in text
    assert account.display_identifier in text
    # The notice says which password is the account's, that this tab's was not saved, and
    # how to sign in or change it (the tester signed in with tab B's password and failed).
    (notice,) = h.messages(page)
    assert "avec le mot de passe choisi là-bas" in notice
    assert "Le mot de passe saisi dans cette page n'a pas été enregistré" in notice
    assert "identifiant" in notice and "« Mot de passe oublié ? »" in notice
    assert "« Mon compte »" in notice
    assert Account.objects.count() == 1


def test_the_second_tabs_password_is_not_the_accounts(at_password_step):
    """What the notice says is true: the first tab's password signs in, the second's not."""
    driver = at_password_step
    url = driver.url("password")
    first, second = _tab(driver.client, url), _tab(driver.client, url)
    driver.client.post(url, _password(first))
    other = "Lune-Bleue-22-Nuit"
    driver.client.post(url, {"csrfmiddlewaretoken": second, "password": other,
                             "password_confirm": other})
    account = Account.objects.get()
    assert account.check_password(STRONG_PASSWORD)
    assert not account.check_password(other)


def test_a_refused_token_on_a_flow_still_open_keeps_the_session_page(at_password_step):
    driver = at_password_step
    response = driver.client.post(driver.url("password"), _password("x" * 64))
    assert response.status_code == 403
    assert "Session expirée" in response.content.decode()
    assert not Account.objects.exists()


def test_another_browser_learns_nothing_of_a_finished_flow(at_password_step):
    driver = at_password_step
    url = driver.url("password")
    driver.client.post(url, _password(_tab(driver.client, url)))
    stranger = Client(enforce_csrf_checks=True)
    response = stranger.post(url, _password("x" * 64))
    assert response.status_code == 403
    assert "Session expirée" in response.content.decode()


def test_the_csrf_page_of_a_page_that_is_no_flow_is_unchanged(client):
    client.handler.enforce_csrf_checks = True
    response = client.post(reverse("activation:start"), {})
    assert response.status_code == 403
    assert "Session expirée" in response.content.decode()
