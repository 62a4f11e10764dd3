"""An account that spans two academies (a parent with a child in each): each academy's
helpdesk sees the account's own identity and its own academy's records and pupils, never the
other academy's; it finds the account through its own academy's data only; and its actions
never change the other academy's records. A national agent sees everything.

The repro of the tryout: Jean-Éric N'Diaye has children at the collège Jules-Ferry
(Créteil, academy A) and at the lycée Ampère (Lyon, academy B); his one account covers both
guardian records. The Créteil agent opens it.
"""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import AccountState, StaffRole
from core.journal import EventKind, journal_record
from core.models import JournalEvent
from pupils.models import GuardianRecord, Pupil
from tests import html
from tests.backoffice.conftest import make_staff, sign_in
from tests.factories import (
    AccountFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db

REASON = "Appel du parent, identité vérifiée"
# What the other academy's record and pupil hold: none of it may reach the Créteil agent.
OTHER_WORDS = ("Maëlle", "234567891BC", "21/06/2013", "Lycée Ampère", "0690001C",
               "+262 692 99 88 77", "ndiaye.reunion@exemple.fr")


@pytest.fixture
def shared(world):
    account = AccountFactory(identifier="j.ndiaye87", first_name="Jean-Éric",
                             last_name="N'Diaye", phone="+262692123456")
    here = GuardianRecordFactory(establishment=world.a1, last_name="N'Diaye",
                                 first_name="Jean-Éric", mobile_phone="+33698765432",
                                 email="ndiaye.paris@exemple.fr", account=account)
    there = GuardianRecordFactory(establishment=world.b1, last_name="N'Diaye",
                                  first_name="Jean-Éric", mobile_phone="+262692998877",
                                  email="ndiaye.reunion@exemple.fr", account=account)
    pupil_here = PupilFactory(establishment=world.a1, ine="123456789AB", last_name="N'Diaye",
                              first_names="Idriss", birth_date=datetime.date(2011, 3, 5))
    pupil_there = PupilFactory(establishment=world.b1, ine="234567891BC",
                               last_name="N'Diaye", first_names="Maëlle",
                               birth_date=datetime.date(2013, 6, 21))
    ResponsibilityFactory(guardian_record=here, pupil=pupil_here)
    ResponsibilityFactory(guardian_record=there, pupil=pupil_there)
    # The account's activation, as the journal keeps it: both records named.
    journal_record(EventKind.ACCOUNT_ACTIVATED, account=account,
                   guardian_record_ids=[here.pk, there.pk])
    # The other academy's school fixed its record's number (pupils.services).
    journal_record(EventKind.GUARDIAN_RECORD_CONTACT_UPDATED, account=account,
                   guardian_record=there.pk, establishment=world.b1.uai,
                   changed=["mobile_phone"])
    return account, here, there, pupil_here, pupil_there


def _page_text(client, account) -> str:
    response = client.get(reverse("admin:helpdesk_account", args=[account.pk]))
    assert response.status_code == 200
    return html.text(html.parse(response))


def test_the_agent_sees_the_account_and_own_academy_only(helpdesk_client, shared):
    account = shared[0]
    text = _page_text(helpdesk_client, account)
    assert "J.NDIAYE87" in text
    assert "Collège Jules-Ferry (0940001A) — fiche N'DIAYE Jean-Éric" in text
    assert "N'DIAYE Idriss (INE 123456789AB)" in text
    for words in OTHER_WORDS:
        assert words not in text, words
    assert "Ce compte couvre aussi 1 fiche d'une autre académie, que son assistance gère." \
        in text


def test_the_accounts_own_validated_phone_stays_shown(helpdesk_client, shared):
    """The account is the parent's: its verified number is shown once, as the account's."""
    account = shared[0]
    account.phone_verified = True
    account.save(update_fields=["phone_verified"])
    text = _page_text(helpdesk_client, account)
    before_children = text.split("Enfants et fiches responsables")[0]
    assert "+262 692 12 34 56 (vérifié)" in before_children


@pytest.mark.parametrize("query", ["234567891BC", "0690001C", "ndiaye.reunion@exemple.fr",
                                   "0692 99 88 77"])
def test_search_by_the_other_academys_data_finds_nothing(helpdesk_client, shared, query):
    response = helpdesk_client.get(reverse("admin:helpdesk_search"), {"q": query})
    text = html.text(html.parse(response))
    assert "J.NDIAYE87" not in text
    assert "aucun compte" in text


@pytest.mark.parametrize("query", ["123456789AB", "0940001A", "j.ndiaye87",
                                   "ndiaye.paris@exemple.fr", "0692 12 34 56"])
def test_search_by_own_academys_data_lists_own_school_only(helpdesk_client, shared, query):
    response = helpdesk_client.get(reverse("admin:helpdesk_search"), {"q": query})
    page = html.parse(response)
    row = next(tr for tr in page.find(id="accounts-caption").find_parent("table")
               .find_all("tr") if "J.NDIAYE87" in html.text(tr))
    assert "Collège Jules-Ferry (0940001A)" in html.text(row)
    assert "Lycée Ampère" not in html.text(page)


def test_the_close_action_says_what_it_does_to_a_shared_account(helpdesk_client, shared):
    account = shared[0]
    text = _page_text(helpdesk_client, account)
    assert "les fiches responsables et l'élève qu'il couvre sont libérés" not in text
    assert "Libérer les fiches de votre académie" in text


def test_closing_a_shared_account_releases_own_academy_records_only(helpdesk_client, shared):
    account, here, there, _pupil_here, _pupil_there = shared
    url = reverse("admin:helpdesk_account", args=[account.pk])
    response = helpdesk_client.post(url + "fermer/",
                                    {"close-reason": REASON, "close-confirm": "on"})
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    assert GuardianRecord.objects.get(pk=here.pk).account_id is None
    assert GuardianRecord.objects.get(pk=there.pk).account_id == account.pk
    # The account is no longer the agent's: the agent lands on the released record's page.
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:helpdesk_record", args=[here.pk])
    page = helpdesk_client.get(response["Location"])
    assert page.status_code == 200
    assert "reste ouvert" in html.text(html.parse(page))
    event = JournalEvent.objects.filter(account=account,
                                        kind=EventKind.HELPDESK_RECORDS_RELEASED).get()
    assert event.data["released_guardian_records"] == [here.pk]
    assert event.data["reason"] == REASON


def test_closing_an_account_of_one_academy_still_closes_it(helpdesk_client, world):
    url = reverse("admin:helpdesk_account", args=[world.account_a1.pk])
    helpdesk_client.post(url + "fermer/", {"close-reason": REASON, "close-confirm": "on"})
    world.account_a1.refresh_from_db()
    assert world.account_a1.state == AccountState.CLOSED
    assert GuardianRecord.objects.get(pk=world.rec_a1.pk).account_id is None


def test_the_journal_does_not_name_the_other_academys_records(helpdesk_client, shared):
    account = shared[0]
    text = _page_text(helpdesk_client, account)
    journal = text.split("Journal récent")[1]
    assert "Lycée Ampère" not in journal
    assert "0690001C" not in journal
    assert "fiche d'une autre académie" in journal
    assert "établissement d'une autre académie" in journal
    assert "Collège Jules-Ferry" in journal


def test_a_national_agent_sees_every_academy(national_client, shared):
    account, *_records, pupil_there = shared
    text = _page_text(national_client, account)
    assert "Lycée Ampère (0690001C) — fiche N'DIAYE Jean-Éric" in text
    assert "N'DIAYE Maëlle (INE 234567891BC)" in text
    assert "Collège Jules-Ferry (0940001A) — fiche N'DIAYE Jean-Éric" in text
    assert "d'une autre académie" not in text
    response = national_client.get(reverse("admin:helpdesk_search"), {"q": "234567891BC"})
    assert "J.NDIAYE87" in html.text(html.parse(response))
    assert "les fiches responsables et l'élève qu'il couvre sont libérés" in text
    url = reverse("admin:helpdesk_account", args=[account.pk])
    national_client.post(url + "fermer/", {"close-reason": REASON, "close-confirm": "on"})
    account.refresh_from_db()
    assert account.state == AccountState.CLOSED
    assert not GuardianRecord.objects.filter(account=account).exists()
    assert Pupil.objects.filter(pk=pupil_there.pk).exists()


def test_the_other_academys_release_then_closes_the_account(client, helpdesk_client, world,
                                                            shared):
    """Each academy releases its own part; the last one's « Fermer le compte » closes."""
    account, here, there, _pupil_here, _pupil_there = shared
    url = reverse("admin:helpdesk_account", args=[account.pk])
    helpdesk_client.post(url + "fermer/", {"close-reason": REASON, "close-confirm": "on"})
    assert helpdesk_client.get(url).status_code == 404  # no longer in Créteil's scope
    agent_b = make_staff(StaffRole.HELPDESK, academy=world.academy_b, last_name="Lyon")
    sign_in(client, agent_b)
    text = _page_text(client, account)
    assert "Ce compte couvre aussi" not in text
    assert "les fiches responsables et l'élève qu'il couvre sont libérés" in text
    client.post(url + "fermer/", {"close-reason": REASON, "close-confirm": "on"})
    account.refresh_from_db()
    assert account.state == AccountState.CLOSED
    assert GuardianRecord.objects.get(pk=there.pk).account_id is None
    assert GuardianRecord.objects.get(pk=here.pk).account_id is None


@pytest.fixture
def agent_with_admin_pages(helpdesk_agent, helpdesk_client):
    """The accounts and journal admin pages are the national role's today; scoped like
    every admin page (backoffice.scoping), they must not leak either should an academy's
    role be given them: the Créteil agent with both permissions."""
    for codename in ("view_account", "view_journalevent"):
        helpdesk_agent.user_permissions.add(Permission.objects.get(codename=codename))
    return helpdesk_client


@pytest.mark.parametrize("query", ["234567891BC", "0690001C", "ndiaye.reunion@exemple.fr"])
def test_the_accounts_admin_search_does_not_find_it_by_the_other_academys_data(
        agent_with_admin_pages, shared, query):
    response = agent_with_admin_pages.get(reverse("admin:accounts_account_changelist"),
                                          {"q": query})
    assert response.status_code == 200
    assert shared[0].pk not in {a.pk for a in response.context["cl"].result_list}


def test_the_accounts_admin_search_finds_it_by_own_academys_data(agent_with_admin_pages,
                                                                 shared):
    response = agent_with_admin_pages.get(reverse("admin:accounts_account_changelist"),
                                          {"q": "123456789AB"})
    assert shared[0].pk in {a.pk for a in response.context["cl"].result_list}


def test_the_admin_journal_leaves_out_the_other_academys_school_events(
        agent_with_admin_pages, shared):
    response = agent_with_admin_pages.get(reverse("admin:core_journalevent_changelist"),
                                          {"q": "j.ndiaye87"})
    kinds = {event.kind for event in response.context["cl"].result_list}
    assert EventKind.ACCOUNT_ACTIVATED.value in kinds
    assert EventKind.GUARDIAN_RECORD_CONTACT_UPDATED.value not in kinds
    assert "0690001C" not in html.text(html.parse(response))


def test_the_admin_journal_shows_a_national_agent_every_event(national_client, shared):
    response = national_client.get(reverse("admin:core_journalevent_changelist"),
                                    {"q": "j.ndiaye87"})
    kinds = {event.kind for event in response.context["cl"].result_list}
    assert EventKind.GUARDIAN_RECORD_CONTACT_UPDATED.value in kinds


def test_messages_to_the_other_academys_record_are_left_out(helpdesk_client, shared):
    """A letter e-mailed by the other academy's school to its record's address: not this
    agent's to read; a message to the account's own number stays."""
    from notifications.models import OutboundMessage

    account = shared[0]
    OutboundMessage.objects.create(channel="email", recipient="ndiaye.reunion@exemple.fr",
                                   body="", purpose="letter_email", account=account)
    OutboundMessage.objects.create(channel="sms", recipient="+262692123456", body="",
                                   purpose="identifier_reminder", account=account)
    text = _page_text(helpdesk_client, account)
    assert "ndiaye.reunion@exemple.fr" not in text
    assert "+262692123456" in text.split("Messages envoyés")[1]
