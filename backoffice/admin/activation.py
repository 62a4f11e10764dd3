"""Activation flows in the back-office: read-only, for the helpdesk.

Secrets stay out: neither the code's hash nor the session secret's hash is shown. Listing
never counts the whole table (a flow per activation attempt adds up to millions).
"""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from activation.models import ActivationFlow
from backoffice.scoping import ReadOnlyAdminMixin
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


@admin.register(ActivationFlow)
class ActivationFlowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id", "created_at", "status", "step", "masked_phone", "is_matched", "sends",
        "wrong_codes_total", "wrong_dates", "account",
    )
    list_filter = ("status", "step")
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
        "id", "kind", "status", "step", "last_name", "first_name", "phone",
        "matched_record_ids", "confirmed_pupil_ids", "confirmed_record_ids",
        "code_sent_at", "code_expires_at", "code_verified_at", "wrong_codes",
        "wrong_codes_total", "sends", "wrong_dates", "account", "created_at", "updated_at",
        "expires_at",
    )
    readonly_fields = fields

    @admin.display(description=_("téléphone"))
    def masked_phone(self, flow):
        return mask_phone(flow.phone)

    @admin.display(description=_("fiche trouvée"), boolean=True)
    def is_matched(self, flow):
        return flow.matched
