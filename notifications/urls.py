from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("twilio/statut/", views.twilio_status, name="twilio_status"),
    path("demonstration/", views.demo_outbox, name="demo_outbox"),
]
