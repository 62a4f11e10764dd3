from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamiliesConfig(AppConfig):
    """« Mes enfants » (issue 11): merging two accounts of one guardian, adding a child by SMS
    proof, and telling a family that a child was attached to its account. May import
    activation, pupils, accounts, notifications and core (docs/architecture.md)."""

    name = "families"
    verbose_name = _("Mes enfants")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import flows  # noqa: F401  (registers « Ajouter un enfant » with the engine)
        from .receivers import new_children_notice

        # « Un nouvel enfant a été rattaché à votre compte », once, at the next sign-in.
        user_logged_in.connect(new_children_notice, dispatch_uid="families.new_children")
