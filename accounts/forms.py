"""Sign-in form: one generic refusal, equal cost, attempt limits shared through Redis.

Like Django's AuthenticationForm, the checks run in `clean()`; the view only logs the
account in. What an attacker can observe is the same whether the identifier exists or not:
the same message, the same status, the same rate-limit hits (accounts.limits), one Argon2
computation (the backend hashes even for an unknown identifier), and no Argon2 computation
at all once a limit is reached.
"""

import logging
from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from core.forms import EduConnectForm
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.normalization import strip_invisible
from core.ratelimit import wait_text

from .limits import sign_in_attempt_admit, sign_in_failures_clear
from .models import Account, AccountKind

logger = logging.getLogger(__name__)

# Marked here, translated where it is shown (gettext(INVALID_LOGIN_MESSAGE)).
INVALID_LOGIN_MESSAGE = gettext_noop("Identifiant ou mot de passe incorrect.")
IDENTIFIER_MAX_LENGTH = 100
# Argon2 accepts any length; the cap only stops megabyte-long bodies from being hashed.
PASSWORD_MAX_LENGTH = 1024


def throttled_message(retry_after: int) -> str:
    """The refusal once a limit is reached; `retry_after` in seconds (Decision.retry_after)."""
    return gettext(
        "Trop de tentatives de connexion ont échoué. Pour protéger les comptes, la connexion "
        "est suspendue : réessayez dans %(wait)s."
    ) % {"wait": wait_text(retry_after)}


class SignInForm(EduConnectForm):
    identifier = forms.CharField(
        label=gettext_lazy("Identifiant"),
        help_text=gettext_lazy("Identifiant au format p.nomXX"),
        max_length=IDENTIFIER_MAX_LENGTH,
        widget=forms.TextInput(attrs={
            "autocomplete": "username", "autocapitalize": "none", "autocorrect": "off",
            "spellcheck": "false",
        }),
        error_messages={
            "required": gettext_lazy("Saisissez votre identifiant, au format p.nomXX."),
            "max_length": gettext_lazy(
                "Un identifiant ÉduConnect comporte moins de 40 caractères, au format p.nomXX : "
                "vérifiez votre saisie."
            ),
        },
    )
    # Rendered by components/password_field.html: DSFR's password component (show/hide box),
    # which django-dsfr has no snippet for.
    password = forms.CharField(
        label=gettext_lazy("Mot de passe"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={
            "class": "fr-password__input fr-input", "autocomplete": "current-password",
            "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
        }),
        error_messages={
            "required": gettext_lazy("Saisissez votre mot de passe."),
            "max_length": gettext_lazy("Ce mot de passe est trop long : vérifiez votre saisie."),
        },
    )

    def __init__(self, request=None, *, profile: AccountKind, **kwargs):
        self.request = request
        self.profile = profile
        self.account: Account | None = None
        self.throttled = False
        self.retry_after = 0  # seconds, when throttled
        # Work to run once the response has been sent (see SignInView): a refusal must take
        # the same time whether the account exists or not, and journaling it means a commit.
        self.after_response: list[Callable[[], None]] = []
        super().__init__(**kwargs)

    def non_field_errors_concern_fields(self) -> bool:
        # A refusal is about the pair typed; too many attempts is about no field.
        return self.has_error(NON_FIELD_ERRORS, "invalid_login")

    def clean_identifier(self) -> str:
        # Letters print identifiers in capitals (P.NOM12); they are stored in lowercase. A
        # zero-width space copied with it from a message is dropped (issue 16).
        return strip_invisible(self.cleaned_data["identifier"]).strip().lower()

    def clean(self):
        cleaned = super().clean()
        identifier = cleaned.get("identifier")
        password = cleaned.get("password")
        if not identifier or password is None:
            return cleaned  # field errors already say what is missing

        ip = client_ip(self.request) if self.request is not None else ""
        # Counted before the password is checked, atomically: parallel requests cannot all
        # slip under the limit. A successful sign-in clears the identifier's window.
        decision = sign_in_attempt_admit(identifier=identifier, ip=ip)
        if not decision.allowed:
            self.throttled = True
            self.retry_after = decision.retry_after
            raise ValidationError(throttled_message(decision.retry_after), code="throttled")

        account = authenticate(self.request, identifier=identifier, password=password)
        if account is not None and account.kind == self.profile:
            sign_in_failures_clear(identifier=identifier)
            self.account = account
            return cleaned

        self.after_response.append(
            partial(self._journal_failure, identifier, authenticated=account)
        )
        raise ValidationError(gettext(INVALID_LOGIN_MESSAGE), code="invalid_login")

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
