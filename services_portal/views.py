"""« Mes services » (seed 003): each child with their school, level in words, the tiles of
their services (opened signed in: SAML tiles start the IdP-initiated SSO) and their school's
message; the national news."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import AccountKind

from .selectors import my_services_for


def tile_url(service) -> str:
    """Where a tile leads: a SAML service through the IdP-initiated SSO of saml_idp
    (`/idp/profile/SAML2/Unsolicited/SSO?providerId=…&target=…`, Shibboleth's parameters),
    any other service (OpenID Connect included: it asks ÉduConnect itself) to its address."""
    provider = service.saml_service_provider
    if provider is not None and provider.is_active:
        query = urlencode({"providerId": provider.entity_id, "target": service.url})
        return f"{reverse('saml_idp:unsolicited_sso')}?{query}"
    return service.url


@login_required
def my_services(request):
    account = request.user
    if account.kind == AccountKind.STAFF:
        return redirect("admin:index")  # staff have no children here: their tools are there
    page = my_services_for(account)
    urls = {}
    for child in page.children:
        for service in child.services:
            if service.pk not in urls:
                urls[service.pk] = tile_url(service)
            service.tile_url = urls[service.pk]
    context = {
        "page_title": _("Mes services"),
        "account": account,
        "children": page.children,
        "news": page.news,
        "is_guardian": account.kind == AccountKind.GUARDIAN,
    }
    return render(request, "services_portal/my_services.html", context)
