from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcIdpConfig(AppConfig):
    """The OpenID Connect provider: django-oauth-toolkit with our scopes, claims, pages and
    journal. May import accounts, pupils and core (docs/architecture.md)."""

    name = "oidc_idp"
    verbose_name = _("Fournisseur d'identité OpenID Connect")
