"""The helpdesk's hand on SMS activations (flows of kind SMS_ACTIVATION, core.models.Flow).

The activation app owns flows and codes; the helpdesk only asks it to send one more code for
a flow waiting for one (activation.services.activation_code_resend: the code process's
limits apply, as to the parent's own « Renvoyer le SMS »), to the number the flow was started
with. Unlike the parent's page, the agent is told when a silent limit held the SMS back.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, AccountState
from activation.flows import ACTIVATION_CODE, SMS_ACTIVATION, WRONG_DATES_PER_PHONE
from activation.provisional.services import (
    provisional_wrong_dates,
    provisional_wrong_dates_clear,
)
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
    and SMS sent, and the seconds each window still blocks the number (`wrong_dates_wait`,
    `sms_wait`; 0: not blocked) — three Redis reads. For the record page: the agent sees
    why a parent is blocked, and until when, before unblocking."""
    key = codes.recipient_key(ACTIVATION_CODE.channel, phone)
    dates, sms = ratelimit.peek_many((WRONG_DATES_PER_PHONE, phone),
                                     (ACTIVATION_CODE.recipient_rule, key))
    return {"wrong_dates": ratelimit.used(WRONG_DATES_PER_PHONE, phone),
            "wrong_dates_limit": WRONG_DATES_PER_PHONE.limit,
            "wrong_dates_wait": 0 if dates.allowed else dates.retry_after,
            "sms_sent": ratelimit.used(ACTIVATION_CODE.recipient_rule, key),
            "sms_limit": ACTIVATION_CODE.recipient_rule.limit,
            "sms_wait": 0 if sms.allowed else sms.retry_after}


def activation_unblock_by_helpdesk(*, record, actor: Account, reason: str,
                                   request=None) -> dict[str, int]:
    """« Débloquer l'activation » of a guardian record: clear the wrong-date, SMS-quota and
    cooldown counters of the record's number (activation.services.activation_counters_clear)
    and, when the record is covered by a school letter's account still in its first
    sign-in, that account's wrong dates (letter_unblock's counter); journaled
    HELPDESK_ACTIVATION_UNBLOCKED with the agent, their reason and what was counted (issue
    16 §5). The parent starts again with every attempt.

    Returns what was counted before ({"wrong_dates", "sms_sent", "letter_wrong_dates"}).
    Raises ActionRefused, nothing changed nor journaled, when the record has no number and
    no letter account, or when nothing was counted (nothing was blocked)."""
    letter_account = record.account if (
        record.account_id and record.account.state == AccountState.PROVISIONAL) else None
    if not record.mobile_phone and letter_account is None:
        raise ActionRefused(_("Cette fiche n'a pas de numéro de téléphone portable : il n'y a "
                              "rien à débloquer. L'établissement doit d'abord saisir le numéro."))
    phone = str(record.mobile_phone) if record.mobile_phone else ""
    counted = {"wrong_dates": 0, "sms_sent": 0, "letter_wrong_dates": 0}
    cooldown = 0
    if phone:
        counters = number_counters(phone)
        counted["wrong_dates"] = counters["wrong_dates"]
        counted["sms_sent"] = counters["sms_sent"]
        cooldown = ratelimit.used(codes.RECIPIENT_COOLDOWN,
                                  codes.recipient_key(ACTIVATION_CODE.channel, phone))
    if letter_account is not None:
        counted["letter_wrong_dates"] = provisional_wrong_dates(letter_account).used
    if not any(counted.values()) and not cooldown:
        raise ActionRefused(nothing_blocked())
    if phone:
        activation_counters_clear(phones=[phone], reason="helpdesk", actor=actor,
                                  request=request)
    if letter_account is not None:
        provisional_wrong_dates_clear(account=letter_account)
    facts = {key: value for key, value in counted.items() if value}
    journal_record(EventKind.HELPDESK_ACTIVATION_UNBLOCKED, request=request, actor=actor,
                   account=record.account, guardian_record=record.pk, reason=reason, **facts)
    return counted


def nothing_blocked() -> str:
    return _("Rien n'était bloqué : aucune date de naissance incorrecte ni aucun SMS d'activation "
             "n'est compté ces dernières 24 heures. Rien n'a été modifié. Si le parent voit "
             "un message de blocage, demandez-lui lequel.")


def letter_unblock_by_helpdesk(*, account: Account, actor: Account, reason: str,
                               request=None) -> int:
    """« Débloquer l'activation » of a school letter's account still in its first sign-in
    (state PROVISIONAL, activation/provisional/): forget the wrong birth dates counted on
    the account (activation.provisional.services.provisional_wrong_dates_clear, the rule
    WRONG_DATES_PER_ACCOUNT), so that at its next sign-in a blocked journey gives way to a
    new one with every attempt. Journaled HELPDESK_ACTIVATION_UNBLOCKED with the agent,
    their reason, `method` « letter » and the count cleared (issue 16 §5).

    Returns how many wrong dates were counted. Raises ActionRefused, nothing changed nor
    journaled, when the account is not provisional or nothing was counted."""
    if account.state != AccountState.PROVISIONAL:
        raise ActionRefused(_("Ce compte n'est pas en cours de première connexion avec le "
                              "courrier de l'établissement : il n'y a rien à débloquer."))
    cleared = provisional_wrong_dates_clear(account=account)
    if not cleared:
        raise ActionRefused(_("Rien n'était bloqué : aucune date de naissance incorrecte n'est "
                              "comptée sur ce compte ces dernières 24 heures. Rien n'a été "
                              "modifié."))
    journal_record(EventKind.HELPDESK_ACTIVATION_UNBLOCKED, request=request, actor=actor,
                   account=account, reason=reason, method="letter", letter_wrong_dates=cleared)
    return cleared
