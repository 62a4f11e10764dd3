"""The IdP's addresses, at the paths of a Shibboleth IdP so that a service switches by
changing only the IdP's host."""

from django.urls import path

from . import views

app_name = "saml_idp"

urlpatterns = [
    path("shibboleth", views.metadata, name="metadata"),
    path("profile/Metadata/SAML", views.metadata, name="metadata_profile"),
    path("profile/SAML2/Redirect/SSO", views.redirect_sso, name="redirect_sso"),
    path("profile/SAML2/POST/SSO", views.post_sso, name="post_sso"),
    path("profile/SAML2/Unsolicited/SSO", views.unsolicited_sso, name="unsolicited_sso"),
    path("profile/SAML2/Continue", views.continue_sso, name="continue_sso"),
    path("profile/SAML2/Redirect/SLO", views.redirect_slo, name="redirect_slo"),
    path("profile/SAML2/POST/SLO", views.post_slo, name="post_slo"),
    path("profile/Logout", views.logout_page, name="logout"),
]
