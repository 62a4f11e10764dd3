"""Forms of « Mes enfants »: parse what people type, say in French what is wrong and how to
fix it. The code and the children's birth dates are the SMS activation's forms
(activation.forms.CodeForm, PupilsForm)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import IDENTIFIER_MAX_LENGTH, PASSWORD_MAX_LENGTH
from core.forms import EduConnectForm, FrenchMobileNumberField
from core.normalization import strip_invisible


class MergeForm(EduConnectForm):
    """« Ajouter des enfants depuis un autre compte »: the other account's identifier and
    password (or provisional password); checked by families.services.accounts_merge_prove,
    then confirmed on the next page (families.views.merge_confirm)."""

    identifier = forms.CharField(
        label=_("Identifiant de l'autre compte"),
        help_text=_("Identifiant au format p.nomXX, par exemple p.martin12. Majuscules et "
                    "minuscules sont acceptées."),
        max_length=IDENTIFIER_MAX_LENGTH,
        widget=forms.TextInput(attrs={
            "class": "fr-input", "autocomplete": "off", "autocapitalize": "none",
            "autocorrect": "off", "spellcheck": "false",
        }),
        error_messages={
            "required": _("Saisissez l'identifiant de l'autre compte, au format p.nomXX."),
            "max_length": _("Un identifiant ÉduConnect comporte moins de 40 caractères, au "
                            "format p.nomXX : vérifiez votre saisie."),
        },
    )
    password = forms.CharField(
        label=_("Mot de passe de l'autre compte"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={
            "class": "fr-password__input fr-input", "autocomplete": "off",
            "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
        }),
        error_messages={
            "required": _("Saisissez le mot de passe de l'autre compte (ou son mot de passe "
                          "provisoire)."),
            "max_length": _("Ce mot de passe est trop long : vérifiez votre saisie."),
        },
    )

    def clean_identifier(self) -> str:
        return strip_invisible(self.cleaned_data["identifier"]).strip().lower()


class ChildNumberForm(EduConnectForm):
    # Cleaned value: the E.164 string.
    phone = FrenchMobileNumberField(
        label=_("Numéro de téléphone portable connu de l'établissement"),
        help_text=_(
            "Le numéro que vous avez donné à l'école ou à l'établissement de cet enfant, par "
            "exemple 06 12 34 56 78. Hors de France métropolitaine, indiquez l'indicatif, par "
            "exemple +262 692 12 34 56."
        ),
        error_messages={"required": _(
            "Saisissez le numéro de téléphone portable que l'établissement de l'enfant connaît."
        )},
        widget=forms.TextInput(attrs={"class": "fr-input", "type": "tel", "autocomplete": "tel",
                                      "inputmode": "tel"}),
    )
