"""The SAML IdP while Redis cannot be reached: a request's replay check and the parking of a
POST binding request live in the shared cache, so the request is refused with the French
« momentanément indisponible » page (503, Retry-After, journaled), never answered unchecked,
never a 500; once Redis is back, services sign in again. A redis-server of the test's own,
really stopped (`outage_redis`, tests/conftest.py)."""

from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from core.models import JournalEvent
from tests.factories import AccountFactory
from tests.saml_idp.sp import TestSP
from tests.saml_idp.test_sso import form_of, register

pytestmark = pytest.mark.django_db

UNAVAILABLE = ("La connexion au service est momentanément indisponible. Réessayez dans "
               "quelques minutes.")


@pytest.fixture
def guardian():
    return AccountFactory(first_name="Hélène", last_name="Martin")


def unavailable(response) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert soup.h1.get_text(strip=True) == "Connexion au service impossible"
    titles = [t for t in soup.find_all(class_="fr-alert__title") if not t.find_parent(hidden=True)]
    return titles[0].get_text(strip=True)


def test_a_request_is_refused_as_unavailable_then_answered_once_redis_is_back(
        client, guardian, outage_redis):
    sp = TestSP(name="outage")
    register(sp)
    client.force_login(guardian)
    outage_redis.stop()
    url, _ = sp.redirect_url()
    assert unavailable(client.get(url)) == UNAVAILABLE
    assert JournalEvent.objects.filter(kind="saml.refused", data__reason="unavailable").exists()
    outage_redis.start()
    url, _ = sp.redirect_url()
    form_of(client.get(url))


def test_a_parked_post_binding_request_is_refused_as_unavailable(client, guardian,
                                                                 outage_redis):
    sp = TestSP(sign_requests=False, encrypt=False, name="poster-outage")
    register(sp)
    action, fields, _ = sp.post_request("retour")
    parked = client.post(urlsplit(action).path, fields)  # no session: parked in Redis
    assert parked.status_code == 302 and "parked=" in parked["Location"]
    outage_redis.stop()
    assert unavailable(client.get(parked["Location"])) == UNAVAILABLE
    # And a new POST binding request cannot be checked for replay nor parked.
    action, fields, _ = sp.post_request("retour")
    assert unavailable(client.post(urlsplit(action).path, fields)) == UNAVAILABLE
