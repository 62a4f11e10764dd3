"""The outbox: one row per SMS or email, written in the transaction of the action that needs it.

Lifecycle of `status` (written only by notifications.services):

    queued ──claim──▶ sending ──provider accepted──▶ sent ──webhook──▶ delivered / undelivered
      ▲  │              │   └──permanent error──▶ failed
      │  │              └──transient error past the message's useful life──▶ expired
      └──┼─transient error (backoff, no limit on the count)
         │   or a worker stopped mid-send: requeue_stale_messages after SENDING_TIMEOUT, and
         │   the provider is asked first whether it has the message (check_provider_first)
         └──not sent within its useful life (code lifetime, hours for an e-mail)──▶ expired

`attempts` is also the claim's fencing token: each claim adds one, and a worker sends only if
the row is still `sending` with the number it claimed (docs/outbox.md).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# What a message that held a secret (a code, a link token) reads once it has left for the
# provider: a marker stored in the row (and compared), not a text translated on display.
WIPED_BODY = "[contenu effacé après envoi]"


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Mail")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("En attente d'envoi")
    SENDING = "sending", _("En cours d'envoi")
    SENT = "sent", _("Envoyé")
    FAILED = "failed", _("Échec")
    DELIVERED = "delivered", _("Distribué")
    UNDELIVERED = "undelivered", _("Non distribué")
    EXPIRED = "expired", _("Expiré : non envoyé à temps")


class OutboundMessage(models.Model):
    channel = models.CharField(_("canal"), max_length=5, choices=Channel.choices)
    # E.164 phone number for an SMS, address for an email.
    recipient = models.CharField(_("destinataire"), max_length=254)
    subject = models.CharField(_("objet"), max_length=255, blank=True)
    body = models.TextField(_("texte"))
    # E-mail only: the HTML alternative of `body`, the sender when it is not
    # DEFAULT_FROM_EMAIL (a library's send_mail may name one), the Reply-To addresses.
    html_body = models.TextField(_("version HTML"), blank=True)
    from_email = models.CharField(_("expéditeur"), max_length=254, blank=True)
    reply_to = models.JSONField(_("adresses de réponse"), default=list, blank=True)
    purpose = models.CharField(
        _("motif"), max_length=50, help_text=_("Ce qui a déclenché l'envoi (ex. activation_code).")
    )
    contains_secret = models.BooleanField(
        _("contient un secret"), default=False,
        help_text=_("Le texte contient un code ou un lien à usage unique : il est effacé dès "
                    "l'envoi."),
    )
    status = models.CharField(
        _("état"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    provider_message_id = models.CharField(_("identifiant chez le fournisseur"), max_length=100,
                                           blank=True)
    provider_status = models.CharField(_("état chez le fournisseur"), max_length=30, blank=True)
    # Claims so far; the claim's number is its fencing token (services._claim).
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    # Set when a worker stopped mid-send (the row was taken back from `sending`): the next
    # attempt asks the provider whether the message reached it before sending it again.
    check_provider_first = models.BooleanField(_("vérifier chez le fournisseur avant l'envoi"),
                                               default=False)
    last_error = models.CharField(_("dernière erreur"), max_length=500, blank=True)
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, null=True, blank=True,
        related_name="outbound_messages", verbose_name=_("compte"),
        db_index=False,  # outbox_account_idx below serves the FK lookups and the helpdesk
    )
    flow_id = models.UUIDField(_("parcours"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    # When a queued row is next due; the periodic task re-queues rows overdue by a margin.
    next_attempt_at = models.DateTimeField(_("prochain essai"), default=timezone.now)
    # When a worker claimed the row; a row stuck in `sending` past a timeout is re-queued.
    sending_started_at = models.DateTimeField(_("envoi commencé le"), null=True, blank=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    updated_at = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("message sortant")
        verbose_name_plural = _("messages sortants")
        ordering = ["-created_at"]
        indexes = [
            # Periodic requeue: only the few queued rows are in this index, whatever the size
            # of the table.
            models.Index(fields=["next_attempt_at"], condition=Q(status="queued"),
                         name="outbox_queued_due_idx"),
            models.Index(fields=["sending_started_at"], condition=Q(status="sending"),
                         name="outbox_sending_since_idx"),
            # Status webhook: one lookup by the provider's id per callback.
            models.Index(fields=["provider_message_id"], condition=~Q(provider_message_id=""),
                         name="outbox_provider_id_idx"),
            # Admin, demo page and helpdesk ("was the SMS to this number sent?").
            models.Index(fields=["-created_at"], name="outbox_created_idx"),
            models.Index(fields=["recipient", "-created_at"], name="outbox_recipient_idx"),
            # Helpdesk: the latest messages of an account or of its activation flows.
            models.Index(fields=["account", "-created_at"], condition=Q(account__isnull=False),
                         name="outbox_account_idx"),
            models.Index(fields=["flow_id"], condition=Q(flow_id__isnull=False),
                         name="outbox_flow_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values),
                                   name="outbox_channel_valid"),
            models.CheckConstraint(condition=Q(status__in=MessageStatus.values),
                                   name="outbox_status_valid"),
            # A secret never stays in the table once the message has left.
            models.CheckConstraint(
                condition=Q(contains_secret=False) | Q(status__in=["queued", "sending"])
                | Q(body=WIPED_BODY, html_body=""),
                name="outbox_secret_wiped_after_send",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.purpose} → {self.recipient}"
