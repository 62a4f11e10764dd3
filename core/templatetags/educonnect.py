"""Template tags of the shared page components: `{% load educonnect %}`.

`{% error_summary form %}` is the one error summary of the site (templates/components/
error_summary.html): a DSFR error alert at the top of the form, with a heading, a link to each
field in error and the errors that belong to no field. It takes `tabindex="-1"`, so a script
can move the focus to it. Optional `title` replaces the heading, optional `text` adds a
paragraph (what to check).

`{% rendered_once name=value … %}…{% endrendered_once %}` renders what it holds once per web
process and then gives back the same text (issue 14): the page frame of every page (the DSFR
header, footer, stylesheets and scripts) is the same for every visitor, yet it cost about a
fifth of the CPU of an activation step (some forty `{% translate %}`, `{% url %}` and
`{% static %}` a page). See `RenderedOnceNode` for what may go inside.
"""

import functools
import re
import threading

from django import template
from django.core.signals import setting_changed
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext

from core.forms import (
    BIRTH_DATE_EXAMPLE,
    ERROR_SUMMARY_ID,
    NON_FIELD_ERRORS_ID,
    error_summary_items,
)
from core.french import of_name as _of_name
from core.french import plural_count as _plural_count

register = template.Library()


@register.simple_tag
def birth_date_example() -> str:
    """`{% birth_date_example %}`: the birth date given as an example on every page that asks
    for one, « 17 05 2014 » (core.forms.BIRTH_DATE_EXAMPLE, which the date errors use too)."""
    return BIRTH_DATE_EXAMPLE


_BOOLEAN_ICON_ALT = re.compile(r'(<img src="[^"]*/admin/img/icon-(?:yes|no|unknown)[^"]*\.svg") '
                               r'alt="(True|False|None)">')


@register.filter
def boolean_icons_in_french(cell) -> str:
    """A change list cell (`{{ item }}` of admin/change_list_results.html) whose yes/no icon
    (django.contrib.admin.utils._boolean_icon: alt="True"/"False"/"None", English words a
    screen reader speaks) is read « Oui », « Non » or « Inconnu »."""
    words = {"True": gettext("Oui"), "False": gettext("Non"), "None": gettext("Inconnu")}
    # Only the alt of Django's own icon changes, to an escaped word: the cell stays as safe.
    return mark_safe(_BOOLEAN_ICON_ALT.sub(  # noqa: S308
        lambda found: f'{found[1]} alt="{escape(words[found[2]])}">', str(cell)))


@register.filter
def of_name(name) -> str:
    """« d'Apolline », « de Marc »: `{{ first_name|of_name }}` (core.french.of_name)."""
    return _of_name(str(name or ""))


@register.filter
def plural_count(count) -> int:
    """`{% blocktranslate with n=x count counter=x|plural_count %}`: the form French takes,
    the singular for 0 and 1 (core.french.plural_count); `{{ n }}` shows the number."""
    return _plural_count(int(count or 0))


@functools.lru_cache(maxsize=256)
def _choice_labels(model: type, field_name: str, language: str | None) -> dict:
    return {value: str(label) for value, label in model._meta.get_field(field_name).flatchoices}


@register.filter
def choice_label(instance, field_name: str) -> str:
    """`{{ account|choice_label:"state" }}`: what `instance.get_state_display()` gives (the
    label of the field's choice, in the active language; the value itself when it is none
    of the choices), from a table made once per process, model, field and language.
    Django's get_FOO_display makes the field's choices hashable at each call, translating
    every label: 50 µs each, 6 ms for the 130 labels of a helpdesk search page (issue 14).
    Raises FieldDoesNotExist for a field the model does not have."""
    value = getattr(instance, field_name)
    return _choice_labels(type(instance), field_name, get_language()).get(value, value)


# --- Fragments rendered once per process ----------------------------------------------------

# Bumped by any setting changed (tests' override_settings: STATIC_URL, the assistance's
# phone…): every fragment kept before is rendered again.
_generation = 0
# Distinct keyword values a fragment keeps (steps of a stepper, a time limit…); past it, the
# fragment is rendered each time, never kept: a value that differs per visitor cannot make
# the process grow without bound.
RENDERED_ONCE_MAX_VARIANTS = 64


