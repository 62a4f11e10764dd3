"""Accounts in the back-office (national administrators): accounts and the journal read-only,
staff users managed through backoffice.services. Scoping: the same mixin as every
other admin class (backoffice.scoping).

Never shown: a password hash, a TOTP secret, a code or a token. Accounts change state only
through the helpdesk actions (journaled with a reason); the journal and the history rows are
read-only for every role.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.sites import NotRegistered
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, AccountKind, AccountState, StaffProfile, StaffRole
from accounts.password_policy import STAFF_HELP_TEXT
from backoffice import services
from backoffice.admin.history import FrenchHistoryAdmin
from backoffice.admin.titles import ChangelistTitleMixin
from backoffice.forms import NO_AUTOFILL
from backoffice.journal_labels import describe_event
from backoffice.scoping import ReadOnlyAdminMixin, ScopedAdminMixin
from backoffice.selectors import (
    InvalidSearch,
    Shape,
    accounts_matching,
    accounts_scope_q,
    search_query_parse,
    staff_scope,
)
from core.forms import BidiControlValidator
from core.french import plural_count
from core.journal import EventKind
from core.models import JournalEvent
from pupils.models import Establishment

# TOTP devices hold the shared secret: no admin page for them. A national administrator
# resets a staff user's second factor from « Personnels » (journaled).
try:
    admin.site.unregister(TOTPDevice)
except NotRegistered:
    pass


def _national_only(scope) -> Q:
    return Q() if scope.everything else Q(pk__in=[])


# The roles' groups (backoffice.roles), which national administrators may read: Django's
# page, with our titles.
try:
    admin.site.unregister(Group)
except NotRegistered:
    pass


@admin.register(Group)
class StaffGroupAdmin(ChangelistTitleMixin, GroupAdmin):
    changelist_noun = _("un groupe")
    object_noun = _("le groupe")


# --- Accounts ---------------------------------------------------------------------------


@admin.register(Account)
class AccountAdmin(ChangelistTitleMixin, ScopedAdminMixin, FrenchHistoryAdmin):
    changelist_noun = _("un compte")
    object_noun = _("le compte")
    list_display = ("identifier_upper", "last_name", "first_name", "kind", "state",
                    "date_joined")
    list_filter = ("kind", "state")
    ordering = ("identifier",)
    search_ordering = (Lower("last_name"), Lower("first_name"), "identifier")
    sortable_by = ()
    search_help_text = (
        _("Identifiant, nom (ou une partie), téléphone portable, adresse mail, INE d'un "
        "enfant ou UAI.")
    )
    fields = ("identifier", "kind", "state", "last_name", "first_name", "email",
              "email_verified", "phone", "phone_verified", "is_staff", "date_joined",
              "activated_at", "last_login", "helpdesk_link")
    readonly_fields = fields
    history_list_display = ("state", "email", "phone")

    def scope_q(self, scope):
        return accounts_scope_q(scope)

    @admin.display(description=_("identifiant"), ordering="identifier")
    def identifier_upper(self, account):
        return account.display_identifier

    @admin.display(description=_("dossier"))
    def helpdesk_link(self, account):
        if account.kind == AccountKind.STAFF:
            url = reverse("admin:core_journalevent_changelist")
            return format_html(_('<a href="{}?q={}">Journal de ce compte</a>'), url,
                               account.identifier)
        url = reverse("admin:helpdesk_account", args=[account.pk])
        return format_html(_('<a href="{}">Ouvrir le dossier d\'assistance (actions, journal)</a>'),
                           url)

    def get_search_results(self, request, queryset, search_term):
        """ScopedAdminMixin's search, with the user's scope: an account covering records of
        several academies is found through the records and pupils of the scope only
        (accounts_matching), never through another academy's INE, UAI or contacts."""
        if not search_term.strip():
            return queryset, False
        try:
            query = search_query_parse(search_term)
        except InvalidSearch:
            return queryset.none(), False
        return accounts_matching(queryset, query, staff_scope(request.user)), False

    def search_matching(self, queryset, query, *, schools=frozenset()):
        return accounts_matching(queryset, query)

    def has_add_permission(self, request):
        return False  # accounts are born from activations; staff from « Personnels »

    def has_change_permission(self, request, obj=None):
        return False  # states change through the helpdesk actions, with a reason

    def has_delete_permission(self, request, obj=None):
        return False


# --- Journal ------------------------------------------------------------------------------


