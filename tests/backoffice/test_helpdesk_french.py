"""The helpdesk's record and account pages read in French (tryout: « Messages envoyés »
showed `activation_code` and « Envoyé (sent) », the journal `motif : wrong_password ;
profil : guardian`, `pupil_id : 10 ; attempt : 6`, `wrong_dates : 6`, `méthode : sms`)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from activation.services import activation_flow_start
from core import codes, ratelimit
from core.journal import EventKind, journal_record
from core.models import FlowCode
from notifications.models import WIPED_BODY, MessageStatus, OutboundMessage
from tests import html as h

pytestmark = pytest.mark.django_db


def table_rows(page, caption: str) -> list[list[str]]:
    [table] = [t for t in page.find_all("table") if caption in h.text(t.find("caption"))]
    return [[h.text(cell) for cell in row.find_all(["th", "td"])]
            for row in table.find("tbody").find_all("tr")]


def journal_details(page) -> list[str]:
    return [row[3] for row in table_rows(page, "Journal récent")]


@pytest.fixture
def activation_in_progress(world, settings):
    """Thị Nguyễn's SMS activation: a code sent (the provider said « sent »), six wrong
    birth dates."""
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    world.link_a2.status = "active"
    world.link_a2.save(update_fields=["status"])
    flow, _secret = activation_flow_start(last_name="Nguyen", first_name="Thi",
                                          phone="+33622334455")
    FlowCode.objects.filter(flow=flow).update(
        created_at=timezone.now() - datetime.timedelta(minutes=5))
    ratelimit.clear(codes.RECIPIENT_COOLDOWN, codes.recipient_key("sms", "+33622334455"))
    OutboundMessage.objects.filter(flow_id=flow.pk).update(
        status=MessageStatus.SENT, provider_status="sent", body=WIPED_BODY, html_body="")
    journal_record(EventKind.ACTIVATION_BIRTHDATE_REJECTED, flow_id=flow.id,
                   pupil_id=world.pupil_a2.pk, attempt=6)
    journal_record(EventKind.ACTIVATION_BLOCKED, flow_id=flow.id, wrong_dates=6)
    return flow


def test_the_record_page_reads_in_french(helpdesk_client, world, activation_in_progress):
    response = helpdesk_client.get(reverse("admin:helpdesk_record", args=[world.rec_a2.pk]))
    page = h.parse(response)
    [message] = table_rows(page, "Messages envoyés")
    assert message[1:3] == ["SMS", "code d'activation"]
    assert message[4] == "Envoyé"
    details = journal_details(page)
    # PostgreSQL's jsonb keeps its own order of keys.
    assert {"élève : NGUYỄN Lan, École Les Lilas", "tentative n° : 6"} in [
        set(d.split(" ; ")) for d in details]
    assert "dates de naissance incorrectes : 6" in details
    body = h.text(h.main(page))
    for code in ("activation_code", "(sent)", "pupil_id", "attempt :", "wrong_dates"):
        assert code not in body


def test_the_account_page_reads_in_french(helpdesk_client, world):
    account = world.account_a1
    journal_record(EventKind.LOGIN_FAILED, account=account, reason="wrong_password",
                   profile="guardian")
    journal_record(EventKind.ACCOUNT_ACTIVATED, account=account, method="sms", records=1,
                   pupils=1)
    journal_record(EventKind.ACCOUNTS_MERGE_REFUSED, account=account, reason="names_differ",
                   other_account_id=world.account_b1.pk)
    OutboundMessage.objects.create(channel="sms", recipient="+33611223344", body="",
                                   purpose="accounts_merged_notice", account=account,
                                   status=MessageStatus.DELIVERED, provider_status="delivered")
    response = helpdesk_client.get(reverse("admin:helpdesk_account", args=[account.pk]))
    page = h.parse(response)
    [message] = table_rows(page, "Messages envoyés")
    assert message[2] == "avis de regroupement de comptes"
    assert message[4] == "Distribué"
    details = journal_details(page)
    assert {"motif : mot de passe erroné", "profil : représentant légal"} in [
        set(d.split(" ; ")) for d in details]
    assert any("méthode : SMS" in d.split(" ; ") for d in details)
    assert {"motif : noms différents sur les deux comptes",
            f"autre compte n° : {world.account_b1.pk}"} in [set(d.split(" ; ")) for d in details]
    body = h.text(h.main(page))
    for code in ("wrong_password", "guardian", "names_differ", "other_account_id",
                 "accounts_merged_notice", "(delivered)"):
        assert code not in body


def test_an_unknown_key_stays_readable():
    """A key written before it had a label (or by an older version) reads as words."""
    from types import SimpleNamespace

    from backoffice.journal_labels import describe_event

    line = describe_event(SimpleNamespace(
        at=timezone.now(), kind="login.failed", actor_id=None, ip_address=None,
        data={"some_new_fact": 3}))
    assert line.details == [("some new fact", "3")]
