from django.urls import path

from . import views

app_name = "services_portal"

urlpatterns = [
    path("", views.my_services, name="my_services"),
]
