"""URLs of the recoveries, in the `accounts` namespace (included by accounts/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("identifiant-oublie/", views.identifier_forgotten, name="identifier_forgotten"),
    path("identifiant-oublie/sms/", views.identifier_forgotten_sms,
         name="identifier_forgotten_sms"),
    path("identifiant-oublie/mail/", views.identifier_forgotten_email,
         name="identifier_forgotten_email"),
    path("identifiant-oublie/demande-envoyee/", views.identifier_forgotten_sent,
         name="identifier_forgotten_sent"),
    path("mot-de-passe-oublie/", views.password_forgotten, name="password_forgotten"),
    path("mot-de-passe-oublie/lien/<str:token>/", views.link_open,
         name="password_recovery_link_open"),
    path("mot-de-passe-oublie/<uuid:flow_id>/", views.flow_page,
         name="password_recovery_flow"),
    path("mot-de-passe-oublie/<uuid:flow_id>/canal/", views.channel,
         name="password_recovery_channel"),
    path("mot-de-passe-oublie/<uuid:flow_id>/code/", views.code,
         name="password_recovery_code"),
    path("mot-de-passe-oublie/<uuid:flow_id>/renvoyer-le-sms/", views.code_resend,
         name="password_recovery_code_resend"),
    path("mot-de-passe-oublie/<uuid:flow_id>/mail-envoye/", views.link_sent,
         name="password_recovery_link_sent"),
    path("mot-de-passe-oublie/<uuid:flow_id>/renvoyer-le-mail/", views.link_resend,
         name="password_recovery_link_resend"),
    path("mot-de-passe-oublie/<uuid:flow_id>/nouveau-mot-de-passe/", views.password,
         name="password_recovery_password"),
    path("mot-de-passe-oublie/<uuid:flow_id>/termine/", views.done,
         name="password_recovery_done"),
]
