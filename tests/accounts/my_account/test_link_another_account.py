"""The e-mail validation link of « Mon compte » opened in a browser signed in as another
account (tryout finding 4): its words (« votre compte ») would be false there, so the page
says the link is for another account, names neither account nor address, offers to sign
out, and its button validates nothing. Signed out, or signed in as the link's own account,
the page is the usual one."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.my_account.selectors import EMAIL_CHANGE_PURPOSE
from core.tokens import link_token_issue
from tests import html
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

NEW = "helene.martin@exemple.fr"


@pytest.fixture
def helene(db):
    return AccountFactory(identifier="h.martin12", first_name="Hélène", last_name="Martin",
                          email="helene@ancienne.fr", email_verified=True)


@pytest.fixture
def link(helene):
    token = link_token_issue(purpose=EMAIL_CHANGE_PURPOSE, account=helene, ttl_seconds=3600,
                             payload={"email": NEW})
    return reverse("accounts:my_account:email_validate", args=[token])


def signed_in_as_someone_else() -> Client:
    client = Client()
    client.force_login(AccountFactory(identifier="j.ndiaye75", email="jules@ndiaye.fr",
                                      email_verified=True))
    return client


def test_signed_in_as_another_account_the_page_says_so_and_offers_to_sign_out(link, helene):
    client = signed_in_as_someone_else()
    main = html.main(html.parse(client.get(link)))
    text = html.text(main)
    alert = main.find(id="link-another-account")
    assert html.text(alert.find("h2")) == "Ce lien concerne un autre compte ÉduConnect"
    assert "Déconnectez-vous, puis ouvrez de nouveau le lien reçu par mail." in text
    assert main.find("form", action=reverse("accounts:logout")).find(
        "button", string="Me déconnecter")
    # Nothing of the link's account, and no « votre compte » promise, no validate button.
    assert NEW not in text and "h.martin12" not in text.lower()
    assert "deviendra l'adresse mail de votre compte" not in text
    assert not main.find("button", string="Valider mon adresse mail")


def test_its_button_posted_anyway_validates_nothing(link, helene):
    client = signed_in_as_someone_else()
    response = client.post(link)
    assert response.status_code == 409
    assert "Ce lien concerne un autre compte ÉduConnect" in html.text(
        html.main(html.parse(response)))
    helene.refresh_from_db()
    assert helene.email == "helene@ancienne.fr"
    # The link still works for its owner, once signed out.
    assert Client().post(link)["Location"] == reverse("accounts:my_account:email_validated")
    helene.refresh_from_db()
    assert helene.email == NEW


@pytest.mark.parametrize("who", ["signed_out", "owner"])
def test_signed_out_or_as_its_owner_the_page_is_the_usual_one(link, helene, who):
    client = Client()
    if who == "owner":
        client.force_login(helene)
    main = html.main(html.parse(client.get(link)))
    assert "Ce lien concerne un autre compte" not in html.text(main)
    assert "elle deviendra l'adresse mail de votre compte ÉduConnect" in html.text(main)
    assert client.post(link)["Location"] == reverse("accounts:my_account:email_validated")
