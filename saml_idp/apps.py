from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SamlIdpConfig(AppConfig):
    name = "saml_idp"
    verbose_name = _("Fournisseur d'identité SAML")
