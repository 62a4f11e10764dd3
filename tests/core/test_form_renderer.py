"""core.form_renderer writes the text-like `<input>`s in Python: the bytes must be those of
Django's own templates, for every widget, value and attribute a form can give (issue 14)."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from phonenumber_field.widgets import RegionalPhoneNumberWidget

from core import form_renderer
from core.form_renderer import INPUT_TEMPLATES, FormRenderer

WIDGETS = [
    forms.TextInput, forms.PasswordInput, forms.EmailInput, forms.NumberInput,
    forms.HiddenInput, forms.URLInput, forms.SearchInput, forms.ColorInput, forms.DateInput,
    forms.DateTimeInput, forms.TimeInput, RegionalPhoneNumberWidget,
]
VALUES = [
    None, "", "Jean-Éric", 'a"b<c>&d\'e', mark_safe("<b>déjà sûr</b>"), 0, 12, 3.5,
    Decimal("1.50"), datetime.date(2013, 6, 21), gettext_lazy("Précédent"), ("x", 1),
]
ATTRS = [
    {},
    {"required": True, "disabled": False, "maxlength": 30, "class": "fr-input"},
    {"placeholder": 'il a dit "oui" & <non>', "aria-describedby": "id_a_helptext id_a_error",
     "autocomplete": "one-time-code", "inputmode": "numeric"},
    {"title": gettext_lazy("Nom de famille"), "data-x": mark_safe("<i>"), "min": 0,
     "autofocus": True, "size": Decimal("2")},
]


def stock_html(widget, name, value, attrs) -> str:
    return str(widget.render(name, value, attrs, renderer=TemplatesSetting()))


@pytest.mark.parametrize("widget_class", WIDGETS, ids=lambda w: w.__name__)
def test_every_input_is_written_as_djangos_templates_write_it(widget_class):
    assert widget_class.template_name in INPUT_TEMPLATES
    renderer = FormRenderer()
    for value in VALUES:
        for attrs in ATTRS:
            widget = widget_class(attrs={"class": "base"})
            expected = stock_html(widget, "champ", value, attrs)
            assert str(widget.render("champ", value, attrs, renderer=renderer)) == expected, (
                value, attrs)


def test_a_password_input_that_keeps_its_value_and_a_bound_field_render_the_same():
    class Form(forms.Form):
        identifier = forms.CharField(max_length=50, help_text="p.nomXX")
        password = forms.CharField(widget=forms.PasswordInput(render_value=True))

    form = Form(data={"identifier": 'x"<y>', "password": "Secret-1!"})
    form.is_valid()
    for name in ("identifier", "password"):
        ours = str(form[name].as_widget())
        form.renderer = TemplatesSetting()
        assert ours == str(form[name].as_widget())
        form.renderer = None


def test_an_overridden_input_template_is_rendered_by_its_template(settings, tmp_path):
    """A project template that replaces Django's `text.html` wins, as with TemplatesSetting."""
    (tmp_path / "django/forms/widgets").mkdir(parents=True)
    (tmp_path / "django/forms/widgets/text.html").write_text(
        '<span class="surcharge">{% include "django/forms/widgets/input.html" %}</span>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0],
                           "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    html = str(forms.TextInput().render("nom", "Dupré", renderer=FormRenderer()))
    assert html.startswith('<span class="surcharge"><input type="text" name="nom"')
    # Django's own templates still go the quick way.
    assert not form_renderer._stock["django/forms/widgets/text.html"]
    forms.EmailInput().render("mail", "", renderer=FormRenderer())
    assert form_renderer._stock["django/forms/widgets/email.html"]


@pytest.mark.django_db
def test_a_page_with_inputs_renders_none_of_djangos_input_templates(client):
    """Rendered for this visitor alone (« Précédent » with an unknown flow): three inputs
    and no `input.html` / `attrs.html` (0.17 ms of CPU each time, bench/README.md)."""
    page = client.get(reverse("activation:start"),
                      {"reprendre": "00000000-0000-0000-0000-000000000000"})
    names = [t.name for t in page.templates]
    assert "dsfr/form_field_snippets/input_snippet.html" in names
    assert page.content.decode().count('class="fr-input"') == 3
    assert not {"django/forms/widgets/input.html", "django/forms/widgets/attrs.html"} & set(names)
