"""What the SMS activation tells people when it refuses something: French, says what
happened and what to do (the official help documents' words where they have some).
Functions, not constants: each is translated in the language of the request."""

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import code_messages
from core.code_messages import message_code_format, message_code_wrong  # noqa: F401 (this flow says them too)

from .flows import ACTIVATION_CODE

_assistance = code_messages.assistance_text


def message_code_expired() -> str:
    return code_messages.message_code_expired(ACTIVATION_CODE)


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


def message_code_dead(issued: int) -> str:
    if issued < ACTIVATION_CODE.max_sends_per_flow:
        return _(
            "Ce code de sécurité a été saisi trop de fois de manière incorrecte : il n'est plus "
            "valable. Demandez un nouveau code avec « Renvoyer le SMS »."
        )
    return _(
        "Ce code de sécurité a été saisi trop de fois de manière incorrecte et vous avez "
        "déjà demandé le nombre maximal de codes pour cette activation. Recommencez "
        "l'activation depuis le début, ou contactez %(assistance)s."
    ) % {"assistance": _assistance()}


def message_resend_cooldown(seconds: int) -> str:
    return _(
        "Un code vient de vous être envoyé. Patientez %(seconds)s secondes avant d'en demander "
        "un nouveau : le SMS peut mettre un peu de temps à arriver."
    ) % {"seconds": seconds}


def message_resend_flow_limit() -> str:
    return _(
        "Vous avez déjà demandé %(count)s codes pour cette activation, c'est le maximum. "
        "Recommencez l'activation depuis le début, ou contactez %(assistance)s."
    ) % {"count": ACTIVATION_CODE.max_sends_per_flow, "assistance": _assistance()}


def message_ip_limit(retry_after: int) -> str:
    return _(
        "Trop de codes de sécurité ont été demandés depuis votre connexion internet. Réessayez "
        "dans %(minutes)s minutes."
    ) % {"minutes": _minutes(retry_after)}


def message_date_wrong(remaining: int, *, number_hours: int | None = None) -> str:
    """A wrong birth date on the pupils' step, with the wrong dates the flow still takes
    before it is blocked (`remaining`: ACTIVATION_MAX_WRONG_DATES less the wrong dates so
    far). Each wrong date counts, child by child (activation.services.pupils_answers_apply):
    a parent of two who swaps their dates spends two at once, so the words count dates, not
    « essais » (a tryout read « 5 essais » as five submissions). Only a flow past the code
    (SMS) or the letter's password reaches this step: the count tells nothing about who is
    known.

    `number_hours` (activation.services.DatesLeft): when the nearer limit is the number's
    own (ACTIVATION_MAX_WRONG_DATES_PER_PHONE, across journeys), the hours it will then be
    blocked, said outright — a tryout's parent read « Encore 3 » and had the number blocked
    for 24 hours two dates later."""
    if number_hours is not None:
        return ngettext(
            "La date de naissance saisie est incorrecte. Attention : la prochaine date "
            "incorrecte bloquera l'activation avec ce numéro pendant %(hours)s heures.",
            "La date de naissance saisie est incorrecte. Encore %(count)s dates incorrectes "
            "possibles avec ce numéro avant son blocage pendant %(hours)s heures.",
            remaining,
        ) % {"count": remaining, "hours": number_hours}
    return ngettext(
        "La date de naissance saisie est incorrecte. Encore %(count)s date incorrecte "
        "possible avant le blocage de l'activation.",
        "La date de naissance saisie est incorrecte. Encore %(count)s dates incorrectes "
        "possibles avant le blocage de l'activation.",
        remaining,
    ) % {"count": remaining}


def message_only_link() -> str:
    return _(
        "Cet élève est le seul trouvé pour cette démarche : l'indication « Je ne suis pas le "
        "représentant légal de cet élève » ne peut pas être prise en compte pour lui. Si vous "
        "êtes son représentant légal, cochez « Je suis le représentant légal de cet élève » et "
        "saisissez sa date de naissance ; sinon, contactez l'école ou l'établissement de l'élève."
    )


def message_none_confirmed() -> str:
    """Every pupil (two or more) answered « Je ne suis pas le représentant légal »: nothing
    to activate. Says what to do for a parent who clicked wrong, and the way out for a
    person who really is nobody's représentant légal (a tryout read a dead end): stop here,
    and ask the school, which checks its records."""
    return _(
        "Pour activer votre compte, confirmez être le représentant légal d'au moins un élève "
        "et saisissez sa date de naissance. Si vous n'êtes le représentant légal d'aucun de "
        "ces élèves, ne poursuivez pas l'activation : contactez l'école ou l'établissement, "
        "qui vérifiera les informations enregistrées."
    )


