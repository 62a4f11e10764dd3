"""Forms of « Mon compte »: parse what people type, say in French what is wrong and how to
fix it. EduConnectForm (core.forms): text fields render through the DSFR snippets; the
password fields through their own markup (templates/components/new_password.html
and components/password_field.html), which each input's aria-describedby points at."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.codes import LENGTH as CODE_LENGTH
from core.forms import (
    EMAIL_MAX_LENGTH,
    EMAIL_TOO_LONG,
    EduConnectForm,
    EmailAddressField,
    FrenchMobileNumberField,
)
from core.i18n import lazy_interpolate

from ..password_policy import (
    ERROR_CONFIRMATION_REQUIRED,
    ERROR_MISMATCH,
    ERROR_REQUIRED,
    MAX_LENGTH,
    NewPasswordField,
    password_errors,
)

PASSWORD_ATTRS = {
    "class": "fr-password__input fr-input", "autocapitalize": "off", "autocorrect": "off",
    "spellcheck": "false",
}
ERROR_PASSWORD_TOO_LONG = lazy_interpolate(
    _("Le mot de passe ne doit pas dépasser %(max_length)s caractères."), max_length=MAX_LENGTH
)


def _password_field(label, *, required_message, autocomplete: str) -> forms.CharField:
    return forms.CharField(
        label=label, strip=False, max_length=MAX_LENGTH,
        error_messages={"required": required_message, "max_length": ERROR_PASSWORD_TOO_LONG},
        widget=forms.PasswordInput(attrs={**PASSWORD_ATTRS, "autocomplete": autocomplete}),
    )


class CurrentPasswordForm(EduConnectForm):
    """The re-authentication before a change of e-mail address or phone number."""

    password = _password_field(
        _("Mot de passe"), required_message=_("Saisissez votre mot de passe actuel."),
        autocomplete="current-password",
    )


class PasswordChangeForm(EduConnectForm):
    """« Modifier mon mot de passe » (FAQ §10): current password, new one, confirmation. The
    new one follows the published policy (accounts.password_policy) with the account's
    names and identifier; the current one is checked by the service (it is limited)."""

    current_password = _password_field(
        _("Mot de passe actuel"), required_message=_("Saisissez votre mot de passe actuel."),
        autocomplete="current-password",
    )
    password = NewPasswordField(label=_("Nouveau mot de passe"), required_message=ERROR_REQUIRED)
    password_confirm = NewPasswordField(label=_("Confirmation du nouveau mot de passe"),
                                        required_message=ERROR_CONFIRMATION_REQUIRED)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        for name in ("password", "password_confirm"):
            # The messages group (with the rule checklist for the password) always exists.
            self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"

    def clean_password(self):
        password = self.cleaned_data["password"]
        errors = password_errors(password, first_name=self.account.first_name,
                                 last_name=self.account.last_name,
                                 identifier=self.account.identifier)
        if errors:
            raise ValidationError(errors)
        return password

    def clean(self):
        cleaned = super().clean()
        password, confirmation = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirmation is not None and password != confirmation:
            self.add_error("password_confirm", ERROR_MISMATCH)
        return cleaned


class PhoneForm(EduConnectForm):
    # Cleaned value: the E.164 string.
    phone = FrenchMobileNumberField(
        label=_("Nouveau numéro de téléphone portable"),
        help_text=_(
            "Par exemple 06 12 34 56 78. Pour les numéros hors France métropolitaine, merci "
            "d'indiquer l'indicatif régional, par exemple +262 692 12 34 56."
        ),
        error_messages={"required": _("Saisissez votre nouveau numéro de téléphone portable.")},
        widget=forms.TextInput(attrs={"class": "fr-input", "type": "tel", "autocomplete": "tel",
                                      "inputmode": "tel"}),
    )


class CodeForm(EduConnectForm):
    code = forms.CharField(
        label=_("Code de sécurité"),
        help_text=lazy_interpolate(
            _("%(length)s caractères, lettres et chiffres, par exemple K7PMX4"),
            length=CODE_LENGTH,
        ),
        max_length=20,
        error_messages={
            "required": _("Saisissez le code de sécurité reçu par SMS."),
            "max_length": lazy_interpolate(
                _("Le code de sécurité comporte %(length)s caractères, par exemple K7PMX4."),
                length=CODE_LENGTH,
            ),
        },
        widget=forms.TextInput(attrs={"class": "fr-input", "autocomplete": "one-time-code",
                                      "autocapitalize": "characters", "spellcheck": "false"}),
    )




class EmailChangeForm(EduConnectForm):
    """« Modifier mon adresse mail » (FAQ §11): the new address and its confirmation."""

    email = EmailAddressField(
        label=_("Nouvelle adresse mail"),
        help_text=_("Par exemple prenom.nom@exemple.fr"),
        error_messages={"required": _("Saisissez votre nouvelle adresse mail.")},
        widget=forms.EmailInput(attrs={"class": "fr-input", "autocomplete": "email",
                                       "spellcheck": "false", "autocapitalize": "none"}),
    )
    email_confirm = forms.CharField(
        label=_("Confirmation de la nouvelle adresse mail"),
        max_length=EMAIL_MAX_LENGTH,
        error_messages={
            "required": _("Saisissez une deuxième fois votre nouvelle adresse mail pour la "
                          "confirmer."),
            "max_length": EMAIL_TOO_LONG,
        },
        widget=forms.EmailInput(attrs={"class": "fr-input", "autocomplete": "email",
                                       "spellcheck": "false", "autocapitalize": "none"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # As for the address (core.forms.EmailAddressField): no maxlength that would cut a
        # pasted confirmation silently and make it « ne correspond pas » instead of too long.
        self.fields["email_confirm"].widget.attrs.pop("maxlength", None)

    def clean_email(self):
        # The domain is case-insensitive everywhere; the local part in practice: stored
        # lowercased, as the helpdesk searches it.
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        email, confirmation = cleaned.get("email"), cleaned.get("email_confirm")
        if email and confirmation is not None and confirmation.strip().lower() != email:
            self.add_error("email_confirm", _(
                "La confirmation ne correspond pas à l'adresse mail saisie. Saisissez deux fois "
                "la même adresse."
            ))
        return cleaned
