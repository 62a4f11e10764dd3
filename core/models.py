"""The append-only journal: what happened, to which account, by whom; never a secret."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
