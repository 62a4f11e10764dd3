from django.urls import path

from . import children_views, views

app_name = "services_portal"

urlpatterns = [
    path("", views.my_services, name="my_services"),
    path("mes-enfants/", children_views.my_children, name="my_children"),
]
