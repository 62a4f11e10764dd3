from django.urls import path

from . import views

app_name = "assistance"

urlpatterns = [
    path("", views.assistance_form, name="form"),
    path("envoyee/", views.assistance_sent, name="sent"),
]
