"""The words of the verification-code process (core.codes), shared by every flow that sends a
code by SMS: activation, « Mot de passe oublié ? », the phone change of « Mon compte ».

Each flow's own messages module re-exports these and adds what only it says (how to start
again, its limits). Functions, not constants: each is translated in the language of the
request.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import codes


def assistance_text() -> str:
    """« l'assistance au 0 809 54 06 06 (prix d'un appel local) ou sur … », to end a message
    that leaves the person nothing else to try (EDUCONNECT_ASSISTANCE_* settings)."""
    return _("l'assistance au %(phone)s (prix d'un appel local) ou sur %(site)s") % {
        "phone": settings.EDUCONNECT_ASSISTANCE_PHONE,
        "site": settings.EDUCONNECT_ASSISTANCE_URL.removeprefix("https://"),
    }


def message_code_format() -> str:
    """What a code looks like, when what was typed cannot be one."""
    return _(
        "Le code de sécurité comporte %(length)s caractères, lettres et chiffres, par exemple "
        "K7PMX4 ; il ne contient jamais 0, 1, I, L ni O. Saisissez le code reçu par SMS."
    ) % {"length": codes.LENGTH}


def message_code_wrong(remaining: int) -> str:
    """A wrong code, and how many tries are left (`remaining` ≥ 1)."""
    tries = ngettext("%(count)s essai", "%(count)s essais", remaining) % {"count": remaining}
    return _(
        "Le code de sécurité saisi est incorrect. Vérifiez le code reçu par SMS et saisissez-le "
        "à nouveau (il vous reste %(tries)s)."
    ) % {"tries": tries}


def message_code_expired(purpose: codes.CodePurpose) -> str:
    """An expired code of `purpose`, with its lifetime in minutes. It names the one resend
    the code page offers once the code has expired (templates/components/code_step.html)."""
    return _(
        "Ce code de sécurité n'est plus valable : il expire %(minutes)s minutes après son "
        "envoi. Demandez un nouveau code avec le bouton « Recevoir un nouveau code »."
    ) % {"minutes": purpose.ttl_minutes}
