"""Schools' data in the back-office: secretaries fix their own establishments' pupils,
guardian records and links; helpdesk agents read their academy's; national administrators
see everything. Scoping: backoffice.scoping (one mixin for every class here).

Every write goes through pupils.services (the rules, one transaction, the journal, and
simple-history's before/after with the author, shown on the object's « Historique » page); the
forms here only call the services' `*_validate` checks to show refusals beside their fields.
No page here can change or delete a history row.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import AccountState
from accounts.my_account.services import mask_email
from backoffice.admin.history import FrenchHistoryAdmin
from backoffice.admin.titles import ChangelistTitleMixin
from backoffice.forms import NO_AUTOFILL
from backoffice.scoping import ScopedAdminMixin, ScopedInlineMixin
from backoffice.selectors import (
    guardian_records_matching,
    pupils_matching,
    responsibilities_matching,
    staff_scope,
)
from core.forms import FrenchMobileNumberField
from core.normalization import mask_phone, region_for_uai
from pupils import services
from pupils.forms import BirthDateField
from pupils.models import (
    Academy,
    Establishment,
    GuardianRecord,
    Pupil,
    Responsibility,
    ResponsibilityStatus,
)
from pupils.selectors import PUPIL_NAME_ORDER, PUPIL_SCHOOLS_NAME_ORDER, RECORD_NAME_ORDER
from services_portal.levels import level_in_words


class ScopedEstablishmentFilter(admin.SimpleListFilter):
    """The user's own establishments (shown when they have several); others search by UAI."""

    title = gettext_lazy("établissement")
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
    title = gettext_lazy("compte ÉduConnect")
    parameter_name = "compte"

    def lookups(self, request, model_admin):
        return [("actif", _("Couverte par un compte actif")), ("aucun", _("Sans compte actif"))]

    def queryset(self, request, queryset):
        if self.value() == "actif":
            return queryset.filter(account__state=AccountState.ACTIVE)
        if self.value() == "aucun":
            return queryset.exclude(account__state=AccountState.ACTIVE)
        return queryset


def guardian_record_label(record) -> str:
    """How a guardian record reads where one is chosen (links' autocompletes): its name, then
    what tells two namesakes apart without showing more than the record's page does to the
    same user — its number and address masked, its school — e.g. « Thomas MARTIN — 06 •• ••
    •• 78 — t•••@exemple.fr — Collège Jules-Ferry (0940001A) »."""
    parts = [f"{record.first_name} {record.last_name.upper()}"]
    if record.mobile_phone:
        parts.append(mask_phone(str(record.mobile_phone)))
    if record.email:
        parts.append(mask_email(record.email))
    if not record.mobile_phone and not record.email:
        parts.append(_("sans coordonnées"))
    parts.append(str(record.establishment))
    return " — ".join(parts)


def _account_summary(account) -> str:
    if account is None:
        return _("Aucun compte : activation non faite")
    if account.state == AccountState.ACTIVE:
        return _("Compte actif : %(identifier)s") % {"identifier": account.display_identifier}
    return _("%(identifier)s (compte %(state)s)") % {
        "identifier": account.display_identifier,
        "state": account.get_state_display().lower(),
    }


# --- Writes through pupils.services ----------------------------------------------------------


def _add_service_errors(form, error: ValidationError) -> None:
    """File a service's refusal on the form's fields (a field not on the form, or disabled,
    gets it as a form error). A field that already has its own error keeps only that one: the
    service would say the same thing again."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        field = form.fields.get(name)
        target = name if field is not None and not field.disabled else None
        if target is not None and target in form.errors:
            continue
        form.add_error(target, errors)


class ServiceWritesMixin:
    """Admin pages whose saves call pupils.services.

    The forms show beside their fields every refusal the services' checks know. A refusal
    that still comes at save time (another writer changed the rows between the check and the
    save) rolls the whole page back — the admin runs it in one transaction — and is shown as
    a message: nothing half-written, never an error page.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, _("Rien n'a été enregistré : %(reason)s") % {
                "reason": " ".join(error.messages)}, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- Links (guardian record ↔ pupil) ------------------------------------------------------

NEW_LINK_STATUS_ERROR = gettext_lazy(
    "État : un lien ajouté est « Actif ». Choisissez « Actif », puis retirez le lien plus "
    "tard s'il le faut."
)


