"""`{{ instance|choice_label:"field" }}` says what `get_FOO_display()` says (the helpdesk's
lists, issue 14), in the active language (French), from a table made once."""

import pytest
from django.template import Context, Template
from django.utils import translation

from accounts.models import Account
from pupils.models import Responsibility

RENDER = Template('{% load educonnect %}{{ row|choice_label:field }}')


@pytest.mark.parametrize(("model", "field"), [(Account, "state"), (Account, "kind"),
                                              (Responsibility, "status")])
def test_every_choice_reads_as_get_display_says(model, field):
    values = [value for value, _label in model._meta.get_field(field).flatchoices]
    with translation.override("fr"):
        for value in [*values, "inconnu"]:
            row = model(**{field: value})
            expected = getattr(row, f"get_{field}_display")()
            assert RENDER.render(Context({"row": row, "field": field})) == expected
    assert values and expected == "inconnu"  # a value outside the choices reads as itself
