"""FranceConnect's data: the pending requests (state and nonce, single use) and the links
between a FranceConnect identity (its `sub`) and an ÉduConnect account."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StatePurpose(models.TextChoices):
    LOGIN = "login", _("Connexion")
    LOGOUT = "logout", _("Déconnexion")


class FranceConnectState(models.Model):
    """One request sent to FranceConnect: an authorization (its `state` and `nonce`) or a
    logout (its `state`). Only SHA-256 digests are kept: the values travel in the browser's
    redirects and in the ID token. Spent once (`used_at`), dead after `expires_at`; rows are
    purged after they expire (franceconnect.services.franceconnect_states_purge)."""

    state_hash = models.CharField(max_length=64, unique=True)
    nonce_hash = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=10, choices=StatePurpose.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("requête FranceConnect")
        verbose_name_plural = _("requêtes FranceConnect")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(purpose="logout") | ~models.Q(nonce_hash=""),
                name="franceconnect_state_login_has_nonce",
            ),
        ]

    def __str__(self):
        return f"{self.purpose} {self.pk}"


class FranceConnectLink(models.Model):
    """A FranceConnect identity linked to an account, after the first link (phone, SMS code,
    birth dates: activation.flows.FRANCECONNECT_LINK). From then on FranceConnect alone signs
    the account in. One identity per account and one account per identity."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="franceconnect_link",
        verbose_name=_("compte"),
    )
    # FranceConnect's pairwise subject: 64 hexadecimal characters and a version (« v1 »).
    sub = models.CharField(_("identifiant FranceConnect"), max_length=128, unique=True)
    created_at = models.DateTimeField(_("associé le"), auto_now_add=True)
    last_sign_in_at = models.DateTimeField(_("dernière connexion"), null=True, blank=True)

    class Meta:
        verbose_name = _("lien FranceConnect")
        verbose_name_plural = _("liens FranceConnect")

    def __str__(self):
        return f"FranceConnect → {self.account_id}"
