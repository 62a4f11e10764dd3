"""The one place where the back-office's admin classes learn what a staff user may reach.

Every ModelAdmin of the back-office inherits ScopedAdminMixin (every inline,
ScopedInlineMixin). The rows come from `get_queryset`, filtered by the user's scope
(backoffice.selectors.staff_scope: national = everything, helpdesk = one academy, secretary =
their establishments), and every other way in goes through it:

- changelist, search, filters, actions, raw-id popups (`?_popup=1`), autocomplete: all read
  `get_queryset` (Django's AutocompleteJsonView asks the target model's admin for it);
- change, delete and history pages, and simple-history's version page: `get_object` answers
  404 outside the scope (Django would redirect to the index with a message);
- object permissions (`has_*_permission(request, obj)`) check the object is in scope;
- form choices (foreign keys, many-to-many) only offer objects of the scope, and a posted id
  outside it is refused by the form field;
- a read-only foreign key (a view-only page, or a field the page does not let change) links
  to its object's page only when the user may open it, else it is plain text
  (`render_change_form`): a secretary sees her school's academy named, not a link to a 403.

Lists never count a whole table: BoundedCountPaginator counts at most COUNT_BOUND rows.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext

from accounts.models import Account
from backoffice.selectors import (
    InvalidSearch,
    StaffScope,
    accounts_scope_q,
    search_query_parse,
    staff_scope,
)
from pupils.models import Academy, Establishment, GuardianRecord, Pupil

COUNT_BOUND = 10_000


class BoundedCountPaginator(Paginator):
    """Counts at most COUNT_BOUND + 1 rows (a LIMITed subquery, without ORDER BY), so a page
    of a million-row table costs what a page of a small one costs. Past the bound, the list
    says « plus de 10 000 » and asks for a search or a filter."""

    bound = COUNT_BOUND

    @cached_property
    def count(self):
        object_list = self.object_list
        if hasattr(object_list, "order_by"):
            return object_list.order_by()[: self.bound + 1].count()
        return len(object_list)

    @property
    def is_bounded(self) -> bool:
        return self.count > self.bound


def _scoped_choices(model, scope: StaffScope):
    """The objects of `model` a form may offer to a user of this scope (None: not scoped)."""
    if model is Establishment:
        return scope.establishments()
    if model is Academy:
        if scope.everything:
            return Academy.objects.all()
        if scope.academy_id is not None:
            return Academy.objects.filter(pk=scope.academy_id)
        return Academy.objects.filter(establishments__in=scope.establishments()).distinct()
    if model in (Pupil, GuardianRecord):
        return model.objects.filter(scope.establishment_q("establishment"))
    if model is Account:
        return Account.objects.filter(accounts_scope_q(scope))
    return None


_PLAIN_DISPLAYS: dict[tuple[str, str], object] = {}


def _plain_display(model, name: str):
    """A read-only display of the foreign key `name` of `model` as plain text: the same
    function for the same field every time, so that the admin finds it among the read-only
    fields of the page."""
    key = (model._meta.label, name)
    if key not in _PLAIN_DISPLAYS:
        field = model._meta.get_field(name)

        def display(obj):
            target = getattr(obj, name)
            return "-" if target is None else str(target)

        display.short_description = field.verbose_name
        display.__name__ = name
        _PLAIN_DISPLAYS[key] = display
    return _PLAIN_DISPLAYS[key]


class ScopedQuerysetMixin:
    # Paths from the model to pupils.Establishment; a row is in scope when all of them are.
    scope_paths: tuple[str, ...] = ()

    def scope_q(self, scope: StaffScope) -> Q:
        condition = Q()
        for path in self.scope_paths:
            condition &= scope.establishment_q(path)
        return condition

    def get_queryset(self, request):
        return super().get_queryset(request).filter(self.scope_q(staff_scope(request.user)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = _scoped_choices(db_field.remote_field.model, staff_scope(request.user))
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = _scoped_choices(db_field.remote_field.model, staff_scope(request.user))
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ScopedInlineMixin(ScopedQuerysetMixin):
    """Inlines: their rows and their choices are scoped like the pages that hold them."""


class ScopedAdminMixin(ScopedQuerysetMixin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    # The search box is served by search_matching() (one index per query shape); this only
    # makes Django show it.
    search_fields = ("pk",)

    # --- objects -------------------------------------------------------------------------

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("Aucun objet de votre périmètre ne correspond à cette adresse.")
        return obj

    def in_scope(self, request, obj) -> bool:
        checks = request.__dict__.setdefault("_backoffice_scope_checks", {})
        key = (self.model._meta.label, obj.pk)
        if key not in checks:
            checks[key] = self.get_queryset(request).filter(pk=obj.pk).exists()
        return checks[key]

    def has_module_permission(self, request):
        return super().has_module_permission(request) and not staff_scope(request.user).is_empty

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and (
            obj is None or self.in_scope(request, obj)
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or self.in_scope(request, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or self.in_scope(request, obj)
        )

    # --- read-only foreign keys: a link only to a page the user may open -------------------

    def _may_open(self, request, field, target) -> bool:
        target_admin = self.admin_site._registry.get(field.related_model)
        return target_admin is not None and target_admin.has_view_permission(request, target)

    def render_change_form(self, request, context, add=False, change=False, form_url="",
                           obj=None):
        """Django links every read-only foreign key to its object's change page without
        asking whether the user may open it; here a target the user may not view (another
        role's model, or an object outside the scope) is shown as plain text."""
        adminform = context.get("adminform")
        if obj is not None and adminform is not None and adminform.readonly_fields:
            plain = {}
            for name in adminform.readonly_fields:
                if not isinstance(name, str):
                    continue
                try:
                    field = self.model._meta.get_field(name)
                except FieldDoesNotExist:
                    continue
                if not (field.many_to_one or field.one_to_one) or not field.concrete:
                    continue
                target = getattr(obj, name)
                if target is not None and not self._may_open(request, field, target):
                    plain[name] = _plain_display(self.model, name)
            if plain:
                adminform.readonly_fields = [plain.get(n, n) if isinstance(n, str) else n
                                             for n in adminform.readonly_fields]
                adminform.fieldsets = [
                    (title, {**options, "fields": [
                        tuple(plain.get(n, n) for n in line) if isinstance(line, (list, tuple))
                        else plain.get(line, line) for line in options["fields"]]})
                    for title, options in adminform.fieldsets]
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- history (simple-history): read-only, and only for objects in scope ---------------

    def history_view(self, request, object_id, extra_context=None):
        # simple-history falls back to the latest historical row of any object id: check
        # the scope first.
        self.get_object(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A version page could revert the object on POST; audit pages are read-only.
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied
        self.get_object(request, unquote(object_id))
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- search --------------------------------------------------------------------------

    # Ordering while a search is on: expressions no B-tree index serves, so that PostgreSQL
    # sorts the few rows the search's own index finds instead of walking a name index.
    search_ordering: tuple = ()
    # The search box's help on a secretary's lists, which also find a first name alone
    # (search_matching's `schools`); None: search_help_text for every scope.
    schools_search_help_text = None

    def search_help_text_for(self, request):
        if self.schools_search_help_text and staff_scope(request.user).schools:
            return self.schools_search_help_text
        return self.search_help_text

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        changelist.search_help_text = self.search_help_text_for(request)
        return changelist

    def get_ordering(self, request):
        searching = request.GET.get(SEARCH_VAR) or request.GET.get("term")
        if searching and self.search_ordering:
            return self.search_ordering
        return super().get_ordering(request)

    def changelist_view(self, request, extra_context=None):
        """A search sent empty (the box left blank, or only spaces) is told, beside the list
        as it reads without a search: which box, and what to type in it."""
        if SEARCH_VAR in request.GET and not request.GET[SEARCH_VAR].strip():
            what = str(self.search_help_text_for(request) or "")
            if what[1:2].islower():  # « Nom (ou une partie)… », not « UAI, … »
                what = what[:1].lower() + what[1:]
            messages.error(request, (
                gettext("Rechercher : saisissez ce que vous cherchez, au choix : %(what)s")
                % {"what": what}) if what else gettext(
                "Rechercher : saisissez ce que vous cherchez."))
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        try:
            query = search_query_parse(search_term)
        except InvalidSearch:
            return queryset.none(), False
        return self.search_matching(queryset, query,
                                    schools=staff_scope(request.user).schools), False

    def search_matching(self, queryset, query, *, schools: frozenset[int] = frozenset()):
        """The rows of `queryset` the query finds. `schools`: a secretary's establishments
        (StaffScope.schools), among whose rows a name typed alone may be a first name
        (backoffice.selectors._person_name_q); empty for an academy's or the country's
        lists, where a single name is a last name, as the helpdesk's search reads it."""
        return queryset.none()


class ReadOnlyAdminMixin:
    """Admin pages that show records nobody may add, change or delete from the back-office
    (journal, activation flows, outbox)."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
