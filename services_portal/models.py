"""The services catalogue: what « Mes services » shows for each child.

- `Service`: a national service (Scolarité services, LSU, LSL…) or a school's own service (its
  ENT, with the school's address), the profiles (guardian, pupil) and levels that see it, and,
  for single sign-on, the SAML service provider behind it (saml_idp.ServiceProvider) or the
  OpenID Connect client id (the tile then opens the service's address, which starts the OIDC
  flow).
- `EstablishmentMessage`: « Message de l'établissement », shown between two dates.
- `NewsItem`: national « Actualités », shown between two dates.

The national administrator manages the catalogue; a school's secretary manages her school's
services and messages (back-office, scoped by backoffice.scoping). Reads: selectors.py.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.forms import BidiControlValidator

from .levels import Level


def validate_service_url(value: str) -> None:
    """A tile's address is https, as the OpenID Connect return addresses are
    (OAUTH2_PROVIDER « ALLOWED_REDIRECT_URI_SCHEMES »); http is accepted only in DEBUG, for
    the demo's own service on http://127.0.0.1 (oidc_idp.demo). Raises ValidationError
    (code « https ») naming the field and the fix."""
    schemes = ("https", "http") if settings.DEBUG else ("https",)
    scheme = urlsplit(value or "").scheme.lower()
    if scheme not in schemes:
        raise ValidationError(
            _("Adresse du service : saisissez une adresse qui commence par https:// (par "
              "exemple https://ent.exemple.fr) ; les adresses %(scheme)s ne sont pas "
              "acceptées."),
            code="https", params={"scheme": f"{scheme}://" if scheme else "sans https://"})


# Service's check constraints that Service.clean() checks with a French sentence.
CHECKED_IN_CLEAN = frozenset({"service_seen_by_someone", "service_one_sso_protocol"})


class Service(models.Model):
    title = models.CharField(
        _("intitulé de la tuile"), max_length=120,
        help_text=_("Ce que lit l'usager, par exemple « Accédez à l'ENT » ou « Livret scolaire "
                    "du CP à la 3e »."),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    url = models.URLField(
        _("adresse du service"), max_length=500, validators=[validate_service_url],
        help_text=_("L'adresse où la tuile mène ; pour un service relié en SAML, l'adresse où "
                    "le service ouvre après la connexion."),
    )
    establishment = models.ForeignKey(
        "pupils.Establishment", on_delete=models.CASCADE, null=True, blank=True,
        related_name="services", verbose_name=_("établissement"),
        help_text=_("Vide pour un service national ; l'établissement pour son ENT ou un "
                    "service qui lui est propre."),
    )
    for_guardians = models.BooleanField(_("visible des représentants légaux"), default=True)
    for_pupils = models.BooleanField(_("visible des élèves"), default=True)
    # A JSON list of Level values (not an ArrayField: the demo runs on SQLite too).
    levels = models.JSONField(
        default=list, blank=True, verbose_name=_("niveaux"),
        help_text=_("Les niveaux des élèves qui voient ce service ; aucun coché : tous les "
                    "niveaux."),
    )
    saml_service_provider = models.ForeignKey(
        "saml_idp.ServiceProvider", on_delete=models.PROTECT, null=True, blank=True,
        related_name="services", verbose_name=_("fournisseur de services SAML"),
    )
    oidc_client_id = models.CharField(
        _("identifiant du client OpenID Connect"), max_length=100, blank=True,
        help_text=_("Pour un service relié en OpenID Connect : la tuile ouvre l'adresse du "
                    "service, qui demande la connexion à ÉduConnect."),
    )
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=100)
    is_active = models.BooleanField(_("en service"), default=True)

    class Meta:
        verbose_name = _("service")
        ordering = ["position", "title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(for_guardians=True) | Q(for_pupils=True),
                name="service_seen_by_someone",
            ),
            models.CheckConstraint(
                condition=Q(saml_service_provider__isnull=True) | Q(oidc_client_id=""),
                name="service_one_sso_protocol",
            ),
        ]
        indexes = [
            # « Mes services »: the national services (few) and the services of the
            # children's schools (an index on establishment).
            models.Index(fields=["establishment", "position"], name="service_estab_pos_idx"),
        ]

    def __str__(self):
        return self.title

    def get_constraints(self):
        # Model validation: clean() says why in words; the database still holds both check
        # constraints, whose own message (« La contrainte … n'est pas respectée ») would
        # repeat it in jargon.
        return [(model_class, [constraint for constraint in constraints
                               if constraint.name not in CHECKED_IN_CLEAN])
                for model_class, constraints in super().get_constraints()]

    def clean(self):
        _texts_check(self, title=_("Intitulé de la tuile"), description=_("Description"))
        if not self.for_guardians and not self.for_pupils:
            raise ValidationError(_("Cochez au moins un profil : représentants légaux ou "
                                    "élèves."))
        if not isinstance(self.levels, list) or not set(self.levels) <= set(Level.values):
            raise ValidationError({"levels": _("Choisissez les niveaux dans la liste.")})
        if self.saml_service_provider_id and self.oidc_client_id:
            raise ValidationError(_("Un service est relié soit en SAML, soit en OpenID "
                                    "Connect : videz l'un des deux champs."))


class EstablishmentMessage(models.Model):
    """« Message de l'établissement », shown to the families of a school between two dates."""

    establishment = models.ForeignKey(
        "pupils.Establishment", on_delete=models.CASCADE, related_name="portal_messages",
        verbose_name=_("établissement"),
    )
    text = models.TextField(_("message"), max_length=1000)
    starts_on = models.DateField(_("affiché à partir du"))
    ends_on = models.DateField(_("affiché jusqu'au (inclus)"))

    class Meta:
        verbose_name = _("message de l'établissement")
        verbose_name_plural = _("messages des établissements")
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                   name="estab_message_dates_in_order"),
        ]
        indexes = [
            models.Index(fields=["establishment", "ends_on"], name="estab_message_current_idx"),
        ]

    def __str__(self):
        return self.text[:60]

    def clean(self):
        _texts_check(self, text=_("Message"))
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("La date de fin doit être le même jour que la "
                                                "date de début ou après.")})


def _texts_check(instance, **labels) -> None:
    """Raises ValidationError {field: message} for each of `instance`'s text fields (named
    by `labels`: field name → its label in the page) holding a bidirectional control: what a
    school or the ministry writes is read by families exactly as written
    (core.forms.BidiControlValidator, core.normalization.BIDI_CONTROLS)."""
    errors = {}
    for name, label in labels.items():
        try:
            BidiControlValidator(label)(getattr(instance, name))
        except ValidationError as error:
            errors[name] = error
    if errors:
        raise ValidationError(errors)


class NewsItem(models.Model):
    """National « Actualités », shown between two dates to the profiles chosen."""

    title = models.CharField(_("titre"), max_length=150)
    text = models.TextField(_("texte"), max_length=2000)
    starts_on = models.DateField(_("affichée à partir du"))
    ends_on = models.DateField(_("affichée jusqu'au (inclus)"))
    for_guardians = models.BooleanField(_("visible des représentants légaux"), default=True)
    for_pupils = models.BooleanField(_("visible des élèves"), default=True)

    class Meta:
        verbose_name = _("actualité")
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")),
                                   name="news_dates_in_order"),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        _texts_check(self, title=_("Titre"), text=_("Texte"))
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("La date de fin doit être le même jour que la "
                                                "date de début ou après.")})
