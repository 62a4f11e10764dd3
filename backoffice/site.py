"""The admin site of the back-office: every staff user signs in with a password and a TOTP
code (django-otp), and the helpdesk pages live inside it."""

from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache


class LabelledAutocompleteJsonView(AutocompleteJsonView):
    """Django's autocomplete, whose options read as the target model's admin words them (its
    `autocomplete_label(obj)`, with `autocomplete_select_related` loaded in the same query)
    rather than str(obj): two « Thomas MARTIN » told apart. The rows are still the target
    admin's scoped queryset and search (backoffice.scoping)."""

    def get_queryset(self):
        queryset = super().get_queryset()
        related = getattr(self.model_admin, "autocomplete_select_related", ())
        return queryset.select_related(*related) if related else queryset

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        label = getattr(self.model_admin, "autocomplete_label", None)
        if label is not None:
            result["text"] = label(obj)
        return result


class BackOfficeSite(admin.AdminSite):
    site_header = _("ÉduConnect — espace de gestion")
    site_title = _("ÉduConnect")
    index_title = _("Administration")
    enable_nav_sidebar = False
    # No « Voir le site »: the portal's pages are the families' (/ asks a family's profile;
    # /services/ and /mon-compte/ send a staff user back here).
    site_url = None

    def has_permission(self, request):
        """A staff account, still open, verified by its second factor in this session."""
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and callable(getattr(user, "is_verified", None))
            and user.is_verified()
        )

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        from .auth import sign_in

        return sign_in(request, site=self)

    def index(self, request, extra_context=None):
        """Django's index, with the staff user's own actions under « Mes actions »
        (journaled, not in Django's LogEntry; helpdesk.my_action_lines): helpdesk actions
        with their reason and a link to the file they concern, letter runs with their
        school, class or level, pupils, state and a link to the run."""
        from .helpdesk import my_action_lines

        extra = {"helpdesk_actions": my_action_lines(request.user)}
        return super().index(request, extra_context={**extra, **(extra_context or {})})

    def app_index(self, request, app_label, extra_context=None):
        """An application's page (/gestion/pupils/) titled by the application's name alone,
        « Élèves et établissements », instead of Django's « Administration de Élèves et
        établissements » (its French « Administration de %(app)s » fits no plural name)."""
        try:
            title = django_apps.get_app_config(app_label).verbose_name
        except LookupError:
            title = None  # Django answers 404 for an unknown label
        extra = {"title": title} if title else {}
        return super().app_index(request, app_label, extra_context={**extra,
                                                                    **(extra_context or {})})

    def autocomplete_view(self, request):
        return LabelledAutocompleteJsonView.as_view(admin_site=self)(request)

    @method_decorator(never_cache)
    def password_change(self, request, extra_context=None):
        """« Modifier le mot de passe »: the staff policy, journaled (backoffice.auth)."""
        from .auth import StaffPasswordChangeView

        defaults = {
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        request.current_app = self.name
        return StaffPasswordChangeView.as_view(**defaults)(request)

    def get_urls(self):
        from . import assistance_queue, helpdesk, letters

        view = self.admin_view
        return [
            path("assistance/", view(helpdesk.search), name="helpdesk_search"),
            path("assistance/comptes/<int:pk>/", view(helpdesk.account), name="helpdesk_account"),
            path(
                "assistance/comptes/<int:pk>/deverrouiller/",
                view(helpdesk.account_unlock),
                name="helpdesk_account_unlock",
            ),
            path(
                "assistance/comptes/<int:pk>/debloquer/",
                view(helpdesk.account_letter_unblock),
                name="helpdesk_account_letter_unblock",
            ),
            path(
                "assistance/comptes/<int:pk>/fermer/",
                view(helpdesk.account_close),
                name="helpdesk_account_close",
            ),
            path(
                "assistance/comptes/<int:pk>/identifiant/",
                view(helpdesk.account_identifier_send),
                name="helpdesk_account_identifier",
            ),
            path("assistance/fiches/<int:pk>/", view(helpdesk.record), name="helpdesk_record"),
            path(
                "assistance/fiches/<int:pk>/renvoyer-sms/",
                view(helpdesk.record_resend_sms),
                name="helpdesk_record_resend",
            ),
            path(
                "assistance/fiches/<int:pk>/debloquer/",
                view(helpdesk.record_unblock),
                name="helpdesk_record_unblock",
            ),
            path("demandes/", view(assistance_queue.queue), name="assistance_queue"),
            path("demandes/<int:pk>/", view(assistance_queue.detail), name="assistance_request"),
            path("demandes/<int:pk>/prendre/", view(assistance_queue.take),
                 name="assistance_request_take"),
            path("demandes/<int:pk>/repondre/", view(assistance_queue.answer),
                 name="assistance_request_answer"),
            path("demandes/<int:pk>/clore/", view(assistance_queue.close),
                 name="assistance_request_close"),
            path("lettres/", view(letters.letters_new), name="letters_new"),
            path("lettres/<int:pk>/", view(letters.letter_run), name="letter_run"),
            path("lettres/<int:pk>/avancement/", view(letters.letter_run_progress),
                 name="letter_run_progress"),
            path("lettres/<int:pk>/pdf/", view(letters.letter_run_download),
                 name="letter_run_download"),
            path("suivi-des-comptes/", view(letters.follow_up), name="follow_up"),
            *super().get_urls(),
        ]

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        schools = []
        if app_label is None and request.user.has_perm("pupils.letters_make"):
            schools.append(("letters", _("Lettres des comptes provisoires"),
                            reverse("admin:letters_new", current_app=self.name)))
        if app_label is None and request.user.has_perm("pupils.letters_follow"):
            schools.append(("follow_up", _("Suivi des comptes"),
                            reverse("admin:follow_up", current_app=self.name)))
        if schools:
            apps.insert(0, {
                "name": _("Comptes des élèves et des familles"),
                "app_label": "school_accounts",
                "app_url": schools[0][2],
                "has_module_perms": True,
                "models": [{
                    "name": name, "object_name": key, "admin_url": url, "add_url": None,
                    "view_only": True, "perms": {"view": True},
                } for key, name, url in schools],
            })
        if app_label is None and request.user.has_perm("assistance.view_assistancerequest"):
            url = reverse("admin:assistance_queue", current_app=self.name)
            apps.insert(0, {
                "name": _("Demandes des familles"),
                "app_label": "assistance_requests",
                "app_url": url,
                "has_module_perms": True,
                "models": [{
                    "name": _("Demandes d'assistance"),
                    "object_name": "assistancerequest",
                    "admin_url": url,
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                }],
            })
        if app_label is None and request.user.has_perm("accounts.helpdesk_search"):
            url = reverse("admin:helpdesk_search", current_app=self.name)
            apps.insert(
                0,
                {
                    "name": _("Assistance"),
                    "app_label": "assistance",
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [
                        {
                            "name": _("Rechercher un compte"),
                            "object_name": "helpdesk",
                            "admin_url": url,
                            "add_url": None,
                            "view_only": True,
                            "perms": {"view": True},
                        }
                    ],
                },
            )
        return apps
