"""What the recoveries tell people when they refuse something: French, says what happened
and what to do. Functions, not constants: each is translated in the request's language."""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import codes
from core.ratelimit import wait_text

from .flows import PASSWORD_RESET_SMS


def _assistance() -> str:
    return _("l'assistance au %(phone)s (prix d'un appel local) ou sur %(site)s") % {
        "phone": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "site": settings.EDUCONNECT_ASSISTANCE_URL.removeprefix("https://"),
    }


def message_ip_limit(retry_after: int) -> str:
    return _(
        "Trop de demandes ont été faites depuis votre connexion internet. Réessayez dans "
        "%(wait)s."
    ) % {"wait": wait_text(retry_after)}


def message_code_format() -> str:
    return _(
        "Le code de sécurité comporte %(length)s caractères, lettres et chiffres, par exemple "
        "K7PMX4. Saisissez le code reçu par SMS."
    ) % {"length": codes.LENGTH}


def message_code_wrong(remaining: int) -> str:
    tries = ngettext("%(count)s essai", "%(count)s essais", remaining) % {"count": remaining}
    return _(
        "Le code de sécurité saisi est incorrect. Vérifiez le code reçu par SMS et saisissez-le "
        "à nouveau (il vous reste %(tries)s)."
    ) % {"tries": tries}


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


def message_code_expired() -> str:
    return _(
        "Ce code de sécurité n'est plus valable : il expire %(minutes)s minutes après son "
        "envoi. Demandez un nouveau code avec « Renvoyer le SMS »."
    ) % {"minutes": PASSWORD_RESET_SMS.ttl_minutes}


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
