"""The helpdesk's hand on activation flows (activation.models.ActivationFlow).

The activation app owns flows and codes; the helpdesk only asks it to send a fresh code for
a flow waiting for one (activation.services.activation_code_resend, same limits as the
parent's own « Renvoyer le SMS »), to the number the flow was started with.
"""

from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from activation.models import ActivationFlow, FlowStatus, FlowStep
from activation.services import ActivationRefused, FlowUnavailable, activation_code_resend
from core.journal import EventKind, journal_record

from .services import ActionRefused

FLOW_GONE = _(
    "Ce parcours d'activation n'attend plus de code (terminé ou expiré) : le parent doit "
    "recommencer l'activation depuis « Je n'ai pas de compte »."
)


def stalled_flow(flows: list[ActivationFlow]) -> ActivationFlow | None:
    """The newest flow still waiting for its SMS code (open, at the code step, alive)."""
    for flow in flows:
        if flow.status == FlowStatus.OPEN and flow.step == FlowStep.CODE and not flow.is_expired():
            return flow
    return None


def flow_resend_by_helpdesk(
    *, flow: ActivationFlow, actor: Account, reason: str, request=None
) -> None:
    try:
        # request=None: the agent's address is not the parent's, the per-IP limit is theirs.
        activation_code_resend(flow_id=flow.pk, request=None)
    except FlowUnavailable as exc:
        raise ActionRefused(FLOW_GONE) from exc
    except ActivationRefused as exc:
        raise ActionRefused(exc.message) from exc
    journal_record(EventKind.HELPDESK_ACTIVATION_SMS_RESENT, request=request, flow_id=flow.pk,
                   actor=actor, reason=reason)
