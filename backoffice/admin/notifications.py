"""The outbox in the back-office: read-only, and never the text of a message holding a code.

Not scoped per academy: a row's recipient may be any family of the country, so only a role
holding notifications.view_outboundmessage (meant for the national administration) sees it.
"""

import uuid

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.admin.titles import ChangelistTitleMixin
from backoffice.scoping import BoundedCountPaginator, ReadOnlyAdminMixin
from core.normalization import InvalidPhoneNumber, parse_mobile_phone
from notifications.models import OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ChangelistTitleMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    changelist_noun = _("un message sortant")
    object_noun = _("le message sortant")
    list_display = ["created_at", "channel", "purpose", "recipient", "status", "provider_status",
                    "attempts", "sent_at"]
    list_filter = ["channel", "status"]
    search_help_text = (_("Numéro de téléphone, adresse mail, identifiant de parcours ou "
                        "identifiant chez le fournisseur (valeur exacte)."))
    search_fields = ["recipient"]  # replaced by get_search_results; shows the search box
    ordering = ["-created_at"]
    # A million-row table: no COUNT(*) of it, no facet counts.
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    list_select_related = ["account"]
    raw_id_fields = ["account"]
    fields = ["channel", "purpose", "recipient", "from_email", "reply_to", "subject",
              "body_shown", "html_body_shown", "contains_secret", "status",
              "provider_message_id", "provider_status", "attempts", "last_error",
              "account", "flow_id", "created_at", "next_attempt_at", "sending_started_at",
              "sent_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description=_("texte"))
    def body_shown(self, obj):
        if obj.contains_secret:
            return _("[masqué : ce message contient un code ou un lien à usage unique]")
        return obj.body

    @admin.display(description=_("version HTML"))
    def html_body_shown(self, obj):
        # Shown as source text (escaped by the admin), never rendered: no remote content.
        if obj.contains_secret and obj.html_body:
            return _("[masqué : ce message contient un code ou un lien à usage unique]")
        return obj.html_body

    def get_search_results(self, request, queryset, search_term):
        # Exact lookups on indexed columns only, chosen by the shape of the term.
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            return queryset.filter(recipient__iexact=term), False
        try:
            return queryset.filter(flow_id=uuid.UUID(term)), False
        except ValueError:
            pass
        try:
            return queryset.filter(recipient=parse_mobile_phone(term)), False
        except InvalidPhoneNumber:
            pass
        return queryset.filter(provider_message_id=term), False
