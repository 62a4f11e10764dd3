"""The academic assistance form (issue 16 §6): what a family writes to the helpdesk of its
child's academy when the product cannot solve its problem alone (a wrong birth date in the
school's file, a number the school does not have, a lost identifier without a phone — the
FAQ's « formulaire d'assistance académique »).

A request belongs to one establishment (chosen by the family, or known from its account):
its academy's helpdesk handles it, the school's secretaries read it to fix their data
(scoping: backoffice.scoping, by establishment).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

MESSAGE_MAX_LENGTH = 3000
REPLY_MAX_LENGTH = 5000


class Category(models.TextChoices):
    """The problems the seeds send to the form (FAQ §2.1 and §6), and « autre »."""

    BIRTH_DATE = "birth_date", _("Date de naissance incorrecte")
    PHONE_UNKNOWN = "phone_unknown", _("Numéro de téléphone non reconnu")
    LOST_CREDENTIALS = "lost_credentials", _("Identifiant ou mot de passe perdu")
    OTHER = "other", _("Autre demande")


class Status(models.TextChoices):
    NEW = "new", _("Nouvelle")
    TAKEN = "taken", _("Prise en charge")
    ANSWERED = "answered", _("Répondue")
    CLOSED = "closed", _("Fermée")


class AssistanceRequest(models.Model):
    establishment = models.ForeignKey(
        "pupils.Establishment", on_delete=models.PROTECT, related_name="assistance_requests",
        verbose_name=_("établissement"),
    )
    category = models.CharField(_("objet"), max_length=20, choices=Category.choices)
    last_name = models.CharField(_("nom"), max_length=100)
    first_name = models.CharField(_("prénom"), max_length=100)
    email = models.EmailField(_("adresse mail"))
    mobile_phone = PhoneNumberField(_("téléphone portable"), blank=True)
    pupil_name = models.CharField(_("nom et prénom de l'élève"), max_length=200, blank=True)
    message = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    # The family's account when the request was written signed in.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assistance_requests", verbose_name=_("compte de la famille"),
    )
    status = models.CharField(_("état"), max_length=10, choices=Status.choices,
                              default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="assistance_requests_taken", verbose_name=_("agent en charge"),
    )
    created_at = models.DateTimeField(_("reçue le"), default=timezone.now)
    updated_at = models.DateTimeField(_("dernière action le"), default=timezone.now)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande d'assistance")
        verbose_name_plural = _("demandes d'assistance")
        ordering = ["-created_at"]
        permissions = [("assistancerequest_handle", _("Traiter les demandes d'assistance"))]
        indexes = [
            # The queue: one school's (or, through the establishments of an academy, one
            # academy's) open requests, oldest first.
            models.Index(fields=["establishment", "status", "created_at"],
                         name="assistance_queue_idx"),
        ]

    def __str__(self):
        return _("Demande n° %(number)s") % {"number": self.pk}


class AssistanceReply(models.Model):
    """An answer sent by e-mail from the back-office."""

    request = models.ForeignKey(AssistanceRequest, on_delete=models.CASCADE,
                                related_name="replies", verbose_name=_("demande"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("agent"))
    body = models.TextField(_("réponse"), max_length=REPLY_MAX_LENGTH)
    sent_at = models.DateTimeField(_("envoyée le"), default=timezone.now)

    class Meta:
        verbose_name = _("réponse à une demande d'assistance")
        verbose_name_plural = _("réponses aux demandes d'assistance")
        ordering = ["sent_at"]

    def __str__(self):
        return _("Réponse du %(date)s") % {"date": f"{self.sent_at:%d/%m/%Y}"}
