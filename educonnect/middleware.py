"""Response headers the project sets on every answer that Django and django-csp do not."""

from django.conf import settings


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """The Permissions-Policy header's value for `policy` ({feature: [origins]}).

    An empty list forbids the feature everywhere (`camera=()`); "self" and "*" are written
    bare, any other origin quoted (Structured Fields, W3C Permissions Policy §5).
    """
    parts = []
    for feature, origins in policy.items():
        written = " ".join(o if o in {"self", "*"} else f'"{o}"' for o in origins)
        parts.append(f"{feature}=({written})")
    return ", ".join(parts)


class PermissionsPolicyMiddleware:
    """Adds PERMISSIONS_POLICY (settings) to every response that has none of its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.value = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.value:
            response.headers.setdefault("Permissions-Policy", self.value)
        return response
