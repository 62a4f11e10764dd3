"""Verification codes: easy to read, hard to guess, never stored in clear; the process that
sends them (by SMS or e-mail, through the outbox) and checks them, with its limits."""

import datetime
import functools
import math
import re
import uuid

import pytest
from django.utils import timezone

from core import codes, ratelimit
from core.flowkinds import kind_named
from core.flows import flow_start
from core.journal import EventKind
from core.models import CodeChannel, Flow, FlowCode
from notifications.models import OutboundMessage
from notifications.services import email_enqueue


def test_alphabet_has_no_look_alikes_and_gives_over_twenty_bits():
    assert len(set(codes.ALPHABET)) == len(codes.ALPHABET) == 31
    assert not set("0O1IL") & set(codes.ALPHABET)
    assert codes.LENGTH * math.log2(len(codes.ALPHABET)) >= 20


def test_generated_codes_use_the_alphabet_and_vary():
    generated = [codes.code_generate() for _ in range(2000)]
    assert all(len(c) == 6 and set(c) <= set(codes.ALPHABET) for c in generated)
    assert len(set(generated)) > 1990
    # Every character of the alphabet shows up: no bias towards a subset.
    assert set("".join(generated)) == set(codes.ALPHABET)


def test_what_people_type_is_read_case_insensitively_with_spaces():
    assert codes.code_normalize(" k7p mx4 ") == "K7PMX4"
    assert codes.code_normalize("K7P-MX4") == "K7PMX4"
    # Pasted from an SMS with a zero-width space, a soft hyphen, a BOM or a no-break space.
    assert codes.code_normalize("\ufeffK7P\u200bMX\u00ad4\u00a0") == "K7PMX4"
    assert codes.code_normalize("K7PMX") is None
    assert codes.code_normalize("K7PMX44") is None
    assert codes.code_normalize("K7PMX0") is None  # 0 is not in the alphabet


def test_the_hash_is_bound_to_the_purpose_and_the_flow_and_reveals_nothing():
    flow_a, flow_b = uuid.uuid4(), uuid.uuid4()
    stored = codes.code_hash(purpose="activation_code", flow_id=flow_a, code="K7PMX4")
    assert "K7PMX4" not in stored and len(stored) == 64
    assert codes.code_matches(purpose="activation_code", flow_id=flow_a, code="K7PMX4",
                              stored_hash=stored)
    assert not codes.code_matches(purpose="activation_code", flow_id=flow_a, code="K7PMX5",
                                  stored_hash=stored)
    assert not codes.code_matches(purpose="activation_code", flow_id=flow_b, code="K7PMX4",
                                  stored_hash=stored)
    assert not codes.code_matches(purpose="password_reset", flow_id=flow_a, code="K7PMX4",
                                  stored_hash=stored)
    assert not codes.code_matches(purpose="activation_code", flow_id=flow_a, code="K7PMX4",
                                  stored_hash="")


# --- The process: issue, send, check, limits ---------------------------------------------

EMAIL_CODE = codes.CodePurpose(
    name="test_email_code",
    channel=CodeChannel.EMAIL,
    template="sms/activation_code.txt",
    send=functools.partial(email_enqueue, subject="Votre code ÉduConnect"),
    events=codes.CodeEvents(
        sent=EventKind.ACTIVATION_CODE_SENT, not_sent=EventKind.ACTIVATION_CODE_NOT_SENT,
        rejected=EventKind.ACTIVATION_CODE_REJECTED, too_many=EventKind.ACTIVATION_TOO_MANY_CODES,
        verified=EventKind.ACTIVATION_CODE_VERIFIED,
    ),
    ttl_setting="ACTIVATION_CODE_TTL_SECONDS",
    max_wrong_setting="ACTIVATION_MAX_WRONG_CODES",
    resend_cooldown_setting="ACTIVATION_RESEND_COOLDOWN_SECONDS",
    max_sends_per_flow_setting="ACTIVATION_MAX_SENDS_PER_FLOW",
    recipient_rule=ratelimit.Rule("codes:test:recipient", "ACTIVATION_MAX_SENDS_PER_PHONE",
                                  "ACTIVATION_PHONE_WINDOW_SECONDS"),
    ip_rule=ratelimit.Rule("codes:test:ip", "ACTIVATION_MAX_SENDS_PER_IP",
                           "ACTIVATION_IP_WINDOW_SECONDS"),
)
T0 = timezone.now()


def a_flow() -> Flow:
    return flow_start(kind=kind_named("sms_activation"), step="code")[0]


def issue(flow, *, minutes=0.0, recipient="parent@example.org", deliver=True, **kwargs):
    return codes.code_issue(flow=flow, purpose=EMAIL_CODE, recipient=recipient,
                            deliver=deliver, now=T0 + datetime.timedelta(minutes=minutes),
                            **kwargs)


