"""The project's form renderer (settings.FORM_RENDERER): Django's `TemplatesSetting`, with
the `<input>` of the text-like widgets written in Python (issue 14).

Form and field templates are found like every other template (the project's
templates/dsfr/form_field_snippets/ replace django-dsfr's: see core/forms.py). Every text,
password, e-mail, number, telephone or hidden input goes through three of Django's templates
(`text.html` → `input.html` → `attrs.html`, whose loop over the attributes is most of the
cost): about 0.17 ms of CPU per input, 1 ms per SMS activation, more on the back-office's
long forms. This renderer writes the same bytes in Python (about 0.02 ms).

It does so only while those templates are Django's own: a project or app template that
overrides one of them (found by the template loaders first) is rendered as usual, so a
future override keeps working without anyone having to remember this module.
`tests/core/test_form_renderer.py` holds the two outputs equal over widgets, values and
attributes (escaping, `True`/`False` attributes, safe strings, lazy translations, numbers).
"""

import html
from pathlib import Path

import django.forms
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.forms.renderers import TemplatesSetting
from django.template import TemplateDoesNotExist
from django.utils.functional import Promise
from django.utils.safestring import SafeData, SafeString, mark_safe

# Django's templates of the widgets that are one `<input>` (each is only
# `{% include "django/forms/widgets/input.html" %}`), and the two that write it.
INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in ("text", "password", "email", "number", "hidden", "url", "tel", "search",
                 "date", "datetime", "time", "color")
)
_WRITERS = ("django/forms/widgets/input.html", "django/forms/widgets/attrs.html")
_DJANGO_FORMS_TEMPLATES = (Path(django.forms.__file__).resolve().parent / "templates")

# Template name → whether Django's own templates render it (so Python may write it);
# forgotten when a setting changes (TEMPLATES in tests).
_stock: dict[str, bool] = {}


@receiver(setting_changed)
def _stock_forget(**kwargs):
    _stock.clear()


def _escaped(text) -> str:
    """Django's `conditional_escape(text)`, the same text, without the `keep_lazy` wrapper
    of its `escape` (which looks for lazy arguments at every call: about half the cost of
    writing an input, issue 14): a lazy translation is read, a safe string (`__html__`) kept,
    anything else escaped by `html.escape` as Django's `escape` does."""
    if isinstance(text, Promise):
        text = str(text)
    if hasattr(text, "__html__"):
        return text.__html__()
    return html.escape(str(text))


def _stringformat(value) -> str:
    """`{{ value|stringformat:'s' }}` under autoescape: `stringformat` is a safe filter, so
    a safe string stays unescaped, anything else is escaped."""
    try:
        text = str(value)  # ("%s" % value, a tuple's text included)
    except (TypeError, ValueError):
        return ""
    if isinstance(value, SafeData):
        return text
    return _escaped(text)


def input_html(widget: dict) -> SafeString:
    """The `<input>` Django's `input.html` and `attrs.html` write for `widget` (the
    "widget" dict of `Widget.get_context`: type, name, value, attrs), byte for byte."""
    parts = ['<input type="', _escaped(widget["type"]), '" name="',
             _escaped(widget["name"]), '"']
    if widget["value"] is not None:
        parts += [' value="', _stringformat(widget["value"]), '"']
    for name, value in widget["attrs"].items():
        if value is not False:
            parts += [" ", _escaped(name)]
            if value is not True:
                parts += ['="', _stringformat(value), '"']
    parts.append(">")
    # Every part is a fixed string or went through _escaped (conditional_escape, above).
    return mark_safe("".join(parts))  # noqa: S308


class FormRenderer(TemplatesSetting):
    """Django's TemplatesSetting; the `<input>` widgets written by `input_html` while their
    templates are Django's own (see the module's docstring)."""

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES and self._is_stock(template_name):
            widget = context.get("widget")
            if isinstance(widget, dict) and "type" in widget:
                return input_html(widget)
        return super().render(template_name, context, request)

    def _is_stock(self, template_name: str) -> bool:
        stock = _stock.get(template_name)
        if stock is None:
            try:
                stock = all(
                    Path(self.get_template(name).origin.name).resolve().is_relative_to(
                        _DJANGO_FORMS_TEMPLATES)
                    for name in (template_name, *_WRITERS)
                )
            except TemplateDoesNotExist:
                stock = False  # rendered as usual, which says what is missing
            _stock[template_name] = stock
        return stock
