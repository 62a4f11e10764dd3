"""The password reset link opened in a browser signed in as another account (tryout
finding 4, the same for every link sent by mail): « le mot de passe de votre compte » would
be false there; the page says the link is for another account and offers to sign out; its
button spends nothing."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tests import html
from tests.factories import AccountFactory
from tests.mailbox import link_from

pytestmark = pytest.mark.django_db(transaction=True)


def test_signed_in_as_another_account_the_reset_link_says_so(recovery, guardian,
                                                             smtp_server):
    recovery.start(guardian.identifier)
    recovery.choose("email")
    [message] = smtp_server.wait_for(1)
    path = urlsplit(link_from(message)).path
    other = Client()
    other.force_login(AccountFactory(identifier="j.ndiaye75"))
    main = html.main(html.parse(other.get(path)))
    text = html.text(main)
    assert "Ce lien concerne un autre compte ÉduConnect" in text
    assert "le mot de passe de votre compte" not in text
    assert main.find("form", action=reverse("accounts:logout")).find(
        "button", string="Me déconnecter")
    assert not main.find("button", string="Choisir un nouveau mot de passe")
    assert other.post(path).status_code == 409
    # Nothing spent: signed out, the same link goes on to the new password.
    fresh = Client()
    assert "le mot de passe de votre compte" in html.text(html.main(html.parse(
        fresh.get(path))))
    assert fresh.post(path)["Location"].endswith("/nouveau-mot-de-passe/")
