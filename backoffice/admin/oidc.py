"""The OpenID Connect services (django-oauth-toolkit's Application) in the back-office.

Only the national administration holds these permissions (backoffice.roles). A client is
always « authorization code » with PKCE and RS256-signed ID tokens: those fields are not
offered. Its rights (the scopes beyond `openid`, the sector of its pairwise `sub`) are the
inline ClientPolicy. django-oauth-toolkit reads clients from the database at every request:
a client saved here works at once on every web node, without a restart.

django-oauth-toolkit registers its own admins on the admin site; they are replaced here
(tokens and codes are not shown: they hold nothing an administrator should read).
"""

from urllib.parse import urlsplit

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings

from backoffice.admin.titles import ChangelistTitleMixin
from oidc_idp.models import ClientPolicy
from oidc_idp.scopes import GRANTABLE_SCOPES, SCOPE_TEXTS

Application = get_application_model()

for model in (Application, get_access_token_model(), get_grant_model(), get_id_token_model(),
              get_refresh_token_model()):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ClientPolicyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Portées autorisées, en plus de « openid »"),
        choices=[(scope, f"{scope} — {SCOPE_TEXTS[scope]}") for scope in GRANTABLE_SCOPES],
        widget=forms.CheckboxSelectMultiple, required=False,
    )

    class Meta:
        model = ClientPolicy
        fields = ("scopes", "sector_identifier")


class ClientPolicyInline(admin.StackedInline):
    model = ClientPolicy
    form = ClientPolicyForm
    # One object, under the group's heading: no « Droits du service: #1 » line heading.
    template = "admin/edit_inline/stacked_single.html"
    can_delete = False
    min_num = 1
    max_num = 1
    verbose_name = _("droits du service")
    verbose_name_plural = _("droits du service")


# django-oauth-toolkit's « Confidential » / « Public », in French.
CLIENT_TYPE_LABELS = (
    (AbstractApplication.CLIENT_CONFIDENTIAL, _("Confidentiel (avec secret)")),
    (AbstractApplication.CLIENT_PUBLIC, _("Public (sans secret)")),
)


class ClientTypeFilter(admin.SimpleListFilter):
    """« Par type de client » with French choices (the library's « Par client type »)."""

    title = _("type de client")
    parameter_name = "client_type"

    def lookups(self, request, model_admin):
        return CLIENT_TYPE_LABELS

    def queryset(self, request, queryset):
        if self.value() in dict(CLIENT_TYPE_LABELS):
            return queryset.filter(client_type=self.value())
        return queryset


class TrustedFilter(admin.SimpleListFilter):
    """« Par demande d'accord »: the national services that skip it, or the others."""

    title = _("demande d'accord")
    parameter_name = "skip_authorization"

    def lookups(self, request, model_admin):
        return (("1", _("Sans demande d'accord (service national)")),
                ("0", _("Avec demande d'accord")))

    def queryset(self, request, queryset):
        if self.value() in ("0", "1"):
            return queryset.filter(skip_authorization=self.value() == "1")
        return queryset


# The two fields of addresses a service is sent back to, checked by return_addresses_check.
RETURN_ADDRESS_FIELDS = ("redirect_uris", "post_logout_redirect_uris")


def return_addresses_check(text: str) -> list[str]:
    """The French errors of a field of return addresses (white space separated, one per line
    in the form): each must be absolute, with a host, of a scheme django-oauth-toolkit allows
    for redirections (OAUTH2_PROVIDER's ALLOWED_REDIRECT_URI_SCHEMES: https; http too in
    DEBUG, for the demo's own service), without fragment (RFC 6749 §3.1.2: « The endpoint URI
    MUST NOT include a fragment component »; OpenID Connect RP-Initiated Logout 1.0 §3 says
    the same of post_logout_redirect_uri). [] when every address is right.

    django-oauth-toolkit checks only `redirect_uris`, in English (« redirect uri URI
    validation error. fragment not allowed »); the logout addresses not at all."""

    schemes = [scheme.lower() for scheme in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES]
    errors = []
    for address in text.split():
        try:
            parts = urlsplit(address)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in schemes or not parts.hostname:
            errors.append(gettext(
                "« %(address)s » : saisissez une adresse complète qui commence par %(schemes)s "
                "(par exemple https://service.example.fr/retour).")
                % {"address": address,
                   "schemes": gettext(" ou ").join(f"{scheme}://" for scheme in schemes)})
        elif parts.fragment or "#" in address:
            errors.append(gettext(
                "« %(address)s » : retirez la partie qui commence par « # » ; une adresse de "
                "retour n'en a pas.") % {"address": address})
    return errors


