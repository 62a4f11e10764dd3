from django.urls import path

from . import views

app_name = "franceconnect"

urlpatterns = [
    path("franceconnect/connexion/", views.authorize, name="authorize"),
    path("franceconnect/retour/", views.callback, name="callback"),
    path("franceconnect/deconnexion/", views.logout_callback, name="logout_callback"),
    path("mon-compte/franceconnect/", views.my_account, name="my_account"),
]
