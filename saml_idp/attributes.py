"""The attributes the IdP can release, by the names and OIDs services already read.

Names (FriendlyName) and OIDs of ÉduConnect's Shibboleth IdP: each is sent with
Name="urn:oid:…", NameFormat uri, FriendlyName the name below. The table and the value
formats are in docs/saml.md; a provider receives only the attributes of its allow-list
(ServiceProvider.released_attributes).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

EDUCONNECT_ARC = "urn:oid:1.3.6.1.4.1.20326.10.999.1."


class Attribute(models.TextChoices):
    AFFILIATION = "FrEduCtPersonAffiliation", _(
        "FrEduCtPersonAffiliation — profil (resp1d, resp2d, eleve1d, eleve2d)"
    )
    ID = "FrEduCtId", _("FrEduCtId — identifiant opaque de l'usager")
    SN = "sn", _("sn — nom")
    GIVEN_NAME = "givenName", _("givenName — prénom")
    ELEVE_UAI = "FrEduCtEleveUAI", _("FrEduCtEleveUAI — UAI de l'établissement (élève)")
    BIRTH_DATE = "FrEduCtDateNaissance", _("FrEduCtDateNaissance — date de naissance (élève)")
    REF_ID = "FrEduCtRefId", _("FrEduCtRefId — vecteur d'identité, un par enfant")
    VECTEUR = "FrEduVecteur", _("FrEduVecteur — vecteur d'identité de l'ENT")
    URL_RETOUR = "FrEduUrlRetour", _("FrEduUrlRetour — adresse de déconnexion d'ÉduConnect")


# Name (OID) of each attribute on the wire.
OIDS: dict[str, str] = {
    Attribute.AFFILIATION: EDUCONNECT_ARC + "7",
    Attribute.ID: EDUCONNECT_ARC + "57",
    Attribute.SN: "urn:oid:2.5.4.4",
    Attribute.GIVEN_NAME: "urn:oid:2.5.4.42",
    Attribute.ELEVE_UAI: EDUCONNECT_ARC + "72",
    Attribute.BIRTH_DATE: EDUCONNECT_ARC + "67",
    Attribute.REF_ID: EDUCONNECT_ARC + "61",
    Attribute.VECTEUR: EDUCONNECT_ARC + "62",
    Attribute.URL_RETOUR: EDUCONNECT_ARC + "5",
}

DEFAULT_RELEASE = [
    Attribute.AFFILIATION, Attribute.ID, Attribute.SN, Attribute.GIVEN_NAME,
    Attribute.ELEVE_UAI, Attribute.BIRTH_DATE, Attribute.REF_ID, Attribute.URL_RETOUR,
]
