"""The limits of the birth dates across journeys of one number (WRONG_DATES_PER_PHONE), as
the parent reads them: the countdown of step 3, the blocked number told as soon as the SMS
code is proven, the end of the block in the number's own time, and the way out for a person
who is nobody's représentant légal."""

import datetime

import pytest
from django.test import Client
from freezegun import freeze_time

from core.models import Flow, FlowStatus
from notifications import sms
from tests import html

from .conftest import Driver
from .test_limits import follow, walk_to_pupils, wrong_dates

pytestmark = pytest.mark.django_db


def test_the_countdown_is_the_numbers_when_it_is_the_nearer_and_says_the_number_will_block(
    family, settings, django_capture_on_commit_callbacks
):
    """Tryout: a first activation stopped at 5 wrong dates; a new one said « Encore 3 » (its
    own limit) and the number was blocked for 24 hours two dates later."""
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 7
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    wrong = wrong_dates(family)
    first = Driver(Client(), django_capture_on_commit_callbacks)
    walk_to_pupils(first, family)
    for _ in range(5):
        first.confirm_pupils(next(wrong))
    assert Flow.objects.get(pk=first.flow_id).status == FlowStatus.BLOCKED

    second = Driver(Client(), django_capture_on_commit_callbacks)
    walk_to_pupils(second, family)
    page = second.page_text(second.client.get(second.url("pupils")))
    # Before any wrong date of this journey: the number's 2 left, and what happens then.
    assert ("Encore 2 dates incorrectes possibles avec ce numéro avant son blocage pendant "
            "24 heures") in page

    page = second.page(second.confirm_pupils(next(wrong)))
    assert "Encore 4" not in page
    assert page.count("La date de naissance saisie est incorrecte. Attention : la prochaine "
                      "date incorrecte bloquera l'activation avec ce numéro pendant 24 "
                      "heures.") == 2  # the summary and the pupil's field
    assert ("La prochaine date incorrecte bloquera l'activation avec ce numéro pendant 24 "
            "heures") in html.text(html.parse(page).select_one(".fr-alert--sm.fr-alert--warning"))

    # True: the next one blocks the number.
    follow(second, second.confirm_pupils(next(wrong)))
    assert Flow.objects.get(pk=second.flow_id).status == FlowStatus.BLOCKED


def test_the_journeys_own_countdown_is_unchanged_when_it_is_the_nearer(driver, family):
    walk_to_pupils(driver, family)
    page = driver.page(driver.confirm_pupils(next(wrong_dates(family))))
    assert "Encore 4 dates incorrectes possibles." in page
    assert "avec ce numéro" not in page


def _block_the_number(family, settings, capture):
    """Two wrong dates with ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 2: the number is blocked
    for 24 hours (the window's block)."""
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 2
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    wrong = wrong_dates(family)
    first = Driver(Client(), capture)
    walk_to_pupils(first, family)
    first.confirm_pupils(next(wrong))
    first.confirm_pupils(next(wrong))
    assert Flow.objects.get(pk=first.flow_id).status == FlowStatus.BLOCKED
    return first


def test_a_blocked_number_is_told_right_after_the_code_not_after_step_3(
    family, settings, django_capture_on_commit_callbacks
):
    """Tryout: a number blocked for 24 hours got a new code, the code was accepted, and the
    block was only told after step 3, even with the right dates. Step 1 and the code step are
    unchanged (no enumeration: the SMS leaves as for any number); once the code is proven,
    the next page is the block, with until when and what lifts it."""
    _block_the_number(family, settings, django_capture_on_commit_callbacks)
    sent = len(sms.outbox)
    again = Driver(Client(), django_capture_on_commit_callbacks)
    assert again.start(last_name=family["last_name"], first_name=family["first_name"],
                       phone=family["phone_typed"]).status_code == 302
    assert len(sms.outbox) == sent + 1  # step 1 as before: a code is sent
    response = again.send_code(again.last_code())
    assert response["Location"] == again.url("flow")
    page = html.parse(again.client.get(response["Location"]))
    assert html.text(page.select_one("main .fr-alert--error .fr-alert__title")) == (
        "Activation bloquée pour ce numéro : trop de dates de naissance incorrectes")
    assert "jusqu'au" in html.text(page.find(id="activation-blocked"))
    assert "le blocage de ce numéro sera levé" in html.text(page.find(id="activation-next"))
    assert Flow.objects.get(pk=again.flow_id).status == FlowStatus.BLOCKED
    # Step 3 is not reachable: its URL leads back to the block.
    assert again.client.get(again.url("pupils"))["Location"] == again.url("flow")


def test_the_numbers_block_ends_in_the_numbers_own_time_named(
    family, settings, django_capture_on_commit_callbacks
):
    """Tryout: « bloquée jusqu'au 2 décembre 2026 à 05 h 31 », Paris time with no zone, for a
    Réunion number (UTC+4): the page now says Réunion's time, and names it."""
    with freeze_time("2026-11-30 15:00:00"):  # UTC: 16:00 in Paris, 19:00 in Réunion
        first = _block_the_number(family, settings, django_capture_on_commit_callbacks)
        page = html.parse(first.client.get(first.url("flow")))
    words = html.text(page.find(id="activation-blocked"))
    assert ("l'activation avec ce numéro est bloquée jusqu'au 1 décembre 2026 à 19 h 00 "
            "(heure de La Réunion) :") in words


def test_a_metropolitan_number_reads_paris_time_named():
    from core.moments import moment_on_page

    at = datetime.datetime(2026, 12, 2, 4, 31, tzinfo=datetime.UTC)
    assert moment_on_page(at, phone="+33612345678") == {
        "day": "2 décembre 2026", "time": "05 h 31", "zone": "heure de Paris"}
    assert moment_on_page(at, phone="+262692123456")["time"] == "08 h 31"


def test_nobodys_legal_representative_is_told_the_way_out(driver, family):
    """Tryout: « Je ne suis pas le représentant légal » for both children only said to
    confirm one — a dead end for a person who really is neither's."""
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    page = html.parse(driver.client.get(driver.confirm_pupils(
        {ines: ("non", None), yanis: ("non", None)})["Location"]))
    assert ("Si vous n'êtes le représentant légal d'aucun de ces élèves, ne poursuivez pas "
            "l'activation : contactez l'école ou l'établissement, qui vérifiera les "
            "informations enregistrées.") in html.text(html.error_summary(page))
    assert Flow.objects.get().step == "pupils"
