from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("activation/", include("activation.urls")),
    # FranceConnect: /franceconnect/… and /mon-compte/franceconnect/ (franceconnect).
    path("", include("franceconnect.urls")),
    path("services/", include("services_portal.urls")),
    path("mes-enfants/", include("families.urls")),
    path("idp/", include("saml_idp.urls")),
    path("notifications/", include("notifications.urls")),
    path("assistance/", include("assistance.urls")),
    path("gestion/", admin.site.urls),
    # OpenID Connect provider: /.well-known/openid-configuration and /oidc/… (oidc_idp).
    path("", include("oidc_idp.urls")),
]

handler403 = "educonnect.views.permission_denied"
handler404 = "educonnect.views.page_not_found"
handler500 = "educonnect.views.server_error"
