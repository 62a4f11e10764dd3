"""Helpdesk account file and actions: unlock, close, resend the activation SMS — each one
journaled with the agent and the reason they typed, each one kept in the history."""

import datetime
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.limits import SIGN_IN_PER_IDENTIFIER
from accounts.models import AccountState
from activation.flows import ACTIVATION_CODE, SMS_ACTIVATION, WRONG_DATES_PER_PHONE, ActivationData
from activation.services import activation_flow_start
from core import codes, ratelimit
from core.flows import flow_start
from core.journal import EventKind, journal_record
from core.models import Flow, FlowCode, FlowStatus, JournalEvent
from notifications.models import OutboundMessage
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

REASON = "Appel du parent le 3/09, identité vérifiée (date de naissance de l'enfant)"


def account_url(account, action=""):
    name = f"admin:helpdesk_account_{action}" if action else "admin:helpdesk_account"
    return reverse(name, args=[account.pk])


def test_account_file_shows_children_schools_records_and_journal(helpdesk_client, world):
    account = world.account_a1
    journal_record(
        EventKind.LOGIN_FAILED, account=account, reason="wrong_password", profile="guardian"
    )
    journal_record(EventKind.ACTIVATION_CODE_SENT, account=account, send=1)
    response = helpdesk_client.get(account_url(account))
    body = response.content.decode()
    assert response.status_code == 200
    assert "H.LEFEVRE12" in body and "Actif" in body
    assert "LEFÈVRE Zoé" in body and "Collège Jules-Ferry (0940001A)" in body
    assert "+33 6 11 22 33 44" in body
    assert "Échec de connexion" in body and "Code d&#x27;activation envoyé par SMS" in body
    assert body.count("<caption") >= 4  # links, flows, messages, journal tables
    # Looking is journaled too, with the agent.
    viewed = JournalEvent.objects.get(kind="helpdesk.account_viewed", account=account)
    assert viewed.actor.staff_profile.role == "helpdesk"
    # … but consultations do not crowd the file's journal.
    body = helpdesk_client.get(account_url(account)).content.decode()
    assert "Consultation par l&#x27;assistance" not in body
    assert JournalEvent.objects.filter(kind="helpdesk.account_viewed").count() == 2


def refused_then_shown(client, action_url, data, page_url):
    """A refused action form: redirected to the file's page (POST-redirect-GET), whose GET
    shows the error under the field once; the page is returned as text."""
    response = client.post(action_url, data)
    assert response.status_code == 302
    assert response["Location"] == page_url
    shown = client.get(page_url)
    assert shown.status_code == 200
    return unescape(shown.content.decode())


def test_unlock_requires_a_reason(helpdesk_client, locked_account):
    body = refused_then_shown(helpdesk_client, account_url(locked_account, "unlock"),
                              {"unlock-reason": ""}, account_url(locked_account))
    assert "Motif : saisissez la raison de cette action" in body
    assert 'id="id_unlock-reason_error"' in body
    # Shown once: the page opened again is the plain file.
    assert "Motif : saisissez" not in unescape(
        helpdesk_client.get(account_url(locked_account)).content.decode())
    locked_account.refresh_from_db()
    assert locked_account.state == AccountState.LOCKED
    assert not JournalEvent.objects.filter(kind="helpdesk.account_unlocked").exists()


def test_unlock_is_journaled_with_the_agent_and_reason(helpdesk_client, helpdesk_agent,
                                                        locked_account):
    ratelimit.hit(SIGN_IN_PER_IDENTIFIER, locked_account.identifier)
    response = helpdesk_client.post(account_url(locked_account, "unlock"),
                                    {"unlock-reason": REASON})
    assert response.status_code == 302
    locked_account.refresh_from_db()
    assert locked_account.state == AccountState.ACTIVE
    event = JournalEvent.objects.get(kind="helpdesk.account_unlocked")
    assert event.account == locked_account and event.actor == helpdesk_agent
    assert event.data == {"reason": REASON, "state_before": "locked", "state_after": "active",
                          "sign_in_suspended": False}
    change = locked_account.history.latest()
    assert change.history_user == helpdesk_agent and change.state == "active"
    assert change.prev_record.state == "locked"
    # The portal's sign-in counter of this identifier starts again.
    assert ratelimit.used(SIGN_IN_PER_IDENTIFIER, locked_account.identifier) == 0
    # The file shows it, with the agent.
    body = helpdesk_client.get(account_url(locked_account)).content.decode()
    assert "Compte déverrouillé par l&#x27;assistance" in body
    assert helpdesk_agent.display_identifier in body


