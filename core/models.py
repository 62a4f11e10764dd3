"""The append-only journal (what happened, to which account, by whom; never a secret), and
the rows of the flow engine: running flows and the codes they send."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .flowkinds import FlowKind, kind_named


class AppendOnlyError(Exception):
    pass


class JournalEvent(models.Model):
    """An append-only event: never a code, a password or a token in `data`.

    Rows are written through core.journal.journal_record and never changed.
    """

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    kind = models.CharField(_("événement"), max_length=50, db_index=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="journal_events", verbose_name=_("compte"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("auteur"),
    )
    flow_id = models.UUIDField(_("parcours"), null=True, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    data = models.JSONField(_("détails"), default=dict, blank=True)

    class Meta:
        verbose_name = _("événement du journal")
        verbose_name_plural = _("journal")
        ordering = ["-at"]
        # The table keeps the name it had when the journal lived in accounts.
        db_table = "accounts_journalevent"
        indexes = [models.Index(fields=["account", "-at"], name="accounts_jo_account_f12ef6_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("Journal events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Journal events cannot be deleted.")


# --- Flows -------------------------------------------------------------------------------


class FlowStatus(models.TextChoices):
    OPEN = "open", _("En cours")
    COMPLETED = "completed", _("Terminé")
    # The person turned out to have an account already: they sign in instead.
    ALREADY_ACTIVE = "already_active", _("Compte déjà activé")
    # A limit stopped the flow (too many wrong answers): the school or the assistance looks.
    BLOCKED = "blocked", _("Bloqué")
    # A newer démarche of the same kind for the same account replaced it (core.flows.
    # flows_replace): « Mon compte », a second change of phone number started.
    REPLACED = "replaced", _("Remplacé par une demande plus récente")


class Flow(models.Model):
    """One running multi-step path (an activation, a recovery, a change of phone…).

    The row is the truth: its `step` names the stage the person is at (core.flowkinds), and
    views send every request to that stage's page. It is bound to the browser that started
    it: a random secret lives in that browser's session, its SHA-256 here. What the kind
    needs beyond the columns lives in `data` (JSON; never a secret: no code, no password).
    Codes sent during the flow are FlowCode rows.
    """

    id = models.UUIDField(_("parcours"), primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("type"), max_length=40)
    step = models.CharField(_("étape"), max_length=40)
    status = models.CharField(
        _("état"), max_length=20, choices=FlowStatus.choices, default=FlowStatus.OPEN
    )
    session_secret_hash = models.CharField(max_length=64, editable=False)
    # The phone number the flow is about (E.164 text, "" when none): the helpdesk's key.
    # Plain text, not a PhoneNumberField: every writer already holds a validated E.164
    # number (core.forms.FrenchMobileNumberField, an account's stored number), and parsing
    # it again at each load and save cost ~0.3 ms that only a flow with a number paid — a
    # timing difference between a known and an unknown identifier (issue 8 §6). The
    # database keeps the shape (flow_phone_e164).
    phone = models.CharField(_("téléphone"), max_length=128, blank=True)
    data = models.JSONField(_("données du parcours"), default=dict, blank=True)
    # Wrong codes typed during the flow, every code together (core.codes).
    wrong_codes = models.PositiveSmallIntegerField(_("codes erronés"), default=0)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="flows", verbose_name=_("compte"),
    )
    created_at = models.DateTimeField(_("commencé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("dernière action le"), default=timezone.now)
    # Idle expiry, pushed back by every action; never beyond created_at + the maximum age.
    expires_at = models.DateTimeField(_("expire le"))

    class Meta:
        verbose_name = _("parcours")
        verbose_name_plural = _("parcours")
        ordering = ["-created_at"]
        indexes = [
            # Helpdesk: "what happened to this number?", newest first.
            models.Index(fields=["phone", "-created_at"], name="flow_phone_created"),
            # Purge of old flows and the admin's default ordering.
            models.Index(fields=["created_at"], name="flow_created"),
            # Helpdesk: "whose address is this?" for an address typed in a flow and not yet
            # validated (a school letter's first sign-in keeps it in `data`, lowercased).
            models.Index(KeyTextTransform("email", "data"), condition=Q(data__has_key="email"),
                         name="flow_data_email"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(step=""), name="flow_step_named"),
            models.CheckConstraint(condition=Q(phone="") | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                                   name="flow_phone_e164"),
            # Every flow of the product ends on an account: created, recovered, linked…
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(account__isnull=False),
                name="flow_completed_has_account",
            ),
        ]

    def __str__(self):
        return f"{self.kind_label} {self.id}"

    @property
    def kind_spec(self) -> FlowKind | None:
        return kind_named(self.kind)

    @property
    def kind_label(self) -> str:
        spec = self.kind_spec
        return str(spec.label) if spec else self.kind

    @property
    def step_label(self) -> str:
        spec = self.kind_spec
        try:
            return str(spec.stage(self.step).label) if spec else self.step
        except ValueError:
            return self.step

    def is_expired(self, now=None) -> bool:
        if self.status == FlowStatus.COMPLETED:
            return False
        return (now or timezone.now()) >= self.expires_at

    def is_open_at(self, step: str, now=None) -> bool:
        """Open, at `step`, and alive: the only state in which a stage's page acts."""
        return self.status == FlowStatus.OPEN and self.step == step and not self.is_expired(now)

    @property
    def codes_sent(self) -> int:
        """Codes actually handed to the outbox (prefetch `codes` when listing flows)."""
        return sum(1 for code in self.codes.all() if code.sent)

    @property
    def codes_issued(self) -> int:
        """Codes made for the flow, sent or not (what the per-flow limit counts)."""
        return len(self.codes.all())


class CodeChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Mail")


class CodeNotSentReason(models.TextChoices):
    # Nothing matched what the person typed: the code is made and stored, never sent, so that
    # the page, the counters and the database work are the same as for a match.
    NO_MATCH = "no_match", _("aucune correspondance")
    # This recipient got a code moments ago (from any flow): silent, the page is the same.
    RECIPIENT_COOLDOWN = "recipient_cooldown", _("envoi trop rapproché au même destinataire")
    # This recipient got its quota of codes for the window: silent too.
    RECIPIENT_QUOTA = "recipient_quota", _("trop d'envois au même destinataire")


class FlowCode(models.Model):
    """One verification code made for a flow: one row per send (core.codes).

    Only an HMAC of the code is kept, bound to the purpose and the flow. Every code of a flow
    stays valid until its own expiry, its own wrong-entry limit, or until one code of the
    same purpose is used (SMS arrive late and out of order).
    """

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="codes",
                             verbose_name=_("parcours"))
    purpose = models.CharField(_("usage"), max_length=40)
    channel = models.CharField(_("canal"), max_length=10, choices=CodeChannel.choices)
    code_hash = models.CharField(max_length=64, editable=False)
    sent = models.BooleanField(_("envoyé"))
    not_sent_reason = models.CharField(
        _("raison du non-envoi"), max_length=30, choices=CodeNotSentReason.choices, blank=True
    )
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("valable jusqu'au"))
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    # Another code of the same purpose was used: this one is void.
    revoked_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    wrong_attempts = models.PositiveSmallIntegerField(_("saisies erronées"), default=0)

    class Meta:
        verbose_name = _("code de vérification")
        verbose_name_plural = _("codes de vérification")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sent=True, not_sent_reason="")
                | (Q(sent=False) & ~Q(not_sent_reason="")),
                name="flowcode_not_sent_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


# --- Link tokens ------------------------------------------------------------------------


class LinkToken(models.Model):
    """One single-use link sent by e-mail (an address validation, a password reset…).

    Only the SHA-256 of the random token is kept (core.tokens): the token is 256 random bits,
    so the hash alone cannot be reversed or guessed, and no key is needed. `payload` holds
    what the link is about (e.g. the new e-mail address), never a secret. Rows are written
    and changed only by core.tokens, and purged LINK_TOKEN_RETENTION_DAYS after they expired.
    """

    purpose = models.CharField(_("usage"), max_length=40)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="link_tokens",
        verbose_name=_("compte"),
        db_index=False,  # link_token_account_purpose below serves the FK and revocation
    )
    flow_id = models.UUIDField(_("parcours"), null=True, blank=True)
    # Hex SHA-256 of the raw token: the only lookup key, unique (its index serves the lookup).
    digest = models.CharField(max_length=64, unique=True, editable=False)
    payload = models.JSONField(_("données du lien"), default=dict, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("valable jusqu'au"))
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    # A newer link of the same purpose replaced this one (core.tokens.link_tokens_revoke).
    revoked_at = models.DateTimeField(_("annulé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("lien à usage unique")
        verbose_name_plural = _("liens à usage unique")
        ordering = ["-created_at"]
        indexes = [
            # Revocation ("void this account's live reset links") and the FK's deletes.
            models.Index(fields=["account", "purpose"], name="link_token_account_purpose"),
            # Purge of expired rows, whatever the size of the table.
            models.Index(fields=["expires_at"], name="link_token_expires"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(purpose=""), name="link_token_purpose_named"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="link_token_expires_after_creation"),
        ]

    def __str__(self):
        return f"{self.purpose} {self.created_at:%Y-%m-%d %H:%M}"
