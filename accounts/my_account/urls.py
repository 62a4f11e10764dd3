"""« Mon compte », under /mon-compte/ (namespace accounts:my_account)."""

from django.urls import path

from . import views

app_name = "my_account"

urlpatterns = [
    path("", views.information, name="information"),
    path("confirmer-mon-mot-de-passe/", views.reauthenticate, name="reauthenticate"),
    path("mot-de-passe/", views.password, name="password"),
    path("adresse-mail/", views.email, name="email"),
    path("adresse-mail/renvoyer/", views.email_resend, name="email_resend"),
    path("adresse-mail/annuler/", views.email_cancel, name="email_cancel"),
    path("adresse-mail/valider/<str:token>/", views.email_validate, name="email_validate"),
    path("adresse-mail/validee/", views.email_validated, name="email_validated"),
    path("adresse-mail/verifier/", views.email_check, name="email_check"),
    path("telephone/", views.phone, name="phone"),
    path("telephone/<uuid:flow_id>/", views.phone_flow, name="phone_flow"),
    path("telephone/<uuid:flow_id>/code/", views.phone_code, name="phone_code"),
    path("telephone/<uuid:flow_id>/renvoyer-le-sms/", views.phone_resend, name="phone_resend"),
    path("telephone/<uuid:flow_id>/numero-modifie/", views.phone_done, name="phone_done"),
]
