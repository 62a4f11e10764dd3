from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivationConfig(AppConfig):
    name = "activation"
    verbose_name = _("Activation")

    def ready(self):
        # Registers the SMS activation's flow kind with the engine (labels, purge), whatever
        # module is imported first.
        from . import flows  # noqa: F401
