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
]

# The first sign-in with a school letter (issue 9 §2).
urlpatterns += provisional_urls.urlpatterns
