"""The activation link of a school letter's account opened in a browser signed in as another
account (tryout finding 4, the same for every link sent by mail): the page says the link is
for another account and offers to sign out; its button activates nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AccountKind, AccountState
from activation.flows import ACCOUNT_ACTIVATION_EMAIL_PURPOSE
from core.tokens import link_token_issue
from tests import html
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

ADDRESS = "helene.martin@exemple.fr"


@pytest.fixture
def provisional(db):
    return AccountFactory(kind=AccountKind.GUARDIAN, state=AccountState.PROVISIONAL,
                          email="", email_verified=False)


@pytest.fixture
def link(provisional):
    token = link_token_issue(purpose=ACCOUNT_ACTIVATION_EMAIL_PURPOSE, account=provisional,
                             ttl_seconds=3600, payload={"email": ADDRESS})
    return reverse("activation:provisional_validate", args=[token])


def test_signed_in_as_another_account_the_link_says_so_and_activates_nothing(link,
                                                                               provisional):
    client = Client()
    client.force_login(AccountFactory(kind=AccountKind.GUARDIAN, state=AccountState.ACTIVE))
    main = html.main(html.parse(client.get(link)))
    text = html.text(main)
    assert "Ce lien concerne un autre compte ÉduConnect" in text
    assert main.find("form", action=reverse("accounts:logout")).find(
        "button", string="Me déconnecter")
    assert ADDRESS not in text and "terminer l'activation de votre compte" not in text
    response = client.post(link)
    assert response.status_code == 409
    provisional.refresh_from_db()
    assert provisional.state == AccountState.PROVISIONAL
    # Signed out, the same link activates its account.
    assert Client().post(link)["Location"] == reverse("activation:provisional_validated")
    provisional.refresh_from_db()
    assert provisional.state == AccountState.ACTIVE


def test_signed_out_the_page_is_the_usual_one(link):
    text = html.text(html.main(html.parse(Client().get(link))))
    assert "Ce lien concerne un autre compte" not in text
    assert "terminer l'activation de votre compte ÉduConnect" in text
