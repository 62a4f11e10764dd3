"""Profile choice, sign-in and sign-out of the portal (staff sign in at /gestion/)."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core.journal import EventKind, journal_record

from .forms import SignInForm
from .models import AccountKind

logger = logging.getLogger(__name__)

SIGN_IN_TITLE = "Je me connecte avec mon compte ÉduConnect"

# URL slug -> (account kind, label shown above the form as in the seeds).
PROFILES = {
    "representant-legal": (AccountKind.GUARDIAN, "Représentant légal"),
    "eleve": (AccountKind.PUPIL, "Élève"),
}


def safe_next_url(request) -> str:
    """The `next` parameter when it points to this site, else ""."""
    candidate = request.POST.get("next", request.GET.get("next", ""))
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@require_safe
@never_cache
def profile_choice(request):
    if request.user.is_authenticated and request.user.kind != AccountKind.STAFF:
        return redirect(safe_next_url(request) or settings.LOGIN_REDIRECT_URL)
    context = {
        "page_title": "Je sélectionne mon profil",
        "next": safe_next_url(request),
        "profiles": [(slug, label) for slug, (_kind, label) in PROFILES.items()],
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
            self.profile_slug = kwargs["profile"]
            self.profile, self.profile_label = PROFILES[self.profile_slug]
        except KeyError:
            raise Http404("Profil inconnu") from None

    def get(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.kind == self.profile:
            target = self.get_success_url()
            # A `next` pointing back at this page would loop: go to the default page instead.
            if target == request.path:
                target = self.get_default_redirect_url()
            return HttpResponseRedirect(target)
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "profile": self.profile}

    def form_valid(self, form):
        response = super().form_valid(form)  # django.contrib.auth.login: new session key
        journal_record(
            EventKind.LOGIN_SUCCEEDED, request=self.request, account=form.get_user(),
            profile=str(self.profile),
        )
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
        context.update(
            page_title=(
                f"Erreur – {SIGN_IN_TITLE} – {self.profile_label}"
                if form.errors
                else f"{SIGN_IN_TITLE} – {self.profile_label}"
            ),
            heading=SIGN_IN_TITLE,
            profile_label=self.profile_label,
            is_guardian=self.profile == AccountKind.GUARDIAN,
            profile_choice_url=resolve_url("accounts:profile_choice"),
        )
        return context


sign_in = SignInView.as_view()


@require_POST
def logout_view(request):
    account = request.user if request.user.is_authenticated else None
    logout(request)  # flushes the session: its key is dead on the server too
    if account is not None:
        journal_record(EventKind.LOGOUT, request=request, account=account)
        messages.success(request, "Vous êtes déconnecté(e) d'ÉduConnect.")
    return redirect("accounts:profile_choice")
