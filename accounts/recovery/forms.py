"""Forms of « Identifiant oublié ? » and « Mot de passe oublié ? »: parse what people type,
say in French what is wrong and how to fix it (EduConnectForm, DSFR field snippets)."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.codes import LENGTH as CODE_LENGTH
from core.forms import EduConnectForm, EmailAddressField, FrenchMobileNumberField, PersonNameField
from core.i18n import lazy_interpolate

from ..forms import IDENTIFIER_HINT
from ..identifiers import identifier_well_formed
from ..models import Account
from ..password_policy import (
    ERROR_CONFIRMATION_REQUIRED,
    ERROR_MISMATCH,
    ERROR_REQUIRED,
    NewPasswordField,
    password_errors,
)
from .flows import Channel
from .services import identifier_clean

IDENTIFIER_MAX_LENGTH = 100
# What a phone number typed looks like once its separators are dropped: « 06 12 34 56 78 »,
# « +262 692 12 34 56 », « 0033612345678 ».
_PHONE_TYPED = re.compile(r"\+?[0-9]{8,15}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")

ERROR_IDENTIFIER_EMAIL = _(
    "Vous avez saisi une adresse mail : saisissez votre identifiant ÉduConnect, au format "
    "p.nomXX, par exemple p.durand12. Vous ne le connaissez plus ? Suivez le lien "
    "« Identifiant oublié ? » ci-dessous : il vous est envoyé par mail ou par SMS.")
ERROR_IDENTIFIER_PHONE = _(
    "Vous avez saisi un numéro de téléphone : saisissez votre identifiant ÉduConnect, au "
    "format p.nomXX, par exemple p.durand12. Vous ne le connaissez plus ? Suivez le lien "
    "« Identifiant oublié ? » ci-dessous : il vous est envoyé par SMS ou par mail.")
ERROR_IDENTIFIER_FORMAT = _(
    "L'identifiant saisi n'est pas au format p.nomXX : l'initiale du prénom, un point, le "
    "nom sans accent ni espace, puis des chiffres, par exemple p.durand12. Saisissez-le tel "
    "qu'il figure sur la lettre de l'établissement ou dans le SMS reçu à l'activation.")


def _text(label, *, required_message, autocomplete: str, max_length: int = 100,
          help_text="", **attrs) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, help_text=help_text,
        error_messages={
            "required": required_message,
            "max_length": lazy_interpolate(
                _("Ce champ ne doit pas dépasser %(max_length)s caractères."),
                max_length=max_length,
            ),
        },
        widget=forms.TextInput(attrs={"autocomplete": autocomplete, "spellcheck": "false",
                                      **attrs}),
    )


# --- « Identifiant oublié ? » ------------------------------------------------------------


class IdentifierBySmsForm(EduConnectForm):
    """The names are checked like activation's (core.forms.PersonNameField), on what was
    typed only, before any lookup."""

    last_name = PersonNameField(
        kind="last_name", label=_("Nom"), autocomplete="family-name",
        max_length=Account._meta.get_field("last_name").max_length,
        no_letter=_("Votre nom doit contenir au moins une lettre. Saisissez-le tel qu'il "
                    "figure sur votre compte."),
    )
    first_name = PersonNameField(
        kind="first_name", label=_("Prénom"), autocomplete="given-name",
        max_length=Account._meta.get_field("first_name").max_length,
        no_letter=_("Votre prénom doit contenir au moins une lettre. Saisissez-le tel qu'il "
                    "figure sur votre compte."),
    )
    phone = FrenchMobileNumberField(
        label=_("N° de téléphone portable"),
        help_text=_(
            "Le numéro de votre compte ÉduConnect, par exemple 06 12 34 56 78. Pour les "
            "numéros hors France métropolitaine, indiquez l'indicatif, par exemple "
            "+262 692 12 34 56."
        ),
        max_length=30,
        error_messages={"required": _("Saisissez votre numéro de téléphone portable.")},
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel",
                                      "inputmode": "tel"}),
    )



class IdentifierByEmailForm(EduConnectForm):
    email = EmailAddressField(
        label=_("Adresse mail"),
        help_text=_("L'adresse mail validée de votre compte, par exemple nom@exemple.fr"),
        error_messages={
            "required": _("Saisissez votre adresse mail."),
            "invalid": _(
                "Cette adresse mail n'est pas valide. Saisissez une adresse au format "
                "nom@exemple.fr."
            ),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false",
                                       "autocapitalize": "none"}),
    )


# --- « Mot de passe oublié ? » -----------------------------------------------------------


class RecoveryIdentifierForm(EduConnectForm):
    identifier = _text(
        _("Identifiant"), required_message=_("Saisissez votre identifiant, au format p.nomXX."),
        autocomplete="username", max_length=IDENTIFIER_MAX_LENGTH,
        help_text=IDENTIFIER_HINT, autocapitalize="none",
        autocorrect="off",
    )

    def clean_identifier(self):
        """Refuse, on the field, what cannot be any family or pupil identifier
        (accounts.identifiers.identifier_well_formed), saying whether it looks like an
        e-mail address (an « @ ») or a phone number (8 to 15 digits once spaces, dots,
        hyphens and brackets are dropped). Purely syntactic, read before any lookup: an
        account and no account are refused alike, and no flow is started. Returns the
        identifier as typed (the service cleans it again)."""
        typed = self.cleaned_data["identifier"]
        cleaned = identifier_clean(typed)
        if identifier_well_formed(cleaned):
            return typed
        if "@" in cleaned:
            raise ValidationError(ERROR_IDENTIFIER_EMAIL, code="email")
        if _PHONE_TYPED.fullmatch(_PHONE_SEPARATORS.sub("", cleaned)):
            raise ValidationError(ERROR_IDENTIFIER_PHONE, code="phone")
        raise ValidationError(ERROR_IDENTIFIER_FORMAT, code="format")


CHANNEL_CHOICES = [(Channel.SMS, _("Par SMS")), (Channel.EMAIL, _("Par mail"))]


class ChannelForm(EduConnectForm):
    """The radio buttons of the channel page; `labels` gives each choice's text (with its
    mask) for the choices offered (a pupil: the e-mail only), `legend` the question."""

    channel = forms.ChoiceField(
        label=_("Je choisis comment recevoir mon code ou mon lien"),
        choices=CHANNEL_CHOICES,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez de recevoir un code par SMS ou un lien par mail."),
            "invalid_choice": _("Choisissez de recevoir un code par SMS ou un lien par mail."),
        },
    )

    def __init__(self, *args, labels: dict[str, str], legend: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(value, labels[value]) for value in labels]
        if legend:
            # The bound field may exist already (DsfrBaseForm's set-up): both carry it.
            self.fields["channel"].label = self["channel"].label = legend
        if len(labels) == 1:
            self.fields["channel"].initial = next(iter(labels))


class CodeForm(EduConnectForm):
    code = forms.CharField(
        label=_("Code de sécurité"),
        help_text=format_lazy(_("{length} caractères, lettres et chiffres, par exemple K7PMX4"),
                              length=CODE_LENGTH),
        max_length=20,
        error_messages={
            "required": _("Saisissez le code de sécurité reçu par SMS."),
            "max_length": format_lazy(
                _("Le code de sécurité comporte {length} caractères, par exemple K7PMX4."),
                length=CODE_LENGTH,
            ),
        },
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                      "autocapitalize": "characters", "spellcheck": "false"}),
    )


class NewPasswordForm(EduConnectForm):
    """The new password and its confirmation, under the published policy (the account's
    names and identifier may not be inside). templates/accounts/recovery/password.html
    writes the DSFR password markup with the live checklist; each input points at its
    messages group (`<id>_error`)."""

    password = NewPasswordField(label=_("Nouveau mot de passe"), required_message=ERROR_REQUIRED)
    password_confirm = NewPasswordField(label=_("Confirmation du nouveau mot de passe"),
                                        required_message=ERROR_CONFIRMATION_REQUIRED)

    def __init__(self, *args, first_name: str = "", last_name: str = "", identifier: str = "",
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.personal = {"first_name": first_name, "last_name": last_name,
                         "identifier": identifier}
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"

    def clean_password(self):
        password = self.cleaned_data["password"]
        errors = password_errors(password, **self.personal)
        if errors:
            raise ValidationError(errors)
        return password

    def clean(self):
        cleaned = super().clean()
        password, confirmation = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirmation is not None and password != confirmation:
            self.add_error("password_confirm", ERROR_MISMATCH)
        return cleaned
