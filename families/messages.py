"""What « Mes enfants » tells people when it refuses something: French, says what happened
and what to do. Functions, not constants: each is translated in the language of the
request."""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.forms import letter_replaced_text


def message_merge_same_account() -> str:
    return _(
        "Cet identifiant est celui du compte avec lequel vous êtes connecté(e). Saisissez "
        "l'identifiant de l'autre compte, celui dont vous voulez ajouter les enfants."
    )


def message_merge_pupil_account() -> str:
    return _(
        "Cet identifiant est celui d'un compte élève : seuls deux comptes de représentant "
        "légal peuvent être regroupés. Pour ajouter cet enfant à votre compte, utilisez "
        "« Ajouter un enfant » dans « Mes enfants », avec le numéro de téléphone portable que "
        "vous avez donné à son établissement."
    )


def message_merge_names_differ() -> str:
    return _(
        "Les deux comptes ne sont pas au même nom : ils ne peuvent pas être regroupés. "
        "Vérifiez auprès des établissements de vos enfants que vos nom et prénom y sont "
        "écrits de la même façon ; une fois leurs fiches corrigées, recommencez."
    )


def message_merge_already_here() -> str:
    return _(
        "Ce compte a déjà été regroupé avec le vôtre et il est fermé : ses enfants sont déjà "
        "sur votre compte. Consultez la liste de vos enfants dans « Mes enfants »."
    )


def message_merge_already_merged(identifier: str) -> str:
    return _(
        "Ce compte a déjà été regroupé avec le compte %(identifier)s et il est fermé : ses "
        "enfants sont sur le compte %(identifier)s. Pour les ajouter ici, saisissez "
        "l'identifiant %(identifier)s et le mot de passe de ce compte."
    ) % {"identifier": identifier}


def message_merge_already_merged_closed() -> str:
    return _(
        "Ce compte a déjà été regroupé avec un autre compte ÉduConnect et il est fermé : "
        "ses enfants ne peuvent pas être ajoutés depuis ce compte."
    )


def message_merge_letter_here() -> str:
    """The right provisional password of a school letter whose account was closed when the
    signed-in account was activated by SMS or FranceConnect: its children came here then."""
    return letter_replaced_text() + " " + _(
        "C'est le compte avec lequel vous êtes connecté(e) : les enfants de ce courrier sont "
        "déjà sur votre compte, il n'y a rien à regrouper. Consultez la liste de vos enfants "
        "dans « Mes enfants » ; s'il en manque un, utilisez « Ajouter un enfant »."
    )


def message_merge_letter_replaced(identifier: str) -> str:
    """The right provisional password of a school letter whose account was closed when
    another account of the family (`identifier`, displayed) was activated."""
    return letter_replaced_text() + " " + _(
        "Les enfants de ce courrier sont sur le compte %(identifier)s. Pour les ajouter ici, "
        "saisissez l'identifiant %(identifier)s et le mot de passe choisi à l'activation de ce "
        "compte."
    ) % {"identifier": identifier}


def message_merge_too_late() -> str:
    return _(
        "L'autre compte vient d'être fermé ou regroupé : ses enfants ne peuvent plus être "
        "ajoutés depuis ce compte. Consultez la liste de vos enfants dans « Mes enfants »."
    )


def message_merge_changed() -> str:
    return _(
        "L'un des deux comptes a changé depuis que vous avez saisi le mot de passe de l'autre "
        "compte : aucun compte n'a été modifié. Saisissez à nouveau l'identifiant et le mot "
        "de passe de l'autre compte pour vérifier ses enfants avant de les ajouter."
    )


def message_merge_expired() -> str:
    return _(
        "Le délai pour confirmer le regroupement est dépassé : aucun compte n'a été modifié. "
        "Saisissez à nouveau l'identifiant et le mot de passe de l'autre compte."
    )


def message_merge_cancelled() -> str:
    return _("Le regroupement est annulé : aucun compte n'a été modifié.")


def message_child_date_wrong(remaining: int, *, number_hours: int | None = None) -> str:
    """A wrong birth date on « Ajouter un enfant » (the children's step), with the wrong
    dates this démarche still takes before it ends (`remaining`: ACTIVATION_MAX_WRONG_DATES
    less the wrong dates so far; activation.services.pupil_answers_apply counts them). Not
    the activation's words: the account is active, only this addition stops.

    `number_hours`: as activation.messages.message_date_wrong (the number's own limit is the
    nearer: it will be blocked that many hours, for every démarche with it)."""
    if number_hours is not None:
        return ngettext(
            "La date de naissance saisie est incorrecte. Attention : la prochaine date "
            "incorrecte bloquera ce numéro pendant %(hours)s heures (ajout d'un enfant et "
            "activation).",
            "La date de naissance saisie est incorrecte. Encore %(count)s dates incorrectes "
            "possibles avec ce numéro avant son blocage pendant %(hours)s heures (ajout d'un "
            "enfant et activation).",
            remaining,
        ) % {"count": remaining, "hours": number_hours}
    return ngettext(
        "La date de naissance saisie est incorrecte. Encore %(count)s date incorrecte "
        "possible avant l'arrêt de cet ajout d'un enfant.",
        "La date de naissance saisie est incorrecte. Encore %(count)s dates incorrectes "
        "possibles avant l'arrêt de cet ajout d'un enfant.",
        remaining,
    ) % {"count": remaining}
