"""What django-oauth-toolkit's models do not hold: each client's policy (the scopes it was
given, its sector for the pairwise `sub`) and how the user signed in behind each
authorization code (for the ID token's `acr`, `amr` and `auth_time`)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClientPolicy(models.Model):
    """A client's rights, set by the national administration next to the client itself
    (backoffice.admin.oidc). A client without one may ask `openid` only."""

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="policy",
        verbose_name=_("service"),
    )
    # A list of oidc_idp.scopes.GRANTABLE_SCOPES; `openid` is always given.
    scopes = models.JSONField(_("portées autorisées"), default=list, blank=True)
    sector_identifier = models.CharField(
        _("secteur"), max_length=255, blank=True,
        help_text=_(
            "Vide : l'identifiant du client. Les services d'un même opérateur qui partagent un "
            "secteur reçoivent le même identifiant (sub) pour une même personne."
        ),
    )

    class Meta:
        verbose_name = _("droits du service")
        verbose_name_plural = _("droits du service")

    def __str__(self):
        return str(self.application)

    @property
    def scope_list(self) -> list[str]:
        return [str(scope) for scope in self.scopes] if isinstance(self.scopes, list) else []


class AuthorizationSignIn(models.Model):
    """How the account behind an authorization code signed in: read once, when the code is
    exchanged at the token endpoint, and deleted with the code (CASCADE)."""

    grant = models.OneToOneField(
        "oauth2_provider.Grant", on_delete=models.CASCADE, related_name="sign_in",
        verbose_name=_("code d'autorisation"),
    )
    # RFC 8176 method references: "pwd", "sms".
    methods = models.JSONField(_("méthodes"), default=list)
    authenticated_at = models.DateTimeField(_("connecté le"))

    class Meta:
        verbose_name = _("connexion derrière un code")

    def __str__(self):
        return f"{self.grant_id}: {' '.join(self.methods)}"
