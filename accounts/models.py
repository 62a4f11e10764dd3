"""Accounts (AUTH_USER_MODEL) and back-office staff profiles."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from core.history import HistoricalRecords
from core.normalization import strip_invisible

from .hashers import LETTER_ALGORITHM


class AccountKind(models.TextChoices):
    GUARDIAN = "guardian", _("Représentant légal")
    PUPIL = "pupil", _("Élève")
    STAFF = "staff", _("Personnel")


class AccountState(models.TextChoices):
    PROVISIONAL = "provisional", _("Provisoire")
    ACTIVE = "active", _("Actif")
    LOCKED = "locked", _("Verrouillé")
    CLOSED = "closed", _("Fermé")


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, identifier):
        # Identifiers are stored in lowercase; letters print them in capitals. Pasted from an
        # SMS or a PDF they may carry invisible characters (zero-width space, soft hyphen).
        return self.get(identifier=strip_invisible(identifier).strip().lower())

    def create_user(self, identifier, password=None, **fields):
        account = self.model(identifier=identifier.strip().lower(), **fields)
        account.set_password(password)
        account.save(using=self._db)
        return account

    def create_superuser(self, identifier, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, kind=AccountKind.STAFF,
                      state=AccountState.ACTIVE)
        return self.create_user(identifier, password, **fields)


class Account(AbstractBaseUser, PermissionsMixin):
    # Stored in lowercase (a check constraint says so); on PostgreSQL `unique` also gives the
    # varchar_pattern_ops index that the identifier generator's prefix lookup uses.
    identifier = models.CharField(_("identifiant"), max_length=40, unique=True)
    kind = models.CharField(_("type"), max_length=10, choices=AccountKind.choices)
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    email = models.EmailField(_("adresse mail"), blank=True)
    email_verified = models.BooleanField(_("adresse vérifiée"), default=False)
    phone = PhoneNumberField(_("téléphone portable"), blank=True)
    phone_verified = models.BooleanField(_("téléphone vérifié"), default=False)
    state = models.CharField(
        _("état"), max_length=12, choices=AccountState.choices, default=AccountState.PROVISIONAL
    )
    is_staff = models.BooleanField(_("accès à l'espace de gestion"), default=False)
    date_joined = models.DateTimeField(_("créé le"), default=timezone.now)
    activated_at = models.DateTimeField(_("activé le"), null=True, blank=True)
    # Until when the provisional password of a school letter signs in (state PROVISIONAL only;
    # settings.PROVISIONAL_PASSWORD_VALIDITY_DAYS after the letter's issue); cleared once the
    # account is activated. Null for accounts that never had a letter.
    provisional_expires_at = models.DateTimeField(
        _("mot de passe provisoire valable jusqu'au"), null=True, blank=True
    )

    objects = AccountManager()
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    USERNAME_FIELD = "identifier"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("compte")
        constraints = [
            models.UniqueConstraint(Lower("identifier"), name="account_identifier_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(identifier=Lower("identifier")),
                name="account_identifier_stored_lowercase",
            ),
        ]
        indexes = [
            # Helpdesk search by e-mail address (any case) and by phone number (E.164).
            models.Index(Lower("email"), name="account_email_ci_idx"),
            models.Index(fields=["phone"], name="account_phone_idx"),
            # Back-office filter on locked, closed or provisional accounts: few, whatever the
            # number of active ones.
            models.Index(fields=["state"], condition=~models.Q(state="active"),
                         name="account_not_active_idx"),
        ]

    def __str__(self):
        return self.identifier

    @property
    def is_active(self):
        # Django's auth machinery refuses inactive users; locked and closed accounts are.
        return self.state in (AccountState.ACTIVE, AccountState.PROVISIONAL)

    def check_password(self, raw_password):
        """Whether `raw_password` is this account's (accounts.hashers: NFKC, old hashes too).

        When the stored hash must be replaced (made before NFKC normalisation, or at older
        Argon2 parameters), the new hash is written to its one column: a re-hash changes
        neither the password nor anything the history (simple_history) records, so it adds
        no audit row, unlike Django's own setter (a full save). Like any change of the hash,
        it ends the account's sessions on other devices (Django's session auth hash)."""

        def setter(password):
            self.set_password(password)
            self._password = None  # not a password change: validators are not told
            type(self).objects.filter(pk=self.pk).update(password=self.password)

        # A school letter's hash is never re-hashed (accounts.hashers.ProvisionalLetterHasher:
        # the re-hash would store the case typed, and the letter's capitals would fail).
        letter = (self.password or "").startswith(f"{LETTER_ALGORITHM}$")
        return check_password(raw_password, self.password, None if letter else setter)

    @property
    def display_identifier(self) -> str:
        """The identifier as letters print it (P.NOM12)."""
        return self.identifier.upper()

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name


# --- Back-office staff ------------------------------------------------------------------


class StaffRole(models.TextChoices):
    SECRETARY = "secretary", _("Secrétariat d'établissement")
    HELPDESK = "helpdesk", _("Assistance académique")
    NATIONAL = "national", _("Administration nationale")


class StaffProfile(models.Model):
    """What a back-office user is and where: the role (its group, see backoffice.roles) and the
    scope it works on. Written through backoffice.services only."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="staff_profile", verbose_name=_("compte")
    )
    role = models.CharField(_("rôle"), max_length=12, choices=StaffRole.choices)
    # Secretaries: the schools they work for.
    establishments = models.ManyToManyField(
        "pupils.Establishment", blank=True, related_name="staff_profiles",
        verbose_name=_("établissements"),
    )
    # Helpdesk agents: the academy whose accounts they assist.
    academy = models.ForeignKey(
        "pupils.Academy", on_delete=models.PROTECT, null=True, blank=True,
        related_name="staff_profiles", verbose_name=_("académie"),
    )

    class Meta:
        verbose_name = _("personnel de l'espace de gestion")
        verbose_name_plural = _("personnels de l'espace de gestion")
        permissions = [
            ("helpdesk_search", _("Rechercher un compte (assistance)")),
            ("account_unlock", _("Déverrouiller un compte")),
            ("account_close", _("Fermer un compte")),
            ("activation_resend", _("Renvoyer le SMS d'activation")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="helpdesk") | models.Q(academy__isnull=False),
                name="staffprofile_helpdesk_has_academy",
            ),
        ]

    def __str__(self):
        return f"{self.account} ({self.get_role_display()})"
