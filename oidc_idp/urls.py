"""The provider's URLs, mounted at the site's root (educonnect/urls.py).

The namespace is django-oauth-toolkit's own (`oauth2_provider`): its views reverse their
siblings by these names. The issuer is the site's root URL (OIDC_ISSUER, else the request's
host), so the discovery document is at /.well-known/openid-configuration (OpenID Connect
Discovery §4); the endpoints live under /oidc/.
"""

from django.urls import path
from oauth2_provider import views as dot

from . import views

app_name = "oauth2_provider"

urlpatterns = [
    path(".well-known/openid-configuration", views.DiscoveryView.as_view(),
         name="oidc-connect-discovery-info"),
    path(".well-known/oauth-authorization-server", dot.OAuthServerMetadataView.as_view(),
         name="oauth-server-metadata"),
    path("oidc/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("oidc/token/", views.TokenView.as_view(), name="token"),
    path("oidc/userinfo/", dot.UserInfoView.as_view(), name="user-info"),
    path("oidc/jwks/", dot.JwksInfoView.as_view(), name="jwks-info"),
    path("oidc/logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
    path("oidc/revoke/", dot.RevokeTokenView.as_view(), name="revoke-token"),
]
