"""The OpenID Connect services (django-oauth-toolkit's Application) in the back-office.

Only the national administration holds these permissions (backoffice.roles). A client is
always « authorization code » with PKCE and RS256-signed ID tokens: those fields are not
offered. Its rights (the scopes beyond `openid`, the sector of its pairwise `sub`) are the
inline ClientPolicy. django-oauth-toolkit reads clients from the database at every request:
a client saved here works at once on every web node, without a restart.

django-oauth-toolkit registers its own admins on the admin site; they are replaced here
(tokens and codes are not shown: they hold nothing an administrator should read).
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

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
    can_delete = False
    min_num = 1
    max_num = 1
    verbose_name = _("droits du service")
    verbose_name_plural = _("droits du service")


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
        help_texts = {
            "client_secret": _(
                "Copiez-le maintenant pour le transmettre au service : il est enregistré haché "
                "et ne pourra plus être lu."
            ),
            "redirect_uris": _(
                "Adresses exactes en https. ÉduConnect ne renvoie jamais vers une autre adresse."
            ),
            "skip_authorization": _(
                "Réservé aux services nationaux de l'Éducation nationale : la personne n'a pas "
                "à confirmer les informations transmises."
            ),
        }

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
    list_display = ("name", "client_id", "client_type", "skip_authorization", "updated")
    list_filter = ("client_type", "skip_authorization")
    search_fields = ("name", "client_id")
    ordering = ("name",)

    def get_fields(self, request, obj=None):
        fields = list(ClientForm.Meta.fields)
        if obj is not None:
            fields.remove("client_secret")  # a hash: nothing to read or to edit
        return fields

    def get_readonly_fields(self, request, obj=None):
        return ("client_id",) if obj is not None else ()
