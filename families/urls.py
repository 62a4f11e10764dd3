"""« Mes enfants » under /mes-enfants/ (namespace families); the list itself is
services_portal:my_children."""

from django.urls import path

from . import views

app_name = "families"

urlpatterns = [
    path("regrouper/", views.merge, name="merge"),
    path("ajouter/", views.child_add, name="child_add"),
    path("ajouter/<uuid:flow_id>/", views.child_flow, name="child_flow"),
    path("ajouter/<uuid:flow_id>/code/", views.child_code, name="child_code"),
    path("ajouter/<uuid:flow_id>/renvoyer-le-sms/", views.child_resend, name="child_resend"),
    path("ajouter/<uuid:flow_id>/eleves/", views.child_pupils, name="child_pupils"),
    path("ajouter/<uuid:flow_id>/enfant-ajoute/", views.child_done, name="child_done"),
]
