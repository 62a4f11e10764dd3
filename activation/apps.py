from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivationConfig(AppConfig):
    name = "activation"
    verbose_name = _("Activation")

    def ready(self):
        # Registers the SMS activation's flow kind with the engine (labels, purge), whatever
        # module is imported first.
        # The school fixed a birth date or a number: clear that number's counters.
        from pupils.signals import activation_data_fixed, provisional_credentials_renewed

        from . import flows  # noqa: F401
        from .provisional.services import provisional_first_sign_in_restart
        from .services import activation_counters_clear

        def clear_counters(sender, *, numbers, reason, **kwargs):
            activation_counters_clear(phones=numbers, reason=reason)

        activation_data_fixed.connect(clear_counters, weak=False,
                                      dispatch_uid="activation.clear_counters")

        # The school reissued letters: those accounts' first sign-in starts over.
        def restart_first_sign_in(sender, *, account_ids, **kwargs):
            return provisional_first_sign_in_restart(account_ids=account_ids)

        provisional_credentials_renewed.connect(
            restart_first_sign_in, weak=False, dispatch_uid="activation.restart_first_sign_in")
