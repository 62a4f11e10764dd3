from django.contrib import admin
from django.urls import include, path

from . import pages, views

# The footer's pages (educonnect/pages.py): French paths, as a State site publishes them.
page_patterns = [
    path("accessibilite/", pages.accessibility, name="accessibility"),
    path("mentions-legales/", pages.legal_notice, name="legal_notice"),
    path("donnees-personnelles/", pages.personal_data, name="personal_data"),
    path("gestion-des-cookies/", pages.cookies, name="cookies"),
    path("plan-du-site/", pages.site_map, name="site_map"),
    path("aide/", pages.help_page, name="help"),
    path("aide/mot-de-passe/", pages.password_help, name="password_help"),
]

urlpatterns = [
    # First: « Mes services » is the page every family opens after signing in; Django tries
    # the patterns in order, and the accounts' and FranceConnect's below cost 0.05 ms to try
    # (issue 14). No other pattern starts with services/, so the order changes no answer.
    path("services/", include("services_portal.urls")),
    path("", include("accounts.urls")),
    path("activation/", include("activation.urls")),
    # FranceConnect: /franceconnect/… and /mon-compte/franceconnect/ (franceconnect).
    path("", include("franceconnect.urls")),
    path("mes-enfants/", include("families.urls")),
    path("idp/", include("saml_idp.urls")),
    path("notifications/", include("notifications.urls")),
    path("assistance/", include("assistance.urls")),
    path("session/prolonger/", views.session_keep_alive, name="session_keep_alive"),
    path("gestion/", admin.site.urls),
    path("", include((page_patterns, "pages"))),
    # OpenID Connect provider: /.well-known/openid-configuration and /oidc/… (oidc_idp).
    path("", include("oidc_idp.urls")),
    # The demo's service, a relying party of that provider (DEBUG only: 404 otherwise).
    path("demonstration/service/", include("oidc_idp.demo_urls")),
]

handler400 = "educonnect.views.bad_request"
handler403 = "educonnect.views.permission_denied"
handler404 = "educonnect.views.page_not_found"
handler500 = "educonnect.views.server_error"
