"""core.sql: rows read and written by SQL written once per process are those of the ORM."""

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Flow, FlowCode, FlowStatus
from core.sql import model_insert, model_rows, model_rows_by_pk, model_update, related_rows_set

pytestmark = pytest.mark.django_db


def _flow(**kwargs) -> Flow:
    now = timezone.now()
    fields = {"kind": "sms_activation", "step": "code", "session_secret_hash": "0" * 64,
              "phone": "+33612345678", "data": {"last_name": "Dubois", "ids": [3, 1]},
              "expires_at": now + datetime.timedelta(minutes=30)}
    return Flow.objects.create(**{**fields, **kwargs})


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_model_rows_reads_what_the_orm_reads_in_its_order(django_assert_num_queries):
    flow = _flow()
    _flow()
    now = timezone.now()
    for minutes in (2, 1, 3):
        FlowCode.objects.create(flow=flow, purpose="activation_code", channel="sms",
                                code_hash="h", sent=True, expires_at=now,
                                created_at=now - datetime.timedelta(minutes=minutes))
    with django_assert_num_queries(1):
        [found] = model_rows(Flow, where={"id": flow.pk, "kind": "sms_activation"})
    assert _fields(found) == _fields(Flow.objects.get(pk=flow.pk))
    assert model_rows(Flow, where={"id": flow.pk, "kind": "phone_change"}) == []
    codes = model_rows(FlowCode, where={"flow_id": flow.pk, "purpose": "activation_code"},
                       order_by=("-created_at",))
    expected = FlowCode.objects.filter(flow=flow).order_by("-created_at")
    assert [_fields(c) for c in codes] == [_fields(c) for c in expected]


def test_model_rows_prepares_values_as_the_orm_does():
    flow = _flow()
    assert model_rows(Flow, where={"id": str(flow.pk), "kind": "sms_activation"}) == [flow]
    with pytest.raises(ValidationError):
        model_rows(Flow, where={"id": "not-a-uuid", "kind": "sms_activation"})


def test_a_locking_read_locks_the_rows():
    flow = _flow()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        assert model_rows(Flow, where={"id": flow.pk}, for_update=True) == [flow]
    assert captured.captured_queries[-1]["sql"].endswith("FOR UPDATE")


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_needs_a_transaction():
    with pytest.raises(TransactionManagementError):
        model_rows(Flow, where={"id": uuid.uuid4()}, for_update=True)


def test_model_update_writes_every_column_as_save_does(django_assert_num_queries):
    flow = _flow()
    flow.step = "pupils"
    flow.status = FlowStatus.BLOCKED
    flow.data = {"nested": {"é": [1, 2]}}
    flow.wrong_codes = 2
    flow.updated_at = timezone.now()
    with django_assert_num_queries(1):
        model_update(flow)
    assert _fields(Flow.objects.get(pk=flow.pk)) == _fields(flow)
    with pytest.raises(Flow.DoesNotExist):
        model_update(Flow(id=uuid.uuid4(), kind="x", step="y", expires_at=timezone.now()))


def test_model_insert_writes_the_row_save_would_and_takes_the_database_s_key(
        django_assert_num_queries):
    flow = _flow()
    code = FlowCode(flow=flow, purpose="activation_code", channel="sms", code_hash="h",
                    sent=False, not_sent_reason="no_match", expires_at=timezone.now())
    with django_assert_num_queries(1):
        model_insert(code)
    assert code.pk is not None and not code._state.adding
    assert _fields(FlowCode.objects.get(pk=code.pk)) == _fields(code)
    new = Flow(kind="sms_activation", step="code", session_secret_hash="1" * 64,
               data={"a": 1}, expires_at=timezone.now())
    model_insert(new)
    assert _fields(Flow.objects.get(pk=new.pk)) == _fields(new)


# --- slotted_rows: a queryset compiled once, run with each call's values -----------------


def _flows_of_phone_build(calls: list):
    from django.db.models import CharField

    from core.sql import Slot

    def build():
        calls.append(1)
        return Flow.objects.filter(phone=Slot("phone", CharField()),
                                   step__contains=Slot("step", CharField())).order_by("created_at")
    return build


def test_slotted_rows_builds_once_and_reads_each_calls_values(django_assert_num_queries):
    from core.sql import slotted_rows

    first, second = _flow(), _flow(phone="+262692123456")
    calls: list = []
    build = _flows_of_phone_build(calls)
    key = ("test.flows_of_phone", uuid.uuid4())
    with django_assert_num_queries(1):
        found = slotted_rows(Flow, key=key, build=build,
                             values={"phone": "+33612345678", "step": "od"})
    assert [_fields(f) for f in found] == [_fields(Flow.objects.get(pk=first.pk))]
    # Another number, the statement of the first call: the values are the call's own.
    assert slotted_rows(Flow, key=key, build=build,
                        values={"phone": "+262692123456", "step": "co"}) == [second]
    # A value holding LIKE's special characters is matched as typed, not as a pattern.
    assert slotted_rows(Flow, key=key, build=build,
                        values={"phone": "+262692123456", "step": "%"}) == []
    assert calls == [1]


def test_slotted_rows_needs_every_slot_and_a_plain_queryset():
    from core.sql import slotted_rows

    with pytest.raises(KeyError):
        slotted_rows(Flow, key=("test.missing", uuid.uuid4()), build=_flows_of_phone_build([]),
                     values={"phone": "+33612345678"})
    with pytest.raises(ValueError, match="plain queryset"):
        slotted_rows(FlowCode, key=("test.joined", uuid.uuid4()),
                     build=lambda: FlowCode.objects.select_related("flow"), values={})


def test_rows_by_key_are_the_orms_in_one_query_and_none_for_no_key(django_assert_num_queries):
    flows = [_flow(), _flow(phone="+33699887766"), _flow()]
    wanted = [flows[2].pk, flows[0].pk, flows[2].pk]

    with django_assert_num_queries(1):
        found = model_rows_by_pk(Flow, wanted)
    with django_assert_num_queries(0):
        assert model_rows_by_pk(Flow, []) == []

    assert {row.pk: _fields(row) for row in found} == {
        row.pk: _fields(row) for row in Flow.objects.filter(pk__in=wanted)}
    assert sorted(str(row.pk) for row in found) == sorted(str(flows[i].pk) for i in (0, 2))


def test_related_rows_set_fills_each_foreign_key_as_a_prefetch(django_assert_num_queries):
    first, second = _flow(), _flow(data={"other": True})
    now = timezone.now()
    codes = [FlowCode.objects.create(flow=flow, purpose="activation_code", channel="sms",
                                     code_hash="h", sent=True, expires_at=now)
             for flow in (first, second, first)]
    codes = list(FlowCode.objects.filter(pk__in=[code.pk for code in codes]).order_by("pk"))

    with django_assert_num_queries(1):
        related_rows_set(codes, "flow")
    with django_assert_num_queries(0):
        read = [(code.flow.pk, code.flow.data) for code in codes]

    assert read == [(first.pk, first.data), (second.pk, {"other": True}),
                    (first.pk, first.data)]
    assert codes[0].flow is codes[2].flow  # one instance per row, as a prefetch gives