def _name_row_fields(form, other_end: str) -> None:
    """A table row's fields have only a column header: give each its own accessible name."""
    for name, field in form.fields.items():
        if name in ("id", "DELETE"):
            continue
        label = str(field.label or name)
        field.widget.attrs["aria-label"] = f"{label} — {other_end}" if other_end else label


class LinkRowForm(forms.ModelForm):
    """A row of the links table of a record's or a pupil's page. The page is one end of the
    link; on a new row the person picks the other end (`chosen`), which never moves later."""

    chosen: str = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.chosen in self.fields:
            self.fields[self.chosen].disabled = True  # a link's ends do not move: remove, add
        other_end = getattr(self.instance, self.chosen) if self.instance.pk else None
        _name_row_fields(self, str(other_end) if other_end is not None else _("nouveau lien"))

    def clean(self):
        cleaned = super().clean()
        try:
            if self.instance.pk is None:
                record, pupil = cleaned.get("guardian_record"), cleaned.get("pupil")
                if cleaned.get("status", ResponsibilityStatus.ACTIVE) != (
                    ResponsibilityStatus.ACTIVE
                ):
                    self.add_error("status", NEW_LINK_STATUS_ERROR)
                if record is not None and pupil is not None:
                    services.responsibility_add_validate(guardian_record=record, pupil=pupil,
                                                         chosen=self.chosen)
            else:
                services.responsibility_update_validate(responsibility=self.instance,
                                                        status=cleaned.get("status"))
        except ValidationError as error:
            _add_service_errors(self, error)
        return cleaned


class LinkFromRecordForm(LinkRowForm):
    chosen = "pupil"

    class Meta:
        model = Responsibility
        fields = ["pupil", "is_legal_representative", "status"]


class LinkFromPupilForm(LinkRowForm):
    chosen = "guardian_record"

    class Meta:
        model = Responsibility
        fields = ["guardian_record", "is_legal_representative", "status"]


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
    verbose_name = gettext_lazy("élève rattaché")
    add_text = gettext_lazy("Ajouter un élève rattaché")
    verbose_name_plural = gettext_lazy("élèves rattachés (liens)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pupil__establishment")


