"""The « Historique » page of every admin class that keeps a history (django-simple-history's
`SimpleHistoryAdmin`), in French.

The library's list writes its column headers from the attribute names
(`history_list_display`: « MOBILE_PHONE », « ACCOUNT »), a value left empty as « None », its
« Changes » header untranslated (not in its French catalogue) and each change under the
field's attribute name. `FrenchHistoryAdmin` hands its own template
(admin/backoffice/object_history_list.html) rows already in words: the model's verbose
names (or an admin method's `short_description`), the choices' labels, « oui »/« non »,
dates as dd/mm/yyyy, « — » for an empty value.
"""

import datetime

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from simple_history.admin import SimpleHistoryAdmin

EMPTY = "—"


def history_value(value, field=None) -> str:
    """`value` of a history column or change as the page shows it: « — » when None or "",
    a choice's label when `field` (a model field) has choices, « oui »/« non » for a
    boolean, a date as dd/mm/yyyy, a date and time in local time; else str(value)."""
    if value is None or value == "":
        return EMPTY
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("oui") if value else gettext("non")
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "d/m/Y H:i")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "d/m/Y")
    return str(value) or EMPTY


def _changed_value(value) -> str:
    return EMPTY if value in (None, "", "None") else str(value)


class FrenchHistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose « Historique » page is in French (see the module)."""

    object_history_list_template = "admin/backoffice/object_history_list.html"

    def _model_field(self, name: str):
        try:
            return self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None

    def history_column_label(self, name: str) -> str:
        """The header of the history column `name`: the admin method's `short_description`,
        else the model field's verbose name, capitalised; the name itself as a last resort."""
        method = getattr(self, name, None)
        if callable(method) and hasattr(method, "short_description"):
            return capfirst(str(method.short_description))
        field = self._model_field(name)
        if field is not None:
            return capfirst(str(field.verbose_name))
        return name

    def render_history_view(self, request, template, context, **kwargs):
        """Add `history_columns` (headers) and `history_rows` (each version: the record,
        its column values and its changes as (label, before, after), in words) to the
        library's context (simple_history.admin.SimpleHistoryAdmin.history_view); the page
        of one version (history_form_view, no `page_obj`) is left as it is."""
        if "page_obj" not in context:
            return super().render_history_view(request, template, context, **kwargs)
        names = list(context.get("history_list_display") or ())
        context["history_columns"] = [self.history_column_label(name) for name in names]
        rows = []
        for record in context["page_obj"].object_list:
            values = [history_value(getattr(record, name, None), self._model_field(name))
                      for name in names]
            # The library's changes: {"field": verbose name, "old", "new": already strings,
            # « None » for an empty value (simple_history.template_utils).
            changes = [(change["field"], _changed_value(change["old"]),
                        _changed_value(change["new"]))
                       for change in getattr(record, "history_delta_changes", None) or ()]
            rows.append({"record": record, "values": values, "changes": changes,
                         "date": history_value(record.history_date)})
        context["history_rows"] = rows
        return super().render_history_view(request, template, context, **kwargs)
