"""Form fields of the pupils domain, shared by every form that asks for the same thing."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EMPTY_VALUES
from django.utils.translation import gettext_lazy as _

from .validators import FIELD_LABEL, BirthDateError, birth_date_check, birth_date_parse


class BirthDateField(forms.DateField):
    """A pupil's birth date typed « JJ/MM/AAAA »: pupils.validators' reading and bounds, each
    error naming the field (« Date de naissance : la date « 31/02/2013 » n'existe pas ; … »).
    Cleaned value: a datetime.date."""

    default_error_messages = {
        "required": _("Date de naissance : saisissez-la au format JJ/MM/AAAA, par exemple "
                      "14/03/2012."),
    }

    def __init__(self, *, label=FIELD_LABEL, widget=None, **kwargs):
        if widget is None:
            widget = forms.DateInput(format="%d/%m/%Y")
        kwargs.setdefault("help_text", _("Au format JJ/MM/AAAA, par exemple 14/03/2012."))
        super().__init__(label=label, widget=widget, **kwargs)

    def to_python(self, value):
        if value in EMPTY_VALUES:
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return birth_date_parse(str(value))
        except BirthDateError as error:
            raise ValidationError(f"{FIELD_LABEL} : {error.reason}", code=error.code) from None

    def validate(self, value):
        super().validate(value)
        if value is not None:
            try:
                birth_date_check(value)
            except BirthDateError as error:
                raise ValidationError(f"{FIELD_LABEL} : {error.reason}",
                                      code=error.code) from None
