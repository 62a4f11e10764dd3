"""Sign-in form: one generic refusal, equal cost, attempt limits shared through the cache.

Like Django's AuthenticationForm, the checks run in `clean()`; the view only logs the
account in. What an attacker can observe is the same whether the identifier exists or not:
the same message, the same status, one Argon2 computation (the backend hashes even for an
unknown identifier), and no Argon2 computation at all once a limit is reached.
"""

import logging
import math
from collections.abc import Callable
from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core import cache_counters as ratelimit
from core.forms import EduConnectForm
from core.http import client_ip
from core.journal import EventKind, journal_record

from .models import Account, AccountKind

logger = logging.getLogger(__name__)

# Cache scopes of the attempt counters (core.ratelimit hashes the subjects).
FAILURES_PER_IDENTIFIER = "login-identifier"
FAILURES_PER_IP = "login-ip"

INVALID_LOGIN_MESSAGE = _("Identifiant ou mot de passe incorrect.")
IDENTIFIER_MAX_LENGTH = 100
# Argon2 accepts any length; the cap only stops megabyte-long bodies from being hashed.
PASSWORD_MAX_LENGTH = 1024


def throttled_message() -> str:
    minutes = max(1, math.ceil(settings.LOGIN_FAILURE_WINDOW_SECONDS / 60))
    return ngettext(
        "Trop de tentatives de connexion ont échoué. Pour protéger les comptes, la connexion "
        "est suspendue : réessayez dans %(minutes)s minute.",
        "Trop de tentatives de connexion ont échoué. Pour protéger les comptes, la connexion "
        "est suspendue : réessayez dans %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}


class SignInForm(EduConnectForm):
    identifier = forms.CharField(
        label=_("Identifiant"),
        help_text=_("Identifiant au format p.nomXX"),
        max_length=IDENTIFIER_MAX_LENGTH,
        widget=forms.TextInput(attrs={
            "autocomplete": "username", "autocapitalize": "none", "autocorrect": "off",
            "spellcheck": "false",
        }),
        error_messages={
            "required": _("Saisissez votre identifiant, au format p.nomXX."),
            "max_length": _(
                "Un identifiant ÉduConnect comporte moins de 40 caractères, au format p.nomXX : "
                "vérifiez votre saisie."
            ),
        },
    )
    # Rendered by components/password_field.html: DSFR's password component (show/hide box),
    # which django-dsfr has no snippet for.
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={
            "class": "fr-password__input fr-input", "autocomplete": "current-password",
            "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
        }),
        error_messages={
            "required": _("Saisissez votre mot de passe."),
            "max_length": _("Ce mot de passe est trop long : vérifiez votre saisie."),
        },
    )

    def __init__(self, request=None, *, profile: AccountKind, **kwargs):
        self.request = request
        self.profile = profile
        self.account: Account | None = None
        self.throttled = False
        # Work to run once the response has been sent (see SignInView): a refusal must take
        # the same time whether the account exists or not, and journaling it means a commit.
        self.after_response: list[Callable[[], None]] = []
        super().__init__(**kwargs)

    def non_field_errors_concern_fields(self) -> bool:
        # A refusal is about the pair typed; too many attempts is about no field.
        return self.has_error(NON_FIELD_ERRORS, "invalid_login")

    def clean_identifier(self) -> str:
        # Letters print identifiers in capitals (P.NOM12); they are stored in lowercase.
        return self.cleaned_data["identifier"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        identifier = cleaned.get("identifier")
        password = cleaned.get("password")
        if not identifier or password is None:
            return cleaned  # field errors already say what is missing

        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        ip = client_ip(self.request) if self.request is not None else ""
        # Counted before the password is checked, so that parallel requests cannot all slip
        # under the limit; a successful sign-in clears it again.
        attempts = ratelimit.hit(FAILURES_PER_IDENTIFIER, identifier, window_seconds=window)
        if attempts > settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER or (
            ip and ratelimit.exceeded(FAILURES_PER_IP, ip, limit=settings.LOGIN_MAX_FAILURES_PER_IP)
        ):
            self.throttled = True
            if attempts == settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER + 1:
                logger.warning("Sign-in attempts limit reached for one identifier (ip=%s)", ip)
            raise ValidationError(throttled_message(), code="throttled")

        account = authenticate(self.request, identifier=identifier, password=password)
        if account is not None and account.kind == self.profile:
            ratelimit.reset(FAILURES_PER_IDENTIFIER, identifier)
            self.account = account
            return cleaned

        if ip:
            ratelimit.hit(FAILURES_PER_IP, ip, window_seconds=window)
        self.after_response.append(
            partial(self._journal_failure, identifier, authenticated=account)
        )
        raise ValidationError(INVALID_LOGIN_MESSAGE, code="invalid_login")

    def _journal_failure(self, identifier: str, *, authenticated: Account | None) -> None:
        """Journal a refusal when the account exists; never the password or what was typed.

        Runs after the response is sent: the lookup and the commit it costs for an existing
        account (about 4 ms on PostgreSQL, measured) would otherwise tell it exists."""
        account = authenticated or Account.objects.filter(identifier=identifier).first()
        if account is None:
            return
        if authenticated is not None:
            reason = "staff_account" if account.kind == AccountKind.STAFF else "wrong_profile"
        elif not account.is_active:
            # The backend refuses locked and closed accounts without saying whether the
            # password was right; checking it again would cost a second hash for them only.
            reason = f"account_{account.state}"
        else:
            reason = "wrong_password"
        journal_record(
            EventKind.LOGIN_FAILED, request=self.request, account=account, reason=reason,
            profile=str(self.profile),
        )

    def get_user(self) -> Account | None:
        return self.account
