from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from educonnect import checks  # noqa: F401  (registers the deploy checks)

        from .middleware import remember_sign_in_time

        # Every way of signing in (portal, activation, admin) starts the absolute lifetime.
        user_logged_in.connect(remember_sign_in_time, dispatch_uid="accounts.sign_in_time")
