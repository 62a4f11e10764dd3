"""The change of phone number, as the flow engine reads it (core.flowkinds, core.codes).

A signed-in account types a new mobile number (number); a code goes by SMS to that number
and proves it (code); then the number is the account's and the old one is told (done).

    number ──► code ──► done
                │
                └─► « Renvoyer le SMS » (the flow's own limits, core.codes)

The row starts at « code » (« number » is the form that starts it); `flow.account` names the
account from the start, `flow.phone` the new number; `data` holds nothing else. One code
purpose: PHONE_CHANGE_CODE, by SMS, with its own settings (PHONE_CHANGE_…).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.codes import CodeEvents, CodePurpose
from core.flowkinds import FlowKind, Stage, register
from core.journal import EventKind
from core.models import CodeChannel
from core.ratelimit import Rule
from notifications.services import sms_enqueue

PHONE_CHANGE = register(FlowKind(
    name="phone_change",
    label=_("Changement de numéro de téléphone"),
    title=_("Modifier mon numéro de téléphone"),
    stages=(
        Stage("number", "accounts:my_account:phone", _("Je saisis mon nouveau numéro")),
        Stage("code", "accounts:my_account:phone_code", _("Je saisis le code reçu par SMS")),
        Stage("done", "accounts:my_account:phone_done", _("Mon numéro est modifié")),
    ),
    home_url_name="accounts:my_account:phone_flow",
    idle_setting="PHONE_CHANGE_FLOW_IDLE_SECONDS",
    max_age_setting="PHONE_CHANGE_FLOW_MAX_AGE_SECONDS",
    retention_setting="PHONE_CHANGE_FLOW_RETENTION_DAYS",
    not_found_template="accounts/my_account/phone_not_found.html",
))

PHONE_CHANGE_CODE = CodePurpose(
    # Also the outbox row's purpose.
    name="phone_change_code",
    channel=CodeChannel.SMS,
    template="sms/phone_change_code.txt",
    send=sms_enqueue,
    events=CodeEvents(
        sent=EventKind.PHONE_CHANGE_CODE_SENT,
        not_sent=EventKind.PHONE_CHANGE_CODE_NOT_SENT,
        rejected=EventKind.PHONE_CHANGE_CODE_REJECTED,
        too_many=EventKind.PHONE_CHANGE_TOO_MANY_CODES,
        verified=EventKind.PHONE_CHANGE_CODE_VERIFIED,
    ),
    ttl_setting="PHONE_CHANGE_CODE_TTL_SECONDS",
    max_wrong_setting="PHONE_CHANGE_MAX_WRONG_CODES",
    resend_cooldown_setting="PHONE_CHANGE_RESEND_COOLDOWN_SECONDS",
    max_sends_per_flow_setting="PHONE_CHANGE_MAX_SENDS_PER_FLOW",
    recipient_rule=Rule("codes:phone-change:phone", "PHONE_CHANGE_MAX_SENDS_PER_PHONE",
                        "PHONE_CHANGE_PHONE_WINDOW_SECONDS"),
    ip_rule=Rule("codes:phone-change:ip", "PHONE_CHANGE_MAX_SENDS_PER_IP",
                 "PHONE_CHANGE_IP_WINDOW_SECONDS"),
)
