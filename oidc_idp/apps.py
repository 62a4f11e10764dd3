from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcIdpConfig(AppConfig):
    """The OpenID Connect provider: django-oauth-toolkit with our scopes, claims, pages and
    journal. May import accounts, pupils and core (docs/architecture.md)."""

    name = "oidc_idp"
    verbose_name = _("Fournisseur d'identité OpenID Connect")

    def ready(self):
        from accounts.signals import accounts_merged

        from .merge import closed_account_tokens_end

        # A merge closes an account: its OAuth grants and tokens end (oidc_idp/merge.py).
        accounts_merged.connect(closed_account_tokens_end, dispatch_uid="oidc_idp.merge")
