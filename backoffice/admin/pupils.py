"""Schools' data in the back-office: secretaries fix their own establishments' pupils,
guardian records and links; helpdesk agents read their academy's; national administrators
see everything. Scoping: backoffice.scoping (one mixin for every class here).

Every change is kept by simple-history (who, when, before/after) and shown on the object's
« Historique » page; no page here can change or delete a history row.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import AccountState
from backoffice.forms import NO_AUTOFILL
from backoffice.scoping import ScopedAdminMixin, ScopedInlineMixin
from backoffice.selectors import (
    guardian_records_matching,
    pupils_matching,
    responsibilities_matching,
    staff_scope,
)
from core.normalization import InvalidPhoneNumber, clean_name, parse_mobile_phone, region_for_uai
from pupils.models import (
    Academy,
    Establishment,
    GuardianRecord,
    Pupil,
    Responsibility,
    ResponsibilityStatus,
)

OLDEST_BIRTH_YEARS = 30


class ScopedEstablishmentFilter(admin.SimpleListFilter):
    """The user's own establishments (shown when they have several); others search by UAI."""

    title = "établissement"
    parameter_name = "etablissement"
    path = "establishment"
    max_choices = 50

    def lookups(self, request, model_admin):
        scope = staff_scope(request.user)
        if scope.everything or scope.academy_id is not None:
            return []
        establishments = list(scope.establishments().order_by("name")[: self.max_choices + 1])
        if len(establishments) < 2 or len(establishments) > self.max_choices:
            return []
        return [(str(e.pk), f"{e.name} ({e.uai})") for e in establishments]

    def has_output(self):
        # A value typed in the URL is honoured even when no choice is listed (on a scoped
        # queryset: another school's id gives an empty list).
        return bool(self.value()) or super().has_output()

    def queryset(self, request, queryset):
        value = self.value()
        if value:
            return queryset.filter(**{self.path: int(value)}) if value.isdigit() else (
                queryset.none()
            )
        return queryset


class PupilEstablishmentFilter(ScopedEstablishmentFilter):
    path = "pupil__establishment"


class AccountCoverFilter(admin.SimpleListFilter):
    title = "compte ÉduConnect"
    parameter_name = "compte"

    def lookups(self, request, model_admin):
        return [("actif", "Couverte par un compte actif"), ("aucun", "Sans compte actif")]

    def queryset(self, request, queryset):
        if self.value() == "actif":
            return queryset.filter(account__state=AccountState.ACTIVE)
        if self.value() == "aucun":
            return queryset.exclude(account__state=AccountState.ACTIVE)
        return queryset


def _account_summary(account) -> str:
    if account is None:
        return "Aucun compte : activation non faite"
    if account.state == AccountState.ACTIVE:
        return f"Compte actif : {account.display_identifier}"
    return f"{account.display_identifier} (compte {account.get_state_display().lower()})"


# --- Links (guardian record ↔ pupil) ------------------------------------------------------

SAME_SCHOOL_ERROR = (
    "Élève : choisissez un élève de l'établissement de cette fiche responsable ({school}). "
    "Un responsable connu de deux établissements a une fiche dans chacun."
)
LINK_EXISTS_ERROR = (
    "Ce lien existe déjà : ouvrez-le pour changer son état ou « représentant légal »."
)


def _check_same_school(form, guardian_record, pupil) -> None:
    if guardian_record is None or pupil is None:
        return
    if guardian_record.establishment_id != pupil.establishment_id:
        form.add_error(
            "pupil" if "pupil" in form.fields and not form.fields["pupil"].disabled
            else None,
            SAME_SCHOOL_ERROR.format(school=guardian_record.establishment),
        )


def _name_row_fields(form, other_end: str) -> None:
    """A table row's fields have only a column header: give each its own accessible name."""
    for name, field in form.fields.items():
        if name in ("id", "DELETE"):
            continue
        label = str(field.label or name)
        field.widget.attrs["aria-label"] = f"{label} — {other_end}" if other_end else label


