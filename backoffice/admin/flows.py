"""Flows in the back-office (core.models.Flow, every kind): read-only, for the helpdesk.

Secrets stay out: neither the codes' hashes nor the session secret's hash is shown; the
codes are listed with their dates and counts only. Listing never counts the whole table (a
flow per attempt adds up to millions).
"""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backoffice.admin.titles import ChangelistTitleMixin
from backoffice.scoping import ReadOnlyAdminMixin
from core.flowkinds import registered_kinds
from core.models import Flow, FlowCode
from core.normalization import mask_phone


class EstimatedCountPaginator(Paginator):
    """Unfiltered listings use PostgreSQL's row estimate instead of COUNT(*)."""

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= 10_000:
                return row[0]
        return super().count


class KindFilter(admin.SimpleListFilter):
    title = _("type")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.name, kind.label) for kind in registered_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class FlowCodeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = FlowCode
    extra = 0
    can_delete = False
    fields = ("purpose", "channel", "sent", "not_sent_reason", "created_at", "expires_at",
              "used_at", "revoked_at", "wrong_attempts")
    readonly_fields = fields
    ordering = ("created_at",)


@admin.register(Flow)
class FlowAdmin(ChangelistTitleMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    changelist_noun = _("un parcours")
    object_noun = _("le parcours")
    list_display = (
        "id", "created_at", "kind_display", "status", "step_display", "masked_phone",
        "codes_sent_display", "wrong_codes", "account",
    )
    list_filter = (KindFilter, "status")
    # Exact lookups only: both are indexed (phone typed in E.164, or a flow id).
    search_fields = ("=phone", "=id")
    search_help_text = _(
        "Numéro au format international (+33612345678) ou identifiant du parcours."
    )
    date_hierarchy = None
    ordering = ("-created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_select_related = ("account",)
    fields = (
        "id", "kind_display", "status", "step_display", "masked_phone", "data_display",
        "wrong_codes", "account", "created_at", "updated_at", "expires_at",
    )
    readonly_fields = fields
    inlines = (FlowCodeInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("codes")

    @admin.display(description=_("type"))
    def kind_display(self, flow):
        return flow.kind_label

    @admin.display(description=_("étape"))
    def step_display(self, flow):
        return flow.step_label

    @admin.display(description=_("téléphone"))
    def masked_phone(self, flow):
        return mask_phone(str(flow.phone)) if flow.phone else "—"

    @admin.display(description=_("codes envoyés"))
    def codes_sent_display(self, flow):
        return f"{flow.codes_sent} / {flow.codes_issued}"

    @admin.display(description=_("données du parcours"))
    def data_display(self, flow):
        return format_html("<pre>{}</pre>", json.dumps(flow.data, ensure_ascii=False, indent=2))
