"""The services catalogue and the SAML service providers in the back-office.

- National administrators manage everything: national services, every school's services,
  messages, news, and the SAML service providers (registered by their metadata, through
  saml_idp.services, effective on every node at once).
- A secretary manages her own schools' services (their ENT link) and messages; national
  services, news and providers are not hers (scoping: backoffice.scoping, the row's
  establishment must be one of hers, so national rows, whose establishment is empty, are
  out of her scope).

« Établissement » on a service or a message is a list of the user's own schools (the one
school already chosen when she has only one); a national administrator, who may pick any of
some 60 000, types a name or a UAI in an autocomplete. Never a raw database id.
"""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy

from backoffice.admin.titles import ChangelistTitleMixin
from backoffice.scoping import ScopedAdminMixin
from backoffice.selectors import staff_scope
from saml_idp import services as saml_services
from saml_idp.attributes import Attribute
from saml_idp.models import ServiceProvider
from services_portal.levels import Level
from services_portal.models import EstablishmentMessage, NewsItem, Service

SCHOOL_REQUIRED = gettext_lazy("Établissement : choisissez l'un de vos établissements.")
SCHOOL_NOT_YOURS = gettext_lazy(
    "Établissement : choisissez l'un de vos établissements dans la liste ; les autres "
    "établissements ne sont pas de votre ressort."
)
SCHOOL_REQUIRED_NATIONAL = gettext_lazy(
    "Établissement : tapez le nom ou l'UAI de l'établissement, puis choisissez-le.")


class SchoolChoiceMixin:
    """« Établissement » of a school's row (service, message): a choice among the user's
    establishments only (backoffice.scoping scopes the queryset; an id posted outside it is
    refused with a French message), pre-selected when she has one; an autocomplete for whom
    may choose any school. `national_help` (services): the field may stay empty, for a
    national service, only for those whose scope is everything (the national administrators,
    backoffice.roles)."""

    national_help = None  # the field's help for a national administrator, when it may be empty
    school_help = None  # the field's help for a secretary

    def get_autocomplete_fields(self, request):
        return ("establishment",) if staff_scope(request.user).everything else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name != "establishment" or field is None:
            return field
        if staff_scope(request.user).everything:
            field.required = self.national_help is None
            if self.national_help is not None:
                field.help_text = self.national_help
            field.error_messages = {**field.error_messages,
                                    "required": SCHOOL_REQUIRED_NATIONAL}
            return field
        field.required = True
        field.error_messages = {**field.error_messages, "required": SCHOOL_REQUIRED,
                                "invalid_choice": SCHOOL_NOT_YOURS}
        field.help_text = self.school_help or ""
        # The options read « Collège Jules-Ferry (0940001A) » (Establishment.__str__).
        if self._only_school(request) is not None:
            field.empty_label = None  # her only school, already chosen
        else:
            field.empty_label = gettext_lazy("Choisissez un établissement")
        return field

    def _only_school(self, request):
        """The user's establishment when her scope is exactly one school, else None."""
        scope = staff_scope(request.user)
        if scope.everything or scope.academy_id is not None:
            return None
        schools = list(scope.establishments().order_by("pk").values_list("pk", flat=True)[:2])
        return schools[0] if len(schools) == 1 else None

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        only = self._only_school(request)
        if only is not None:
            initial.setdefault("establishment", only)
        return initial


class ServiceForm(forms.ModelForm):
    levels = forms.MultipleChoiceField(
        label=gettext_lazy("Niveaux"), choices=Level.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Les niveaux des élèves qui voient ce service ; aucun coché : "
                               "tous les niveaux."),
    )

    class Meta:
        model = Service
        fields = ("title", "description", "url", "establishment", "saml_service_provider",
                  "oidc_client_id", "for_guardians", "for_pupils", "levels", "position",
                  "is_active")
        # Each says its field and the fix, as the back-office's other forms.
        error_messages = {
            "title": {"required": gettext_lazy("Intitulé : saisissez l'intitulé de la tuile.")},
            "url": {"required": gettext_lazy("Adresse du service : saisissez l'adresse "
                                             "(https://…) où mène la tuile.")},
            "position": {"required": gettext_lazy(
                "Ordre d'affichage : saisissez un nombre, par exemple 100.")},
        }


