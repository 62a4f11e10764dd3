"""What the helpdesk reads of an activation blocked by wrong birth dates (fresh-eyes tryout of
the back-office):

- a journey blocked, then unblocked by the helpdesk (« Débloquer l'activation »), said
  « Bloqué » for ever on the record's and the account's pages, and « Bloquée » in the search
  by number, with nothing saying it was lifted since; the current block must still read as
  blocked;
- the journal wrote the first block (the journey's own limit, ACTIVATION_MAX_WRONG_DATES: a
  new journey may start at once) and the block of the window shared by every journey of the
  number or the account (ACTIVATION_MAX_WRONG_DATES_PER_PHONE in
  ACTIVATION_PHONE_WINDOW_SECONDS, which holds) in the same words; an event written before
  the block recorded which one says so rather than guess.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from activation.services import (
    ActivationRefused,
    PupilAnswer,
    activation_flow_start,
    activation_pupils_confirm,
)
from backoffice.journal_labels import describe_event
from core import codes, ratelimit
from core.models import Flow, FlowStatus, JournalEvent
from tests import html as h
from tests.backoffice.test_helpdesk_french import table_rows
from tests.backoffice.test_helpdesk_letter_unblock import (  # noqa: F401 (fixture)
    REASON,
    blocked,
    letter_parent,
)

pytestmark = pytest.mark.django_db

PHONE = "+33622334455"  # world.rec_a2: Thị Nguyễn, École Les Lilas, child Lan
WRONG = datetime.date(2016, 1, 1)
JOURNEY_LABEL = ("Activation bloquée : limite d'un parcours atteinte (dates de naissance), "
                 "nouvel essai possible aussitôt")
WINDOW_LABEL = "Activation bloquée 24 heures : limite sur 24 heures atteinte (dates de naissance)"
# The « État » of the « Parcours » table and « Ce qui s'est passé » of the search.
JOURNEY_STATE = "Arrêté : trop de dates de naissance incorrectes dans ce parcours"
JOURNEY_OUTCOME = "Arrêtée : trop de dates de naissance incorrectes dans cette activation"


def window_words(until, on="numéro") -> str:
    """The words of the window's block, without whether it holds now."""
    return ("{} bloqué jusqu'au {} à {} (trop de dates de naissance incorrectes en 24 heures "
            "sur ce {})".format(on.capitalize(), *local(until), on))


def held_words(until, on="numéro") -> set[str]:
    """The words of a window's block that holds now, to the minute: the page reads its end
    live (now + the window's wait, Redis), which may fall a second from the block event's
    and so in the next or previous minute (seen in CI at 03:06:59 against 03:07:00)."""
    return {window_words(until + datetime.timedelta(seconds=drift), on) + " : blocage en cours"
            for drift in (-2, 0, 2)}


def window_until(flow) -> datetime.datetime:
    """When the window that blocked `flow` allows one more date, from its block event."""
    event = JournalEvent.objects.get(kind="activation_blocked", flow_id=flow.pk)
    return event.at + datetime.timedelta(seconds=event.data["wait_seconds"])


def local(at) -> tuple[str, str]:
    at = timezone.localtime(at)
    return at.strftime("%d/%m/%Y"), at.strftime("%H:%M")


def sms_journey_blocked(world) -> Flow:
    """One SMS activation of Thị Nguyễn: code accepted, then wrong birth dates until the
    journey ends BLOCKED (by whichever limit comes first)."""
    ratelimit.clear(codes.RECIPIENT_COOLDOWN, codes.recipient_key("sms", PHONE))
    flow, _secret = activation_flow_start(last_name="Nguyen", first_name="Thi", phone=PHONE)
    Flow.objects.filter(pk=flow.pk).update(step="pupils")  # the SMS code is not the point
    for day in range(10):  # a different wrong date each time: a repeat counts once
        answer = [PupilAnswer(pupil_id=world.pupil_a2.pk, is_legal_representative=True,
                              birth_date=WRONG + datetime.timedelta(days=day))]
        try:
            activation_pupils_confirm(flow_id=flow.id, answers=answer)
        except ActivationRefused:
            continue  # « Encore n dates incorrectes possibles »
        break
    flow.refresh_from_db()
    assert flow.status == FlowStatus.BLOCKED
    return flow


