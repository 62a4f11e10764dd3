# The SMS activation moved onto the flow engine: its ActivationFlow rows become core.Flow rows
# of kind « sms_activation » (steps 1–5 → named stages, the person's entries and the matched
# records → the flow's JSON data) and its code columns become core.FlowCode rows; then the old
# table goes.
#
# Codes: the per-flow count is kept (one row per SMS made, so the per-flow limit holds), with
# the last code's dates, hash and wrong entries. A code still awaited cannot be checked any
# more (its HMAC was not bound to a purpose): it is marked as expired now, so the person is
# told to ask for a new one with « Renvoyer le SMS » rather than that theirs is wrong.

import datetime

from django.db import migrations
from django.utils import timezone

STEP_NAMES = {1: "identity", 2: "code", 3: "pupils", 4: "password", 5: "done"}
STEP_NUMBERS = {name: number for number, name in STEP_NAMES.items()}
PURPOSE = "activation_code"
BATCH = 2000


def _codes_of(old, flow_id, now, FlowCode):
    if old.code_sent_at is None:
        return []
    matched = bool(old.matched_record_ids)
    sent = {"sent": matched, "not_sent_reason": "" if matched else "no_match"}
    codes = [
        # Earlier codes of the flow: only their number is known; void.
        FlowCode(flow_id=flow_id, purpose=PURPOSE, channel="sms", code_hash="",
                 created_at=old.code_sent_at - datetime.timedelta(seconds=old.sends - n),
                 expires_at=old.code_sent_at, revoked_at=old.code_sent_at, **sent)
        for n in range(1, old.sends)
    ]
    expires_at = old.code_expires_at or old.code_sent_at
    codes.append(FlowCode(
        flow_id=flow_id, purpose=PURPOSE, channel="sms", code_hash=old.code_hash,
        created_at=old.code_sent_at,
        expires_at=expires_at if old.code_verified_at else min(expires_at, now),
        used_at=old.code_verified_at, wrong_attempts=old.wrong_codes, **sent,
    ))
    return codes


def forward(apps, schema_editor):
    ActivationFlow = apps.get_model("activation", "ActivationFlow")
    Flow = apps.get_model("core", "Flow")
    FlowCode = apps.get_model("core", "FlowCode")
    now = timezone.now()
    flows, codes = [], []
    for old in ActivationFlow.objects.order_by("pk").iterator(chunk_size=BATCH):
        flows.append(Flow(
            id=old.id, kind="sms_activation", step=STEP_NAMES[old.step], status=old.status,
            session_secret_hash=old.session_secret_hash, phone=old.phone,
            data={
                "last_name": old.last_name, "first_name": old.first_name,
                "matched_record_ids": old.matched_record_ids or [],
                "confirmed_pupil_ids": old.confirmed_pupil_ids or [],
                "confirmed_record_ids": old.confirmed_record_ids or [],
                "wrong_dates": old.wrong_dates,
            },
            wrong_codes=old.wrong_codes_total, account_id=old.account_id,
            created_at=old.created_at, updated_at=old.updated_at, expires_at=old.expires_at,
        ))
        codes.extend(_codes_of(old, old.id, now, FlowCode))
        if len(flows) >= BATCH:
            Flow.objects.bulk_create(flows)
            FlowCode.objects.bulk_create(codes)
            flows, codes = [], []
    Flow.objects.bulk_create(flows)
    FlowCode.objects.bulk_create(codes)


def backward(apps, schema_editor):
    ActivationFlow = apps.get_model("activation", "ActivationFlow")
    Flow = apps.get_model("core", "Flow")
    FlowCode = apps.get_model("core", "FlowCode")
    olds = []
    for flow in Flow.objects.filter(kind="sms_activation").order_by("pk").iterator(
        chunk_size=BATCH
    ):
        codes = list(FlowCode.objects.filter(flow_id=flow.id, purpose=PURPOSE)
                     .order_by("-created_at"))
        last = codes[0] if codes else None
        data = flow.data or {}
        olds.append(ActivationFlow(
            id=flow.id, kind="sms", step=STEP_NUMBERS.get(flow.step, 2), status=flow.status,
            session_secret_hash=flow.session_secret_hash,
            last_name=data.get("last_name", ""), first_name=data.get("first_name", ""),
            phone=str(flow.phone or ""), matched_record_ids=data.get("matched_record_ids", []),
            confirmed_pupil_ids=data.get("confirmed_pupil_ids", []),
            confirmed_record_ids=data.get("confirmed_record_ids", []),
            # Codes of the engine cannot be checked by the old scheme: none is carried back.
            code_hash="",
            code_sent_at=last.created_at if last else None,
            code_expires_at=last.created_at if last else None,
            code_verified_at=next((c.used_at for c in codes if c.used_at), None),
            wrong_codes=last.wrong_attempts if last else 0,
            wrong_codes_total=flow.wrong_codes, sends=len(codes),
            wrong_dates=data.get("wrong_dates", 0), account_id=flow.account_id,
            created_at=flow.created_at, updated_at=flow.updated_at, expires_at=flow.expires_at,
        ))
        if len(olds) >= BATCH:
            ActivationFlow.objects.bulk_create(olds)
            olds = []
    ActivationFlow.objects.bulk_create(olds)
    Flow.objects.filter(kind="sms_activation").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("activation", "0001_initial"),
        ("core", "0002_flow_flowcode"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
        migrations.DeleteModel(name="ActivationFlow"),
    ]