def verify(flow, code, *, minutes=0.0):
    return codes.code_verify(flow=flow, purpose=EMAIL_CODE, code=code,
                             now=T0 + datetime.timedelta(minutes=minutes))


def sent_code(message: OutboundMessage) -> str:
    return re.search(r"code de sécurité est ([A-Z0-9]{6})", message.body).group(1)


@pytest.fixture
def no_cooldowns(settings):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0


@pytest.mark.django_db
def test_a_code_goes_out_by_email_through_the_outbox_and_only_its_hmac_is_kept():
    flow = a_flow()
    result = issue(flow)
    message = OutboundMessage.objects.get()
    assert (message.channel, message.recipient, message.subject, message.purpose) == (
        "email", "parent@example.org", "Votre code ÉduConnect", "test_email_code"
    )
    assert message.contains_secret and message.flow_id == flow.id
    code = sent_code(message)
    row = FlowCode.objects.get()
    assert result.sent and row.sent and row.channel == "email"
    assert row.code_hash == codes.code_hash(purpose="test_email_code", flow_id=flow.id,
                                            code=code)
    assert row.expires_at == T0 + datetime.timedelta(minutes=30)
    check = verify(flow, code, minutes=29.99)
    assert check.accepted
    # Used: not twice.
    assert verify(flow, code, minutes=1).verdict == codes.CodeVerdict.EXPIRED


@pytest.mark.django_db
def test_every_code_of_a_flow_lives_until_one_is_used(no_cooldowns):
    flow = a_flow()
    issue(flow)
    issue(flow, minutes=2)
    first, second = (sent_code(m) for m in OutboundMessage.objects.order_by("pk"))
    assert verify(flow, first, minutes=3).accepted
    assert FlowCode.objects.get(used_at__isnull=False).created_at == T0
    assert FlowCode.objects.get(revoked_at__isnull=False).created_at == T0 + datetime.timedelta(
        minutes=2)
    assert not verify(flow, second, minutes=3).accepted


@pytest.mark.django_db
def test_a_code_dies_after_its_wrong_entries_and_each_code_expires_on_its_own(no_cooldowns):
    flow = a_flow()
    issue(flow)
    code = sent_code(OutboundMessage.objects.get())
    wrong = "AAAAAA" if code != "AAAAAA" else "BBBBBB"
    remaining = [verify(flow, wrong).remaining for _ in range(4)]
    assert remaining == [4, 3, 2, 1]
    assert verify(flow, wrong).verdict == codes.CodeVerdict.DEAD
    assert verify(flow, code).verdict == codes.CodeVerdict.DEAD  # not even the right one
    assert flow.wrong_codes == 5
    issue(flow, minutes=10)
    fresh = sent_code(OutboundMessage.objects.order_by("-pk").first())
    assert verify(flow, fresh, minutes=40.01).verdict == codes.CodeVerdict.EXPIRED
    assert verify(flow, fresh, minutes=39.99).accepted


@pytest.mark.django_db
def test_a_code_never_sent_is_never_accepted(monkeypatch):
    monkeypatch.setattr(codes, "code_generate", lambda: "K7PMX4")
    flow = a_flow()
    result = issue(flow, deliver=False)
    assert not result.sent and result.not_sent_reason == "no_match"
    assert not OutboundMessage.objects.exists()
    # Even typed right (nobody could know it), it is a wrong entry.
    check = verify(flow, "K7PMX4")
    assert check.verdict == codes.CodeVerdict.WRONG and check.remaining == 4


@pytest.mark.django_db
def test_one_code_per_recipient_per_cooldown_across_flows_silently(settings):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 60
    results = [issue(a_flow()) for _ in range(3)]
    assert [r.sent for r in results] == [True, False, False]
    assert {r.not_sent_reason for r in results[1:]} == {"recipient_cooldown"}
    assert all(0 < r.retry_after <= 60 for r in results[1:])
    assert OutboundMessage.objects.count() == 1
    # Another recipient is not held back; the address is compared without case.
    assert issue(a_flow(), recipient="autre@example.org").sent
    assert not issue(a_flow(), recipient="PARENT@example.org").sent


@pytest.mark.django_db
def test_the_recipient_quota_counts_sent_messages_only(settings, no_cooldowns):
    settings.ACTIVATION_MAX_SENDS_PER_PHONE = 2
    for _ in range(3):
        issue(a_flow(), deliver=False)  # nothing matched: nothing counted
    results = [issue(a_flow()) for _ in range(3)]
    assert [r.sent for r in results] == [True, True, False]
    assert results[2].not_sent_reason == "recipient_quota" and results[2].retry_after > 0
    assert OutboundMessage.objects.count() == 2


