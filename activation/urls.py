from django.urls import path

from . import views
from .provisional import urls as provisional_urls

app_name = "activation"

urlpatterns = [
    path("", views.start, name="start"),
    path("<uuid:flow_id>/", views.flow_page, name="flow"),
    path("<uuid:flow_id>/code/", views.code, name="code"),
    path("<uuid:flow_id>/renvoyer-le-sms/", views.resend, name="resend"),
    path("<uuid:flow_id>/eleves/", views.pupils, name="pupils"),
    path("<uuid:flow_id>/mot-de-passe/", views.password, name="password"),
    path("<uuid:flow_id>/compte-active/", views.done, name="done"),
    # The first link of a FranceConnect identity (activation.flows.FRANCECONNECT_LINK).
    path("franceconnect/", views.fc_phone, name="franceconnect"),
    path("franceconnect/<uuid:flow_id>/", views.fc_flow_page, name="fc_flow"),
    path("franceconnect/<uuid:flow_id>/code/", views.fc_code, name="fc_code"),
    path("franceconnect/<uuid:flow_id>/renvoyer-le-sms/", views.fc_resend, name="fc_resend"),
    path("franceconnect/<uuid:flow_id>/eleves/", views.fc_pupils, name="fc_pupils"),
    path("franceconnect/<uuid:flow_id>/compte-active/", views.fc_done, name="fc_done"),
]

# The first sign-in with a school letter (issue 9 §2).
urlpatterns += provisional_urls.urlpatterns
