"""« Ajouter un enfant » (issue 11 §2), as the flow engine reads it (core.flowkinds,
core.codes).

A signed-in guardian types the mobile number the new child's school has for them (number);
a code goes by SMS to that number (code); the child's birth date proves the link (pupils);
the records matched are attached to the account (done). The SMS activation's stages, rules
and limits: the records are matched by the account's names and the number
(activation.selectors.guardian_records_matching), the code's limits are the activation's
settings and share its counters (same rate-limit scopes), wrong birth dates count in the
activation's per-number window, the flow's lifetimes are the activation's.

    number ──► code ──► pupils ──► done
                │          └─► ended: blocked (too many wrong birth dates)
                └─► « Renvoyer le SMS »

The row starts at « code »; `flow.account` names the signed-in account from the start; its
data is activation.flows.ActivationData (`attach_account_id` = the account).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from activation.flows import ACTIVATION_CODE
from core.codes import CodeEvents, CodePurpose
from core.flowkinds import FlowKind, Stage, register
from core.journal import EventKind
from core.models import CodeChannel
from notifications.services import sms_enqueue

CHILD_ATTACH = register(FlowKind(
    name="child_attach",
    label=_("Ajout d'un enfant par SMS"),
    title=_("Ajouter un enfant"),
    stages=(
        Stage("number", "families:child_add", _("Je saisis mon numéro de téléphone portable")),
        Stage("code", "families:child_code", _("Je saisis le code de sécurité")),
        Stage("pupils", "families:child_pupils", _("Je confirme mon lien avec les élèves")),
        Stage("done", "families:child_done", _("L'enfant est rattaché à mon compte")),
    ),
    home_url_name="families:child_flow",
    idle_setting="ACTIVATION_FLOW_IDLE_SECONDS",
    max_age_setting="ACTIVATION_FLOW_MAX_AGE_SECONDS",
    retention_setting="ACTIVATION_FLOW_RETENTION_DAYS",
    not_found_template="families/child_not_found.html",
))

CHILD_ATTACH_CODE = CodePurpose(
    name="child_attach_code",
    channel=CodeChannel.SMS,
    template="sms/child_attach_code.txt",
    send=sms_enqueue,
    events=CodeEvents(
        sent=EventKind.CHILD_ATTACH_CODE_SENT,
        not_sent=EventKind.CHILD_ATTACH_CODE_NOT_SENT,
        rejected=EventKind.CHILD_ATTACH_CODE_REJECTED,
        too_many=EventKind.CHILD_ATTACH_TOO_MANY_CODES,
        verified=EventKind.CHILD_ATTACH_CODE_VERIFIED,
    ),
    # The SMS activation's settings and counters: adding a child is no cheaper a way to
    # send codes or guess birth dates than activating.
    ttl_setting=ACTIVATION_CODE.ttl_setting,
    max_wrong_setting=ACTIVATION_CODE.max_wrong_setting,
    resend_cooldown_setting=ACTIVATION_CODE.resend_cooldown_setting,
    max_sends_per_flow_setting=ACTIVATION_CODE.max_sends_per_flow_setting,
    recipient_rule=ACTIVATION_CODE.recipient_rule,
    ip_rule=ACTIVATION_CODE.ip_rule,
)
