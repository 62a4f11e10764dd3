"""« Mes enfants » under /mes-enfants/ (namespace families); the list itself is
services_portal:my_children."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "families"

urlpatterns = [
    # The address people shorten the pages below to (or type from a letter): the list.
    path("", RedirectView.as_view(pattern_name="services_portal:my_children"), name="index"),
    path("regrouper/", views.merge, name="merge"),
    path("regrouper/confirmer/", views.merge_confirm, name="merge_confirm"),
    path("ajouter/", views.child_add, name="child_add"),
    path("ajouter/<uuid:flow_id>/", views.child_flow, name="child_flow"),
    path("ajouter/<uuid:flow_id>/code/", views.child_code, name="child_code"),
    path("ajouter/<uuid:flow_id>/renvoyer-le-sms/", views.child_resend, name="child_resend"),
    path("ajouter/<uuid:flow_id>/eleves/", views.child_pupils, name="child_pupils"),
    path("ajouter/<uuid:flow_id>/enfant-ajoute/", views.child_done, name="child_done"),
]
