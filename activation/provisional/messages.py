"""What the first sign-in with a school letter tells people when it refuses something:
French, says what happened and what to do. Functions: translated in the request's language."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.ratelimit import wait_text


def message_password_unchanged() -> str:
    return _(
        "Choisissez un nouveau mot de passe, différent du mot de passe provisoire du courrier "
        "de l'établissement."
    )


def message_links_limit(retry_after: int) -> str:
    return _(
        "Trop de mails de validation ont été demandés pour ce compte. Vérifiez vos courriers "
        "indésirables, ou réessayez dans %(wait)s."
    ) % {"wait": wait_text(retry_after)}


def message_link_resent(email: str) -> str:
    return _(
        "Un nouveau mail a été envoyé à %(email)s. Le lien des mails précédents reste "
        "valable."
    ) % {"email": email}


def message_identity_wrong(remaining: int) -> str:
    return ngettext(
        "La date de naissance saisie est incorrecte. Il vous reste %(count)s essai.",
        "La date de naissance saisie est incorrecte. Il vous reste %(count)s essais.",
        remaining,
    ) % {"count": remaining}


def message_no_pupil_record() -> str:
    return _(
        "Ce compte n'est plus rattaché à un élève. Contactez le secrétariat de votre "
        "établissement, qui vous remettra un nouveau courrier."
    )


def message_pupil_email_sent(email: str) -> str:
    return _(
        "Votre compte est activé. Un mail de validation a été envoyé à %(email)s : cliquez "
        "sur le lien qu'il contient pour valider cette adresse."
    ) % {"email": email}


def message_pupil_activated() -> str:
    return _("Votre compte est activé : vous pouvez accéder à vos services.")
