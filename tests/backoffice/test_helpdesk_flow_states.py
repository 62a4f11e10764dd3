"""The « État » of a journey in the helpdesk's « Parcours » table (tryout of the demo: the
file of an active account, L.COEUR94, listed an abandoned activation as « En cours — Je
saisis le code de sécurité » next to the finished one). A flow the person walked away from
stays OPEN in the database; the helpdesk must read that it is over, and why."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Flow, FlowStatus
from tests import html as h
from tests.backoffice.test_helpdesk_french import table_rows

pytestmark = pytest.mark.django_db


def journey(account, *, started, status=FlowStatus.OPEN, step="code", expires_in,
            kind="sms_activation", last_action=None):
    return Flow.objects.create(
        kind=kind, step=step, status=status, account=account, session_secret_hash="0" * 64,
        phone="+33611223344", created_at=started, updated_at=last_action or started,
        expires_at=started + expires_in)


def states(client, account) -> list[list[str]]:
    page = h.parse(client.get(reverse("admin:helpdesk_account", args=[account.pk])))
    return [[row[2], row[3]] for row in table_rows(page, "Parcours")]


def local(at) -> str:
    at = timezone.localtime(at)
    return f"{at:%d/%m/%Y} à {at:%H:%M}"


def test_an_open_journey_overtaken_by_a_finished_one_reads_replaced(helpdesk_client, world):
    now = timezone.now()
    account = world.account_a1
    journey(account, started=now - datetime.timedelta(minutes=30),
            expires_in=datetime.timedelta(hours=2))  # still alive by its own clock
    done_at = now - datetime.timedelta(minutes=5)
    journey(account, started=now - datetime.timedelta(minutes=10), status=FlowStatus.COMPLETED,
            step="done", expires_in=datetime.timedelta(hours=2), last_action=done_at)
    rows = states(helpdesk_client, account)
    assert rows[0][0] == "Terminé"
    assert rows[1] == [f"Remplacé par la démarche terminée le {local(done_at)}",
                       "Je saisis le code de sécurité"]
    assert all("En cours" not in state for state, _step in rows)


def test_an_open_journey_past_its_expiry_reads_abandoned(helpdesk_client, world):
    now = timezone.now()
    account = world.account_a1
    started = now - datetime.timedelta(hours=3)
    journey(account, started=started, expires_in=datetime.timedelta(minutes=30))
    [[state, step]] = states(helpdesk_client, account)
    assert state == f"Abandonné — expiré le {local(started + datetime.timedelta(minutes=30))}"
    assert step == "Je saisis le code de sécurité"


def test_an_open_journey_alive_and_alone_still_reads_in_progress(helpdesk_client, world):
    now = timezone.now()
    journey(world.account_a1, started=now - datetime.timedelta(minutes=2),
            expires_in=datetime.timedelta(hours=1))
    # A finished journey of another errand (a change of number) overtakes nothing.
    journey(world.account_a1, started=now - datetime.timedelta(minutes=1),
            kind="phone_change", step="done", status=FlowStatus.COMPLETED,
            expires_in=datetime.timedelta(hours=1))
    assert [state for state, _step in states(helpdesk_client, world.account_a1)] == [
        "Terminé", "En cours"]
