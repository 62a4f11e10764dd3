"""What the recoveries tell people when they refuse something: French, says what happened
and what to do. Functions, not constants: each is translated in the request's language."""

from django.utils.translation import gettext as _

from core import code_messages
from core.code_messages import message_code_format, message_code_wrong  # noqa: F401 (this flow says them too)
from core.ratelimit import wait_text

from .flows import PASSWORD_RESET_SMS

_assistance = code_messages.assistance_text


def message_code_expired() -> str:
    return code_messages.message_code_expired(PASSWORD_RESET_SMS)


def message_ip_limit(retry_after: int) -> str:
    return _(
        "Trop de demandes ont été faites depuis votre connexion internet. Réessayez dans "
        "%(wait)s."
    ) % {"wait": wait_text(retry_after)}


def message_code_dead(issued: int) -> str:
    if issued < PASSWORD_RESET_SMS.max_sends_per_flow:
        return _(
            "Ce code de sécurité a été saisi trop de fois de manière incorrecte : il n'est plus "
            "valable. Demandez un nouveau code avec « Renvoyer le SMS »."
        )
    return _(
        "Ce code de sécurité a été saisi trop de fois de manière incorrecte et vous avez déjà "
        "demandé le nombre maximal de codes. Recommencez depuis « Mot de passe oublié ? », ou "
        "contactez %(assistance)s."
    ) % {"assistance": _assistance()}


def message_resend_cooldown(seconds: int) -> str:
    return _(
        "Un message vient de vous être envoyé. Patientez %(wait)s avant d'en demander un "
        "nouveau : il peut mettre un peu de temps à arriver."
    ) % {"wait": wait_text(seconds)}


def message_resend_flow_limit() -> str:
    return _(
        "Vous avez déjà demandé %(count)s envois, c'est le maximum. Recommencez depuis « Mot de "
        "passe oublié ? », ou contactez %(assistance)s."
    ) % {"count": PASSWORD_RESET_SMS.max_sends_per_flow, "assistance": _assistance()}


def message_code_resent() -> str:
    return _(
        "Si ce numéro est celui de votre compte, un nouveau code de sécurité vient de vous être "
        "envoyé. Le SMS peut mettre quelques minutes à arriver : un code reçu plus tôt reste "
        "valable."
    )


def message_link_resent() -> str:
    return _(
        "Si cette adresse est celle de votre compte, un nouveau mail vient de vous être envoyé. "
        "Il peut mettre quelques minutes à arriver : un lien reçu plus tôt reste valable."
    )


def message_password_changed() -> str:
    return _(
        "Votre mot de passe a été modifié. Connectez-vous avec votre identifiant et votre "
        "nouveau mot de passe."
    )