class ClientForm(forms.ModelForm):
    class Meta:
        model = Application
        fields = ("name", "client_id", "client_secret", "client_type", "redirect_uris",
                  "post_logout_redirect_uris", "skip_authorization")
        labels = {
            "name": _("Nom du service (affiché aux familles)"),
            "client_id": _("Identifiant du client (client_id)"),
            "client_secret": _("Secret du client"),
            "client_type": _("Type de client"),
            "redirect_uris": _("Adresses de retour (redirect_uri), une par ligne"),
            "post_logout_redirect_uris": _("Adresses de retour après déconnexion, une par ligne"),
            "skip_authorization": _("Service national de confiance : pas de demande d'accord"),
        }
        # Django's « Un objet Application avec ce champ Client id existe déjà » in words.
        error_messages = {
            "client_id": {"unique": _(
                "Identifiant du client : un service relié en OpenID Connect a déjà cet "
                "identifiant ; choisissez-en un autre.")},
        }
        help_texts = {
            "client_secret": _(
                "Copiez-le maintenant pour le transmettre au service : il est enregistré haché "
                "et ne pourra plus être lu."
            ),
            "redirect_uris": _(
                "Adresses exactes en https. ÉduConnect ne renvoie jamais vers une autre adresse."
            ),
            # django-oauth-toolkit's own help says « space separated », against the label:
            # it splits on any white space, so one per line is read the same.
            "post_logout_redirect_uris": _(
                "Adresses exactes en https, où le service peut renvoyer la personne après sa "
                "déconnexion. Laissez vide si le service n'en demande pas."
            ),
            "skip_authorization": _(
                "Réservé aux services nationaux de l'Éducation nationale : la personne n'a pas "
                "à confirmer les informations transmises."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "client_type" in self.fields:
            self.fields["client_type"].choices = [("", "---------"), *CLIENT_TYPE_LABELS]
            self.fields["client_type"].help_text = _(
                "Confidentiel : un service web qui garde son secret sur son serveur. Public : "
                "une application installée ou une page web, qui ne peut pas garder de secret "
                "(PKCE seul).")

    def clean_redirect_uris(self):
        if not (self.cleaned_data.get("redirect_uris") or "").strip():
            raise ValidationError(gettext(
                "Saisissez au moins une adresse de retour : celle où le service reçoit la "
                "personne après sa connexion (par exemple https://service.example.fr/retour)."))
        return self._return_addresses("redirect_uris")

    def clean_post_logout_redirect_uris(self):
        return self._return_addresses("post_logout_redirect_uris")

    def _return_addresses(self, name: str) -> str:
        text = self.cleaned_data.get(name) or ""
        errors = return_addresses_check(text)
        if errors:
            raise ValidationError(errors)
        return text

    def _post_clean(self):
        # django-oauth-toolkit's Application.clean() checks the redirect addresses again, in
        # English: where ours (French) already refused the field, its words are left out.
        # (Copies: the model's errors are added to the field's own list.)
        refused = {name: self._errors[name].copy() for name in RETURN_ADDRESS_FIELDS
                   if name in self._errors}
        super()._post_clean()
        self._errors.update(refused)

    def clean(self):
        cleaned = super().clean()
        # Authorization code with PKCE only, ID tokens signed with our RSA key.
        self.instance.authorization_grant_type = AbstractApplication.GRANT_AUTHORIZATION_CODE
        self.instance.algorithm = AbstractApplication.RS256_ALGORITHM
        self.instance.hash_client_secret = True
        return cleaned


@admin.register(Application)
class ClientAdmin(ChangelistTitleMixin, admin.ModelAdmin):
    changelist_noun = _("un service relié en OpenID Connect")
    object_noun = _("le service relié en OpenID Connect")
    form = ClientForm
    inlines = [ClientPolicyInline]
    # Application.get_absolute_url names django-oauth-toolkit's own pages, which are not
    # served (« Voir sur le site » answered 500).
    view_on_site = False
    list_display = ("service_name", "client_identifier", "client_kind", "trusted",
                    "updated_on")
    list_display_links = ("service_name",)
    list_filter = (ClientTypeFilter, TrustedFilter)
    search_fields = ("name", "client_id")
    ordering = ("name",)

    @admin.display(description=_("service"), ordering="name")
    def service_name(self, client):
        return client.name or "—"

    @admin.display(description=_("identifiant du client"), ordering="client_id")
    def client_identifier(self, client):
        return client.client_id

    @admin.display(description=_("type de client"), ordering="client_type")
    def client_kind(self, client):
        return dict(CLIENT_TYPE_LABELS).get(client.client_type, client.client_type)

    @admin.display(description=_("sans demande d'accord"), boolean=True,
                   ordering="skip_authorization")
    def trusted(self, client):
        return client.skip_authorization

    @admin.display(description=_("modifié le"), ordering="updated")
    def updated_on(self, client):
        return client.updated

    def get_actions(self, request):
        """Django's « Supprimer les applications sélectionnés » (its French guesses the
        gender from the library's verbose name) named here: « Supprimer les services
        sélectionnés »."""
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            function, name, _description = actions["delete_selected"]
            actions["delete_selected"] = (function, name,
                                          _("Supprimer les services sélectionnés"))
        return actions

    def get_fields(self, request, obj=None):
        fields = list(ClientForm.Meta.fields)
        if obj is not None:
            fields.remove("client_secret")  # a hash: nothing to read or to edit
        return fields

    def get_readonly_fields(self, request, obj=None):
        return ("client_id",) if obj is not None else ()
