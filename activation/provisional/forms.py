"""Forms of the first sign-in with a school letter. The password and the pupils' step are the
SMS activation's forms (activation.forms); the address is « Mon compte »'s, with the seed's
labels; the pupil's own birth date is three inputs (JJ MM AAAA) like the pupils' step."""

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.my_account.forms import EmailChangeForm
from accounts.password_policy import password_errors
from core.forms import BIRTH_DATE_EXAMPLE, EduConnectForm
from core.i18n import lazy_interpolate
from pupils.validators import BirthDateError, birth_date_from_fields

from ..forms import DATE_MESSAGES, MESSAGE_DATE_FORMAT, PasswordForm, date_part_fields

MESSAGE_CONFIRMATION_ONLY = _(
    "Vous n'avez rempli que la confirmation. Saisissez aussi votre adresse mail, ou videz "
    "les deux champs pour ne pas en indiquer."
)


class ActivationEmailForm(EmailChangeForm):
    """« Je renseigne mon adresse mail » (seed: « Adresse mail », « Confirmation de l'adresse
    mail »). Mandatory for a guardian; optional for a pupil (`required=False`: both fields
    empty means « no address »)."""

    def __init__(self, *args, required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        email, confirm = self.fields["email"], self.fields["email_confirm"]
        email.label = _("Adresse mail")
        email.error_messages["required"] = _("Saisissez votre adresse mail.")
        confirm.label = _("Confirmation de l'adresse mail")
        confirm.error_messages["required"] = _(
            "Saisissez une deuxième fois votre adresse mail pour la confirmer.")
        if not required:
            # The field snippet adds « (facultatif) » to the label.
            email.required = confirm.required = False
        # Bound fields made by the parent's __init__ keep their label: make them again.
        self._bound_fields_cache.clear()

    def clean(self):
        """The parent's checks, and, when the address is optional (a pupil), a confirmation
        typed without the address is refused on « Adresse mail » (MESSAGE_CONFIRMATION_ONLY)
        rather than read as « no address »: the person meant to give one. Both empty is
        still « no address »."""
        cleaned = super().clean()
        confirmation = (cleaned.get("email_confirm") or "").strip()
        if (not self.fields["email"].required and confirmation and not cleaned.get("email")
                and not self.has_error("email")):
            self.add_error("email", MESSAGE_CONFIRMATION_ONLY)
        return cleaned


class ProvisionalPasswordForm(PasswordForm):
    """The activation's password form; the identifier is refused inside too (the letter
    prints it)."""

    def __init__(self, *args, identifier: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.identifier = identifier

    def clean_password(self):
        password = self.cleaned_data["password"]
        errors = password_errors(password, first_name=self.first_name,
                                 last_name=self.last_name, identifier=self.identifier)
        if errors:
            raise ValidationError(errors)
        return password


MESSAGE_OWN_DATE_REQUIRED = lazy_interpolate(_(
    "Saisissez votre date de naissance : jour, mois et année, par exemple %(example)s."
), example=BIRTH_DATE_EXAMPLE)


class BirthDateForm(EduConnectForm):
    """« Je confirme mon identité »: the pupil's own birth date, JJ MM AAAA (or a whole
    date in the day, activation.forms.date_part_fields). Errors are
    filed on the day and shown under the group (templates/activation/provisional/identity.html)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(date_part_fields())

    def clean(self):
        cleaned = super().clean()
        parts = [(cleaned.get(p) or "").strip() for p in ("jour", "mois", "annee")]
        if not any(parts):
            self.add_error("jour", MESSAGE_OWN_DATE_REQUIRED)
            return cleaned
        # Read only: whether it is the pupil's is the service's question (counted there).
        try:
            cleaned["birth_date"] = birth_date_from_fields(*parts)
        except BirthDateError as error:
            self.add_error("jour", DATE_MESSAGES.get(error.code, MESSAGE_DATE_FORMAT))
        return cleaned

    @property
    def birth_date(self) -> datetime.date:
        return self.cleaned_data["birth_date"]

    def field_described_by(self, field) -> str | None:
        return "birth-date-messages" if self["jour"].errors else ""

    def field_invalid(self, field) -> bool:
        return bool(self["jour"].errors)

    def error_summary_items(self) -> list[dict]:
        summary = [{"anchor": "", "label": "", "message": str(e)}
                   for e in self.non_field_errors()]
        for message in self["jour"].errors:
            summary.append({"anchor": self["jour"].id_for_label,
                            "label": _("Date de naissance"), "message": message})
        return summary


