"""SAML 2.0 service providers (ENTs, téléservices) registered in the back-office by their
metadata.

A row holds the metadata as the service published it, plus what the IdP reads from it on
every request (entity id, whether it signs its AuthnRequests, whether it gives an encryption
key) and the attributes it may receive (the allow-list, names of docs/saml.md). Every web
node reads the row at each request (saml_idp.idp builds its pysaml2 server from it, cached
per `updated_at`): a provider registered or changed works everywhere at once, no restart.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from .attributes import Attribute


class ServiceProvider(models.Model):
    name = models.CharField(_("nom"), max_length=150)
    entity_id = models.CharField(
        _("identifiant (entityID)"), max_length=500, unique=True, editable=False,
        help_text=_("Lu dans les métadonnées."),
    )
    metadata_xml = models.TextField(
        _("métadonnées SAML"),
        help_text=_("Le document XML EntityDescriptor publié par le service (avec son "
                    "SPSSODescriptor, ses adresses AssertionConsumerService et ses "
                    "certificats)."),
    )
    authn_requests_signed = models.BooleanField(
        _("demandes d'authentification signées exigées"), default=False,
        help_text=_("Coché quand les métadonnées disent AuthnRequestsSigned=\"true\" : une "
                    "demande sans signature valide est alors refusée."),
    )
    encrypts_assertions = models.BooleanField(
        _("assertions chiffrées"), default=False, editable=False,
        help_text=_("Vrai quand les métadonnées donnent une clé de chiffrement : les "
                    "assertions sont alors chiffrées en AES-GCM."),
    )
    # A JSON list of Attribute values (not an ArrayField: the demo runs on SQLite too).
    released_attributes = models.JSONField(
        default=list, blank=True, verbose_name=_("attributs transmis"),
        help_text=_("Les seuls attributs que ce service reçoit (voir docs/saml.md)."),
    )
    is_active = models.BooleanField(_("en service"), default=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("fournisseur de services SAML")
        verbose_name_plural = _("fournisseurs de services SAML")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def clean(self):
        if not isinstance(self.released_attributes, list) or not set(
            self.released_attributes
        ) <= set(Attribute.values):
            raise ValidationError({"released_attributes": _(
                "Choisissez les attributs transmis dans la liste.")})
