from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils.translation import gettext_lazy as _


class ServicesPortalConfig(AppConfig):
    name = "services_portal"
    verbose_name = _("Services")

    def ready(self):
        # The writes that change a kept « Mes services » page (services_portal.receivers).
        from accounts.signals import accounts_merged
        from pupils.models import Establishment, GuardianRecord, Pupil, Responsibility

        from . import receivers
        from .models import EstablishmentMessage, NewsItem, Service

        def both(receiver, model, name):
            for signal in (post_save, post_delete):
                signal.connect(receiver, sender=model,
                               dispatch_uid=f"services_portal.{name}.{signal is post_save}")

        for model in (Pupil, GuardianRecord, EstablishmentMessage):
            pre_save.connect(receivers.remember_before, sender=model,
                             dispatch_uid=f"services_portal.before.{model.__name__}")
            both(receivers.school_data_changed, model, model.__name__)
        both(receivers.establishment_changed, Establishment, "establishment")
        both(receivers.link_changed, Responsibility, "link")
        both(receivers.catalogue_changed, Service, "service")
        # The SAML service provider behind a tile (saml_idp, which this app does not import).
        both(receivers.catalogue_changed, apps.get_model("saml_idp", "ServiceProvider"),
             "service_provider")
        both(receivers.news_changed, NewsItem, "news")
        accounts_merged.connect(receivers.accounts_merged, dispatch_uid="services_portal.merge")