class JournalKindFilter(admin.SimpleListFilter):
    title = _("événement")
    parameter_name = "evenement"

    def lookups(self, request, model_admin):
        # The known kinds, from code: a DISTINCT over millions of rows is not a filter.
        return sorted(EventKind.choices, key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(JournalEvent)
class JournalEventAdmin(ChangelistTitleMixin, ReadOnlyAdminMixin, ScopedAdminMixin,
                        admin.ModelAdmin):
    changelist_noun = _("un événement du journal")
    object_noun = _("l'événement du journal")
    list_display = ("at", "label", "account", "actor", "ip_address", "details")
    list_select_related = ("account", "actor")
    list_filter = (JournalKindFilter,)
    ordering = ("-at", "-id")
    sortable_by = ()
    search_help_text = _("Identifiant du compte concerné (p.nom12).")
    fields = ("at", "kind", "account", "actor", "flow_id", "ip_address", "data")
    readonly_fields = fields

    def scope_q(self, scope):
        """Events of the accounts of the scope; of those, an event about a school outside
        it (its « establishment » fact, a UAI: a record or pupil of another academy that a
        shared account covers, fixed by its school) is that academy's, and left out."""
        if scope.everything:
            return Q()
        foreign_school = Q(data__has_key="establishment") & ~Q(Exists(
            Establishment.objects.filter(
                scope.establishment_q("pk"),
                uai=KeyTextTransform("establishment", OuterRef("data")))))
        return Q(account__in=Account.objects.filter(accounts_scope_q(scope))) & ~foreign_school

    @admin.display(description=_("événement"))
    def label(self, event):
        return describe_event(event).label

    @admin.display(description=_("détails"))
    def details(self, event):
        return " ; ".join(f"{name} : {value}" for name, value in describe_event(event).details)

    def search_matching(self, queryset, query, *, schools=frozenset()):
        if query.shape == Shape.IDENTIFIER:
            account = Account.objects.filter(identifier=query.value).first()
            return queryset.filter(account=account) if account else queryset.none()
        return queryset.none()

    def get_actions(self, request):
        return {}


# --- Staff users ------------------------------------------------------------------------

STATE_CHOICES = [
    (AccountState.ACTIVE, "Actif"),
    (AccountState.LOCKED, _("Verrouillé (accès suspendu)")),
    (AccountState.CLOSED, _("Fermé")),
]


class StaffProfileFormBase(forms.ModelForm):
    current_user = None  # set by StaffProfileAdmin.get_form

    class Meta:
        model = StaffProfile
        fields = ["role", "academy", "establishments"]
        help_texts = {
            "academy": _("Obligatoire pour l'assistance académique."),
            "establishments": _("Obligatoire pour un secrétariat : ses établissements."),
        }

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == StaffRole.SECRETARY and not cleaned.get("establishments"):
            self.add_error("establishments",
                           _("Établissements : un secrétariat doit en avoir au moins un."))
        if role == StaffRole.HELPDESK and not cleaned.get("academy"):
            self.add_error("academy", _("Académie : choisissez l'académie de cet agent."))
        return cleaned


def _password_fields(required: bool):
    attrs = {"autocomplete": "new-password"}
    return (
        forms.CharField(
            label=_("Mot de passe provisoire") if required else _("Nouveau mot de passe"),
            required=required, strip=False, widget=forms.PasswordInput(attrs=attrs),
            help_text=format_lazy(
                "{} {}", STAFF_HELP_TEXT,
                _("À transmettre à l'intéressé par un autre canal que le mail."),
            ),
        ),
        forms.CharField(
            label=_("Confirmation du mot de passe"), required=required, strip=False,
            widget=forms.PasswordInput(attrs=attrs),
        ),
    )


class StaffCreateForm(StaffProfileFormBase):
    first_name = forms.CharField(label=_("Prénom"), max_length=100,
                                 validators=[BidiControlValidator(_("Prénom"))],
                                 widget=forms.TextInput(attrs=NO_AUTOFILL))
    last_name = forms.CharField(label=_("Nom"), max_length=100,
                                validators=[BidiControlValidator(_("Nom"))],
                                widget=forms.TextInput(attrs=NO_AUTOFILL))
    email = forms.EmailField(label=_("Adresse mail professionnelle"),
                             widget=forms.EmailInput(attrs=NO_AUTOFILL))
    password1, password2 = _password_fields(required=True)

    def clean(self):
        cleaned = super().clean()
        # The names' characters and the address not already a staff account's
        # (backoffice.services.staff_person_validate), beside their fields; a field that
        # already has its own error keeps only that one.
        try:
            values = services.staff_person_validate(
                first_name=cleaned.get("first_name") or "",
                last_name=cleaned.get("last_name") or "",
                email=cleaned.get("email") or "")
        except ValidationError as error:
            for field, errors in error.error_dict.items():
                if field not in self.errors:
                    self.add_error(field, errors)
        else:
            cleaned.update(zip(("first_name", "last_name", "email"), values, strict=True))
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        # Every failing rule on the password, the mismatch on the confirmation: both at once.
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Confirmation : les deux mots de passe diffèrent."))
        if password1:
            probe = Account(first_name=cleaned.get("first_name", ""),
                            last_name=cleaned.get("last_name", ""),
                            email=cleaned.get("email", ""))
            try:
                services.staff_password_validate(password1, account=probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class StaffChangeForm(StaffProfileFormBase):
    state = forms.ChoiceField(label=_("État du compte"), choices=STATE_CHOICES)
    password1, password2 = _password_fields(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["state"].initial = self.instance.account.state

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        # Every failing rule on the password, the mismatch on the confirmation: both at once.
        if (password1 or password2) and password1 != password2:
            self.add_error("password2", _("Confirmation : les deux mots de passe diffèrent."))
        if password1:
            try:
                services.staff_password_validate(password1, account=self.instance.account)
            except ValidationError as exc:
                self.add_error("password1", exc)
        user = self.current_user
        if user is not None and self.instance.account_id == user.pk and (
            cleaned.get("state") != AccountState.ACTIVE or cleaned.get("role") != StaffRole.NATIONAL
        ):
            raise ValidationError(
                _("Vous ne pouvez pas retirer vos propres droits : demandez-le à un autre "
                "administrateur national.")
            )
        return cleaned


@admin.register(StaffProfile)
class StaffProfileAdmin(ChangelistTitleMixin, ScopedAdminMixin, admin.ModelAdmin):
    changelist_noun = _("un membre du personnel")
    object_noun = _("le membre du personnel")
    list_display = ("identifier", "full_name", "role", "scope_summary", "state",
                    "second_factor")
    list_select_related = ("account", "academy")
    list_filter = ("role",)
    ordering = ("account__identifier",)
    sortable_by = ()
    autocomplete_fields = ("academy", "establishments")
    search_help_text = _("Identifiant ou nom (ou une partie) du personnel.")
    actions = ("second_factor_reset",)

    def scope_q(self, scope):
        return _national_only(scope)

    def get_queryset(self, request):
        enrolled = TOTPDevice.objects.filter(user_id=OuterRef("account_id"), confirmed=True)
        return (
            super().get_queryset(request)
            .prefetch_related("establishments")
            .annotate(has_second_factor=Exists(enrolled))
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = StaffChangeForm if obj is not None else StaffCreateForm
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"current_user": request.user})

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return (
                (_("Personne"), {"fields": ("first_name", "last_name", "email")}),
                (_("Rôle et périmètre"), {"fields": ("role", "academy", "establishments")}),
                (_("Connexion"), {"fields": ("password1", "password2"),
                               "description": _("L'identifiant (p.nomNN) est attribué à la "
                               "création ; le second facteur s'enregistre à la première "
                               "connexion.")}),
            )
        return (
            (_("Personne"), {"fields": ("identifier", "full_name", "email", "second_factor")}),
            (_("Rôle et périmètre"), {"fields": ("role", "academy", "establishments")}),
            (_("Accès"), {"fields": ("state", "password1", "password2")}),
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("identifier", "full_name", "email", "second_factor")

    @admin.display(description=_("identifiant"), ordering="account__identifier")
    def identifier(self, profile):
        return profile.account.display_identifier

    @admin.display(description=_("nom"))
    def full_name(self, profile):
        return f"{profile.account.last_name.upper()} {profile.account.first_name}"

    @admin.display(description=_("adresse mail"))
    def email(self, profile):
        return profile.account.email

    @admin.display(description=_("état"))
    def state(self, profile):
        return profile.account.get_state_display()

    @admin.display(description=_("périmètre"))
    def scope_summary(self, profile):
        if profile.role == StaffRole.NATIONAL:
            return _("National")
        if profile.role == StaffRole.HELPDESK:
            return _("Académie : %(academy)s") % {"academy": profile.academy}
        return ", ".join(e.uai for e in profile.establishments.all()) or "—"

    @admin.display(description=_("second facteur"), boolean=True)
    def second_factor(self, profile):
        return profile.has_second_factor

    def search_matching(self, queryset, query, *, schools=frozenset()):
        accounts = accounts_matching(Account.objects.filter(kind=AccountKind.STAFF), query)
        return queryset.filter(account__in=accounts)

    # The services write everything (account, profile, groups, journal): the admin's own
    # save steps are replaced by them.
    def save_form(self, request, form, change):
        data = form.cleaned_data
        if not change:
            account = services.staff_create(
                first_name=data["first_name"], last_name=data["last_name"],
                email=data["email"], password=data["password1"], role=data["role"],
                establishments=data.get("establishments") or [], academy=data.get("academy"),
                actor=request.user,
            )
            return account.staff_profile
        return services.staff_update(
            profile=form.instance, role=data["role"],
            establishments=data.get("establishments") or [], academy=data.get("academy"),
            state=data["state"], actor=request.user, new_password=data.get("password1") or "",
        )

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def has_delete_permission(self, request, obj=None):
        return False  # a staff user leaves by « Fermé »: their journal stays attached

    @admin.action(description=_("Réinitialiser le second facteur (nouvel enregistrement à la "
                              "prochaine connexion)"), permissions=["change"])
    def second_factor_reset(self, request, queryset):
        count = 0
        for profile in queryset.select_related("account"):
            services.staff_second_factor_reset(account=profile.account, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("Second facteur réinitialisé pour %(count)s personnel.",
                     "Second facteur réinitialisé pour %(count)s personnels.",
                     plural_count(count))
            % {"count": count},
            messages.SUCCESS,
        )
