from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FranceConnectConfig(AppConfig):
    name = "franceconnect"
    verbose_name = _("FranceConnect")

    def ready(self):
        from accounts.signals import accounts_merged

        from .merge import closed_account_link_move

        # A merge closes an account: its FranceConnect link moves or ends (franceconnect/merge.py).
        accounts_merged.connect(closed_account_link_move, dispatch_uid="franceconnect.merge")
