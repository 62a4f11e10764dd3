"""The demo's service (oidc_idp.demo), mounted at /demonstration/service/: 404 unless DEBUG."""

from django.urls import path

from . import demo

app_name = "oidc_demo"

urlpatterns = [
    path("", demo.start, name="start"),
    path("retour/", demo.callback, name="callback"),
    path("connecte/", demo.result, name="result"),
]
