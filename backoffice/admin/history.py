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
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from phonenumber_field.phonenumber import PhoneNumber
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

EMPTY = "—"


def _as_elsewhere(value):
    """A phone number as the other pages write it (+33 6 12 34 56 78), an account by its
    identifier in capitals (H.DUPRELAGARDE96); any other value as it is."""
    if isinstance(value, PhoneNumber):
        return value.as_international
    identifier = getattr(value, "display_identifier", None)
    if isinstance(identifier, str):
        return identifier
    return value


def history_value(value, field=None) -> str:
    """`value` of a history column or change as the page shows it: « — » when None or "",
    a choice's label when `field` (a model field) has choices, « oui »/« non » for a
    boolean, a date as dd/mm/yyyy, a date and time in local time; else str(value)."""
    if value is None or value == "":
        return EMPTY
    value = _as_elsewhere(value)
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


class FrenchChangesHelper(HistoricalRecordContextHelper):
    """The library's change values, in our words: an empty link « (aucun) » (the library
    writes « Deleted compte (pk=None) »), a phone number and an identifier as elsewhere, a
    yes/no value « oui »/« non » as the columns say it (the library writes « True »)."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        if isinstance(value, bool):
            return history_value(value)
        if isinstance(value, DeletedObject) and value.pk is None:
            return gettext("(aucun)")
        if value is None and self.model._meta.get_field(change.field).is_relation:
            return gettext("(aucun)")
        return _as_elsewhere(value)


class FrenchHistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose « Historique » page is in French (see the module)."""

    object_history_list_template = "admin/backoffice/object_history_list.html"
    object_history_form_template = "admin/backoffice/object_history_form.html"

    def _model_field(self, name: str):
        try:
            return self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None

    def get_historical_record_context_helper(self, request, historical_record):
        return FrenchChangesHelper(self.model, historical_record)

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

    def _author_url(self, request, user) -> str | None:
        """The page of the account who made a change, only when the viewer may open it (a
        secretary may not open a staff account: « Page introuvable »); else None, the
        identifier shown as text."""
        if user is None:
            return None
        account_admin = self.admin_site._registry.get(type(user))
        if account_admin is None or not account_admin.has_view_permission(request, user):
            return None
        if not account_admin.get_queryset(request).filter(pk=user.pk).exists():
            return None
        opts = user._meta
        return reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                       args=[user.pk])

    def render_history_view(self, request, template, context, **kwargs):
        """Add `history_columns` (headers) and `history_rows` (each version: the record,
        its column values and its changes as (label, before, after), in words) to the
        library's context (simple_history.admin.SimpleHistoryAdmin.history_view); the page
        of one version (history_form_view, no `page_obj`) is left as it is."""
        if "page_obj" not in context:
            # A past version that may not be restored is shown, not edited: its fields are
            # disabled (the library leaves them as inputs, with only « Fermer »).
            if context.get("revert_disabled") and "adminform" in context:
                for field in context["adminform"].form.fields.values():
                    field.disabled = True
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
                         "date": history_value(record.history_date),
                         "author_url": self._author_url(request, record.history_user)})
        context["history_rows"] = rows
        return super().render_history_view(request, template, context, **kwargs)
