"""What « Mon compte » tells people when it refuses something: French, says what happened and
what to do. Functions, not constants: each is translated in the language of the request."""

import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from core import code_messages
from core.code_messages import message_code_format, message_code_wrong  # noqa: F401 (this flow says them too)
from core.ratelimit import wait_text

from ..password_policy import ERROR_SAME_AS_CURRENT
from .flows import PHONE_CHANGE_CODE

_assistance = code_messages.assistance_text


def message_code_expired() -> str:
    return code_messages.message_code_expired(PHONE_CHANGE_CODE)


# --- The current password ----------------------------------------------------------------


def message_current_password_wrong() -> str:
    return _(
        "Le mot de passe actuel est incorrect. Saisissez le mot de passe avec lequel vous vous "
        "êtes connecté(e) : il tient compte des majuscules et des minuscules."
    )


def message_current_password_slowed(retry_after: int) -> str:
    return _(
        "Le mot de passe actuel a été saisi trop de fois de manière incorrecte. Pour protéger "
        "votre compte, patientez %(wait)s avant de réessayer. Si vous l'avez oublié, "
        "déconnectez-vous et utilisez « Mot de passe oublié ? »."
    ) % {"wait": wait_text(retry_after)}


def message_password_unchanged() -> str:
    return str(ERROR_SAME_AS_CURRENT)


# --- The phone number --------------------------------------------------------------------


def message_phone_same() -> str:
    return _(
        "Ce numéro est déjà celui de votre compte. Saisissez le nouveau numéro de téléphone "
        "portable."
    )


def message_code_dead(issued: int) -> str:
    if issued < PHONE_CHANGE_CODE.max_sends_per_flow:
        return _(
            "Ce code de sécurité a été saisi trop de fois de manière incorrecte : il n'est plus "
            "valable. Demandez un nouveau code avec « Renvoyer le SMS »."
        )
    return _(
        "Ce code de sécurité a été saisi trop de fois de manière incorrecte et le nombre "
        "maximal de codes a été envoyé. Recommencez la modification du numéro depuis le "
        "début, ou contactez %(assistance)s."
    ) % {"assistance": _assistance()}


def message_resend_cooldown(seconds: int) -> str:
    return _(
        "Un code vient de vous être envoyé. Patientez %(seconds)s secondes avant d'en demander "
        "un nouveau : le SMS peut mettre un peu de temps à arriver."
    ) % {"seconds": seconds}


def message_resend_flow_limit() -> str:
    return _(
        "Le nombre maximal de codes (%(count)s) a été envoyé à ce numéro. Recommencez la "
        "modification du numéro depuis le début, ou contactez %(assistance)s."
    ) % {"count": PHONE_CHANGE_CODE.max_sends_per_flow, "assistance": _assistance()}


def message_ip_limit(retry_after: int) -> str:
    return _(
        "Trop de codes de sécurité ont été demandés depuis votre connexion internet. Réessayez "
        "dans %(wait)s."
    ) % {"wait": wait_text(retry_after)}


def message_code_resent(masked_phone: str) -> str:
    return _(
        "Un nouveau code de sécurité vient de vous être envoyé au %(phone)s. Le SMS peut mettre "
        "quelques minutes à arriver : un code reçu plus tôt reste valable."
    ) % {"phone": masked_phone}


# --- The e-mail address ------------------------------------------------------------------


def message_email_same() -> str:
    return _(
        "Cette adresse est déjà l'adresse mail validée de votre compte. Saisissez la nouvelle "
        "adresse mail."
    )


def message_email_links_limit(retry_after: int) -> str:
    return _(
        "Trop de mails de validation ont été envoyés pour votre compte. Réessayez dans "
        "%(wait)s. Pensez à vérifier vos courriers indésirables (spams)."
    ) % {"wait": wait_text(retry_after)}


def message_email_requested(new_email: str, *, old_told: bool) -> str:
    sent = _(
        "Votre demande est enregistrée. Un mail de validation a été envoyé à %(email)s : "
        "cliquez sur le lien qu'il contient pour valider cette adresse."
    ) % {"email": new_email}
    if old_told:
        sent += " " + _("Votre adresse actuelle a été prévenue du changement.")
    return sent


def message_email_already_sent(email: str, sent_at: datetime.datetime) -> str:
    """« Vérifiez votre adresse mail » (accounts.my_account.views.email_check) when a
    validation link is pending: to which address (`email`, in full: the page is the
    signed-in owner's and writes it in full just below) and when the latest mail left
    (`sent_at`, aware; said in Paris time)."""
    local = timezone.localtime(sent_at, ZoneInfo("Europe/Paris"))
    return _(
        "Un mail de validation a été envoyé à %(email)s le %(day)s à %(time)s (heure de "
        "Paris)."
    ) % {"email": email, "day": date_format(local, "j F Y"),
         "time": time_format(local, "H \\h i")}


def message_email_resent(new_email: str) -> str:
    return _(
        "Un nouveau mail de validation a été envoyé à %(email)s. Pensez à vérifier vos "
        "courriers indésirables (spams) s'il n'arrive pas d'ici 5 minutes."
    ) % {"email": new_email}


def message_email_cancelled() -> str:
    return _(
        "La demande de modification est annulée : votre adresse mail reste la même. Vous "
        "pouvez saisir une nouvelle adresse."
    )


def message_email_nothing_pending() -> str:
    return _(
        "Aucune demande de modification d'adresse mail n'est en cours : saisissez votre "
        "nouvelle adresse mail ci-dessous."
    )


def message_phone_changes_limit(retry_after: int) -> str:
    return _(
        "Vous avez demandé trop de changements de numéro aujourd'hui. Réessayez dans "
        "%(wait)s, ou contactez %(assistance)s."
    ) % {"wait": wait_text(retry_after), "assistance": _assistance()}
