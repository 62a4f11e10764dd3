"""The helpdesk files of two accounts merged by « Ajouter des enfants depuis un autre
compte » (families.services.accounts_merge): the closed account's file offers no action that
cannot apply to it and names the kept account."""

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import AccountState
from families.services import accounts_merge
from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory, GuardianRecordFactory

pytestmark = pytest.mark.django_db


def account_url(account):
    return reverse("admin:helpdesk_account", args=[account.pk])


@pytest.fixture
def merged(world):
    """Hélène Lefèvre's second account (h.lefevre7, école Les Lilas) took the children of
    her first one (h.lefevre12, collège Jules-Ferry, its number verified), now closed."""
    closed = world.account_a1
    closed.phone_verified = True
    closed.save(update_fields=["phone_verified"])
    kept = AccountFactory(identifier="h.lefevre7", first_name="Hélène", last_name="LEFÈVRE",
                          phone="+33699887766", phone_verified=True)
    GuardianRecordFactory(establishment=world.a2, last_name="Lefèvre", first_name="Hélène",
                          mobile_phone="+33699887766", account=kept)
    accounts_merge(account=kept, identifier=closed.identifier, password=DEFAULT_PASSWORD)
    closed.refresh_from_db()
    assert closed.state == AccountState.CLOSED
    return kept, closed


def test_the_closed_accounts_file_offers_no_dead_end_and_names_the_kept_account(
        helpdesk_client, world, merged):
    kept, closed = merged
    response = helpdesk_client.get(account_url(closed))
    assert response.status_code == 200
    page = unescape(response.content.decode())
    # Nothing it would refuse (« Ce compte est fermé : il n'a plus d'identifiant
    # utilisable. »): no identifier to send, nothing to unlock or close.
    assert "Renvoyer l'identifiant par SMS" not in page
    assert "Déverrouiller le compte" not in page
    assert "Fermer le compte" not in page
    parsed = h.parse(response)
    [merged_into] = parsed.select("#merged-into")
    assert "ajoutés au compte conservé H.LEFEVRE7" in h.text(merged_into)
    [link] = merged_into.select("a")
    assert link["href"] == account_url(kept) and h.text(link) == "H.LEFEVRE7"


def test_the_kept_accounts_file_is_not_said_merged_into_anything(helpdesk_client, merged):
    kept, _closed = merged
    response = helpdesk_client.get(account_url(kept))
    assert not h.parse(response).select("#merged-into")
    assert "Renvoyer l'identifiant par SMS" in unescape(response.content.decode())
