"""Forms of the activation steps: parse what people type, say in French what is wrong.

They are EduConnectForm (core.forms): text fields render through the DSFR field snippet
(`{{ form.field.as_field_group }}`), linked to their hint and errors by aria-describedby, and
`{% error_summary form %}` lists the errors. The pupils' step (a radio group and a date in
three inputs per pupil) and the password step (its rule checklist) write their own DSFR
markup; their forms set the links that markup needs.
"""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.password_policy import (
    ERROR_CONFIRMATION_REQUIRED,
    ERROR_MISMATCH,
    ERROR_REQUIRED,
    NewPasswordField,
    password_errors,
)
from core.codes import LENGTH as CODE_LENGTH
from core.forms import (
    BIRTH_DATE_EXAMPLE,
    EduConnectForm,
    FrenchMobileNumberField,
    PersonNameField,
)
from core.i18n import lazy_interpolate
from pupils.models import GuardianRecord
from pupils.validators import BirthDateError, birth_date_check, birth_date_from_fields

from .selectors import PupilLink


def _text(label, *, required_message, autocomplete: str, max_length: int = 100,
          **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        error_messages={
            "required": required_message,
            "max_length": lazy_interpolate(
                _("Ce champ ne doit pas dépasser %(max_length)s caractères."),
                max_length=max_length,
            ),
        },
        widget=forms.TextInput(
            attrs={"class": "fr-input", "autocomplete": autocomplete, "spellcheck": "false",
                   **attrs}
        ),
    )


# --- Step 1 ------------------------------------------------------------------------------


class IdentityForm(EduConnectForm):
    """Step 1: the names and the phone a school recorded. Every check reads only what was
    typed (core.forms.PersonNameField: the length of GuardianRecord's columns, the
    characters of a name): a refused name costs the same whoever typed it, before any
    lookup."""

    last_name = PersonNameField(
        kind="last_name", label=_("Nom"), autocomplete="family-name",
        max_length=GuardianRecord._meta.get_field("last_name").max_length,
        no_letter=_("Votre nom doit contenir au moins une lettre. Saisissez-le tel qu'il est "
                    "connu de l'école ou de l'établissement."),
    )
    first_name = PersonNameField(
        kind="first_name", label=_("Prénom"), autocomplete="given-name",
        max_length=GuardianRecord._meta.get_field("first_name").max_length,
        no_letter=_("Votre prénom doit contenir au moins une lettre. Saisissez-le tel qu'il "
                    "est connu de l'école ou de l'établissement."),
    )
    # Cleaned value: the E.164 string. No school is known yet: a national form is read in
    # metropolitan France first, then in each overseas region (core.forms).
    phone = FrenchMobileNumberField(
        label=_("N° de téléphone portable"),
        help_text=_(
            "Par exemple 06 12 34 56 78. Pour les numéros hors France métropolitaine, merci "
            "d'indiquer l'indicatif régional, par exemple +262 692 12 34 56."
        ),
        max_length=30,
        error_messages={"required": _("Saisissez votre numéro de téléphone portable.")},
        widget=forms.TextInput(
            attrs={"class": "fr-input", "type": "tel", "autocomplete": "tel",
                   "inputmode": "tel"}
        ),
    )



# --- Step 2 ------------------------------------------------------------------------------


class CodeForm(EduConnectForm):
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
    (LINK_YES, _("Je suis le représentant légal de cet élève")),
    (LINK_NO, _("Je ne suis pas le représentant légal de cet élève")),
]
MESSAGE_LINK_REQUIRED = _("Indiquez si vous êtes le représentant légal de cet élève.")
MESSAGE_DATE_REQUIRED = lazy_interpolate(_(
    "Saisissez la date de naissance de l'élève : jour, mois et année, par exemple "
    "%(example)s."), example=BIRTH_DATE_EXAMPLE)
MESSAGE_DATE_FORMAT = lazy_interpolate(_(
    "Saisissez la date de naissance en chiffres : le jour (JJ), le mois (MM) et l'année sur "
    "4 chiffres (AAAA), par exemple %(example)s."), example=BIRTH_DATE_EXAMPLE)
MESSAGE_DATE_IMPOSSIBLE = lazy_interpolate(_(
    "Cette date n'existe pas. Vérifiez le jour, le mois et l'année, par exemple %(example)s."
), example=BIRTH_DATE_EXAMPLE)
MESSAGE_DATE_FUTURE = _("La date de naissance ne peut pas être dans le futur. Vérifiez l'année.")
MESSAGE_DATE_YEAR = lazy_interpolate(_(
    "Cette date ne peut pas être celle de la naissance d'un élève. Vérifiez l'année, par "
    "exemple %(example)s."), example=BIRTH_DATE_EXAMPLE)
DATE_MESSAGES = {
    "format": MESSAGE_DATE_FORMAT,
    "impossible": MESSAGE_DATE_IMPOSSIBLE,
    "future": MESSAGE_DATE_FUTURE,
    "too_recent": MESSAGE_DATE_YEAR,
    "too_old": MESSAGE_DATE_YEAR,
}


# The day input takes up to a whole date (« 21/06/2013 », « 2013-06-21 »: ten
# characters), pasted or typed there with the month and the year left empty, which
# pupils.validators.birth_date_from_fields reads; the month and the year keep their sizes.
DAY_INPUT_MAX_LENGTH = 10


