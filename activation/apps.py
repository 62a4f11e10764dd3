from django.apps import AppConfig


class ActivationConfig(AppConfig):
    name = "activation"
    verbose_name = "Activation"

    def ready(self):
        # Registers the SMS activation's flow kind with the engine (labels, purge), whatever
        # module is imported first.
        from . import flows  # noqa: F401