@admin.register(Service)
class ServiceAdmin(ChangelistTitleMixin, SchoolChoiceMixin, ScopedAdminMixin, admin.ModelAdmin):
    changelist_noun = gettext_lazy("un service")
    object_noun = gettext_lazy("le service")
    form = ServiceForm
    scope_paths = ("establishment",)
    list_display = ("title", "establishment", "for_guardians", "for_pupils",
                    "saml_service_provider", "is_active")
    list_select_related = ("establishment", "saml_service_provider")
    ordering = ("position", "title", "id")
    national_help = gettext_lazy(
        "Laissez vide pour un service national (visible dans tous les établissements) ; "
        "sinon, l'établissement dont c'est l'ENT ou un service propre.")
    school_help = gettext_lazy(
        "L'établissement dont c'est l'ENT ou un service propre. Les services nationaux sont "
        "gérés par l'administration nationale.")
    search_help_text = gettext_lazy("Intitulé (ou une partie) du service.")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = staff_scope(request.user)
        return queryset if scope.everything else queryset.filter(establishment__isnull=False)

    def get_fields(self, request, obj=None):
        fields = ["title", "description", "url", "establishment", "for_guardians",
                  "for_pupils", "levels", "position", "is_active"]
        if staff_scope(request.user).everything:
            fields[4:4] = ["saml_service_provider", "oidc_client_id"]
        return fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(title__icontains=term) if term else queryset), False


class EstablishmentMessageForm(forms.ModelForm):
    class Meta:
        model = EstablishmentMessage
        fields = ("establishment", "text", "starts_on", "ends_on")
        # Each says its field and the fix, as the back-office's other forms.
        error_messages = {
            "text": {"required": gettext_lazy(
                "Message : saisissez le texte que liront les familles.")},
            "starts_on": {"required": gettext_lazy(
                "Affiché à partir du : saisissez une date, par exemple 01/09/2026.")},
            "ends_on": {"required": gettext_lazy(
                "Affiché jusqu'au : saisissez une date, par exemple 30/06/2027.")},
        }


@admin.register(EstablishmentMessage)
class EstablishmentMessageAdmin(ChangelistTitleMixin, SchoolChoiceMixin, ScopedAdminMixin,
                                admin.ModelAdmin):
    changelist_noun = gettext_lazy("un message d'établissement")
    object_noun = gettext_lazy("le message d'établissement")
    form = EstablishmentMessageForm
    scope_paths = ("establishment",)
    list_display = ("establishment", "__str__", "starts_on", "ends_on")
    list_select_related = ("establishment",)
    ordering = ("-starts_on", "id")
    school_help = gettext_lazy("Les familles de cet établissement lisent le message.")
    fields = ("establishment", "text", "starts_on", "ends_on")
    search_help_text = gettext_lazy("Texte (ou une partie) du message.")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(text__icontains=term) if term else queryset), False


@admin.register(NewsItem)
class NewsItemAdmin(ChangelistTitleMixin, ScopedAdminMixin, admin.ModelAdmin):
    changelist_noun = gettext_lazy("une actualité")
    object_noun = gettext_lazy("l'actualité")
    list_display = ("title", "starts_on", "ends_on", "for_guardians", "for_pupils")
    ordering = ("-starts_on", "id")
    fields = ("title", "text", "starts_on", "ends_on", "for_guardians", "for_pupils")
    search_help_text = gettext_lazy("Titre (ou une partie) de l'actualité.")

    def scope_q(self, scope):
        return Q() if scope.everything else Q(pk__in=[])

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(title__icontains=term) if term else queryset), False


class ServiceProviderForm(forms.ModelForm):
    released_attributes = forms.MultipleChoiceField(
        label=gettext_lazy("Attributs transmis"), choices=Attribute.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("Les seuls attributs que ce service reçoit (voir docs/saml.md)."),
    )

    class Meta:
        model = ServiceProvider
        fields = ("name", "metadata_xml", "authn_requests_signed", "released_attributes",
                  "is_active")

    def clean_metadata_xml(self):
        xml = self.cleaned_data["metadata_xml"]
        self.metadata = saml_services.metadata_read(xml)  # ValidationError in French
        existing = ServiceProvider.objects.filter(entity_id=self.metadata.entity_id)
        if self.instance.pk:
            existing = existing.exclude(pk=self.instance.pk)
        if existing.exists():
            raise forms.ValidationError(gettext_lazy(
                "Un fournisseur de services est déjà enregistré avec cet entityID : "
                "modifiez-le plutôt que d'en créer un second."))
        return xml


@admin.register(ServiceProvider)
class ServiceProviderAdmin(ChangelistTitleMixin, ScopedAdminMixin, admin.ModelAdmin):
    changelist_noun = gettext_lazy("un fournisseur de services SAML")
    object_noun = gettext_lazy("le fournisseur de services SAML")
    form = ServiceProviderForm
    list_display = ("name", "entity_id", "authn_requests_signed", "encrypts_assertions",
                    "is_active", "updated_at")
    ordering = ("name", "id")
    readonly_fields = ("entity_id", "encrypts_assertions", "updated_at")
    search_help_text = gettext_lazy("Nom ou entityID (ou une partie).")

    def scope_q(self, scope):
        return Q() if scope.everything else Q(pk__in=[])

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(name__icontains=term) | Q(entity_id__icontains=term)), False

    def save_model(self, request, obj, form, change):
        saml_services.service_provider_save(
            provider=obj, metadata=form.metadata, actor=request.user, request=request,
        )
