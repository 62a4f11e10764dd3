"""Schools and what they know: academies, establishments, pupils, guardians and their links.

Rows are born from the schools' rosters (pupils/roster_import.py); the back-office fixes them
through pupils/services.py. A guardian as one school knows them is a GuardianRecord; a guardian
with children in two schools has two records and, once activated, one Account covering both
(GuardianRecord.account).
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from core.forms import BidiControlValidator, PlainTextValidator
from core.history import HistoricalRecords

from .validators import validate_birth_date

UAI_PATTERN = r"^[0-9]{7}[A-Z]$"
# INE (identifiant national élève): 11 characters, 9 digits, then a digit or a letter, then
# a check letter (INE-BEA: 10 digits + letter; INE-RNIE: 9 digits + 2 letters).
INE_PATTERN = r"^[0-9]{9}[0-9A-Z][A-Z]$"

# ICU's French collation (PostgreSQL built with ICU, as Debian's and the official image are):
# « de La Fontaine » among the D, « Émile » among the E, case and accents aside.
FRENCH_COLLATION = "fr-x-icu"


class FrenchCollation(models.Func):
    """`column COLLATE "fr-x-icu"` on PostgreSQL; the bare column on any other database.

    Written for the indexes on Pupil's names (pupil_name_fr_idx, pupil_estab_name_fr_idx),
    which PostgreSQL walks for ORDER BY the same expressions (pupils.selectors.NameOrder):
    SQLite, the demo's database, has no such collation (`no such collation sequence`), and
    gets an index on the plain columns instead. Takes one expression, a text column.
    """

    template = f'%(expressions)s COLLATE "{FRENCH_COLLATION}"'
    arity = 1

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            return compiler.compile(self.get_source_expressions()[0])
        return super().as_sql(compiler, connection, **extra_context)


validate_uai = RegexValidator(
    UAI_PATTERN,
    _("Le code UAI doit comporter 7 chiffres suivis d'une lettre, par exemple 0750001A."),
)
validate_ine = RegexValidator(
    INE_PATTERN,
    _("L'INE doit comporter 11 caractères : 9 chiffres, puis un chiffre ou une lettre, puis une "
      "lettre, par exemple 123456789AB."),
)


def is_valid_uai(value: str) -> bool:
    return bool(re.fullmatch(UAI_PATTERN, value or ""))


def is_valid_ine(value: str) -> bool:
    return bool(re.fullmatch(INE_PATTERN, value or ""))


class Academy(models.Model):
    name = models.CharField(_("nom"), max_length=100, unique=True, error_messages={
        "unique": _("Une académie de ce nom existe déjà : vérifiez le nom, ou retrouvez-la "
                    "dans la liste des académies."),
    })

    class Meta:
        verbose_name = _("académie")
        ordering = ["name"]

    def __str__(self):
        return self.name


class EstablishmentKind(models.TextChoices):
    ECOLE = "ecole", _("École")
    COLLEGE = "college", _("Collège")
    LYCEE = "lycee", _("Lycée")
    LP = "lp", _("Lycée professionnel")


class Establishment(models.Model):
    # Django's « Un objet Établissement avec ce champ UAI existe déjà » named in words.
    uai = models.CharField(_("UAI"), max_length=8, unique=True, validators=[validate_uai],
                           error_messages={"unique": _(
                               "Un établissement avec cet UAI existe déjà : vérifiez le code "
                               "UAI, ou retrouvez l'établissement dans la liste.")})
    # Shown to families (letters, « Mes services »): no markup, emoji or control character.
    name = models.CharField(_("nom"), max_length=200,
                            validators=[BidiControlValidator(_("Nom")),
                                        PlainTextValidator(_("Nom"))])
    kind = models.CharField(_("type"), max_length=10, choices=EstablishmentKind.choices)
    academy = models.ForeignKey(
        Academy, on_delete=models.PROTECT, related_name="establishments", verbose_name=_("académie")
    )
    ent_url = models.URLField(_("adresse de l'ENT"), blank=True)

    class Meta:
        verbose_name = _("établissement")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(uai__regex=UAI_PATTERN), name="establishment_uai_format"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.uai})"



def _academy_follows_establishment(row, save_kwargs: dict) -> dict:
    """Set `row.academy_id` from its establishment before a save (Pupil, GuardianRecord:
    their academy column copied for the helpdesk's indexes, pupils 0012 and 0017); return
    the save's keyword arguments, with « academy » added to `update_fields` when they name
    the establishment. The database's trigger does the same on PostgreSQL; this keeps the
    object in memory right, and SQLite too."""
    update_fields = save_kwargs.get("update_fields")
    if row.establishment_id is not None and (update_fields is None or "establishment" in {
            name.removesuffix("_id") for name in update_fields}):
        row.academy_id = row.establishment.academy_id
        if update_fields is not None:
            return {**save_kwargs, "update_fields": {*update_fields, "academy"}}
    return save_kwargs

class Pupil(models.Model):
    ine = models.CharField(_("INE"), max_length=11, unique=True, validators=[validate_ine])
    last_name = models.CharField(_("nom"), max_length=100)
    first_names = models.CharField(_("prénoms"), max_length=200)
    # One reading and one set of bounds for the import, the back-office and activation.
    birth_date = models.DateField(_("date de naissance"), validators=[validate_birth_date])
    level = models.CharField(_("niveau"), max_length=40, blank=True)
    # The class (« division » in SIECLE: « 6A », « 2NDE3 »): how a school hands out its
    # letters; blank where the roster does not say (optional column « classe »).
    division = models.CharField(_("classe"), max_length=40, blank=True, default="",
                                db_default="")
    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="pupils",
        verbose_name=_("établissement"),
    )
    # The establishment's academy, copied here so that the helpdesk's search of a child's
    # name starts from the agent's academy (indexes pupil_academy_name_trgm and
    # pupil_academy_exact_idx, pupils 0017), as GuardianRecord.academy does for the
    # guardians' names. Set by save() and by the roster import; on PostgreSQL a trigger
    # sets it on every INSERT and on every UPDATE of establishment_id or academy_id, whatever
    # the writer, and another follows an establishment moved to another academy.
    academy = models.ForeignKey(
        Academy, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False,
        verbose_name=_("académie"),
    )
    # What services (ENTs) need to recognise the child (optional roster columns, see
    # docs/roster-format.md): the pupil's identifier in the national school information
    # system (ONDE, SIECLE: the ENTs' join key) and the academy's code (« 01 » Paris…).
    national_id = models.CharField(_("identifiant national (base élèves)"), max_length=40,
                                   blank=True)
    academy_code = models.CharField(_("code de l'académie"), max_length=3, blank=True)
    # The pupil's own account (collège and lycée pupils sign in themselves).
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="pupil_record", verbose_name=_("compte élève"),
    )
    history = HistoricalRecords(excluded_fields=["account", "academy"])

    class Meta:
        verbose_name = _("élève")
        ordering = ["last_name", "first_names"]
        constraints = [
            models.CheckConstraint(condition=Q(ine__regex=INE_PATTERN), name="pupil_ine_format"),
        ]
        indexes = [
            # Back-office lists in French name order (pupils.selectors.PUPIL_NAME_ORDER): a
            # school's pupils, and all pupils, whose first page PostgreSQL reads by walking
            # these instead of sorting the table (pupils 0014, bench/README.md). The first one
            # also serves every query on one school's pupils (follow-up, letters).
            models.Index(
                F("establishment"), FrenchCollation(F("last_name")),
                FrenchCollation(F("first_names")), F("id"), name="pupil_estab_name_fr_idx",
            ),
            models.Index(
                FrenchCollation(F("last_name")), FrenchCollation(F("first_names")), F("id"),
                name="pupil_name_fr_idx",
            ),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name.upper()}"

    def save(self, *args, **kwargs):
        super().save(*args, **_academy_follows_establishment(self, kwargs))

    @property
    def first_name(self) -> str:
        """The usual first name: the first of the first names."""
        return self.first_names.split(",")[0].split(" ")[0] if self.first_names else ""


class Civility(models.TextChoices):
    MADAME = "Mme", _("Madame")
    MONSIEUR = "M.", _("Monsieur")
    NONE = "", _("Non renseignée")


class GuardianRecord(models.Model):
    """A guardian as one school knows them (one row per guardian and establishment)."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="guardian_records",
        verbose_name=_("établissement"),
    )
    # The establishment's academy, copied here so that the helpdesk's name search starts
    # from the agent's academy (index guardian_academy_name_trgm, issue 14). Set by save()
    # and by the roster import; on PostgreSQL a trigger (pupils 0012) sets it on every
    # INSERT and on every UPDATE of establishment_id or academy_id, whatever the writer,
    # and another follows an establishment moved to another academy, in one statement.
    academy = models.ForeignKey(
        Academy, on_delete=models.PROTECT, related_name="+", editable=False, db_index=False,
        verbose_name=_("académie"),
    )
    civility = models.CharField(_("civilité"), max_length=3, choices=Civility.choices, blank=True)
    last_name = models.CharField(_("nom"), max_length=100)
    first_name = models.CharField(_("prénom"), max_length=100)
    # Comparison keys (core.normalization.name_key), written with the names by the services.
    last_name_key = models.CharField(max_length=100, editable=False, db_index=True)
    first_name_key = models.CharField(max_length=100, editable=False)
    mobile_phone = PhoneNumberField(_("téléphone portable"), blank=True, db_index=True)
    email = models.EmailField(_("adresse mail"), blank=True)
    # The open account that covers this record; at most one by construction.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="guardian_records", verbose_name=_("compte"),
    )
    # Set when a roster import attached this new record to an active account by itself
    # (same name keys, mobile, and e-mail when both have one: issue 11 §2); cleared when the
    # family has been told, at its next sign-in (families.apps).
    # db_default too: the bulk loaders that write rows in SQL (bench/) need not know it.
    attached_notice_pending = models.BooleanField(
        _("rattachement automatique à annoncer"), default=False, db_default=False
    )
    history = HistoricalRecords(excluded_fields=["last_name_key", "first_name_key",
                                                 "attached_notice_pending", "academy"])

    class Meta:
        verbose_name = _("fiche responsable")
        verbose_name_plural = _("fiches responsables")
        ordering = ["last_name", "first_name"]
        indexes = [
            # Back-office lists: a school's guardians by name, and all guardians by name.
            models.Index(
                fields=["establishment", "last_name", "first_name", "id"],
                name="guardian_estab_name_idx",
            ),
            models.Index(fields=["last_name", "first_name", "id"], name="guardian_name_idx"),
            # Helpdesk search by e-mail address, in any case.
            models.Index(Lower("email"), name="guardian_email_ci_idx"),
            # Roster import: a sibling's record in the same school, found by its name keys.
            models.Index(
                fields=["establishment", "last_name_key", "first_name_key"],
                name="guardian_school_namekey_idx",
            ),
            # Helpdesk search of a short name (« Ly »: matched whole) in the agent's academy;
            # a longer one is served by guardian_academy_name_trgm (GIN, pupils 0012).
            models.Index(fields=["academy", "last_name_key"], name="guardian_academy_key_idx"),
            # Helpdesk search of a name: the unlinked records of the academy whose last name
            # is exactly the name typed, in the list's order (backoffice.selectors
            # .RECORD_ORDER), read up to the list's limit and no further (issue 14, pupils 0013).
            models.Index(F("academy"), F("last_name_key"), Lower("last_name"),
                         Lower("first_name"), F("id"), condition=Q(account__isnull=True),
                         name="guardian_academy_exact_idx"),
            # The same for the covered records: the accounts the helpdesk finds by name
            # (backoffice.selectors._academy_accounts_part, pupils 0019). The two partial
            # indexes together hold each record once: one index's size, not two.
            models.Index(F("academy"), F("last_name_key"), Lower("last_name"),
                         Lower("first_name"), F("id"), condition=Q(account__isnull=False),
                         name="guardian_academy_covered_idx"),
            # Helpdesk scope: « does this account cover a record of my academy? », answered
            # from the index alone for each candidate account.
            models.Index(fields=["account", "establishment"], condition=Q(account__isnull=False),
                         name="guardian_account_estab_idx"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name.upper()}"

    def save(self, *args, **kwargs):
        super().save(*args, **_academy_follows_establishment(self, kwargs))

    def clean(self):
        if not self.last_name.strip() or not self.first_name.strip():
            raise ValidationError(_("Le nom et le prénom du responsable sont obligatoires."))


class ResponsibilityStatus(models.TextChoices):
    ACTIVE = "active", _("Actif")
    DISPUTED = "disputed", _("Contesté par le responsable")
    REMOVED = "removed", _("Retiré")


class Responsibility(models.Model):
    """The link between a guardian record and a pupil."""

    guardian_record = models.ForeignKey(
        GuardianRecord, on_delete=models.CASCADE, related_name="responsibilities",
        verbose_name=_("responsable"),
    )
    pupil = models.ForeignKey(
        Pupil, on_delete=models.CASCADE, related_name="responsibilities", verbose_name=_("élève")
    )
    is_legal_representative = models.BooleanField(_("représentant légal"), default=True)
    status = models.CharField(
        _("état"), max_length=10, choices=ResponsibilityStatus.choices,
        default=ResponsibilityStatus.ACTIVE,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lien responsable–élève")
        verbose_name_plural = _("liens responsable–élève")
        constraints = [
            models.UniqueConstraint(
                fields=["guardian_record", "pupil"], name="responsibility_unique_per_pair"
            ),
        ]
        indexes = [
            models.Index(fields=["pupil", "status"]),
            # The links that still need a secretary (disputed) are few: a small partial index.
            models.Index(
                fields=["status"], condition=~Q(status="active"), name="responsibility_pending_idx"
            ),
        ]

    def __str__(self):
        return f"{self.guardian_record} → {self.pupil}"


# --- School letters (issue 9 §1) ----------------------------------------------------------


class LetterRunStatus(models.TextChoices):
    QUEUED = "queued", _("En attente")
    RUNNING = "running", _("En cours")
    DONE = "done", _("Terminé")
    FAILED = "failed", _("Échec")


class LetterDelivery(models.TextChoices):
    PAPER = "paper", _("Toutes les lettres dans le PDF à imprimer")
    EMAIL_WHEN_KNOWN = "email", _(
        "Par mail aux responsables dont l'adresse mail est connue, les autres dans le PDF"
    )


class LetterRun(models.Model):
    """One request of a secretary for the letters of some pupils of one school and of their
    guardians (pupils/letters.py). Holds counts and the progress, never a password: the
    passwords are only in the PDF (`file_name` under settings.LETTERS_DIR, until
    `file_expires_at`) and in the e-mails, which the outbox wipes once sent."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="letter_runs",
        verbose_name=_("établissement"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="letter_runs",
        verbose_name=_("demandé par"),
    )
    created_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    delivery = models.CharField(_("remise"), max_length=6, choices=LetterDelivery.choices,
                                default=LetterDelivery.PAPER)
    # The pupils chosen (ids, in the school); their guardians' records are added at run time.
    pupil_ids = models.JSONField(_("élèves choisis"), default=list)
    status = models.CharField(_("état"), max_length=8, choices=LetterRunStatus.choices,
                              default=LetterRunStatus.QUEUED)
    started_at = models.DateTimeField(_("commencé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    # Progress: letters to make, letters made (the progress bar reads them).
    total = models.PositiveIntegerField(_("lettres à faire"), default=0)
    done = models.PositiveIntegerField(_("lettres faites"), default=0)
    accounts_created = models.PositiveIntegerField(_("comptes créés"), default=0)
    accounts_reissued = models.PositiveIntegerField(_("mots de passe renouvelés"), default=0)
    records_skipped = models.PositiveIntegerField(
        _("fiches déjà couvertes par un compte actif"), default=0
    )
    emails_queued = models.PositiveIntegerField(_("lettres envoyées par mail"), default=0)
    pages = models.PositiveIntegerField(_("pages du PDF"), default=0)
    # Random name of the PDF under LETTERS_DIR; emptied when the file is deleted.
    file_name = models.CharField(max_length=80, blank=True, editable=False)
    file_expires_at = models.DateTimeField(_("fichier disponible jusqu'au"), null=True,
                                           blank=True)
    failure = models.CharField(_("raison de l'échec"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("lot de lettres")
        verbose_name_plural = _("lots de lettres")
        ordering = ["-created_at"]
        permissions = [
            ("letters_make", _("Faire les lettres des comptes provisoires")),
            ("letters_follow", _("Suivre les comptes des élèves et des responsables")),
        ]
        indexes = [
            # A school's runs, newest first; the start and purge tasks' few live rows.
            models.Index(fields=["establishment", "-created_at"], name="letterrun_estab_idx"),
            models.Index(fields=["status"], condition=~Q(status="done") | ~Q(file_name=""),
                         name="letterrun_live_idx"),
        ]

    def __str__(self):
        return f"{self.establishment} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