class LinkFromRecordForm(forms.ModelForm):
    class Meta:
        model = Responsibility
        fields = ["pupil", "is_legal_representative", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "pupil" in self.fields:
            self.fields["pupil"].disabled = True  # a link's ends do not move: remove, add
        _name_row_fields(self, str(self.instance.pupil) if self.instance.pk else "nouveau lien")

    def clean(self):
        cleaned = super().clean()
        record = GuardianRecord.objects.filter(pk=self.instance.guardian_record_id).first()
        _check_same_school(self, record, cleaned.get("pupil"))
        return cleaned


class LinkFromPupilForm(forms.ModelForm):
    class Meta:
        model = Responsibility
        fields = ["guardian_record", "is_legal_representative", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "guardian_record" in self.fields:
            self.fields["guardian_record"].disabled = True
        _name_row_fields(
            self, str(self.instance.guardian_record) if self.instance.pk else "nouveau lien"
        )

    def clean(self):
        cleaned = super().clean()
        pupil = Pupil.objects.filter(pk=self.instance.pupil_id).first()
        record = cleaned.get("guardian_record")
        if (record is not None and pupil is not None
                and record.establishment_id != pupil.establishment_id):
            self.add_error(
                "guardian_record" if not self.fields["guardian_record"].disabled else None,
                "Responsable : choisissez une fiche responsable de l'établissement de l'élève "
                f"({pupil.establishment}).",
            )
        return cleaned


class LinkInlineBase(ScopedInlineMixin, admin.TabularInline):
    model = Responsibility
    extra = 0
    can_delete = False  # a link is removed by setting its state to « Retiré » (kept, audited)
    scope_paths = ("pupil__establishment", "guardian_record__establishment")
    show_change_link = True


class LinksOfRecordInline(LinkInlineBase):
    form = LinkFromRecordForm
    fk_name = "guardian_record"
    fields = ("pupil", "is_legal_representative", "status")
    autocomplete_fields = ("pupil",)
    verbose_name = "élève rattaché"
    verbose_name_plural = "élèves rattachés (liens)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pupil__establishment")


class LinksOfPupilInline(LinkInlineBase):
    form = LinkFromPupilForm
    fk_name = "pupil"
    fields = ("guardian_record", "is_legal_representative", "status")
    autocomplete_fields = ("guardian_record",)
    verbose_name = "responsable rattaché"
    verbose_name_plural = "responsables rattachés (liens)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("guardian_record__establishment")


# --- Guardian records ------------------------------------------------------------------


class GuardianRecordForm(forms.ModelForm):
    mobile_phone = forms.CharField(
        label="Téléphone portable",
        required=False,
        max_length=30,
        help_text=(
            "Le numéro de portable donné par le responsable, par exemple 06 12 34 56 78, ou "
            "avec l'indicatif hors de France métropolitaine (+262 692 12 34 56). Laissez vide "
            "si l'établissement n'en a pas."
        ),
        widget=forms.TextInput(attrs={**NO_AUTOFILL, "inputmode": "tel"}),
    )

    class Meta:
        model = GuardianRecord
        fields = ["mobile_phone", "email"]
        widgets = {"email": forms.EmailInput(attrs=NO_AUTOFILL)}
        error_messages = {
            "email": {
                "invalid": (
                    "Adresse électronique : saisissez une adresse valide, par exemple "
                    "prenom.nom@exemple.fr."
                )
            }
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        phone = self.instance.mobile_phone if self.instance.pk else None
        if phone:
            self.initial["mobile_phone"] = phone.as_international

    def clean_mobile_phone(self):
        raw = self.cleaned_data["mobile_phone"].strip()
        if not raw:
            return ""
        # The import's rules: a national form is read in the school's region first.
        region = region_for_uai(self.instance.establishment.uai)
        try:
            return parse_mobile_phone(raw, preferred_region=region)
        except InvalidPhoneNumber as exc:
            raise ValidationError(f"Téléphone portable : {exc.message}", code="phone") from exc

    def clean_email(self):
        return self.cleaned_data["email"].strip()


@admin.register(GuardianRecord)
class GuardianRecordAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    form = GuardianRecordForm
    scope_paths = ("establishment",)
    list_display = ("last_name_upper", "first_name", "establishment_short", "phone",
                    "email", "account_cover")
    list_display_links = ("last_name_upper",)
    list_select_related = ("establishment", "account")
    list_filter = (ScopedEstablishmentFilter, AccountCoverFilter)
    ordering = ("last_name", "first_name", "id")
    search_ordering = (Lower("last_name"), Lower("first_name"), "id")
    sortable_by = ()
    search_help_text = (
        "Nom (ou une partie), numéro de téléphone, adresse électronique, INE d'un enfant, UAI "
        "ou identifiant ÉduConnect."
    )
    fieldsets = (
        ("Responsable", {"fields": ("civility_name", "establishment", "account_cover")}),
        ("Coordonnées (utilisées pour l'activation par SMS)",
         {"fields": ("mobile_phone", "email")}),
    )
    readonly_fields = ("civility_name", "establishment", "account_cover")
    inlines = (LinksOfRecordInline,)
    history_list_display = ("mobile_phone", "email", "account")

    @admin.display(description="nom", ordering="last_name")
    def last_name_upper(self, record):
        return record.last_name.upper()

    @admin.display(description="responsable")
    def civility_name(self, record):
        return f"{record.get_civility_display()} {record.last_name.upper()} {record.first_name}"

    @admin.display(description="établissement")
    def establishment_short(self, record):
        return f"{record.establishment.name} ({record.establishment.uai})"

    @admin.display(description="téléphone portable")
    def phone(self, record):
        return record.mobile_phone.as_international if record.mobile_phone else "—"

    @admin.display(description="compte ÉduConnect")
    def account_cover(self, record):
        return _account_summary(record.account)

    def search_matching(self, queryset, query):
        return guardian_records_matching(queryset, query)

    def has_add_permission(self, request):
        return False  # guardian records come from the schools' rosters

    def has_delete_permission(self, request, obj=None):
        return False


# --- Pupils ------------------------------------------------------------------------------


class PupilForm(forms.ModelForm):
    class Meta:
        model = Pupil
        fields = ["last_name", "first_names", "birth_date"]
        widgets = {
            "last_name": forms.TextInput(attrs=NO_AUTOFILL),
            "first_names": forms.TextInput(attrs=NO_AUTOFILL),
        }
        error_messages = {
            "last_name": {"required": "Nom : saisissez le nom de l'élève."},
            "first_names": {"required": "Prénoms : saisissez au moins un prénom."},
            "birth_date": {
                "required": "Date de naissance : saisissez-la au format JJ/MM/AAAA.",
                "invalid": (
                    "Date de naissance : saisissez une date au format JJ/MM/AAAA, par exemple "
                    "17/05/2014."
                ),
            },
        }

    def clean_last_name(self):
        value = clean_name(self.cleaned_data["last_name"])
        if not value:
            raise ValidationError("Nom : saisissez le nom de l'élève.")
        return value

    def clean_first_names(self):
        value = clean_name(self.cleaned_data["first_names"])
        if not value:
            raise ValidationError("Prénoms : saisissez au moins un prénom.")
        return value

    def clean_birth_date(self):
        value = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        oldest = today.replace(year=today.year - OLDEST_BIRTH_YEARS, month=1, day=1)
        if value > today:
            raise ValidationError("Date de naissance : elle ne peut pas être dans le futur.")
        if value < oldest:
            raise ValidationError(
                f"Date de naissance : vérifiez l'année, elle doit être postérieure au "
                f"{oldest:%d/%m/%Y}."
            )
        return value


@admin.register(Pupil)
class PupilAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    form = PupilForm
    scope_paths = ("establishment",)
    list_display = ("last_name_upper", "first_names", "birth_date", "level",
                    "establishment_short", "ine", "account_cover")
    list_display_links = ("last_name_upper",)
    list_select_related = ("establishment", "account")
    list_filter = (ScopedEstablishmentFilter,)
    ordering = ("last_name", "first_names", "id")
    search_ordering = (Lower("last_name"), Lower("first_names"), "id")
    sortable_by = ()
    search_help_text = "Nom (ou une partie), INE, UAI, ou téléphone ou adresse d'un responsable."
    fieldsets = (
        ("Élève", {"fields": ("ine", "establishment", "level", "account_cover")}),
        ("État civil", {"fields": ("last_name", "first_names", "birth_date")}),
    )
    readonly_fields = ("ine", "establishment", "level", "account_cover")
    inlines = (LinksOfPupilInline,)
    history_list_display = ("last_name", "first_names", "birth_date")

    @admin.display(description="nom", ordering="last_name")
    def last_name_upper(self, pupil):
        return pupil.last_name.upper()

    @admin.display(description="établissement")
    def establishment_short(self, pupil):
        return f"{pupil.establishment.name} ({pupil.establishment.uai})"

    @admin.display(description="compte élève")
    def account_cover(self, pupil):
        if pupil.account is None:
            return "Aucun compte élève"
        return _account_summary(pupil.account)

    def search_matching(self, queryset, query):
        return pupils_matching(queryset, query)

    def has_add_permission(self, request):
        return False  # pupils come from the schools' rosters

    def has_delete_permission(self, request, obj=None):
        return False


# --- Links ------------------------------------------------------------------------------


class ResponsibilityForm(forms.ModelForm):
    class Meta:
        model = Responsibility
        fields = ["guardian_record", "pupil", "is_legal_representative", "status"]

    def clean(self):
        cleaned = super().clean()
        record, pupil = cleaned.get("guardian_record"), cleaned.get("pupil")
        if self.instance.pk is None and record is not None and pupil is not None:
            _check_same_school(self, record, pupil)
            if Responsibility.objects.filter(guardian_record=record, pupil=pupil).exists():
                raise ValidationError(LINK_EXISTS_ERROR)
        return cleaned

    def validate_unique(self):
        pass  # checked in clean() with a message that says what to do


def _save_links(request, queryset, **changes) -> int:
    # One save per row (not queryset.update): simple-history keeps each change with its author.
    count = 0
    for link in queryset.select_related(None).order_by("pk"):
        for name, value in changes.items():
            setattr(link, name, value)
        link._history_user = request.user
        link.save(update_fields=list(changes))
        count += 1
    return count


@admin.register(Responsibility)
class ResponsibilityAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    form = ResponsibilityForm
    scope_paths = ("pupil__establishment", "guardian_record__establishment")
    list_display = ("pupil_name", "guardian_name", "establishment_short",
                    "is_legal_representative", "status")
    list_select_related = ("pupil__establishment", "guardian_record")
    list_filter = ("status", "is_legal_representative", PupilEstablishmentFilter)
    ordering = ("-id",)
    sortable_by = ()
    autocomplete_fields = ("guardian_record", "pupil")
    search_help_text = (
        "Nom de l'élève (ou une partie), INE, UAI, ou téléphone ou adresse du responsable."
    )
    actions = ("links_keep", "links_remove", "links_set_legal", "links_unset_legal")
    history_list_display = ("status", "is_legal_representative")

    @admin.display(description="élève", ordering="pupil__last_name")
    def pupil_name(self, link):
        return f"{link.pupil.last_name.upper()} {link.pupil.first_names}"

    @admin.display(description="responsable")
    def guardian_name(self, link):
        return f"{link.guardian_record.last_name.upper()} {link.guardian_record.first_name}"

    @admin.display(description="établissement")
    def establishment_short(self, link):
        school = link.pupil.establishment
        return format_html("{} ({})", school.name, school.uai)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("guardian_record", "pupil")  # a link's ends do not move: remove, add
        return ()

    def search_matching(self, queryset, query):
        return responsibilities_matching(queryset, query)

    def has_delete_permission(self, request, obj=None):
        return False  # « Retirer » keeps the link, marked removed, with its history

    def _done(self, request, count, what):
        self.message_user(request, f"{count} lien(s) {what}.", messages.SUCCESS)

    @admin.action(description="Confirmer les liens sélectionnés (état « Actif »)",
                  permissions=["change"])
    def links_keep(self, request, queryset):
        self._done(request, _save_links(request, queryset, status=ResponsibilityStatus.ACTIVE),
                   "confirmé(s)")

    @admin.action(description="Retirer les liens sélectionnés (état « Retiré »)",
                  permissions=["change"])
    def links_remove(self, request, queryset):
        self._done(request, _save_links(request, queryset, status=ResponsibilityStatus.REMOVED),
                   "retiré(s)")

    @admin.action(description="Marquer « représentant légal »", permissions=["change"])
    def links_set_legal(self, request, queryset):
        self._done(request, _save_links(request, queryset, is_legal_representative=True),
                   "marqué(s) représentant légal")

    @admin.action(description="Retirer « représentant légal »", permissions=["change"])
    def links_unset_legal(self, request, queryset):
        self._done(request, _save_links(request, queryset, is_legal_representative=False),
                   "modifié(s)")


# --- Establishments and academies --------------------------------------------------------


@admin.register(Establishment)
class EstablishmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_paths = ("pk",)
    list_display = ("name", "uai", "kind", "academy")
    list_select_related = ("academy",)
    ordering = ("name", "id")
    sortable_by = ()
    search_help_text = "UAI, ou nom (ou une partie) de l'établissement."
    fields = ("uai", "name", "kind", "academy", "ent_url")

    def get_readonly_fields(self, request, obj=None):
        return ("uai",) if obj is not None else ()

    def get_search_results(self, request, queryset, search_term):
        # Establishment names are not people's names: a plain lookup (about 60 000 rows).
        term = search_term.strip()
        if not term:
            return queryset, False
        upper = term.replace(" ", "").upper()
        if len(upper) == 8 and upper[:7].isdigit():
            return queryset.filter(uai=upper), False
        return queryset.filter(name__icontains=term), False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Academy)
class AcademyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name",)
    ordering = ("name",)
    fields = ("name",)

    def scope_q(self, scope):
        if scope.everything:
            return Q()
        if scope.academy_id is not None:
            return Q(pk=scope.academy_id)
        return Q(pk__in=scope.establishments().values("academy_id"))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(name__icontains=term) if term else queryset), False

    def has_delete_permission(self, request, obj=None):
        return False

