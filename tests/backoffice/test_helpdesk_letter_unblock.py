"""« Débloquer l'activation » of a parent blocked in the first sign-in with a school letter
(activation/provisional/: wrong birth dates counted per account, WRONG_DATES_PER_ACCOUNT):
the account page offers it and it really lifts the block; the guardian record's page shows
the letter's journeys and counts; an unblock that changes nothing says so."""

import datetime
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccountState
from activation.flows import WRONG_DATES_PER_ACCOUNT
from core import ratelimit
from core.models import Flow, FlowStatus, JournalEvent
from tests import html
from tests.activation.test_provisional import (
    at_step,
    birth_dates,
    guardian_to_pupils,
)
from tests.factories import AccountFactory, GuardianRecordFactory, ResponsibilityFactory

pytestmark = pytest.mark.django_db

LETTER_PASSWORD = "7GMPGYF3"
REASON = "Appel du parent, date vérifiée avec le collège"


@pytest.fixture
def letter_parent(world):
    """A.OCONNOR27's letter: a provisional account covering a record of collège Jules-Ferry
    (academy A) with one child, Zoé (born 2 April 2013)."""
    account = AccountFactory(identifier="a.oconnor27", first_name="Aoife", last_name="O'Connor",
                             state=AccountState.PROVISIONAL, activated_at=None,
                             provisional_expires_at=timezone.now() + datetime.timedelta(days=30))
    account.set_password(LETTER_PASSWORD)
    account.save()
    record = GuardianRecordFactory(establishment=world.a1, last_name="O'Connor",
                                   first_name="Aoife", mobile_phone="+33655667788",
                                   account=account)
    ResponsibilityFactory(guardian_record=record, pupil=world.pupil_a1)
    account.record = record
    return account


def blocked(letter_parent, world, commit, settings):
    """The parent's own browser: letter, address, password, then wrong dates until even
    signing in again finds the first sign-in blocked. Returns the parent's client."""
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 4
    parent = Client()
    _page, path = guardian_to_pupils(parent, letter_parent, commit)
    # Two different wrong dates per journey (the same one typed again counts once).
    first, second = (birth_dates((True, datetime.date(2013, 4, day))) for day in (3, 4))
    for _ in range(2):  # the first journey ends blocked, signing in again starts a second…
        at_step(parent, commit(parent.post, path, first))
        page, path = at_step(parent, commit(parent.post, path, second))
        assert "Activation impossible" in html.text(page)
        page, path = at_step(parent, parent.get(reverse("activation:provisional")))
    assert "Activation impossible" in html.text(page)  # … whose block holds
    return parent


def test_the_account_page_unblocks_the_letters_first_sign_in(
    helpdesk_client, helpdesk_agent, letter_parent, world, commit, settings
):
    parent = blocked(letter_parent, world, commit, settings)
    url = reverse("admin:helpdesk_account", args=[letter_parent.pk])
    page = unescape(helpdesk_client.get(url).content.decode())
    assert "Dates de naissance incorrectes ces dernières 24 heures : 4 sur 4 permises" in page
    assert "Bloquée jusqu'au " in page and "ne peut plus saisir de date d'ici là" in page
    assert "Débloquer l'activation" in page

    action = reverse("admin:helpdesk_account_letter_unblock", args=[letter_parent.pk])
    refused = helpdesk_client.post(action, {"letter_unblock-reason": ""})
    assert refused.status_code == 302 and refused["Location"] == url
    assert 'id="id_letter_unblock-reason_error"' in helpdesk_client.get(url).content.decode()
    assert not ratelimit.peek(WRONG_DATES_PER_ACCOUNT, f"account:{letter_parent.pk}")

    response = helpdesk_client.post(action, {"letter_unblock-reason": REASON})
    assert response.status_code == 302
    assert "L'activation est débloquée" in unescape(
        helpdesk_client.get(response["Location"]).content.decode())
    event = JournalEvent.objects.get(kind="helpdesk.activation_unblocked")
    assert event.actor == helpdesk_agent
    assert event.account == letter_parent
    assert event.data == {"reason": REASON, "method": "letter", "letter_wrong_dates": 4}

    # The parent signs in again: a new journey, at the birth dates, with every attempt.
    page, path = at_step(parent, parent.get(reverse("activation:provisional")))
    assert path.endswith("/eleves/"), path
    assert Flow.objects.filter(account=letter_parent, status=FlowStatus.OPEN).count() == 1

    # Unblocking again changes nothing, and says so.
    again = helpdesk_client.post(action, {"letter_unblock-reason": REASON}, follow=True)
    assert "Rien n'était bloqué" in unescape(again.content.decode())
    assert JournalEvent.objects.filter(kind="helpdesk.activation_unblocked").count() == 1


def test_the_record_page_shows_the_letters_journeys_and_unblocks_them(
    helpdesk_client, letter_parent, world, commit, settings
):
    parent = blocked(letter_parent, world, commit, settings)
    url = reverse("admin:helpdesk_record", args=[letter_parent.record.pk])
    page = unescape(helpdesk_client.get(url).content.decode())
    assert "Aucun parcours" not in page
    assert "Compte bloqué jusqu'au" in page and "blocage en cours" in page
    assert "dates de naissance incorrectes : 4 sur 4 permises" in page
    assert "Je n'ai pas de compte" not in page
    assert "identifiant et le mot de passe du courrier" in page

    response = helpdesk_client.post(url + "debloquer/", {"unblock-reason": REASON}, follow=True)
    body = unescape(response.content.decode())
    assert "L'activation est débloquée" in body
    assert "Je n'ai pas de compte" not in body
    assert ratelimit.used(WRONG_DATES_PER_ACCOUNT, f"account:{letter_parent.pk}") == 0
    _page, path = at_step(parent, parent.get(reverse("activation:provisional")))
    assert path.endswith("/eleves/"), path


def test_an_unblock_that_changes_nothing_says_so(helpdesk_client, world):
    url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])
    response = helpdesk_client.post(url + "debloquer/", {"unblock-reason": REASON}, follow=True)
    body = unescape(response.content.decode())
    assert "Rien n'était bloqué" in body
    assert "L'activation est débloquée" not in body
    assert not JournalEvent.objects.filter(kind="helpdesk.activation_unblocked").exists()


def test_the_address_typed_in_the_letters_first_sign_in_is_shown_pending_and_found(
    helpdesk_client, letter_parent, world, commit
):
    parent = Client()
    guardian_to_pupils(parent, letter_parent, commit)  # address typed, no link sent yet
    typed = "nadia.bensaid@exemple.fr"  # tests.activation.test_provisional.ADDRESS
    letter_parent.refresh_from_db()
    assert letter_parent.email == ""  # not the account's until its link is followed

    found = unescape(helpdesk_client.get(reverse("admin:helpdesk_search"),
                                         {"q": typed.upper()}).content.decode())
    assert letter_parent.display_identifier in found

    page = html.parse(helpdesk_client.get(reverse("admin:helpdesk_account",
                                                  args=[letter_parent.pk])))
    shown = html.text(page.find(id="account-email"))
    assert shown.startswith(f"{typed} (en attente de validation")