def test_unlocking_an_unlocked_account_says_so(helpdesk_client, world):
    url = account_url(world.account_a1, "unlock")
    response = helpdesk_client.post(url, {"unlock-reason": REASON}, follow=True)
    assert "n&#x27;est pas verrouillé" in response.content.decode()
    assert not JournalEvent.objects.filter(kind="helpdesk.account_unlocked").exists()


def _unlock_then_signs_in(helpdesk_client, account, browser):
    """« Déverrouiller » with a reason, journaled as lifting a suspension; the file no longer
    shows one, and `browser` (refused before) signs in with the right password."""
    response = helpdesk_client.post(account_url(account, "unlock"), {"unlock-reason": REASON})
    assert response.status_code == 302
    event = JournalEvent.objects.get(kind="helpdesk.account_unlocked")
    assert event.data == {"reason": REASON, "state_before": "active", "state_after": "active",
                          "sign_in_suspended": True}
    body = unescape(helpdesk_client.get(account_url(account)).content.decode())
    assert "Suspendue" not in body and "Déverrouiller le compte" not in body
    assert browser.post("/connexion/representant-legal/",
                        {"identifier": account.identifier, "password": DEFAULT_PASSWORD}
                        ).status_code == 302


def test_unlock_lifts_a_portal_sign_in_suspended_after_failures(helpdesk_client, world,
                                                               settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 2
    account = world.account_a1
    portal = Client()
    for _ in range(2):
        portal.post("/connexion/representant-legal/",
                    {"identifier": account.identifier, "password": "Mauvais-1!"})
    refused = portal.post("/connexion/representant-legal/",
                          {"identifier": account.identifier, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 429
    # The agent sees the suspension and how long it lasts, and may lift it.
    body = unescape(helpdesk_client.get(account_url(account)).content.decode())
    assert "Suspendue après trop d'échecs jusqu'au " in body
    assert "sauf depuis les navigateurs où le compte s'est déjà connecté" in body
    assert "Déverrouiller le compte" in body

    _unlock_then_signs_in(helpdesk_client, account, portal)


def test_the_file_shows_and_unlock_lifts_a_suspension_from_one_address(helpdesk_client, world,
                                                                      settings):
    """The tryout's helpdesk half: wrong passwords from one browser fill the (identifier,
    address) window; the file said « État : Actif » and nothing else, and « unlock » cleared
    only the identifier's shared window. The journal's failed sign-ins name the address."""
    account = world.account_a1
    portal = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP):
        portal.post("/connexion/representant-legal/",
                    {"identifier": account.identifier, "password": "Mauvais-1!"})
    other_browser = Client(REMOTE_ADDR="198.51.100.7")  # same address, no device cookie
    refused = other_browser.post("/connexion/representant-legal/",
                                 {"identifier": account.identifier, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 429

    before = timezone.localtime()
    body = unescape(helpdesk_client.get(account_url(account)).content.decode())
    assert "Actif" in body
    window_end = before + datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    shown = [f" à {(window_end + datetime.timedelta(minutes=m)).strftime('%H h %M')} au "
             for m in (0, 1)]
    assert ("Suspendue après trop d'échecs depuis 1 adresse IP (198.51.100.7), " in body
            and any(until in body for until in shown)), body
    assert "sauf depuis les navigateurs où le compte s'est déjà connecté" in body
    assert "Déverrouiller le compte" in body

    _unlock_then_signs_in(helpdesk_client, account, other_browser)


def test_the_file_counts_the_addresses_whose_window_is_full(
    helpdesk_client, world, settings
):
    account = world.account_a1
    for n in (1, 2):
        portal = Client(REMOTE_ADDR=f"198.51.100.{n}")
        for _ in range(settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP):
            portal.post("/connexion/representant-legal/",
                        {"identifier": account.identifier, "password": "Mauvais-1!"})
    # An address whose window is not full is not counted.
    Client(REMOTE_ADDR="198.51.100.3").post(
        "/connexion/representant-legal/",
        {"identifier": account.identifier, "password": "Mauvais-1!"})
    body = unescape(helpdesk_client.get(account_url(account)).content.decode())
    assert "Suspendue après trop d'échecs depuis 2 adresses IP (198.51.100." in body
    assert "198.51.100.3)" not in body.split("Connexion au portail")[1].split("</dd>")[0]


def test_the_addresses_looked_at_are_the_most_recent_ones_and_bounded(world, settings):
    from backoffice.selectors import SIGN_IN_ADDRESSES_LOOKED_AT, sign_in_failure_addresses
    from core.models import JournalEvent as Event

    account = world.account_a1
    now = timezone.now()
    for n in range(SIGN_IN_ADDRESSES_LOOKED_AT + 5):
        Event.objects.create(kind=EventKind.LOGIN_FAILED, account=account,
                             ip_address=f"192.0.2.{n}", at=now - datetime.timedelta(seconds=n))
    old = now - datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)
    Event.objects.create(kind=EventKind.LOGIN_FAILED, account=account, ip_address="192.0.2.250",
                         at=old)
    addresses = sign_in_failure_addresses(account=account, now=now)
    assert addresses == [f"192.0.2.{n}" for n in range(SIGN_IN_ADDRESSES_LOOKED_AT)]


def test_close_releases_the_guardian_records(helpdesk_client, helpdesk_agent, world):
    account = world.account_a1
    # Closing cannot be undone: without the confirmation box, nothing happens.
    unconfirmed = refused_then_shown(helpdesk_client, account_url(account, "close"),
                                     {"close-reason": REASON}, account_url(account))
    assert "Confirmation : cochez la case pour confirmer la fermeture du compte." in unconfirmed
    # What the agent typed is kept.
    assert REASON in unconfirmed
    account.refresh_from_db()
    assert account.state == AccountState.ACTIVE
    response = helpdesk_client.post(account_url(account, "close"),
                                    {"close-reason": REASON, "close-confirm": "on"})
    assert response.status_code == 302
    account.refresh_from_db()
    world.rec_a1.refresh_from_db()
    assert account.state == AccountState.CLOSED
    assert world.rec_a1.account is None
    event = JournalEvent.objects.get(kind="helpdesk.account_closed")
    assert event.actor == helpdesk_agent and event.data["reason"] == REASON
    assert event.data["released_guardian_records"] == [world.rec_a1.pk]
    record_change = world.rec_a1.history.latest()
    assert record_change.history_user == helpdesk_agent and record_change.account_id is None
    # Closed: no more action offered but the file stays readable; the record is searchable
    # as « sans compte ».
    body = helpdesk_client.get(account_url(account)).content.decode()
    assert "Fermer le compte" not in body and "Fermé" in body
    body = helpdesk_client.get("/gestion/assistance/", {"q": "06 11 22 33 44"}).content.decode()
    assert reverse("admin:helpdesk_record", args=[world.rec_a1.pk]) in body


def test_a_secretary_cannot_act_on_accounts(secretary_client, locked_account):
    response = secretary_client.post(account_url(locked_account, "unlock"),
                                     {"unlock-reason": REASON})
    assert response.status_code == 403
    locked_account.refresh_from_db()
    assert locked_account.state == AccountState.LOCKED


def test_actions_need_post(helpdesk_client, locked_account):
    assert helpdesk_client.get(account_url(locked_account, "unlock")).status_code == 405


# --- Resend the activation SMS of a stalled flow --------------------------------------


@pytest.fixture
def stalled_flow(world, settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    world.link_a2.status = "active"
    world.link_a2.save(update_fields=["status"])
    flow, _secret = activation_flow_start(last_name="Nguyen", first_name="Thi",
                                          phone="+33622334455")
    # The parent waited: the resend cooldown has passed.
    FlowCode.objects.filter(flow=flow).update(
        created_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    ratelimit.clear(codes.RECIPIENT_COOLDOWN, codes.recipient_key("sms", "+33622334455"))
    flow.refresh_from_db()
    assert ActivationData.of(flow).matched_record_ids == [world.rec_a2.pk]
    return flow


def test_record_file_shows_the_stalled_flow_and_resends(helpdesk_client, helpdesk_agent, world,
                                                        stalled_flow):
    url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])
    body = helpdesk_client.get(url).content.decode()
    assert "Je saisis le code de sécurité" in body  # the flow's step
    assert "Renvoyer le SMS" in body
    sent_before = OutboundMessage.objects.filter(flow_id=stalled_flow.pk).count()

    resend = reverse("admin:helpdesk_record_resend", args=[world.rec_a2.pk])
    refused = refused_then_shown(helpdesk_client, resend, {"resend-reason": ""}, url)
    assert 'id="id_resend-reason_error"' in refused
    assert OutboundMessage.objects.filter(flow_id=stalled_flow.pk).count() == sent_before

    response = helpdesk_client.post(resend, {"resend-reason": REASON})
    assert response.status_code == 302
    assert stalled_flow.codes.count() == 2
    messages = OutboundMessage.objects.filter(flow_id=stalled_flow.pk)
    assert messages.count() == sent_before + 1
    assert {m.recipient for m in messages} == {"+33622334455"}
    event = JournalEvent.objects.get(kind="helpdesk.activation_sms_resent")
    assert event.actor == helpdesk_agent and event.flow_id == stalled_flow.pk
    assert event.data == {"reason": REASON, "sent": True}
    body = helpdesk_client.get(url).content.decode()
    assert "SMS d&#x27;activation renvoyé par l&#x27;assistance" in body


def test_resend_refused_when_the_flow_is_over(helpdesk_client, world, stalled_flow):
    Flow.objects.filter(pk=stalled_flow.pk).update(status=FlowStatus.BLOCKED)
    resend = reverse("admin:helpdesk_record_resend", args=[world.rec_a2.pk])
    response = helpdesk_client.post(resend, {"resend-reason": REASON}, follow=True)
    assert "Aucune activation en cours" in response.content.decode()
    assert not JournalEvent.objects.filter(kind="helpdesk.activation_sms_resent").exists()


def test_resend_follows_the_activation_limits(helpdesk_client, world, stalled_flow):
    FlowCode.objects.filter(flow=stalled_flow).update(created_at=timezone.now())
    resend = reverse("admin:helpdesk_record_resend", args=[world.rec_a2.pk])
    response = helpdesk_client.post(resend, {"resend-reason": REASON}, follow=True)
    assert stalled_flow.codes.count() == 1
    assert "Patientez" in response.content.decode() or "patientez" in response.content.decode()


def test_resend_tells_the_agent_when_a_silent_limit_held_the_sms(helpdesk_client, world,
                                                                  stalled_flow, settings):
    # Another flow sent a code to the same number moments ago (another browser, another
    # purpose): the per-number cooldown, when an operator turns it on, holds the SMS back.
    # The parent's page would not say so; the agent's does.
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 60
    other, _ = flow_start(kind=SMS_ACTIVATION, step="code", phone="+33622334455")
    assert codes.code_issue(flow=other, purpose=ACTIVATION_CODE, recipient="+33622334455",
                            deliver=True).sent
    sent_before = OutboundMessage.objects.filter(flow_id=stalled_flow.pk).count()
    resend = reverse("admin:helpdesk_record_resend", args=[world.rec_a2.pk])
    response = helpdesk_client.post(resend, {"resend-reason": REASON}, follow=True)
    body = response.content.decode()
    assert "Aucun SMS n&#x27;a été envoyé : ce numéro a reçu un code il y a moins" in body
    assert OutboundMessage.objects.filter(flow_id=stalled_flow.pk).count() == sent_before
    event = JournalEvent.objects.get(kind="helpdesk.activation_sms_resent")
    assert event.data == {"reason": REASON, "sent": False}
    # The flow's journal says why, in words.
    body = helpdesk_client.get(reverse("admin:helpdesk_record", args=[world.rec_a2.pk]))
    assert "envoi trop rapproché au même destinataire" in body.content.decode()


# --- Issue 16 §5: « Débloquer l'activation » -------------------------------------------------

def test_unblock_activation_clears_the_numbers_counters_with_a_journaled_reason(
    helpdesk_client, helpdesk_agent, world
):
    phone = "+33622334455"  # world.rec_a2, no account
    for _ in range(10):
        ratelimit.hit(WRONG_DATES_PER_PHONE, phone)
    url = f"/gestion/assistance/fiches/{world.rec_a2.pk}/"
    page = unescape(helpdesk_client.get(url).content.decode())
    assert "dates de naissance incorrectes : 10 sur 10 permises" in page
    assert "Débloquer l'activation" in page

    refused = refused_then_shown(helpdesk_client, url + "debloquer/", {"unblock-reason": ""}, url)
    assert "Motif : saisissez la raison de cette action" in refused
    assert not ratelimit.peek(WRONG_DATES_PER_PHONE, phone)

    response = helpdesk_client.post(url + "debloquer/",
                                    {"unblock-reason": "Date corrigée par le collège"})
    assert response.status_code == 302
    assert ratelimit.used(WRONG_DATES_PER_PHONE, phone) == 0
    event = JournalEvent.objects.get(kind="helpdesk.activation_unblocked")
    assert event.actor == helpdesk_agent
    assert event.data == {"guardian_record": world.rec_a2.pk,
                          "reason": "Date corrigée par le collège", "wrong_dates": 10}
    assert "L'activation est débloquée" in unescape(
        helpdesk_client.get(response["Location"]).content.decode())


def test_a_secretary_cannot_unblock(secretary_client, world):
    response = secretary_client.post(
        f"/gestion/assistance/fiches/{world.rec_a1.pk}/debloquer/", {"unblock-reason": "essai"})
    assert response.status_code == 403


def test_the_identifier_is_sent_by_sms_to_the_accounts_verified_number_only(
    helpdesk_client, helpdesk_agent, world, settings, django_capture_on_commit_callbacks
):
    from notifications import sms

    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    account = world.account_a1
    account.phone_verified = True
    account.save(update_fields=["phone_verified"])
    url = reverse("admin:helpdesk_account_identifier", args=[account.pk])
    assert "Renvoyer l'identifiant par SMS" in unescape(
        helpdesk_client.get(account_url(account)).content.decode())
    # Refused without a reason: the agent is back on the account's page (not left on the
    # action's POST-only address), the error under « Motif » of « Renvoyer l'identifiant ».
    refused = refused_then_shown(helpdesk_client, url, {"identifier-reason": ""},
                                 account_url(account))
    assert 'id="id_identifier-reason_error"' in refused
    assert "Motif : saisissez la raison de cette action" in refused
    assert not sms.outbox
    with django_capture_on_commit_callbacks(execute=True):
        response = helpdesk_client.post(url, {"identifier-reason": REASON})
    assert response.status_code == 302
    [message] = sms.outbox
    assert message.to == "+33611223344" and "H.LEFEVRE12" in message.body
    event = JournalEvent.objects.get(kind="helpdesk.identifier_sent")
    assert event.actor == helpdesk_agent and event.data == {"reason": REASON}

    account.phone_verified = False
    account.save(update_fields=["phone_verified"])
    helpdesk_client.post(url, {"identifier-reason": REASON})
    assert len(sms.outbox) == 1  # no verified number: nothing sent
