"""Forms of the activation steps: parse what people type, say in French what is wrong.

Templates write the DSFR markup themselves (templates/activation/_input.html); the forms
only set the input attributes (class, autocomplete, inputmode) and, once validated, link each
field to its error message (aria-describedby, aria-invalid).
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from accounts.password_policy import (
    ERROR_CONFIRMATION_REQUIRED,
    ERROR_MISMATCH,
    ERROR_REQUIRED,
    MAX_LENGTH,
    password_errors,
)
from core.codes import LENGTH as CODE_LENGTH
from core.forms import FrenchMobileNumberField
from core.normalization import clean_name, name_key
from pupils.validators import BirthDateError, birth_date_check, birth_date_from_parts

from .selectors import PupilLink


class AccessibleForm(forms.Form):
    """Links every field to its error messages, for screen readers (RGAA 11.10, 11.11)."""

    def link_errors(self) -> None:
        for name, field in self.fields.items():
            bound = self[name]
            described_by = [f"{bound.auto_id}_helptext"] if field.help_text else []
            if self.is_bound and self.errors.get(name):
                field.widget.attrs["aria-invalid"] = "true"
                described_by.append(f"{bound.auto_id}-messages")
            else:
                field.widget.attrs.pop("aria-invalid", None)
            if described_by:
                field.widget.attrs["aria-describedby"] = " ".join(described_by)
            else:
                field.widget.attrs.pop("aria-describedby", None)

    def error_summary(self) -> list[dict]:
        """Errors in page order, each with the id of the field it is about."""
        summary = [{"anchor": "", "label": "", "message": e} for e in self.non_field_errors()]
        for name in self.fields:
            for message in self.errors.get(name, []):
                bound = self[name]
                summary.append(
                    {"anchor": bound.id_for_label, "label": bound.label, "message": message}
                )
        return summary


def _text(label: str, *, required_message: str, autocomplete: str, max_length: int = 100,
          **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        error_messages={
            "required": required_message,
            "max_length": f"Ce champ ne doit pas dépasser {max_length} caractères.",
        },
        widget=forms.TextInput(
            attrs={"class": "fr-input", "autocomplete": autocomplete, "spellcheck": "false",
                   **attrs}
        ),
    )


# --- Step 1 ------------------------------------------------------------------------------


class IdentityForm(AccessibleForm):
    last_name = _text("Nom", required_message="Saisissez votre nom.", autocomplete="family-name")
    first_name = _text(
        "Prénom", required_message="Saisissez votre prénom.", autocomplete="given-name"
    )
    # Cleaned value: the E.164 string. No school is known yet: a national form is read in
    # metropolitan France first, then in each overseas region (core.forms).
    phone = FrenchMobileNumberField(
        label="N° de téléphone portable",
        help_text=(
            "Par exemple 06 12 34 56 78. Pour les numéros hors France métropolitaine, merci "
            "d'indiquer l'indicatif régional, par exemple +262 692 12 34 56."
        ),
        max_length=30,
        error_messages={"required": "Saisissez votre numéro de téléphone portable."},
        widget=forms.TextInput(
            attrs={"class": "fr-input", "type": "tel", "autocomplete": "tel",
                   "inputmode": "tel"}
        ),
    )

    def _clean_person_name(self, name: str, what: str) -> str:
        value = clean_name(self.cleaned_data[name])
        if not name_key(value):
            raise ValidationError(
                f"Votre {what} doit contenir au moins une lettre. Saisissez-le tel qu'il est "
                "connu de l'école ou de l'établissement."
            )
        return value

    def clean_last_name(self):
        return self._clean_person_name("last_name", "nom")

    def clean_first_name(self):
        return self._clean_person_name("first_name", "prénom")


# --- Step 2 ------------------------------------------------------------------------------


class CodeForm(AccessibleForm):
    code = forms.CharField(
        label=gettext_lazy("Code de sécurité"),
        help_text=format_lazy(
            gettext_lazy("{length} caractères, lettres et chiffres, par exemple K7PMX4"),
            length=CODE_LENGTH,
        ),
        max_length=20,
        error_messages={
            "required": gettext_lazy("Saisissez le code de sécurité reçu par SMS."),
            "max_length": format_lazy(
                gettext_lazy("Le code de sécurité comporte {length} caractères, par exemple "
                             "K7PMX4."),
                length=CODE_LENGTH,
            ),
        },
        widget=forms.TextInput(
            attrs={"class": "fr-input", "autocomplete": "one-time-code",
                   "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


# --- Step 3 ------------------------------------------------------------------------------

LINK_YES = "oui"
LINK_NO = "non"
LINK_CHOICES = [
    (LINK_YES, "Je suis le représentant légal de cet élève"),
    (LINK_NO, "Je ne suis pas le représentant légal de cet élève"),
]
MESSAGE_LINK_REQUIRED = "Indiquez si vous êtes le représentant légal de cet élève."
MESSAGE_DATE_REQUIRED = (
    "Saisissez la date de naissance de l'élève : jour, mois et année, par exemple 17 05 2014."
)
MESSAGE_DATE_FORMAT = (
    "Saisissez la date de naissance en chiffres : le jour (JJ), le mois (MM) et l'année sur "
    "4 chiffres (AAAA), par exemple 17 05 2014."
)
MESSAGE_DATE_IMPOSSIBLE = (
    "Cette date n'existe pas. Vérifiez le jour, le mois et l'année, par exemple 17 05 2014."
)
MESSAGE_DATE_FUTURE = "La date de naissance ne peut pas être dans le futur. Vérifiez l'année."
MESSAGE_DATE_YEAR = (
    "Cette date ne peut pas être celle de la naissance d'un élève. Vérifiez l'année, par "
    "exemple 17 05 2014."
)
DATE_MESSAGES = {
    "format": MESSAGE_DATE_FORMAT,
    "impossible": MESSAGE_DATE_IMPOSSIBLE,
    "future": MESSAGE_DATE_FUTURE,
    "too_recent": MESSAGE_DATE_YEAR,
    "too_old": MESSAGE_DATE_YEAR,
}


class PupilRow:
    """What the template needs for one pupil: its fields and its two error slots."""

    def __init__(self, form: "PupilsForm", index: int, link: PupilLink):
        self.index = index
        self.link = link
        self.prefix = f"eleve{index}"
        self.link_field = form[f"{self.prefix}_lien"]
        self.day = form[f"{self.prefix}_jour"]
        self.month = form[f"{self.prefix}_mois"]
        self.year = form[f"{self.prefix}_annee"]

    @property
    def link_errors(self):
        return self.link_field.errors

    @property
    def date_errors(self):
        # Date errors are filed on the day field and shown once, under the date group.
        return self.day.errors


class PupilsForm(AccessibleForm):
    """One radio group and one date (JJ MM AAAA) per pupil; fields named by position."""

    def __init__(self, *args, links: list[PupilLink], **kwargs):
        super().__init__(*args, **kwargs)
        self.links = links
        for index, link in enumerate(links, start=1):
            prefix = f"eleve{index}"
            self.fields[f"{prefix}_lien"] = forms.ChoiceField(
                label=f"Votre lien avec {link.first_name}",
                choices=LINK_CHOICES,
                widget=forms.RadioSelect,
                error_messages={"required": MESSAGE_LINK_REQUIRED,
                                "invalid_choice": MESSAGE_LINK_REQUIRED},
            )
            for part, label, size, placeholder in (
                ("jour", "Jour", 2, "JJ"), ("mois", "Mois", 2, "MM"), ("annee", "Année", 4, "AAAA")
            ):
                # Lengths are checked in clean(): an over-long entry gets the date message.
                self.fields[f"{prefix}_{part}"] = forms.CharField(
                    label=label, required=False,
                    widget=forms.TextInput(attrs={
                        "class": "fr-input", "inputmode": "numeric", "autocomplete": "off",
                        "maxlength": size, "placeholder": placeholder,
                        "pattern": "[0-9]*",
                    }),
                )

    @property
    def rows(self) -> list[PupilRow]:
        return [PupilRow(self, i, link) for i, link in enumerate(self.links, start=1)]

    def clean(self):
        cleaned = super().clean()
        self.answers = []
        for row in self.rows:
            choice = cleaned.get(f"{row.prefix}_lien")
            if choice is None:
                continue
            if choice == LINK_NO:
                self.answers.append((row.link, False, None))
                continue
            birth_date = self._birth_date(row.prefix, cleaned)
            if birth_date is not None:
                self.answers.append((row.link, True, birth_date))
        return cleaned

    def _birth_date(self, prefix: str, cleaned: dict) -> datetime.date | None:
        parts = [(cleaned.get(f"{prefix}_{p}") or "").strip() for p in ("jour", "mois", "annee")]
        day_field = f"{prefix}_jour"
        if not any(parts):
            self.add_error(day_field, MESSAGE_DATE_REQUIRED)
            return None
        # pupils.validators reads the date (an impossible date is a format error, never a
        # wrong date) and holds the bounds every stored birth date obeys: a date outside
        # them cannot be the child's, so it is refused without counting as a wrong date.
        try:
            value = birth_date_from_parts(*parts)
            birth_date_check(value)
        except BirthDateError as error:
            self.add_error(day_field, DATE_MESSAGES[error.code])
            return None
        return value

    def link_errors(self) -> None:
        super().link_errors()
        # The three date inputs share the messages of the date group.
        for row in self.rows:
            for bound in (row.month, row.year):
                if row.date_errors:
                    bound.field.widget.attrs["aria-invalid"] = "true"
                    bound.field.widget.attrs["aria-describedby"] = f"{row.prefix}-date-messages"
            if row.date_errors:
                row.day.field.widget.attrs["aria-describedby"] = f"{row.prefix}-date-messages"
            # Radio inputs are described through their fieldset, not one by one.
            row.link_field.field.widget.attrs.pop("aria-describedby", None)
            row.link_field.field.widget.attrs.pop("aria-invalid", None)

    def error_summary(self) -> list[dict]:
        summary = [{"anchor": "", "label": "", "message": e} for e in self.non_field_errors()]
        for row in self.rows:
            name = row.link.first_name
            for message in row.link_errors:
                summary.append({"anchor": f"{row.link_field.auto_id}_0",
                                "label": f"{name}, lien", "message": message})
            for message in row.date_errors:
                summary.append({"anchor": row.day.id_for_label,
                                "label": f"{name}, date de naissance", "message": message})
        return summary


# --- Step 4 ------------------------------------------------------------------------------


class PasswordForm(AccessibleForm):
    password = forms.CharField(
        label="Mot de passe", strip=False, max_length=MAX_LENGTH,
        error_messages={"required": ERROR_REQUIRED},
        widget=forms.PasswordInput(attrs={
            "class": "fr-password__input fr-input", "autocomplete": "new-password",
            "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
        }),
    )
    password_confirm = forms.CharField(
        label="Confirmation du mot de passe", strip=False, max_length=MAX_LENGTH,
        error_messages={"required": ERROR_CONFIRMATION_REQUIRED},
        widget=forms.PasswordInput(attrs={
            "class": "fr-password__input fr-input", "autocomplete": "new-password",
            "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
        }),
    )

    def __init__(self, *args, first_name: str = "", last_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.first_name = first_name
        self.last_name = last_name
        for field in self.fields.values():
            field.error_messages["max_length"] = (
                f"Le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères."
            )

    def clean_password(self):
        password = self.cleaned_data["password"]
        errors = password_errors(password, first_name=self.first_name, last_name=self.last_name)
        if errors:
            raise ValidationError(errors)
        return password

    def clean(self):
        cleaned = super().clean()
        password, confirmation = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirmation is not None and password != confirmation:
            self.add_error("password_confirm", ERROR_MISMATCH)
        return cleaned

    def link_errors(self) -> None:
        # The password's messages group always exists (the checklist): always described by it.
        super().link_errors()
        for name in self.fields:
            self.fields[name].widget.attrs["aria-describedby"] = f"{self[name].auto_id}-messages"
