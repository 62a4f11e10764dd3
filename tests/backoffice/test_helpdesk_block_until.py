"""Two SMS activations of one number blocked by wrong birth dates (tryout of the back-office):
the first only stopped by its own limit (ACTIVATION_MAX_WRONG_DATES: the parent could start
again at once), the second blocking the number for 24 hours (ACTIVATION_MAX_WRONG_DATES_PER_PHONE
across journeys). Both read « Bloquée : trop de dates de naissance erronées », and the only
date on the page was the journey's expiry, not the end of the number's block (found only in
the journal). Each now says which, the block's end (the window's, as it stands) and whether
it still holds; the words are « incorrectes », as on the families' pages.
"""

import datetime

import pytest
from django.urls import reverse

from activation.flows import WRONG_DATES_PER_PHONE
from backoffice.selectors import flows_state_mark, flows_unblocked_mark
from core import ratelimit
from core.models import Flow
from tests import html as h
from tests.backoffice.test_helpdesk_block_words import (  # noqa: F401 (fixture)
    JOURNEY_OUTCOME,
    JOURNEY_STATE,
    PHONE,
    flow_states,
    held_words,
    local,
    sms_journey_blocked,
    sms_limits,
    window_until,
    window_words,
)
from tests.backoffice.test_helpdesk_french import table_rows

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:helpdesk_search")


def outcomes(client, query) -> list[str]:
    page = h.parse(client.get(SEARCH, {"q": query}))
    return [row[2] for row in table_rows(page, "Activations par SMS commencées")]


def test_the_stopped_activation_and_the_blocked_number_read_differently_with_the_blocks_end(
        helpdesk_client, world, sms_limits):  # noqa: F811
    first = sms_journey_blocked(world)   # 2 wrong dates: this activation's limit
    second = sms_journey_blocked(world)  # 2 more: 4 in 24 hours, the number's limit
    until = window_until(second)
    wait = ratelimit.peek(WRONG_DATES_PER_PHONE, PHONE).retry_after
    assert 0 < wait <= 24 * 3600  # the number is blocked now, until about `until`
    date, time = local(until)
    blocked = f"Numéro bloqué jusqu'au {date} à {time}"
    expected = [window_words(until) + " : blocage en cours", JOURNEY_OUTCOME]
    assert expected[0].startswith(blocked)

    # The search by number and the search by name (the block's end to the minute, read live:
    # held_words).
    for query in (PHONE, "nguyen"):
        held, journey = outcomes(helpdesk_client, query)
        assert held in held_words(until) and journey == JOURNEY_OUTCOME
    # The record's « Parcours » table.
    record_url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])
    page = h.parse(helpdesk_client.get(record_url))
    held, journey = flow_states(page)
    assert held in held_words(until) and journey == JOURNEY_STATE
    assert "erronée" not in h.text(h.main(page))
    # The unblock action is still offered, as before.
    assert page.find(id="debloquer") is not None

    # The school fixed the date: the number's window is empty, the block no longer holds.
    ratelimit.clear(WRONG_DATES_PER_PHONE, PHONE)
    assert outcomes(helpdesk_client, PHONE) == [window_words(until) + " : blocage terminé",
                                                JOURNEY_OUTCOME]

    # Past its end, the block is over too, whatever the window.
    flows = list(Flow.objects.filter(pk__in=[first.pk, second.pk]).order_by("-created_at"))
    later = until + datetime.timedelta(minutes=1)
    flows_unblocked_mark(flows, now=later)
    flows_state_mark(flows, now=later)
    assert [flow.state_label for flow in flows] == [
        window_words(until) + " : blocage terminé", JOURNEY_STATE]
