"""The public pages of the assistance form: the form (signed in or not) and its « sent »
page. Thin: parse, admit (assistance.limits), call the service, redirect."""

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core.http import client_ip
from core.ratelimit import wait_text

from . import services
from .forms import AssistanceForm
from .limits import assistance_request_admit
from .selectors import establishments_of_account

SENT_SESSION_KEY = "assistance_sent"


def _initial(user) -> dict:
    if not getattr(user, "is_authenticated", False) or user.is_staff:
        return {}
    return {"last_name": user.last_name, "first_name": user.first_name,
            "email": getattr(user, "email", "") or ""}


@never_cache
def assistance_form(request):
    account = request.user if (request.user.is_authenticated
                               and not request.user.is_staff) else None
    schools = establishments_of_account(account)
    form = AssistanceForm(request.POST or None, schools=schools, initial=_initial(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            decision = assistance_request_admit(ip=client_ip(request), email=data["email"])
            if not decision:
                form.add_error(None, _(
                    "Vous avez envoyé beaucoup de demandes : l'assistance les traite dans "
                    "l'ordre. Réessayez dans %(wait)s si votre problème n'est pas déjà décrit."
                ) % {"wait": wait_text(decision.retry_after)})
                response = render(request, "assistance/form.html", {"form": form}, status=429)
                response["Retry-After"] = str(decision.retry_after)
                return response
            assistance_request = services.assistance_request_submit(
                establishment=data["school"], category=data["category"],
                last_name=data["last_name"], first_name=data["first_name"], email=data["email"],
                mobile_phone=data["mobile_phone"], pupil_name=data["pupil_name"],
                message=data["message"], account=account, request=request,
            )
            request.session[SENT_SESSION_KEY] = {
                "number": assistance_request.pk,
                "academy": assistance_request.establishment.academy.name,
                "email": assistance_request.email,
            }
            return redirect("assistance:sent")
        status = 400
    return render(request, "assistance/form.html", {"form": form}, status=status)


@never_cache
def assistance_sent(request):
    sent = request.session.get(SENT_SESSION_KEY)
    if not sent:
        return redirect("assistance:form")
    return render(request, "assistance/sent.html", {"sent": sent})
