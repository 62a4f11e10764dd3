"""The scopes a service may ask for, what each releases, and which client may ask which.

| scope | claims (ID token and userinfo) |
|---|---|
| `openid` | `sub` (pairwise), `acr`, `amr`, `auth_time` — every client |
| `profile` | `given_name`, `family_name`, `identifier`, `affiliation` |
| `children` | `children`: one object per child (oidc_idp.claims) |

A client may ask only `openid` and the scopes the national administration gave it in the
back-office (`ClientPolicy.scopes`); asking another is refused with `invalid_scope`
(oauthlib calls `validate_scopes`, which reads `get_available_scopes(application=…)`).
"""

from django.utils.translation import gettext_lazy as _
from oauth2_provider.scopes import BaseScopes

OPENID = "openid"
PROFILE = "profile"
CHILDREN = "children"

# In the order of the consent page.
SCOPE_TEXTS = {
    OPENID: _("Vous identifier auprès du service"),
    PROFILE: _("Vos nom, prénom, identifiant ÉduConnect et profil (parent ou élève)"),
    CHILDREN: _("Vos enfants : nom, prénom, établissement (UAI) et niveau"),
}
# The scopes a client can be given in the back-office (openid is always given).
GRANTABLE_SCOPES = (PROFILE, CHILDREN)


class ClientScopes(BaseScopes):
    """django-oauth-toolkit's scopes backend (OAUTH2_PROVIDER["SCOPES_BACKEND_CLASS"]).

    `application` is an oauth2_provider Application with its `policy` (one extra query when
    not select_related); without an application (the discovery document), every scope.
    """

    def get_all_scopes(self) -> dict:
        return dict(SCOPE_TEXTS)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return list(SCOPE_TEXTS)
        return [OPENID, *client_scopes(application)]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return [OPENID]


def client_scopes(application) -> list[str]:
    """The scopes beyond `openid` the administration gave this client ([] without policy)."""
    policy = getattr(application, "policy", None) if application.pk else None
    if policy is None:
        return []
    return [scope for scope in policy.scope_list if scope in GRANTABLE_SCOPES]
