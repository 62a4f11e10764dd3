"""The helpdesk's hand on SMS activations (flows of kind SMS_ACTIVATION, core.models.Flow).

The activation app owns flows and codes; the helpdesk only asks it to send one more code for
a flow waiting for one (activation.services.activation_code_resend: the code process's
limits apply, as to the parent's own « Renvoyer le SMS »), to the number the flow was started
with. Unlike the parent's page, the agent is told when a silent limit held the SMS back.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from activation.flows import ACTIVATION_CODE, SMS_ACTIVATION, WRONG_DATES_PER_PHONE
from activation.services import (
    ActivationRefused,
    FlowUnavailable,
    activation_code_resend,
    activation_counters_clear,
)
from core import codes, ratelimit
from core.journal import EventKind, journal_record
from core.models import CodeNotSentReason, Flow

from .services import ActionRefused


def flow_gone() -> str:
    return _(
        "Ce parcours d'activation n'attend plus de code (terminé ou expiré) : le parent doit "
        "recommencer l'activation depuis « Je n'ai pas de compte »."
    )


def stalled_flow(flows: list[Flow]) -> Flow | None:
    """The newest SMS activation still waiting for its code (open, at the code step, alive)."""
    now = timezone.now()
    for flow in flows:
        if flow.kind == SMS_ACTIVATION.name and flow.is_open_at("code", now):
            return flow
    return None


def _not_sent(reason: str, retry_after: int) -> str:
    minutes = max(1, round(retry_after / 60))
    if reason == CodeNotSentReason.RECIPIENT_COOLDOWN:
        return _(
            "Aucun SMS n'a été envoyé : ce numéro a reçu un code il y a moins d'une minute. "
            "Réessayez dans %(seconds)s secondes."
        ) % {"seconds": retry_after}
    if reason == CodeNotSentReason.RECIPIENT_QUOTA:
        return _(
            "Aucun SMS n'a été envoyé : ce numéro a reçu le nombre maximal de codes. "
            "Réessayez dans %(minutes)s minutes."
        ) % {"minutes": minutes}
    return _("Aucun SMS n'a été envoyé : les informations saisies ne correspondent à aucune "
             "fiche.")


def flow_resend_by_helpdesk(*, flow: Flow, actor: Account, reason: str, request=None) -> None:
    """Send one more activation code for `flow`, journaled with the agent and their reason.
    Raises ActionRefused with the French reason when nothing was sent."""
    try:
        # request=None: the agent's address is not the parent's, the per-IP limit is theirs.
        issue = activation_code_resend(flow_id=flow.pk, request=None)
    except FlowUnavailable as exc:
        raise ActionRefused(flow_gone()) from exc
    except ActivationRefused as exc:
        raise ActionRefused(exc.message) from exc
    journal_record(EventKind.HELPDESK_ACTIVATION_SMS_RESENT, request=request, flow_id=flow.pk,
                   actor=actor, reason=reason, sent=issue.sent)
    if not issue.sent:
        raise ActionRefused(_not_sent(issue.not_sent_reason, issue.retry_after))


def number_counters(phone: str) -> dict[str, int]:
    """What the activation counted on a number in its current windows: wrong birth dates
    and SMS sent (two Redis reads). For the record page: the agent sees why a parent is
    blocked before unblocking."""
    key = codes.recipient_key(ACTIVATION_CODE.channel, phone)
    return {"wrong_dates": ratelimit.used(WRONG_DATES_PER_PHONE, phone),
            "wrong_dates_limit": WRONG_DATES_PER_PHONE.limit,
            "sms_sent": ratelimit.used(ACTIVATION_CODE.recipient_rule, key),
            "sms_limit": ACTIVATION_CODE.recipient_rule.limit}


def activation_unblock_by_helpdesk(*, record, actor: Account, reason: str,
                                   request=None) -> None:
    """« Débloquer l'activation »: clear the wrong-date, SMS-quota and cooldown counters of
    the record's number (activation.services.activation_counters_clear), journaled with the
    agent and their reason (issue 16 §5). The parent starts again with every attempt.
    Raises ActionRefused when the record has no number."""
    if not record.mobile_phone:
        raise ActionRefused(_("Cette fiche n'a pas de numéro de téléphone portable : il n'y a "
                              "rien à débloquer. L'établissement doit d'abord saisir le numéro."))
    activation_counters_clear(phones=[str(record.mobile_phone)], reason="helpdesk",
                              actor=actor, request=request)
    journal_record(EventKind.HELPDESK_ACTIVATION_UNBLOCKED, request=request, actor=actor,
                   account=record.account, guardian_record=record.pk, reason=reason)
