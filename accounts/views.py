"""Profile choice, sign-in and sign-out of the portal (staff sign in at /gestion/)."""

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core.empty_pages import empty_page, empty_page_servable
from core.journal import EventKind, journal_record

from .authn import SignInMethod, is_local_path, provider_logout_url, sign_in_methods_record
from .forms import SignInForm
from .limits import device_cookie_set
from .models import AccountKind
from .my_account.selectors import email_check_needed

logger = logging.getLogger(__name__)

SIGN_IN_TITLE = gettext_lazy("Je me connecte avec mon compte ÉduConnect")


@dataclass(frozen=True)
class Profile:
    """A way into the portal: the tile of the profile choice and the sign-in form's label."""

    slug: str  # in the URL
    kind: AccountKind
    label: Promise  # as in the seeds
    detail: Promise
    pictogram: str  # DSFR artwork, under static/


PROFILES = {
    profile.slug: profile
    for profile in (
        Profile("representant-legal", AccountKind.GUARDIAN, gettext_lazy("Représentant légal"),
                gettext_lazy("Parent ou responsable légal d'un élève"),
                "dsfr/dist/artwork/pictograms/buildings/house.svg"),
        Profile("eleve", AccountKind.PUPIL, gettext_lazy("Élève"),
                gettext_lazy("Élève au collège ou au lycée"),
                "dsfr/dist/artwork/pictograms/buildings/school.svg"),
    )
}


def safe_next_url(request) -> str:
    """The `next` parameter when it is a path of this site, else "" (never another host)."""
    candidate = request.POST.get("next", request.GET.get("next", ""))
    return candidate if is_local_path(candidate) else ""


@require_safe
@never_cache
def profile_choice(request):
    if request.user.is_authenticated and request.user.kind != AccountKind.STAFF:
        return redirect(safe_next_url(request) or settings.LOGIN_REDIRECT_URL)
    next_url = safe_next_url(request)
    query = f"?next={quote(next_url, safe='/')}" if next_url else ""
    context = {
        "page_title": _("Je sélectionne mon profil"),
        # What {% dsfr_tile %} takes, one tile a profile.
        "profiles": [
            {
                "id": f"profile-{profile.kind}",
                "title": profile.label,
                "url": reverse("accounts:login", args=[profile.slug]) + query,
                "detail": profile.detail,
                "svg_path": static(profile.pictogram),
                "heading_tag": "h2",
                "enlarge_link": True,
            }
            for profile in PROFILES.values()
        ],
    }
    return render(request, "accounts/profile_choice.html", context)


class AfterResponseTemplateResponse(TemplateResponse):
    """Runs `after_response` callables from close(), which the WSGI (or ASGI) server calls
    once the whole response has been sent: their cost is not part of the response time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.after_response = []

    def close(self):
        for work in self.after_response:
            try:
                work()
            except Exception:
                logger.exception("Work after a sign-in response failed")
        self.after_response = []
        super().close()


class SignInView(LoginView):
    form_class = SignInForm
    template_name = "accounts/sign_in.html"
    response_class = AfterResponseTemplateResponse

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        try:
            profile = PROFILES[kwargs["profile"]]
        except KeyError:
            raise Http404("Unknown profile") from None
        self.profile, self.profile_label = profile.kind, profile.label

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.kind == self.profile:
            target = self.get_success_url()
            # A `next` pointing back at this page would loop: go to the default page instead.
            if target == request.path:
                target = self.get_default_redirect_url()
            return HttpResponseRedirect(target)
        # Rendered for this visitor alone: a signed-in person, a `next`, pending messages, or
        # a browser in the middle of a flow (its pages carry the session's time-limit
        # warning, templates/components/time_limit.html, which a kept page would show to
        # every later visitor).
        if not empty_page_servable(request):
            return super().get(request, *args, **kwargs)
        # The empty form: the same bytes for every visitor but the CSRF token, rendered once
        # per process, profile and language (core.empty_pages: about 2 ms of CPU per
        # sign-in, a tenth of the Argon2 hash).
        return empty_page(
            request, f"sign-in:{self.kwargs['profile']}",
            lambda csrf_token: self.render_to_response(
                self.get_context_data(csrf_token=csrf_token)).rendered_content)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "profile": self.profile}

    def get_redirect_url(self):
        return safe_next_url(self.request)

    def get_success_url(self):
        """Where the sign-in leads (`next`, else « Mes services »), by way of « Vérifiez
        votre adresse mail » for an account whose address is not validated (FAQ §7)."""
        target = super().get_success_url()
        if email_check_needed(self.request.user):
            query = urlencode({"next": target})
            return f"{reverse('accounts:my_account:email_check')}?{query}"
        return target

    def form_valid(self, form):
        # The two writes of a sign-in (last_login, from the user_logged_in receiver, and the
        # journal row) in one transaction: one commit, one WAL flush (issue 14).
        with transaction.atomic():
            response = super().form_valid(form)  # django.contrib.auth.login: new session key
            journal_record(
                EventKind.LOGIN_SUCCEEDED, request=self.request, account=form.get_user(),
                profile=str(self.profile),
            )
        # This browser is now one of the account's devices: its attempts no longer share
        # the identifier's window with everybody else's (accounts.limits).
        device_cookie_set(response, self.request, identifier=form.get_user().identifier)
        sign_in_methods_record(self.request, SignInMethod.PASSWORD)
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.after_response.extend(form.after_response)
        if form.throttled:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)  # RFC 9110 §10.2.3
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        title = _("%(heading)s – %(profile)s") % {
            "heading": SIGN_IN_TITLE, "profile": self.profile_label,
        }
        context.update(
            page_title=_("Erreur – %(title)s") % {"title": title} if form.errors else title,
            heading=SIGN_IN_TITLE,
            profile_label=self.profile_label,
            is_guardian=self.profile == AccountKind.GUARDIAN,
            profile_choice_url=resolve_url("accounts:profile_choice"),
        )
        # A refusal that sends the person to the other profile's page (accounts.forms
        # closed_account_message): a link to that page, `next` kept.
        other = next((profile for profile in PROFILES.values()
                      if profile.kind == getattr(form, "other_profile", None)), None)
        if other is not None:
            url = reverse("accounts:login", args=[other.slug])
            next_url = context.get("next")
            context.update(other_profile_label=other.label, other_profile_url=(
                f"{url}?{urlencode({'next': next_url})}" if next_url else url))
        return context


sign_in = SignInView.as_view()


@require_POST
def logout_view(request):
    account = request.user if request.user.is_authenticated else None
    # Signed in with FranceConnect: its session ends too (its end-session endpoint, which
    # comes back to franceconnect:logout_callback).
    provider_logout = provider_logout_url(request) if account is not None else ""
    logout(request)  # flushes the session: its key is dead on the server too
    if account is not None:
        journal_record(EventKind.LOGOUT, request=request, account=account,
                       provider=bool(provider_logout))
        messages.success(request, _("Vous êtes déconnecté(e) d'ÉduConnect."))
    if provider_logout:
        return HttpResponseRedirect(provider_logout)
    if request.POST.get("ensuite") == "franceconnect":
        # « Mon compte › FranceConnect »: signed out to link FranceConnect, the guardian
        # lands on the block of the sign-in page that has its button (one fixed place: no
        # address taken from the request).
        return HttpResponseRedirect(
            reverse("accounts:login", args=["representant-legal"]) + "#franceconnect")
    return redirect("accounts:profile_choice")