@pytest.mark.django_db
def test_the_shown_limits_refuse_with_how_long_to_wait(settings):
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 60
    settings.ACTIVATION_MAX_SENDS_PER_FLOW = 2
    settings.ACTIVATION_MAX_SENDS_PER_IP = 3
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    flow = a_flow()
    issue(flow, ip="203.0.113.9")
    with pytest.raises(codes.CodeRefused) as refused:
        issue(flow, minutes=0.5, ip="203.0.113.9")
    assert refused.value.reason == "resend_cooldown" and refused.value.retry_after == 31
    issue(flow, minutes=1.1, ip="203.0.113.9")
    with pytest.raises(codes.CodeRefused) as refused:
        issue(flow, minutes=5, ip="203.0.113.9")
    assert refused.value.reason == "flow_limit"
    issue(a_flow(), ip="203.0.113.9")
    with pytest.raises(codes.CodeRefused) as refused:
        issue(a_flow(), ip="203.0.113.9")
    assert refused.value.reason == "ip_limit" and 0 < refused.value.retry_after <= 3600
    # Refused sends write no code.
    assert FlowCode.objects.count() == 3


@pytest.mark.django_db
def test_the_recipient_cooldown_holds_back_other_flows_not_the_flows_own_resend(settings):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 600
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 60
    flow = a_flow()
    assert issue(flow).sent
    # The page of this flow allows « Renvoyer » after 60 s: the SMS really leaves.
    assert issue(flow, minutes=1.02).sent
    # Another flow for the same recipient, within the cooldown: held back, silently…
    other = a_flow()
    assert issue(other, minutes=1.5).not_sent_reason == "recipient_cooldown"
    # … and the cooldown still runs from the flow's own resend.
    assert issue(a_flow(), minutes=2).not_sent_reason == "recipient_cooldown"
    assert OutboundMessage.objects.count() == 2


def test_invisible_characters_pasted_with_a_code_are_dropped():
    assert codes.code_normalize("K7P\u200bMX4\u2060") == "K7PMX4"


# --- The code's time limit, as the code page counts it (issue 13 §2) -----------------------


def seconds_left(flow, *, minutes):
    return codes.code_seconds_left(flow=flow, purpose=EMAIL_CODE,
                                   now=T0 + datetime.timedelta(minutes=minutes))


@pytest.mark.django_db
def test_the_time_left_is_counted_from_the_codes_real_expiry_not_from_the_page(no_cooldowns):
    flow = a_flow()
    assert seconds_left(flow, minutes=0) is None  # no code yet: nothing to count
    issue(flow)
    # Ten minutes after the send, a page shown then has twenty minutes left, not thirty.
    assert seconds_left(flow, minutes=10) == 20 * 60
    assert seconds_left(flow, minutes=29.5) == 30
    # A resend: the latest code counts (any live code is accepted).
    issue(flow, minutes=12)
    assert seconds_left(flow, minutes=29.5) == 12 * 60 + 30
    assert seconds_left(flow, minutes=42) == 0  # all expired: the page says so
    assert verify(flow, "ABCDEF", minutes=42).verdict == codes.CodeVerdict.EXPIRED


@pytest.mark.django_db
def test_a_code_that_was_never_sent_counts_the_same_as_one_that_was():
    sent, not_sent = a_flow(), a_flow()
    issue(sent)
    issue(not_sent, deliver=False, recipient="personne@example.org")
    assert seconds_left(sent, minutes=5) == seconds_left(not_sent, minutes=5) == 25 * 60


@pytest.mark.django_db
def test_a_used_code_or_codes_out_of_wrong_entries_leave_no_time_to_count(settings):
    settings.ACTIVATION_MAX_WRONG_CODES = 2
    flow = a_flow()
    issue(flow)
    for _ in range(2):
        verify(flow, "ABCDEF", minutes=1)
    # Dead, not expired: the refusal says what to do, there is nothing to count down.
    assert verify(flow, "ABCDEF", minutes=2).verdict == codes.CodeVerdict.DEAD
    assert seconds_left(flow, minutes=2) is None

    used = a_flow()
    issue(used, recipient="autre.parent@example.org")
    assert verify(used, sent_code(OutboundMessage.objects.order_by("pk").last()),
                  minutes=1).accepted
    assert seconds_left(used, minutes=2) is None


def test_the_format_message_names_the_characters_a_code_never_holds():
    """A code typed with an O or a 1 (the tryout) is told which characters never appear,
    exactly those of A–Z and 0–9 left out of codes.ALPHABET."""
    import string

    from core.code_messages import message_code_format

    never = sorted(set(string.ascii_uppercase + string.digits) - set(codes.ALPHABET))
    assert never == ["0", "1", "I", "L", "O"]
    assert "jamais 0, 1, I, L ni O" in message_code_format()
    assert codes.code_normalize("K7PMO4") is None  # hence that message