def _settings_changed(**kwargs) -> None:
    global _generation
    _generation += 1


setting_changed.connect(_settings_changed, dispatch_uid="core.rendered_once")


def _key_part(value) -> tuple[str, str]:
    """What a passed value keys a fragment by: its type and its text (a lazy translation
    as the active language reads it). Never its identity: an object's default repr names
    its address, which a later object may take."""
    if isinstance(value, Promise):
        value = str(value)
    return (type(value).__name__, str(value))


class RenderedOnceNode(template.Node):
    """`{% rendered_once name=value … %}`: the nodes inside rendered with *only* the given
    names in their context, kept per (active language, each value's type and text) on this
    node — that is, per compiled template: the cached template loader keeps it for the
    process. Pass values whose text says all the fragment shows of them (strings, numbers,
    dicts of those).

    Safe by construction: the fragment never sees the request, the user, the session or any
    other variable of the page, so it cannot carry one visitor's data to another. A variable
    written inside that is not passed resolves to nothing (the tests' strict
    `string_if_invalid` makes that an error in our templates); `{% csrf_token %}` renders
    nothing inside. `{% translate %}`, `{% url %}`, `{% static %}` and inclusion tags that
    take no context (django-dsfr's `dsfr_css`, `dsfr_favicon`, `dsfr_stepper`…) work as
    anywhere. A changed setting (`setting_changed`) forgets every kept fragment.
    """

    def __init__(self, nodelist, kwargs):
        self.nodelist = nodelist
        self.kwargs = kwargs
        self._kept: dict[tuple, str] = {}
        self._generation = _generation
        self._lock = threading.Lock()

    def render(self, context):
        # A name whose value does not resolve is left out, as if it were not passed: inside,
        # it is a missing variable, as it was outside.
        resolved = {name: value.resolve(context, ignore_failures=True)
                    for name, value in self.kwargs.items()}
        values = {name: value for name, value in resolved.items() if value is not None}
        key = (get_language(), *(_key_part(resolved[name]) for name in sorted(resolved)))
        if self._generation != _generation:
            with self._lock:
                self._kept, self._generation = {}, _generation
        text = self._kept.get(key)
        if text is None:
            inner = context.new(values)
            inner.request = None  # a tag that reads context.request finds no visitor
            text = self.nodelist.render(inner)
            if len(self._kept) < RENDERED_ONCE_MAX_VARIANTS:
                with self._lock:
                    self._kept[key] = text
        return text


@register.tag
def rendered_once(parser, token):
    """`{% rendered_once [name=value …] %}…{% endrendered_once %}` (RenderedOnceNode)."""
    bits = token.split_contents()[1:]
    kwargs = template.base.token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError(
            "rendered_once takes only name=value arguments")
    nodelist = parser.parse(("endrendered_once",))
    parser.delete_first_token()
    return RenderedOnceNode(nodelist, kwargs)



@register.inclusion_tag("components/error_summary.html")
def error_summary(form, title: str = "", text: str = "") -> dict:
    if form is None or not form.errors:
        return {"show": False}
    items = (form.error_summary_items() if hasattr(form, "error_summary_items")
             else error_summary_items(form))
    general = [item["message"] for item in items if not item["anchor"]]
    linked = [item for item in items if item["anchor"]]
    if not title:
        if linked:
            count = len(items)
            title = ngettext(
                "Le formulaire contient %(count)s erreur",
                "Le formulaire contient %(count)s erreurs",
                count,
            ) % {"count": count}
        else:
            # Only errors about the form as a whole: the first one is the heading.
            title, general = general[0], general[1:]
            return {"show": True, "summary_id": ERROR_SUMMARY_ID, "title": title,
                    "title_id": NON_FIELD_ERRORS_ID, "general": general, "general_id": "",
                    "text": text, "linked": []}
    return {"show": True, "summary_id": ERROR_SUMMARY_ID, "title": title, "title_id": "",
            "general": general, "general_id": NON_FIELD_ERRORS_ID, "text": text,
            "linked": linked}
