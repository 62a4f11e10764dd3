"""What the person reads when FranceConnect's answer is refused: what happened, what to do."""

from django.utils.translation import gettext as _

from .client import Refusal


def _button() -> str:
    return _("« S'identifier avec FranceConnect »")


def message_refused(reason: Refusal) -> str:
    if reason == Refusal.ACCESS_DENIED:
        return _("Vous avez annulé la connexion avec FranceConnect. Pour réessayer, cliquez de "
                 "nouveau sur %(button)s, ou connectez-vous avec votre identifiant "
                 "ÉduConnect.") % {"button": _button()}
    if reason in (Refusal.PROVIDER_UNAVAILABLE, Refusal.PROVIDER_ERROR, Refusal.TOKEN_EXCHANGE):
        return _("FranceConnect n'a pas pu être joint ou n'a pas répondu correctement. "
                 "Réessayez dans quelques minutes, ou connectez-vous avec votre identifiant "
                 "ÉduConnect.")
    if reason == Refusal.STATE:
        return _("Cette connexion avec FranceConnect a expiré ou a déjà été utilisée. Pour "
                 "vous connecter, cliquez de nouveau sur %(button)s.") % {"button": _button()}
    if reason == Refusal.EXPIRED:
        return _("La réponse de FranceConnect a expiré avant d'arriver. Cliquez de nouveau sur "
                 "%(button)s.") % {"button": _button()}
    if reason == Refusal.ACR:
        return _("Le niveau de garantie de l'identité transmis par FranceConnect est "
                 "insuffisant (eIDAS faible au minimum) : la connexion est refusée. Choisissez "
                 "un autre compte sur FranceConnect, ou connectez-vous avec votre identifiant "
                 "ÉduConnect.")
    return _("La réponse de FranceConnect n'a pas pu être vérifiée : pour votre sécurité, la "
             "connexion est refusée. Cliquez de nouveau sur %(button)s ; si le problème "
             "continue, connectez-vous avec votre identifiant ÉduConnect.") % {"button": _button()}


def message_account_unavailable() -> str:
    return _("Le compte ÉduConnect associé à cette identité FranceConnect est bloqué ou fermé. "
             "Contactez l'assistance de votre académie.")


def message_not_configured() -> str:
    return _("La connexion avec FranceConnect n'est pas disponible pour le moment. "
             "Connectez-vous avec votre identifiant ÉduConnect.")


def message_unlinked(*, has_password: bool) -> str:
    if has_password:
        return _("Votre compte n'est plus associé à FranceConnect. Pour vous connecter, "
                 "utilisez votre identifiant ÉduConnect et votre mot de passe.")
    return _("Votre compte n'est plus associé à FranceConnect. Pour vous connecter, "
             "choisissez « Mot de passe oublié ? » sur la page de connexion : un code vous "
             "sera envoyé par SMS pour choisir votre mot de passe.")


def message_logged_out() -> str:
    return _("Vous êtes déconnecté(e) d'ÉduConnect et de FranceConnect.")
