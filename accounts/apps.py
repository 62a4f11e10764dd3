from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Comptes")

    def ready(self):
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        from educonnect import checks  # noqa: F401  (registers the deploy checks)

        from .hashers import dummy_hash_prepare
        from .middleware import record_last_login, remember_sign_in_time
        from .recovery import flows  # noqa: F401  (registers the password recovery's kind)

        # Every way of signing in (portal, activation, admin) starts the absolute lifetime.
        user_logged_in.connect(remember_sign_in_time, dispatch_uid="accounts.sign_in_time")
        # Django's own receiver saves the account, which would add an audit (history) row at
        # every sign-in: ours writes the one column without touching the history.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(record_last_login, dispatch_uid="accounts.last_login")
        # The hash an unknown identifier's password is checked against (accounts.backends).
        dummy_hash_prepare()
        # Registers « Mon compte »'s flow kinds with the engine (labels, purge).
        from .my_account import flows as my_account_flows  # noqa: F401
