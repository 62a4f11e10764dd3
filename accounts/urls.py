from django.urls import include, path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile_choice, name="profile_choice"),
    path("connexion/<slug:profile>/", views.sign_in, name="login"),
    path("deconnexion/", views.logout_view, name="logout"),
    path("", include("accounts.recovery.urls")),
    path("mon-compte/", include("accounts.my_account.urls")),
]
