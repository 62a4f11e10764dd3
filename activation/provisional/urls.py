"""URLs of the first sign-in with a school letter, in the activation namespace
(activation/urls.py includes them under « premiere-connexion/ »). Everything under that
prefix is what a provisional account may reach (activation.provisional.middleware)."""

from django.urls import path

from . import views

PREFIX = "premiere-connexion/"

urlpatterns = [
    path(PREFIX, views.resume, name="provisional"),
    path(f"{PREFIX}<uuid:flow_id>/", views.flow_page, name="provisional_flow"),
    path(f"{PREFIX}<uuid:flow_id>/adresse-mail/", views.email, name="provisional_email"),
    path(f"{PREFIX}<uuid:flow_id>/mot-de-passe/", views.password,
         name="provisional_password"),
    path(f"{PREFIX}<uuid:flow_id>/eleves/", views.pupils, name="provisional_pupils"),
    path(f"{PREFIX}<uuid:flow_id>/identite/", views.identity, name="provisional_identity"),
    path(f"{PREFIX}<uuid:flow_id>/mail-envoye/", views.sent, name="provisional_sent"),
    path(f"{PREFIX}<uuid:flow_id>/renvoyer-le-mail/", views.resend, name="provisional_resend"),
    path(f"{PREFIX}<uuid:flow_id>/corriger-mon-adresse/", views.correct,
         name="provisional_correct"),
    path(f"{PREFIX}<uuid:flow_id>/compte-active/", views.done, name="provisional_done"),
    path(f"{PREFIX}valider/<str:token>/", views.validate, name="provisional_validate"),
    path(f"{PREFIX}compte-active/", views.validated, name="provisional_validated"),
]
