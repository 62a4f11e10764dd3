from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from oauth2_provider.apps import DOTConfig


class OAuth2ProviderConfig(DOTConfig):
    """django-oauth-toolkit (app label « oauth2_provider ») under French words in the
    back-office: the section « Services reliés en OpenID Connect » instead of « Django OAuth
    Toolkit », and its clients (Application) « service relié en OpenID Connect » in the
    breadcrumb, the count and the messages instead of « application ».

    The model's names are set on its options at ready(), not in its Meta: the migration
    autodetector reads a model's Meta as declared (`_meta.original_attrs`), so
    django-oauth-toolkit's own migrations stay as they are and makemigrations finds nothing
    to write in its app."""

    verbose_name = _("Services reliés en OpenID Connect")

    def ready(self):
        super().ready()
        options = self.get_model("Application")._meta
        options.verbose_name = _("service relié en OpenID Connect")
        options.verbose_name_plural = _("services reliés en OpenID Connect")


class OidcIdpConfig(AppConfig):
    """The OpenID Connect provider: django-oauth-toolkit with our scopes, claims, pages and
    journal. May import accounts, pupils and core (docs/architecture.md)."""

    name = "oidc_idp"
    verbose_name = _("Fournisseur d'identité OpenID Connect")
    # The one INSTALLED_APPS' « oidc_idp » means: this module also holds (and imports)
    # django-oauth-toolkit's configs, and without `default` Django would take none of them
    # and never run ready() below (a merged account's tokens would stay valid).
    default = True

    def ready(self):
        from accounts.signals import accounts_merged

        from .merge import closed_account_tokens_end

        # A merge closes an account: its OAuth grants and tokens end (oidc_idp/merge.py).
        accounts_merged.connect(closed_account_tokens_end, dispatch_uid="oidc_idp.merge")
