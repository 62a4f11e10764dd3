"""The academic assistance requests in the back-office (issue 16 §6): the queue of a staff
user's scope (an academy's helpdesk: its academy's schools; a secretary: her schools), one
request with the records and accounts it concerns, and the helpdesk's actions on it — take,
answer by e-mail, close — each journaled by assistance.services.

Thin views wrapped by BackOfficeSite.admin_view; each checks its permission and the scope
(a request outside it is a 404, as everywhere in the back-office).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from assistance import services
from assistance.models import REPLY_MAX_LENGTH, AssistanceRequest, Status
from assistance.selectors import assistance_queue, assistance_request_links
from backoffice.selectors import staff_scope
from core.forms import BidiControlValidator

VIEW_PERMISSION = "assistance.view_assistancerequest"
HANDLE_PERMISSION = "assistance.assistancerequest_handle"
PAGE_SIZE = 50


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Réponse à envoyer par mail"),
        max_length=REPLY_MAX_LENGTH,
        validators=[BidiControlValidator(_("Réponse"))],
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        error_messages={
            "required": _("Réponse : écrivez la réponse à envoyer à la famille."),
            "max_length": _("Réponse : %(limit_value)d caractères au plus.") % {
                "limit_value": REPLY_MAX_LENGTH},
        },
    )


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _context(request, **extra):
    from django.contrib import admin

    return {**admin.site.each_context(request), **extra}


def _scoped(request, pk) -> AssistanceRequest:
    scope = staff_scope(request.user)
    found = (AssistanceRequest.objects.filter(scope.establishment_q("establishment"), pk=pk)
             .select_related("establishment__academy", "assignee", "account").first())
    if found is None:
        raise Http404
    return found


def queue(request):
    _require(request, VIEW_PERMISSION)
    status = request.GET.get("etat", "")
    if status not in Status.values:
        status = ""
    requests = assistance_queue(staff_scope(request.user).establishment_q("establishment"),
                                status=status or None)
    if not status:
        requests = requests.exclude(status=Status.CLOSED)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(request, "admin/assistance/queue.html", _context(
        request, title=gettext("Demandes d'assistance"), page=page, status=status,
        statuses=Status.choices,
    ))


def _detail_page(request, pk, *, reply_form=None, status=200):
    _require(request, VIEW_PERMISSION)
    assistance_request = _scoped(request, pk)
    return TemplateResponse(request, "admin/assistance/detail.html", _context(
        request,
        title=gettext("Demande d'assistance n° %(number)s") % {"number": assistance_request.pk},
        item=assistance_request,
        links=assistance_request_links(assistance_request),
        replies=list(assistance_request.replies.select_related("author")),
        can_handle=request.user.has_perm(HANDLE_PERMISSION)
        and assistance_request.status != Status.CLOSED,
        reply_form=reply_form or ReplyForm(),
    ), status=status)


def detail(request, pk):
    return _detail_page(request, pk)


def _act(request, pk, action, done: str):
    _require(request, HANDLE_PERMISSION)
    assistance_request = _scoped(request, pk)
    try:
        action(assistance_request)
    except services.AssistanceActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(reverse("admin:assistance_request", args=[pk]))


@require_POST
def take(request, pk):
    return _act(request, pk, lambda item: services.assistance_request_take(
        assistance_request=item, actor=request.user, request=request),
        gettext("Vous avez pris en charge cette demande."))


@require_POST
def close(request, pk):
    return _act(request, pk, lambda item: services.assistance_request_close(
        assistance_request=item, actor=request.user, request=request),
        gettext("La demande est close."))


@require_POST
def answer(request, pk):
    _require(request, HANDLE_PERMISSION)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, reply_form=form, status=400)
    return _act(request, pk, lambda item: services.assistance_request_answer(
        assistance_request=item, actor=request.user, body=form.cleaned_data["body"],
        request=request),
        gettext("La réponse a été envoyée par mail à la famille."))
