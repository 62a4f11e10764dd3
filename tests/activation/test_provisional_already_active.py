"""A signed-in ACTIVE account that opens a first sign-in page it no longer has (a flow this
browser does not hold, a used link) is told « Votre compte est déjà activé » and led to
« Mes services »; signed out, or still provisional, those pages are unchanged (no
enumeration from a link)."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccountKind, AccountState
from tests import html
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
MY_SERVICES = reverse("services_portal:my_services")


def step_url(flow_id, name="provisional_pupils"):
    return reverse(f"activation:{name}", args=[flow_id])


def link_url():
    return reverse("activation:provisional_validate", args=["used-or-unknown-token"])


@pytest.fixture
def active_guardian():
    return AccountFactory(kind=AccountKind.GUARDIAN, state=AccountState.ACTIVE)


def heading(response) -> str:
    return html.text(html.parse(response).find("h1"))


@pytest.mark.parametrize("name", ["provisional_pupils", "provisional_sent",
                                  "provisional_password"])
def test_a_finished_flows_step_says_the_account_is_active(active_guardian, name):
    client = Client()
    client.force_login(active_guardian)
    response = client.get(step_url(uuid.uuid4(), name))
    assert response.status_code == 200
    assert heading(response) == "Votre compte est déjà activé"
    main = html.main(html.parse(response))
    assert main.find("a", href=MY_SERVICES)
    assert "Reprendre l'activation" not in html.text(main)


def test_a_used_link_says_the_account_is_active_to_its_signed_in_active_owner(active_guardian):
    client = Client()
    client.force_login(active_guardian)
    for response in (client.get(link_url()), client.post(link_url())):
        assert response.status_code == 200
        assert heading(response) == "Votre compte est déjà activé"
        assert html.main(html.parse(response)).find("a", href=MY_SERVICES)


def test_signed_out_the_pages_are_unchanged(db):
    client = Client()
    response = client.get(link_url())
    assert response.status_code == 410
    assert "Ce lien n'est plus valable" in html.text(html.main(html.parse(response)))
    assert client.get(step_url(uuid.uuid4()))["Location"] == reverse("accounts:profile_choice")


def test_a_provisional_account_still_gets_the_flows_page(db):
    provisional = AccountFactory(kind=AccountKind.GUARDIAN, state=AccountState.PROVISIONAL)
    client = Client()
    client.force_login(provisional)
    response = client.get(step_url(uuid.uuid4()))
    assert response.status_code == 404
    assert "Votre compte est déjà activé" not in response.content.decode()
