"""The academic assistance form: every field says what is expected and every error names
the field and the fix, in French (the same bad-input rules as everywhere)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import (
    BidiControlValidator,
    EduConnectForm,
    EmailAddressField,
    FrenchMobileNumberField,
    PersonNameField,
)
from core.i18n import lazy_interpolate
from core.normalization import name_key, strip_invisible
from pupils.models import Establishment, is_valid_uai

from .models import MESSAGE_MAX_LENGTH, Category
from .selectors import ESTABLISHMENT_CHOICES_SHOWN, establishments_named


def _too_long(limit: int):
    return lazy_interpolate(_("Ce champ ne doit pas dépasser %(limit)s caractères."),
                            limit=limit)


def _text(label, *, required: bool = True, required_message=None, autocomplete="off",
          max_length=100, help_text=""):
    return forms.CharField(
        label=label, required=required, max_length=max_length, help_text=help_text,
        error_messages={"required": required_message, "max_length": _too_long(max_length)},
        widget=forms.TextInput(attrs={"class": "fr-input", "autocomplete": autocomplete}),
    )


class AssistanceForm(EduConnectForm):
    """Cleaned data: `establishment` (an Establishment), `category`, `last_name`,
    `first_name` (clean_name), `email` (lowercased), `mobile_phone` (E.164 or ""),
    `pupil_name`, `message` (invisible characters removed).

    `schools`: a signed-in guardian's children's schools; the school is then chosen among
    them instead of being typed."""

    school = _text(
        _("École ou établissement de votre enfant"),
        required_message=_("Saisissez le nom ou le code UAI de l'école ou de l'établissement "
                           "de votre enfant."),
        max_length=200,
        help_text=_("Son nom (par exemple Collège Victor-Hugo) ou son code UAI, 7 chiffres "
                    "et une lettre, inscrit sur les courriers de l'établissement (par exemple "
                    "0750001A)."),
    )
    category = forms.ChoiceField(
        label=_("Objet de votre demande"), choices=Category.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez l'objet de votre demande."),
                        "invalid_choice": _("Choisissez l'objet de votre demande.")},
    )
    last_name = PersonNameField(kind="last_name", label=_("Votre nom"),
                                autocomplete="family-name")
    first_name = PersonNameField(kind="first_name", label=_("Votre prénom"),
                                 autocomplete="given-name")
    email = EmailAddressField(
        label=_("Votre adresse mail"),
        help_text=_("La réponse de l'assistance vous sera envoyée à cette adresse. Format "
                    "attendu : nom@domaine.fr"),
        error_messages={
            "required": _("Saisissez votre adresse mail : la réponse y sera envoyée."),
            "invalid": _("Saisissez une adresse mail valide, par exemple "
                         "prenom.nom@exemple.fr."),
        },
        widget=forms.EmailInput(attrs={"class": "fr-input", "autocomplete": "email"}),
    )
    mobile_phone = FrenchMobileNumberField(
        label=_("Votre téléphone portable"), required=False,
        help_text=_("Celui que vous avez donné à l'école, par exemple 06 12 34 56 78 ou "
                    "+262 692 12 34 56."),
        widget=forms.TextInput(attrs={"class": "fr-input", "type": "tel", "inputmode": "tel",
                                      "autocomplete": "tel"}),
    )
    pupil_name = PersonNameField(kind="pupil_name", label=_("Nom et prénom de votre enfant"),
                                 required=False, max_length=200)
    message = forms.CharField(
        label=_("Votre message"),
        help_text=lazy_interpolate(
            _("Décrivez votre problème : ce que vous avez fait, le message affiché. N'écrivez "
              "jamais votre mot de passe. %(limit)s caractères au plus."),
            limit=MESSAGE_MAX_LENGTH),
        max_length=MESSAGE_MAX_LENGTH,
        validators=[BidiControlValidator(_("Votre message"))],
        error_messages={"required": _("Écrivez votre message."),
                        "max_length": _too_long(MESSAGE_MAX_LENGTH)},
        widget=forms.Textarea(attrs={"class": "fr-input", "rows": 6}),
    )

    def __init__(self, *args, schools: list[Establishment] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.schools = {school.uai: school for school in schools or []}
        if self.schools:
            self.fields["school"] = forms.ChoiceField(
                label=_("École ou établissement de votre enfant"),
                choices=[(uai, f"{school.name} ({uai})") for uai, school in self.schools.items()],
                error_messages={"required": _("Choisissez l'école ou l'établissement."),
                                "invalid_choice": _("Choisissez l'école ou l'établissement.")},
                widget=forms.Select(attrs={"class": "fr-select"}),
            )
            self._bound_fields_cache.pop("school", None)  # built by DsfrBaseForm already

    def error_summary_items(self) -> list[dict]:
        # A radio group has no single input: its error links to the first choice.
        items = super().error_summary_items()
        for item in items:
            if not item["anchor"] and item["message"] in map(str, self["category"].errors):
                item["anchor"], item["label"] = "id_category_0", self["category"].label
        return items

    def clean_school(self) -> Establishment:
        value = strip_invisible(self.cleaned_data["school"]).strip()
        if self.schools:
            return self.schools[value]
        if is_valid_uai(value.upper()):
            found = Establishment.objects.select_related("academy").filter(
                uai=value.upper()).first()
            if found is None:
                raise ValidationError(_(
                    "Aucun établissement n'a le code UAI %(uai)s. Vérifiez-le sur un courrier "
                    "de l'établissement, ou saisissez son nom.") % {"uai": value.upper()})
            return found
        if len(name_key(value)) < 3:
            raise ValidationError(_("Saisissez au moins 3 lettres du nom de l'établissement, "
                                    "ou son code UAI (par exemple 0750001A)."))
        found = establishments_named(value)
        if not found:
            raise ValidationError(_(
                "Aucun établissement ne porte ce nom. Vérifiez l'orthographe, ou saisissez son "
                "code UAI (7 chiffres et une lettre, par exemple 0750001A)."))
        if len(found) > 1:
            shown = ", ".join(f"{e.name} ({e.uai})" for e in found[:ESTABLISHMENT_CHOICES_SHOWN])
            raise ValidationError(_(
                "Plusieurs établissements portent ce nom : saisissez le code UAI du vôtre "
                "(%(choices)s%(more)s).") % {
                    "choices": shown, "more": "…" if len(found) > ESTABLISHMENT_CHOICES_SHOWN
                    else ""})
        return found[0]

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_message(self) -> str:
        value = strip_invisible(self.cleaned_data["message"]).strip()
        if not value:
            raise ValidationError(_("Écrivez votre message."))
        return value
