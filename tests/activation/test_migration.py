"""activation/migrations/0002: the former ActivationFlow rows become flows of the engine, and
a flow in progress at the deploy goes on (with a new code)."""

import datetime
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("activation", "0001_initial"), ("core", "0001_initial")]
AFTER = [("activation", "0002_flows_to_core"), ("core", "0002_flow_flowcode")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migrations")
def test_activation_flows_become_engine_flows_with_their_codes():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    ActivationFlow = old_apps.get_model("activation", "ActivationFlow")
    now = timezone.now()
    waiting = ActivationFlow.objects.create(
        id=uuid.uuid4(), kind="sms", step=2, status="open", session_secret_hash="a" * 64,
        last_name="BEN SAÏD", first_name="Nadia", phone="+262692123456",
        matched_record_ids=[7, 9], code_hash="b" * 64, code_sent_at=now,
        code_expires_at=now + datetime.timedelta(minutes=30), wrong_codes=2,
        wrong_codes_total=3, sends=2, wrong_dates=0, created_at=now, updated_at=now,
        expires_at=now + datetime.timedelta(minutes=30),
    )
    blocked = ActivationFlow.objects.create(
        id=uuid.uuid4(), kind="sms", step=3, status="blocked", session_secret_hash="c" * 64,
        last_name="MARTIN", first_name="Paul", phone="+33612345678", matched_record_ids=[],
        confirmed_pupil_ids=[], code_hash="", code_sent_at=now - datetime.timedelta(hours=1),
        code_expires_at=now - datetime.timedelta(minutes=30),
        code_verified_at=now - datetime.timedelta(minutes=50), sends=1, wrong_dates=5,
        created_at=now - datetime.timedelta(hours=1), updated_at=now, expires_at=now,
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new_apps = executor.loader.project_state(AFTER).apps
    Flow = new_apps.get_model("core", "Flow")
    FlowCode = new_apps.get_model("core", "FlowCode")

    flow = Flow.objects.get(pk=waiting.pk)
    assert (flow.kind, flow.step, flow.status) == ("sms_activation", "code", "open")
    assert flow.session_secret_hash == "a" * 64 and str(flow.phone) == "+262692123456"
    assert flow.data == {"last_name": "BEN SAÏD", "first_name": "Nadia",
                         "matched_record_ids": [7, 9], "confirmed_pupil_ids": [],
                         "confirmed_record_ids": [], "wrong_dates": 0}
    assert flow.wrong_codes == 3
    codes = list(FlowCode.objects.filter(flow_id=flow.pk).order_by("created_at"))
    # Two SMS were made: the per-flow limit keeps counting them.
    assert len(codes) == 2 and all(c.sent and c.purpose == "activation_code" for c in codes)
    earlier, last = codes
    assert earlier.revoked_at is not None
    assert last.code_hash == "b" * 64 and last.wrong_attempts == 2
    # Its HMAC cannot be checked any more: expired now, so « Renvoyer le SMS » is offered.
    assert last.expires_at <= timezone.now()

    flow = Flow.objects.get(pk=blocked.pk)
    assert (flow.step, flow.status) == ("pupils", "blocked")
    assert flow.data["wrong_dates"] == 5
    code = FlowCode.objects.get(flow_id=flow.pk)
    assert (code.sent, code.not_sent_reason) == (False, "no_match")
    assert code.used_at == now - datetime.timedelta(minutes=50)