@pytest.fixture
def sms_limits(world, settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 4
    settings.ACTIVATION_PHONE_WINDOW_SECONDS = 24 * 3600
    world.link_a2.status = "active"
    world.link_a2.save(update_fields=["status"])


def flow_states(page) -> list[str]:
    """The « État » column of the « Parcours » table, newest journey first."""
    return [row[2] for row in table_rows(page, "Parcours")]


def journal_rows(page) -> list[list[str]]:
    return table_rows(page, "Journal récent")


def test_the_journal_tells_the_journeys_block_from_the_24_hour_block(
        helpdesk_client, world, sms_limits):
    first = sms_journey_blocked(world)   # 2 wrong dates: the journey's limit, 2 of 4 left
    second = sms_journey_blocked(world)  # 2 more: 4 in 24 hours, the number's limit
    journey, window = (JournalEvent.objects.get(kind="activation_blocked", flow_id=flow.pk)
                       for flow in (first, second))
    assert journey.data["block"] == "journey" and journey.data["wait_seconds"] == 0
    assert window.data["block"] == "window" and window.data["counted_on"] == "phone"
    assert 0 < window.data["wait_seconds"] <= 24 * 3600

    page = h.parse(helpdesk_client.get(reverse("admin:helpdesk_record",
                                               args=[world.rec_a2.pk])))
    blocks = [row for row in journal_rows(page) if row[1].startswith("Activation bloquée")]
    assert [row[1] for row in blocks] == [WINDOW_LABEL, JOURNEY_LABEL]  # newest first
    window_details, journey_details = (row[3] for row in blocks)
    assert ("règle : 2 dates de naissance incorrectes au plus dans un même parcours : ce "
            "parcours est arrêté, une nouvelle activation peut commencer aussitôt, dans la "
            "limite de 4 dates incorrectes en 24 heures sur ce numéro") in journey_details
    date, time = local(window.at + datetime.timedelta(seconds=window.data["wait_seconds"]))
    assert ("règle : 4 dates de naissance incorrectes au plus en 24 heures sur ce numéro, tous "
            "parcours confondus : aucune nouvelle date avant le "
            f"{date} à {time}, sauf déblocage par l'assistance") in window_details
    for code in ("journey", "window", "wait_seconds", "counted_on", "86400"):
        assert code not in h.text(h.main(page))


def test_an_old_block_event_says_it_does_not_know_which_limit():
    """Written before the block recorded which limit (`wrong_dates` alone): no guess, no
    crash, the count still shown."""
    line = describe_event(SimpleNamespace(
        at=timezone.now(), kind="activation_blocked", actor_id=None, ip_address=None,
        data={"wrong_dates": 5}))
    assert line.label == ("Activation bloquée (dates de naissance) : limite atteinte non "
                          "enregistrée dans cet événement (celle d'un parcours ou celle de "
                          "plusieurs parcours)")
    assert line.details == [("dates de naissance incorrectes", "5")]


def test_journeys_unblocked_by_the_helpdesk_say_so_and_the_current_block_still_reads_blocked(
        helpdesk_client, world, sms_limits):
    sms_journey_blocked(world)
    second = sms_journey_blocked(world)
    until = window_until(second)
    url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])
    held, journey = flow_states(h.parse(helpdesk_client.get(url)))
    assert held in held_words(until) and journey == JOURNEY_STATE

    response = helpdesk_client.post(url + "debloquer/", {"unblock-reason": REASON})
    assert response.status_code == 302
    unblock = JournalEvent.objects.get(kind="helpdesk.activation_unblocked")
    lifted = ", puis débloqué par l'assistance le {} à {}".format(*local(unblock.at))
    assert flow_states(h.parse(helpdesk_client.get(url))) == [
        window_words(until) + lifted, JOURNEY_STATE + lifted]

    # The parent tries again and is stopped again (2 wrong dates: this journey's limit, the
    # number's window emptied by the unblock): that stop is not lifted.
    sms_journey_blocked(world)
    page = h.parse(helpdesk_client.get(url))
    assert flow_states(page) == [JOURNEY_STATE, window_words(until) + lifted,
                                 JOURNEY_STATE + lifted]

    # The search by number tells the same.
    found = h.parse(helpdesk_client.get(reverse("admin:helpdesk_search"), {"q": PHONE}))
    outcomes = [row[2] for row in table_rows(found, "Activations par SMS commencées")]
    lifted_f = " ; puis débloquée par l'assistance le {} à {}".format(*local(unblock.at))
    assert outcomes == [JOURNEY_OUTCOME, window_words(until) + lifted_f,
                        JOURNEY_OUTCOME + lifted_f]


def test_a_letters_journeys_unblocked_by_the_helpdesk_say_so_on_the_account_page(
        helpdesk_client, letter_parent, world, commit, settings):  # noqa: F811
    blocked(letter_parent, world, commit, settings)  # two journeys: 2 wrong dates, then 4
    url = reverse("admin:helpdesk_account", args=[letter_parent.pk])
    page = h.parse(helpdesk_client.get(url))
    newest = Flow.objects.filter(account=letter_parent).latest("created_at")
    until = window_until(newest)
    held, journey = flow_states(page)
    assert held in held_words(until, "compte") and journey == JOURNEY_STATE
    labels = [row[1] for row in journal_rows(page)]
    assert labels.index(WINDOW_LABEL) < labels.index(JOURNEY_LABEL)
    assert any("sur ce compte" in row[3] for row in journal_rows(page))

    action = reverse("admin:helpdesk_account_letter_unblock", args=[letter_parent.pk])
    assert helpdesk_client.post(action, {"letter_unblock-reason": REASON}).status_code == 302
    unblock = JournalEvent.objects.get(kind="helpdesk.activation_unblocked")
    lifted = ", puis débloqué par l'assistance le {} à {}".format(*local(unblock.at))
    lifted = [window_words(until, "compte") + lifted, JOURNEY_STATE + lifted]
    assert flow_states(h.parse(helpdesk_client.get(url))) == lifted
    # The record's page (the letter's journeys are its own) says so too.
    record = h.parse(helpdesk_client.get(reverse("admin:helpdesk_record",
                                                 args=[letter_parent.record.pk])))
    assert flow_states(record) == lifted