def message_pupils_changed() -> str:
    return _(
        "Les informations de l'établissement ont changé pendant votre saisie. Vérifiez la liste "
        "des élèves ci-dessous et confirmez à nouveau."
    )


def message_records_taken() -> str:
    return _(
        "Un compte ÉduConnect vient d'être activé avec ces informations. Connectez-vous avec "
        "ce compte."
    )


def message_phone_limit_rule() -> str:
    """The number's own limit in one sentence (ACTIVATION_MAX_SENDS_PER_PHONE codes per
    ACTIVATION_PHONE_WINDOW_SECONDS), under « Je n'ai pas reçu le code par SMS » of every
    flow that sends ACTIVATION_CODE's codes: said to everybody alike (see
    message_phone_limit)."""
    hours = max(1, round(settings.ACTIVATION_PHONE_WINDOW_SECONDS / 3600))
    return ngettext(
        "Un même numéro reçoit au plus %(count)d code d'activation en %(hours)d heures : "
        "au-delà, aucun SMS n'est envoyé avant la fin de ce délai.",
        "Un même numéro reçoit au plus %(count)d codes d'activation en %(hours)d heures : "
        "au-delà, aucun SMS n'est envoyé avant la fin de ce délai.",
        settings.ACTIVATION_MAX_SENDS_PER_PHONE,
    ) % {"count": settings.ACTIVATION_MAX_SENDS_PER_PHONE, "hours": hours}


def message_phone_limit(now: datetime.datetime | None = None) -> str:
    """The number's own limit, said after every resend of a code of ACTIVATION_CODE (SMS
    activation, FranceConnect first link, « Ajouter un enfant »), to every number alike.

    The per-number quota (ACTIVATION_MAX_SENDS_PER_PHONE codes per
    ACTIVATION_PHONE_WINDOW_SECONDS, core.codes `_recipient_allows`) counts only the SMS
    that really left, so a number no school knows never fills it: saying « this number's
    quota is reached » to one flow and not to another would tell whose number is known
    (core.codes' docstring, issue 8 §6). These words are therefore true for both: the
    limit, that nothing leaves past it, and the latest time another SMS can leave (the
    window is a moving one: every send counted now has left it `window` from now)."""
    now = now or timezone.now()
    window = int(settings.ACTIVATION_PHONE_WINDOW_SECONDS)
    until = timezone.localtime(now + datetime.timedelta(seconds=window))
    hours = max(1, round(window / 3600))
    return ngettext(
        "Un même numéro reçoit au plus %(count)d code d'activation en %(hours)d heures : si ce "
        "numéro l'a déjà reçu, aucun SMS n'est parti et il pourra de nouveau en recevoir au "
        "plus tard le %(day)s à %(time)s. Les codes déjà reçus pour cette démarche restent "
        "valables jusqu'à leur expiration. Si rien n'arrive, attendez cette date ou "
        "contactez %(assistance)s.",
        "Un même numéro reçoit au plus %(count)d codes d'activation en %(hours)d heures : si ce "
        "numéro les a déjà reçus, aucun SMS n'est parti et il pourra de nouveau en recevoir au "
        "plus tard le %(day)s à %(time)s. Les codes déjà reçus pour cette démarche restent "
        "valables jusqu'à leur expiration. Si rien n'arrive, attendez cette date ou "
        "contactez %(assistance)s.",
        settings.ACTIVATION_MAX_SENDS_PER_PHONE,
    ) % {"count": settings.ACTIVATION_MAX_SENDS_PER_PHONE, "hours": hours,
         "day": date_format(until, "j F Y"), "time": time_format(until, "H \\h i"),
         "assistance": _assistance()}


def message_code_resent(masked_phone: str) -> str:
    """After « Renvoyer le SMS » of the SMS activation: the same words whether or not the
    names and number matched, and whether or not the number's limit held the SMS back."""
    return _(
        "Si vos nom, prénom et numéro sont ceux connus de l'établissement, un nouveau code de "
        "sécurité est envoyé au %(phone)s. Le SMS peut mettre quelques minutes à arriver : un "
        "code reçu plus tôt reste valable. %(limit)s"
    ) % {"phone": masked_phone, "limit": message_phone_limit()}


def message_franceconnect_expired() -> str:
    return _(
        "Votre connexion avec FranceConnect a expiré avant la fin de la première connexion. "
        "Cliquez de nouveau sur « S'identifier avec FranceConnect »."
    )


def message_franceconnect_code_resent(masked_phone: str) -> str:
    return _(
        "Si ce numéro est celui connu de l'établissement, un nouveau code de sécurité est "
        "envoyé au %(phone)s. Le SMS peut mettre quelques minutes à arriver. %(limit)s"
    ) % {"phone": masked_phone, "limit": message_phone_limit()}
