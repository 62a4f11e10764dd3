"""« Mes services » (seed 003): each child with their school, level in words, the tiles of
their services (opened signed in: SAML tiles start the IdP-initiated SSO) and their school's
message; the national news."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import AccountKind
from core.versions import CATALOGUE, NEWS, account_version, school_version
from educonnect.context_processors import time_limit_of

from .page_cache import cached_page
from .selectors import my_services_for, schools_of_account


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
    """« Mes services », served from the account's kept page while nothing it shows has
    changed (services_portal.page_cache; the writes that change it: services_portal.receivers
    and the roster import)."""
    account = request.user
    if account.kind == AccountKind.STAFF:
        return redirect("admin:index")  # staff have no children here: their tools are there

    def render(extra: dict) -> tuple[str, set[str]]:
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
            **extra,
        }
        html = render_to_string("services_portal/my_services.html", context, request)
        schools = schools_of_account(account) | {c.pupil.establishment_id
                                                 for c in page.children}
        return html, {*base_names, *(school_version(pk) for pk in schools)}

    base_names = (account_version(account.pk), CATALOGUE, NEWS)
    return cached_page(request, account=account, base_names=base_names,
                       time_limit=time_limit_of(request), render=render)
