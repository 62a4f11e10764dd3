"""Activation flows: one database row per flow (see DESIGN.md, « Multi-step flows »).

A row rather than session storage because attempt counters must survive a cleared cookie,
every web node must see the same state, and the helpdesk must be able to read it. The row's
`step` is the truth: views redirect to it, whatever URL the browser asks for.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class FlowKind(models.TextChoices):
    SMS = "sms", "Auto-inscription par SMS"


class FlowStep(models.IntegerChoices):
    IDENTITY = 1, "Je confirme mon identité"
    CODE = 2, "Je saisis le code de sécurité"
    PUPILS = 3, "Je confirme mon lien avec les élèves"
    PASSWORD = 4, "Je choisis mon mot de passe"
    DONE = 5, "Mon compte est activé"


class FlowStatus(models.TextChoices):
    OPEN = "open", "En cours"
    # The code was verified but the guardian already has an account: sign in instead.
    ALREADY_ACTIVE = "already_active", "Compte déjà activé"
    # Too many wrong birth dates: the school or the assistance must look at the records.
    BLOCKED = "blocked", "Bloqué (dates de naissance)"
    COMPLETED = "completed", "Compte créé"


class ActivationFlow(models.Model):
    id = models.UUIDField("parcours", primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField("type", max_length=10, choices=FlowKind.choices)
    step = models.PositiveSmallIntegerField("étape", choices=FlowStep.choices)
    status = models.CharField(
        "état", max_length=20, choices=FlowStatus.choices, default=FlowStatus.OPEN
    )
    # SHA-256 of a random secret kept in the browser's session: the flow's URL opened in
    # another browser finds nothing.
    session_secret_hash = models.CharField(max_length=64, editable=False)

    # What the person typed at step 1 (names as typed, phone in E.164).
    last_name = models.CharField("nom saisi", max_length=100)
    first_name = models.CharField("prénom saisi", max_length=100)
    phone = models.CharField("téléphone saisi", max_length=16)
    # GuardianRecord ids matched at step 1 (empty: nothing matched, and no code is accepted).
    matched_record_ids = models.JSONField("fiches trouvées", default=list, blank=True)
    # Filled at step 3: the pupils confirmed with their birth date, and their records.
    confirmed_pupil_ids = models.JSONField("élèves confirmés", default=list, blank=True)
    confirmed_record_ids = models.JSONField("fiches confirmées", default=list, blank=True)

    # The current code: only its HMAC (core.codes), never the code itself.
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_sent_at = models.DateTimeField("code envoyé le", null=True, blank=True)
    code_expires_at = models.DateTimeField("code valable jusqu'au", null=True, blank=True)
    code_verified_at = models.DateTimeField("code vérifié le", null=True, blank=True)
    wrong_codes = models.PositiveSmallIntegerField("codes erronés (code actuel)", default=0)
    wrong_codes_total = models.PositiveSmallIntegerField("codes erronés (total)", default=0)
    sends = models.PositiveSmallIntegerField("SMS envoyés", default=0)
    wrong_dates = models.PositiveSmallIntegerField("dates de naissance erronées", default=0)

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="activation_flows", verbose_name="compte créé",
    )
    created_at = models.DateTimeField("commencé le", default=timezone.now)
    updated_at = models.DateTimeField("dernière action le", default=timezone.now)
    # Idle expiry, pushed back by every action; never beyond created_at + the maximum age.
    expires_at = models.DateTimeField("expire le")

    class Meta:
        verbose_name = "parcours d'activation"
        verbose_name_plural = "parcours d'activation"
        ordering = ["-created_at"]
        indexes = [
            # Helpdesk: "what happened to this number?", newest first.
            models.Index(fields=["phone", "-created_at"], name="activation_flow_phone"),
            # Purge of old flows and the admin's default ordering.
            models.Index(fields=["created_at"], name="activation_flow_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(step__gte=1) & Q(step__lte=5), name="activation_flow_step_range"
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(account__isnull=False),
                name="activation_flow_completed_has_account",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.id}"

    @property
    def matched(self) -> bool:
        return bool(self.matched_record_ids)

    def is_expired(self, now=None) -> bool:
        if self.status == FlowStatus.COMPLETED:
            return False
        return (now or timezone.now()) >= self.expires_at