class GuardianChoiceLabelMixin:
    """The guardian record chosen on a link's form reads as in the autocomplete's list
    (guardian_record_label), when the page shows it again (after a refusal)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "guardian_record" and field is not None:
            field.label_from_instance = guardian_record_label
        return field


class LinksOfPupilInline(GuardianChoiceLabelMixin, LinkInlineBase):
    form = LinkFromPupilForm
    fk_name = "pupil"
    fields = ("guardian_record", "is_legal_representative", "status")
    autocomplete_fields = ("guardian_record",)
    verbose_name = gettext_lazy("responsable rattaché")
    add_text = gettext_lazy("Ajouter un responsable rattaché")
    verbose_name_plural = gettext_lazy("responsables rattachés (liens)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("guardian_record__establishment")


class LinkInlineWritesMixin(ServiceWritesMixin):
    """The links table of a record's or a pupil's page is saved row by row through the
    services (in the page's transaction): a new row is responsibility_add, a changed row
    responsibility_update."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Responsibility:
            return super().save_formset(request, form, formset, change)
        # What formset.save() would have recorded, for the admin's change message.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not row.has_changed():
                continue
            data = row.cleaned_data
            if row.instance.pk is None:
                link = services.responsibility_add(
                    guardian_record=data["guardian_record"], pupil=data["pupil"],
                    is_legal_representative=data["is_legal_representative"],
                    actor=request.user, request=request, chosen=row.chosen,
                )
                formset.new_objects.append(link)
            else:
                link = services.responsibility_update(
                    responsibility=row.instance, status=data["status"],
                    is_legal_representative=data["is_legal_representative"],
                    actor=request.user, request=request,
                )
                formset.changed_objects.append((link, row.changed_data))
        return None


# --- Guardian records ------------------------------------------------------------------


class GuardianRecordForm(forms.ModelForm):
    # The number is read in the school's region (set in __init__): « 0692 12 34 56 » in a
    # school of La Réunion is +262 692 12 34 56.
    mobile_phone = FrenchMobileNumberField(
        label=gettext_lazy("Téléphone portable"),
        required=False,
        label_in_errors=True,
        help_text=(
            gettext_lazy(
                "Le numéro de portable donné par le responsable, par exemple 06 12 34 56 78, ou "
                "avec l'indicatif hors de France métropolitaine (+262 692 12 34 56). Laissez "
                "vide si l'établissement n'en a pas."
            )
        ),
        widget=forms.TextInput(attrs={**NO_AUTOFILL, "type": "tel", "inputmode": "tel"}),
    )

    class Meta:
        model = GuardianRecord
        fields = ["mobile_phone", "email"]
        widgets = {"email": forms.EmailInput(attrs=NO_AUTOFILL)}
        error_messages = {
            "email": {
                "invalid": gettext_lazy(
                    "Adresse mail : saisissez une adresse valide, par exemple "
                    "prenom.nom@exemple.fr."
                )
            }
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "mobile_phone" in self.fields:
            self.fields["mobile_phone"].region = region_for_uai(self.instance.establishment.uai)

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["mobile_phone"], cleaned["email"] = services.guardian_record_contact_validate(
                guardian_record=self.instance, mobile_phone=cleaned.get("mobile_phone") or "",
                email=cleaned.get("email") or "",
            )
        except ValidationError as error:
            _add_service_errors(self, error)
        return cleaned


@admin.register(GuardianRecord)
class GuardianRecordAdmin(ChangelistTitleMixin, LinkInlineWritesMixin, ScopedAdminMixin,
                          FrenchHistoryAdmin):
    changelist_noun = gettext_lazy("une fiche responsable")
    object_noun = gettext_lazy("la fiche responsable")
    form = GuardianRecordForm
    scope_paths = ("establishment",)
    list_display = ("last_name_upper", "first_name", "establishment_short", "phone",
                    "email", "account_cover")
    list_display_links = ("last_name_upper",)
    list_select_related = ("establishment", "account")
    list_filter = (ScopedEstablishmentFilter, AccountCoverFilter)
    # Case and accents aside (« de La Fontaine » among the D), on the records' stored keys:
    # a secretary's list walks the index (establishment, last_name_key, first_name_key).
    ordering = RECORD_NAME_ORDER
    search_ordering = (Lower("last_name"), Lower("first_name"), "id")
    sortable_by = ()
    search_help_text = (
        gettext_lazy("Nom (ou une partie), numéro de téléphone, adresse mail, INE d'un "
                     "enfant, UAI ou identifiant ÉduConnect.")
    )
    schools_search_help_text = gettext_lazy(
        "Nom ou prénom (ou une partie), numéro de téléphone, adresse mail, INE d'un enfant, "
        "UAI ou identifiant ÉduConnect.")
    fieldsets = (
        ("Responsable", {"fields": ("civility_name", "establishment", "account_cover")}),
        (gettext_lazy("Coordonnées (utilisées pour l'activation par SMS)"),
         {"fields": ("mobile_phone", "email")}),
    )
    readonly_fields = ("civility_name", "establishment", "account_cover")
    inlines = (LinksOfRecordInline,)
    history_list_display = ("mobile_phone", "email", "account")
    # The links' autocompletes (backoffice.site.LabelledAutocompleteJsonView).
    autocomplete_select_related = ("establishment",)

    @staticmethod
    def _own_details_said(record) -> str | None:
        """What the secretary is told when the record's guardian has activated: the account
        keeps its own mobile number and address (accounts.models.Account: phone, email), which
        a save here never changes (pupils.services.guardian_record_contact_update writes the
        record only); its recoveries write to those (accounts.recovery.services)."""
        if record is None or record.account is None or (
                record.account.state != AccountState.ACTIVE):
            return None
        return _("Le compte ÉduConnect de ce représentant garde ses propres coordonnées "
                 "(numéro de portable, adresse mail) : les modifier sur cette fiche ne les "
                 "change pas. Ce sont elles qui lui servent à récupérer son identifiant ou son "
                 "mot de passe ; il les modifie lui-même dans son compte ÉduConnect.")

    def get_fieldsets(self, request, obj=None):
        said = self._own_details_said(obj)
        if said is None:
            return self.fieldsets
        (who, whose), (title, contact) = self.fieldsets
        return ((who, whose), (title, {**contact, "description": said}))

    def change_done_message(self, request, obj) -> str:
        said = self._own_details_said(obj)
        if said is None:
            return super().change_done_message(request, obj)
        return super().change_done_message(request, obj) + " " + said

    def autocomplete_label(self, record) -> str:
        """A record as the links' guardian autocomplete lists it."""
        return guardian_record_label(record)

    @admin.display(description="nom", ordering="last_name_key")
    def last_name_upper(self, record):
        return record.last_name.upper()

    @admin.display(description="responsable")
    def civility_name(self, record):
        return f"{record.get_civility_display()} {record.last_name.upper()} {record.first_name}"

    @admin.display(description=gettext_lazy("établissement"))
    def establishment_short(self, record):
        return f"{record.establishment.name} ({record.establishment.uai})"

    @admin.display(description=gettext_lazy("téléphone portable"))
    def phone(self, record):
        return record.mobile_phone.as_international if record.mobile_phone else "—"

    @admin.display(description=gettext_lazy("compte ÉduConnect"))
    def account_cover(self, record):
        return _account_summary(record.account)

    def search_matching(self, queryset, query, *, schools=frozenset()):
        return guardian_records_matching(queryset, query, schools=schools)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.guardian_record_contact_update(
            guardian_record=obj, mobile_phone=data["mobile_phone"], email=data["email"],
            actor=request.user, request=request,
        )

    def has_add_permission(self, request):
        return False  # guardian records come from the schools' rosters

    def has_delete_permission(self, request, obj=None):
        return False


# --- Pupils ------------------------------------------------------------------------------


class PupilForm(forms.ModelForm):
    # The reading and bounds of every birth date (pupils.validators): what the roster import
    # accepts, a secretary can save, and the other way round. A plain date box: not the
    # admin's calendar, whose « Aujourd'hui » and time-zone note mean nothing for a birth date.
    birth_date = BirthDateField(widget=forms.DateInput(
        format="%d/%m/%Y", attrs={**NO_AUTOFILL, "inputmode": "numeric", "size": "10"}))

    class Meta:
        model = Pupil
        fields = ["last_name", "first_names", "birth_date", "division"]
        widgets = {
            "last_name": forms.TextInput(attrs=NO_AUTOFILL),
            "first_names": forms.TextInput(attrs=NO_AUTOFILL),
            "division": forms.TextInput(attrs=NO_AUTOFILL),
        }
        help_texts = {
            # Optional, as the roster's « classe » column (pupils.roster.OPTIONAL_COLUMNS)
            # and the model: the letters page finds a pupil without a class by level.
            "division": gettext_lazy("Par exemple 6A ou 2NDE3. Facultative, comme dans "
                                     "l'import des élèves : les lettres des comptes "
                                     "provisoires se choisissent par classe, ou par niveau "
                                     "pour un élève sans classe."),
        }
        error_messages = {
            "last_name": {"required": gettext_lazy("Nom : saisissez le nom de l'élève.")},
            "first_names": {"required": gettext_lazy("Prénoms : saisissez au moins un prénom.")},
        }

    def clean(self):
        cleaned = super().clean()
        try:
            values = services.pupil_update_validate(
                last_name=cleaned.get("last_name") or "",
                first_names=cleaned.get("first_names") or "",
                birth_date=cleaned.get("birth_date"),
                pupil=self.instance if self.instance.pk else None,
            )
        except ValidationError as error:
            _add_service_errors(self, error)
        else:
            cleaned.update(zip(("last_name", "first_names", "birth_date"), values, strict=True))
        try:
            cleaned["division"] = services.pupil_division_validate(cleaned.get("division") or "")
        except ValidationError as error:
            _add_service_errors(self, error)
        return cleaned


@admin.register(Pupil)
class PupilAdmin(ChangelistTitleMixin, LinkInlineWritesMixin, ScopedAdminMixin,
                 FrenchHistoryAdmin):
    changelist_noun = gettext_lazy("un élève")
    object_noun = gettext_lazy("l'élève")
    form = PupilForm
    scope_paths = ("establishment",)
    list_display = ("last_name_upper", "first_names", "birth_date", "level_label", "division",
                    "establishment_short", "ine", "account_cover")
    list_display_links = ("last_name_upper",)
    list_select_related = ("establishment", "account")
    list_filter = (ScopedEstablishmentFilter,)
    ordering = PUPIL_NAME_ORDER
    search_ordering = (Lower("last_name"), Lower("first_names"), "id")

    def get_ordering(self, request):
        """Every staff user's list in French name order, case and accents aside (« de La
        Fontaine » among the D, « Émile » among the E; pupils.selectors.NameOrder).

        An academy's or the country's list (and any list filtered to one school) orders by
        PUPIL_NAME_ORDER, whose expressions the indexes pupil_name_fr_idx and
        pupil_estab_name_fr_idx hold: PostgreSQL reads the first page by walking the index
        and stops after its rows. At 1,000,000 pupils: the national query 0.3 ms (a sort of
        the table under the collation: 0.8 s), an academy's 7.5 ms (0.16 s); the whole page,
        p50 26 ms and 33 ms, as in byte order (bench/README.md, « Back-office »).

        A secretary's list (her schools' rows, a few thousand) orders by
        PUPIL_SCHOOLS_NAME_ORDER, the same order on an expression no index holds: her rows are
        found by the establishment index and sorted (3 ms for two schools), where PostgreSQL
        would otherwise walk the national index past the other schools' pupils (46 ms). A
        search orders by search_ordering (ScopedAdminMixin)."""
        ordering = super().get_ordering(request)
        scope = staff_scope(request.user)
        if ordering is self.ordering and not scope.everything and scope.academy_id is None:
            return PUPIL_SCHOOLS_NAME_ORDER
        return ordering

    sortable_by = ()
    search_help_text = gettext_lazy(
        "Nom (ou une partie), INE, UAI, ou téléphone ou adresse d'un responsable."
    )
    schools_search_help_text = gettext_lazy(
        "Nom ou prénom (ou une partie), INE, UAI, ou téléphone ou adresse d'un responsable.")
    fieldsets = (
        (gettext_lazy("Élève"), {"fields": ("ine", "establishment", "level_label", "division",
                                             "account_cover")}),
        (gettext_lazy("État civil"), {"fields": ("last_name", "first_names", "birth_date")}),
    )
    readonly_fields = ("ine", "establishment", "level_label", "account_cover")
    inlines = (LinksOfPupilInline,)
    history_list_display = ("last_name", "first_names", "birth_date", "division")

    @admin.display(description="nom", ordering="last_name")
    def last_name_upper(self, pupil):
        return pupil.last_name.upper()

    @admin.display(description=gettext_lazy("établissement"))
    def establishment_short(self, pupil):
        return f"{pupil.establishment.name} ({pupil.establishment.uai})"

    @admin.display(description=gettext_lazy("niveau"), ordering="level")
    def level_label(self, pupil):
        """The level as every other page says it (services_portal.levels.level_in_words:
        « 4e » for the roster's « 4EME »), « — » when the roster gave none."""
        return level_in_words(pupil.level) or "—"

    @admin.display(description=gettext_lazy("compte élève"))
    def account_cover(self, pupil):
        if pupil.account is None:
            return gettext_lazy("Aucun compte élève")
        return _account_summary(pupil.account)

    def search_matching(self, queryset, query, *, schools=frozenset()):
        return pupils_matching(queryset, query, schools=schools)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        services.pupil_update(
            pupil=obj, last_name=data["last_name"], first_names=data["first_names"],
            birth_date=data["birth_date"], division=data["division"], actor=request.user,
            request=request,
        )

    def has_add_permission(self, request):
        return False  # pupils come from the schools' rosters

    def has_delete_permission(self, request, obj=None):
        return False


# --- Links ------------------------------------------------------------------------------


class ResponsibilityForm(forms.ModelForm):
    class Meta:
        model = Responsibility
        fields = ["guardian_record", "pupil", "is_legal_representative", "status"]
        error_messages = {
            "guardian_record": {"required": gettext_lazy(
                "Responsable : choisissez une fiche responsable.")},
            "pupil": {"required": gettext_lazy("Élève : choisissez un élève.")},
        }

    def clean(self):
        cleaned = super().clean()
        try:
            if self.instance.pk is None:
                record, pupil = cleaned.get("guardian_record"), cleaned.get("pupil")
                if record is not None and pupil is not None:
                    services.responsibility_add_validate(guardian_record=record, pupil=pupil)
            else:
                services.responsibility_update_validate(responsibility=self.instance,
                                                        status=cleaned.get("status"))
        except ValidationError as error:
            _add_service_errors(self, error)
        return cleaned

    def validate_unique(self):
        pass  # checked in clean() by the service's check, with a message that says what to do


@admin.register(Responsibility)
class ResponsibilityAdmin(ChangelistTitleMixin, GuardianChoiceLabelMixin, ServiceWritesMixin,
                          ScopedAdminMixin, FrenchHistoryAdmin):
    changelist_noun = gettext_lazy("un lien responsable–élève")
    object_noun = gettext_lazy("le lien responsable–élève")
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
        gettext_lazy("Nom de l'élève (ou une partie), INE, UAI, ou téléphone ou adresse du "
                     "responsable.")
    )
    schools_search_help_text = gettext_lazy(
        "Nom ou prénom de l'élève (ou une partie), INE, UAI, ou téléphone ou adresse du "
        "responsable.")
    actions = ("links_keep", "links_remove", "links_set_legal", "links_unset_legal")
    history_list_display = ("status", "is_legal_representative")

    @admin.display(description=gettext_lazy("élève"), ordering="pupil__last_name")
    def pupil_name(self, link):
        return f"{link.pupil.last_name.upper()} {link.pupil.first_names}"

    @admin.display(description="responsable")
    def guardian_name(self, link):
        return f"{link.guardian_record.last_name.upper()} {link.guardian_record.first_name}"

    @admin.display(description=gettext_lazy("établissement"))
    def establishment_short(self, link):
        school = link.pupil.establishment
        return format_html("{} ({})", school.name, school.uai)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("guardian_record", "pupil", "is_legal_representative")  # added « Actif »
        return ("guardian_record", "pupil", "is_legal_representative", "status")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ("guardian_record", "pupil")  # a link's ends do not move: remove, add
        return ()

    def search_matching(self, queryset, query, *, schools=frozenset()):
        return responsibilities_matching(queryset, query, schools=schools)

    def has_delete_permission(self, request, obj=None):
        return False  # « Retirer » keeps the link, marked removed, with its history

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.responsibility_update(
                responsibility=obj, status=data.get("status"),
                is_legal_representative=data.get("is_legal_representative"),
                actor=request.user, request=request,
            )
            return
        link = services.responsibility_add(
            guardian_record=data["guardian_record"], pupil=data["pupil"],
            is_legal_representative=data["is_legal_representative"], actor=request.user,
            request=request,
        )
        # The admin goes on with its own instance (change message, redirect to the link).
        obj.pk, obj.status = link.pk, link.status
        obj._state.adding = False

    def _links_apply(self, request, queryset, write, said, then=None) -> None:
        """Apply one service to every selected link, all or nothing (one transaction), and
        tell what changed: `said(count)` the sentence of the changed links, `then(links)` what
        follows for them (optional)."""
        links = list(queryset.order_by("pk"))
        changed = []
        try:
            with transaction.atomic():
                for link in links:
                    stored = write(link)
                    if (stored.status, stored.is_legal_representative) != (
                            link.status, link.is_legal_representative):
                        changed.append(stored)
        except ValidationError as error:
            self.message_user(request, _("Aucun lien n'a été modifié : %(reason)s") % {
                "reason": " ".join(error.messages)}, messages.ERROR)
            return
        words = [said(len(changed))]
        unchanged = len(links) - len(changed)
        if unchanged:
            words.append(ngettext(
                "%(count)s lien était déjà dans cet état : inchangé.",
                "%(count)s liens étaient déjà dans cet état : inchangés.", unchanged,
            ) % {"count": unchanged})
        if then is not None and changed:
            words.extend(then(changed))
        self.message_user(request, " ".join(words), messages.SUCCESS)

    @staticmethod
    def _confirmed_next(links) -> list[str]:
        """What a confirmed link does for the family. A child reaches an account only
        through a guardian record the account covers (pupils.selectors
        .pupils_of_guardian_account): a record whose account is known shows the child at
        once; a record no account covers (its guardian disputed all its children at
        activation, or has not activated) waits for the family's own proof, « Ajouter un
        enfant » or an activation (families, activation), and nothing is sent to them."""
        covered = sum(1 for link in links if link.guardian_record.account_id is not None)
        waiting = len(links) - covered
        words = []
        if covered:
            words.append(ngettext(
                "Pour %(count)s lien, la fiche du responsable est couverte par un compte "
                "ÉduConnect : l'enfant y apparaît dès maintenant.",
                "Pour %(count)s liens, la fiche du responsable est couverte par un compte "
                "ÉduConnect : l'enfant y apparaît dès maintenant.", covered,
            ) % {"count": covered})
        if waiting:
            words.append(ngettext(
                "Pour %(count)s lien, la fiche du responsable n'est couverte par aucun compte : "
                "l'enfant n'apparaîtra qu'après que le responsable l'aura ajouté lui-même "
                "(« Ajouter un enfant » dans son compte, ou activation de son compte). Aucun "
                "message ne lui est envoyé : prévenez-le si besoin.",
                "Pour %(count)s liens, la fiche du responsable n'est couverte par aucun compte : "
                "l'enfant n'apparaîtra qu'après que le responsable l'aura ajouté lui-même "
                "(« Ajouter un enfant » dans son compte, ou activation de son compte). Aucun "
                "message ne leur est envoyé : prévenez-les si besoin.", waiting,
            ) % {"count": waiting})
        return words

    # French takes the singular for 0 and 1; without a French catalogue of our own, ngettext
    # would say « 0 liens »: zero is said in words.
    @staticmethod
    def _said_confirmed(count: int) -> str:
        if not count:
            return _("Aucun lien confirmé.")
        return ngettext("%(count)s lien confirmé.", "%(count)s liens confirmés.",
                        count) % {"count": count}

    @staticmethod
    def _said_removed(count: int) -> str:
        if not count:
            return _("Aucun lien retiré.")
        return ngettext("%(count)s lien retiré.", "%(count)s liens retirés.",
                        count) % {"count": count}

    @staticmethod
    def _said_legal_set(count: int) -> str:
        if not count:
            return _("Aucun lien marqué « représentant légal ».")
        return ngettext("%(count)s lien marqué « représentant légal ».",
                        "%(count)s liens marqués « représentant légal ».",
                        count) % {"count": count}

    @staticmethod
    def _said_legal_unset(count: int) -> str:
        if not count:
            return _("Aucun lien n'a perdu « représentant légal ».")
        return ngettext("« Représentant légal » retiré de %(count)s lien.",
                        "« Représentant légal » retiré de %(count)s liens.",
                        count) % {"count": count}

    @admin.action(description=gettext_lazy("Confirmer les liens sélectionnés (état « Actif »)"),
                  permissions=["change"])
    def links_keep(self, request, queryset):
        self._links_apply(request, queryset.select_related("guardian_record"),
                          lambda link: services.responsibility_update(
                              responsibility=link, status=ResponsibilityStatus.ACTIVE,
                              actor=request.user, request=request,
                          ), self._said_confirmed, then=self._confirmed_next)

    @admin.action(description=gettext_lazy("Retirer les liens sélectionnés (état « Retiré »)"),
                  permissions=["change"])
    def links_remove(self, request, queryset):
        self._links_apply(request, queryset, lambda link: services.responsibility_remove(
            responsibility=link, actor=request.user, request=request,
        ), self._said_removed)

    @admin.action(description=gettext_lazy("Marquer « représentant légal »"),
                  permissions=["change"])
    def links_set_legal(self, request, queryset):
        self._links_apply(request, queryset, lambda link: services.responsibility_set_legal(
            responsibility=link, is_legal_representative=True, actor=request.user,
            request=request,
        ), self._said_legal_set)

    @admin.action(description=gettext_lazy("Retirer « représentant légal »"),
                  permissions=["change"])
    def links_unset_legal(self, request, queryset):
        self._links_apply(request, queryset, lambda link: services.responsibility_set_legal(
            responsibility=link, is_legal_representative=False, actor=request.user,
            request=request,
        ), self._said_legal_unset)


# --- Establishments and academies --------------------------------------------------------


class EstablishmentForm(forms.ModelForm):
    class Meta:
        model = Establishment
        fields = ["uai", "name", "kind", "academy", "ent_url"]

    def clean_uai(self):
        """The UAI in capitals, as the roster import reads it (« 0750009b » is 0750009B)."""
        return (self.cleaned_data.get("uai") or "").upper()


@admin.register(Establishment)
class EstablishmentAdmin(ChangelistTitleMixin, ScopedAdminMixin, admin.ModelAdmin):
    changelist_noun = gettext_lazy("un établissement")
    object_noun = gettext_lazy("l'établissement")
    form = EstablishmentForm
    scope_paths = ("pk",)
    list_display = ("name", "uai", "kind", "academy")
    list_select_related = ("academy",)
    ordering = ("name", "id")
    sortable_by = ()
    search_help_text = gettext_lazy("UAI, ou nom (ou une partie) de l'établissement.")
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
class AcademyAdmin(ChangelistTitleMixin, ScopedAdminMixin, admin.ModelAdmin):
    changelist_noun = gettext_lazy("une académie")
    object_noun = gettext_lazy("l'académie")
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

