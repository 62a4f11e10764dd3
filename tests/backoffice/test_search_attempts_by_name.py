"""A search by name shows the SMS activations of the guardian records it lists (tryout of the
back-office): an agent helping a family who calls about a blocked activation searches by the
family's name first, and the table « Activations par SMS commencées … » with « Bloquée » only
appeared for a search by number.

Within the agent's scope only (no flow that matched another academy's records), in the words
of the search by number, with the record page's « Débloquer l'activation » one link away, and
with a bounded cost: a fixed number of queries whatever the number of records listed, and
the flows read through their (phone, -created_at) index, never other numbers' flows.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activation.flows import SMS_ACTIVATION
from activation.services import activation_flow_start
from backoffice.selectors import record_attempt_flows
from core.models import Flow
from tests import html as h
from tests.backoffice.plans import all_nodes, explain
from tests.backoffice.test_helpdesk_block_words import (  # noqa: F401 (fixture)
    PHONE,
    sms_journey_blocked,
    sms_limits,
)
from tests.backoffice.test_helpdesk_french import table_rows
from tests.factories import GuardianRecordFactory, ResponsibilityFactory

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:helpdesk_search")
CAPTION = "Activations par SMS commencées"


def attempts_table(page) -> list[list[str]]:
    return table_rows(page, CAPTION)


def test_a_search_by_name_shows_the_blocked_activation_of_a_listed_record(
        helpdesk_client, world, sms_limits):  # noqa: F811
    sms_journey_blocked(world)  # Thị Nguyễn, École Les Lilas: wrong birth dates
    record_url = reverse("admin:helpdesk_record", args=[world.rec_a2.pk])

    page = h.parse(helpdesk_client.get(SEARCH, {"q": "nguyen"}))

    rows = attempts_table(page)
    assert len(rows) == 1, rows
    _started, typed, outcome, record = rows[0]
    assert typed == "Nguyen Thi"
    # The words of the search by number.
    assert outcome == "Arrêtée : trop de dates de naissance incorrectes dans cette activation"
    assert record == "NGUYỄN Thị (0940002B) — Débloquer l'activation"
    links = [a["href"] for a in page.find_all("a") if "Débloquer" in h.text(a)]
    assert links == [record_url + "#debloquer"]
    # The record's page holds the same action, at that anchor.
    record_page = h.parse(helpdesk_client.get(record_url))
    form = record_page.find(id="debloquer")
    assert form is not None and "Débloquer l'activation" in h.text(form)

    # Unblocked by the helpdesk: said so, and no unblock link any more.
    helpdesk_client.post(record_url + "debloquer/", {"unblock-reason": "Parent rappelé, "
                                                     "identité vérifiée au téléphone."})
    page = h.parse(helpdesk_client.get(SEARCH, {"q": "Thi Nguyen"}))
    [row] = attempts_table(page)
    assert row[2].startswith("Arrêtée : trop de dates de naissance incorrectes dans cette "
                             "activation ; puis débloquée par l'assistance le ")
    assert row[3] == "NGUYỄN Thị (0940002B)"


def test_a_search_by_name_shows_an_attempt_with_the_records_number_and_a_mistyped_name(
        helpdesk_client, world, settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    activation_flow_start(last_name="Nguen", first_name="Thi", phone=PHONE)  # nothing matched
    rows = attempts_table(h.parse(helpdesk_client.get(SEARCH, {"q": "nguyen"})))
    assert [row[1:] for row in rows] == [[
        "Nguen Thi",
        "Aucune fiche ne correspond au nom et au numéro saisis (aucun SMS envoyé)",
        "NGUYỄN Thị (0940002B)"]]


def test_a_search_by_name_shows_no_activation_of_another_academy(helpdesk_client, world,
                                                                 settings):
    """Créteil's agent searches « Fontaine »: Lyon's Fontaine started an activation that
    matched Lyon's record, with the same number as Créteil's Fontaine (a shared family
    phone); it is not shown, nor the name typed."""
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    shared = "+33655443322"
    GuardianRecordFactory(establishment=world.a1, last_name="Fontaine", first_name="Claire",
                          mobile_phone=shared)
    lyon = GuardianRecordFactory(establishment=world.b1, last_name="Fontaine",
                                 first_name="Bruno", mobile_phone=shared)
    ResponsibilityFactory(guardian_record=lyon, pupil=world.pupil_b1)
    lyon_other = GuardianRecordFactory(establishment=world.b1, last_name="Fontaine",
                                       first_name="Anne", mobile_phone="+33655443311")
    ResponsibilityFactory(guardian_record=lyon_other, pupil=world.pupil_b1)
    flow, _secret = activation_flow_start(last_name="Fontaine", first_name="Bruno", phone=shared)
    assert flow.data["matched_record_ids"] == [lyon.pk]
    activation_flow_start(last_name="Fontaine", first_name="Anne", phone="+33655443311")

    page = h.parse(helpdesk_client.get(SEARCH, {"q": "fontaine"}))
    assert attempts_table(page) == [
        ["Aucune activation récente n'a été commencée pour ces fiches."]]
    assert "Bruno" not in h.text(h.main(page)) and "Anne" not in h.text(h.main(page))


def test_the_attempts_of_a_name_search_cost_the_same_queries_for_2_or_20_records(
        helpdesk_client, world, settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"

    def fontaines(count, first):
        for i in range(count):
            phone = f"+336700{first:02d}{i:03d}"
            record = GuardianRecordFactory(establishment=world.a1, last_name="Fontaine",
                                           first_name=f"Prénom{first}{i}", mobile_phone=phone)
            ResponsibilityFactory(guardian_record=record, pupil=world.pupil_a1_bis)
            activation_flow_start(last_name="Fontaine", first_name=record.first_name,
                                  phone=phone)

    def queries(typed):
        with CaptureQueriesContext(connection) as captured:
            page = h.parse(helpdesk_client.get(SEARCH, {"q": typed}))
        flow_reads = [q["sql"] for q in captured.captured_queries
                      if 'FROM "core_flow"' in q["sql"]]
        return len(captured.captured_queries), flow_reads, attempts_table(page)

    fontaines(2, 1)
    queries("fontaine")  # the session's first request reads more (permissions, device)
    few, few_flow_reads, few_rows = queries("fontaine")
    fontaines(18, 2)
    many, many_flow_reads, many_rows = queries("fontaine")

    assert (len(few_rows), len(many_rows)) == (2, 20)
    assert len(few_flow_reads) == len(many_flow_reads) == 1
    assert few == many


@pytest.mark.needs_postgres
def test_the_flows_of_the_listed_records_are_read_by_their_number_only(world):
    """20,000 flows of other numbers (the country's, other academies'), 3 of the listed
    record's: the plan reads those 3 through flow_phone_created, never the others."""
    now = timezone.now()
    Flow.objects.bulk_create([
        Flow(kind=SMS_ACTIVATION.name, step="code", session_secret_hash="0" * 64,
             phone=f"+3369{i:07d}", data={"matched_record_ids": [world.rec_b1.pk]},
             created_at=now - datetime.timedelta(minutes=i),
             expires_at=now + datetime.timedelta(hours=1))
        for i in range(20000)
    ] + [
        Flow(kind=SMS_ACTIVATION.name, step="code", session_secret_hash="0" * 64,
             phone=PHONE, data={"matched_record_ids": [world.rec_a2.pk]},
             created_at=now - datetime.timedelta(days=i),
             expires_at=now + datetime.timedelta(hours=1))
        for i in range(3)
    ], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_flow")

    queryset = record_attempt_flows([world.rec_a2])
    nodes = [node for node in all_nodes(explain(queryset, sequential_scans=False))
             if node.get("Relation Name") == "core_flow" or "Index Name" in node]

    assert any(node.get("Index Name") == "flow_phone_created" for node in nodes), nodes
    for node in nodes:
        examined = (node["Actual Rows"] * node["Actual Loops"]
                    + node.get("Rows Removed by Filter", 0)
                    + node.get("Rows Removed by Index Recheck", 0))
        assert examined <= 3, nodes
    assert len(list(queryset)) == 3