def date_part_fields() -> dict[str, forms.CharField]:
    """The three inputs of a birth date, « jour », « mois », « année » (keys "jour",
    "mois", "annee"): digits, no browser check (lengths and digits are checked by the
    form's clean, so an over-long entry gets the date message). The day takes a whole
    date too (DAY_INPUT_MAX_LENGTH, no digits-only pattern): the browser must not cut
    « 21/06/2013 » to « 21 »."""
    fields = {}
    for part, label, size, placeholder in (
        ("jour", _("Jour"), DAY_INPUT_MAX_LENGTH, _("JJ")), ("mois", _("Mois"), 2, _("MM")),
        ("annee", _("Année"), 4, _("AAAA")),
    ):
        attrs = {"class": "fr-input", "inputmode": "numeric", "autocomplete": "off",
                 "maxlength": size, "placeholder": placeholder}
        if part != "jour":
            attrs["pattern"] = "[0-9]*"
        fields[part] = forms.CharField(label=label, required=False,
                                       widget=forms.TextInput(attrs=attrs))
    return fields


class PupilRow:
    """What the template needs for one pupil: its fields and its two error slots."""

    def __init__(self, form: "PupilsForm", index: int, link: PupilLink):
        self.index = index
        self.link = link
        self.prefix = f"eleve{index}"
        # None when the form asks no link (one pupil: PupilsForm.asks_link).
        self.link_field = form[f"{self.prefix}_lien"] if form.asks_link else None
        self.day = form[f"{self.prefix}_jour"]
        self.month = form[f"{self.prefix}_mois"]
        self.year = form[f"{self.prefix}_annee"]

    @property
    def link_errors(self):
        return self.link_field.errors if self.link_field is not None else []

    @property
    def date_errors(self):
        # Date errors are filed on the day field and shown once, under the date group.
        return self.day.errors


class PupilsForm(EduConnectForm):
    """One radio group and one date (JJ MM AAAA) per pupil; fields named by position.

    templates/activation/pupils.html writes the groups' markup: each date's messages are in
    `<prefix>-date-messages`, which the three date inputs point at once validated.

    With one pupil only, no radio group (`asks_link` False): « Je ne suis pas le
    représentant légal de cet élève » would be refused for the only pupil of the démarche
    (activation.services.pupils_answers_apply), so it is not offered; the page says instead
    what to do when one is not the child's représentant légal, and the birth date is the
    answer (« oui »)."""

    def __init__(self, *args, links: list[PupilLink], **kwargs):
        super().__init__(*args, **kwargs)
        self.links = links
        self.asks_link = len(links) != 1
        for index, link in enumerate(links, start=1):
            prefix = f"eleve{index}"
            if self.asks_link:
                self.fields[f"{prefix}_lien"] = forms.ChoiceField(
                    label=_("Votre lien avec %(name)s") % {"name": link.first_name},
                    choices=LINK_CHOICES,
                    widget=forms.RadioSelect,
                    error_messages={"required": MESSAGE_LINK_REQUIRED,
                                    "invalid_choice": MESSAGE_LINK_REQUIRED},
                )
            for part, field in date_part_fields().items():
                self.fields[f"{prefix}_{part}"] = field

    @property
    def rows(self) -> list[PupilRow]:
        return [PupilRow(self, i, link) for i, link in enumerate(self.links, start=1)]

    def clean(self):
        cleaned = super().clean()
        self.answers = []
        for row in self.rows:
            choice = cleaned.get(f"{row.prefix}_lien") if self.asks_link else LINK_YES
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
        # pupils.validators reads the date, from the three inputs or whole in the day
        # (birth_date_from_fields; an impossible date is a format error, never a
        # wrong date) and holds the bounds every stored birth date obeys: a date outside
        # them cannot be the child's, so it is refused without counting as a wrong date.
        try:
            value = birth_date_from_fields(*parts)
            birth_date_check(value)
        except BirthDateError as error:
            self.add_error(day_field, DATE_MESSAGES[error.code])
            return None
        return value

    # The three date inputs share the messages of the date group (the errors are filed on
    # the day); the radio inputs are described through their fieldset.
    _DATE_PARTS = ("_jour", "_mois", "_annee")

    def _date_prefix(self, field) -> str | None:
        for part in self._DATE_PARTS:
            if field.name.endswith(part):
                return field.name[: -len(part)]
        return None

    def field_described_by(self, field) -> str | None:
        prefix = self._date_prefix(field)
        if prefix is None:
            return None
        return f"{prefix}-date-messages" if self[f"{prefix}_jour"].errors else ""

    def field_invalid(self, field) -> bool:
        prefix = self._date_prefix(field)
        return prefix is not None and bool(self[f"{prefix}_jour"].errors)

    def error_summary_items(self) -> list[dict]:
        summary = [{"anchor": "", "label": "", "message": str(e)}
                   for e in self.non_field_errors()]
        for row in self.rows:
            name = row.link.first_name
            for message in row.link_errors:
                summary.append({"anchor": f"{row.link_field.auto_id}_0",
                                "label": _("%(name)s, lien") % {"name": name},
                                "message": message})
            for message in row.date_errors:
                summary.append({"anchor": row.day.id_for_label,
                                "label": _("%(name)s, date de naissance") % {"name": name},
                                "message": message})
        return summary


# --- Step 4 ------------------------------------------------------------------------------


class PasswordForm(EduConnectForm):
    """templates/activation/password.html writes the DSFR password markup: each field's
    messages group (`<id>_error`) always exists — the password's holds the rule checklist —
    so each input always points at it."""

    password = NewPasswordField(label=_("Mot de passe"), required_message=ERROR_REQUIRED)
    password_confirm = NewPasswordField(label=_("Confirmation du mot de passe"),
                                        required_message=ERROR_CONFIRMATION_REQUIRED)

    def __init__(self, *args, first_name: str = "", last_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.first_name = first_name
        self.last_name = last_name
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"

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


class FranceConnectPhoneForm(EduConnectForm):
    """Step « phone » of a FranceConnect first link: the number only (FranceConnect gave
    the names). The same field as the SMS activation's."""

    phone = IdentityForm.base_fields["phone"]
