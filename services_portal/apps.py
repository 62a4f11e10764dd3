from django.apps import AppConfig


class ServicesPortalConfig(AppConfig):
    name = "services_portal"
    verbose_name = "Services"
