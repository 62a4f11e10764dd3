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
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, Value
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from assistance import services
from assistance.models import REPLY_MAX_LENGTH, AssistanceRequest, Status
from assistance.selectors import RequestLinks, assistance_queue, assistance_request_links
from backoffice.selectors import StaffScope, staff_scope
from core.forms import BidiControlValidator
from pupils.models import GuardianRecord

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


def _in_queue(scope: StaffScope) -> tuple[Q, Q]:
    """(the requests of `scope`'s queue, those of them addressed to a school of the scope).

    A request belongs to its school's academy, whose helpdesk handles it. An academy's
    helpdesk also reads a request written from an account that covers a guardian record of
    its academy too (a shared account: a parent with a child in each academy), to help the
    same family by phone; it reads its own academy's part of it only, and does not handle
    it (`own_academy`: False). A secretary's queue is her schools'."""
    own = scope.establishment_q("establishment")
    if scope.everything or scope.academy_id is None:
        return own, own
    covered = GuardianRecord.objects.filter(scope.guardian_records_q(),
                                            account_id=OuterRef("account_id"))
    return own | (Q(account__isnull=False) & Q(Exists(covered))), own


def _own_academy(queryset, own: Q):
    return queryset.annotate(own_academy=ExpressionWrapper(own, output_field=BooleanField())
                             if own else Value(True))


def _scoped(request, pk, *, handling: bool = False) -> AssistanceRequest:
    """The request `pk` of the user's queue (404 otherwise); `handling`: to take, answer or
    close it, which only its own academy's helpdesk does (a 404 for the other academy of a
    shared account, as for any request out of reach)."""
    queue_q, own = _in_queue(staff_scope(request.user))
    found = (_own_academy(AssistanceRequest.objects.filter(own if handling else queue_q,
                                                           pk=pk), own)
             .select_related("establishment__academy", "assignee", "account").first())
    if found is None:
        raise Http404
    return found


def _links_of_other_academy(item: AssistanceRequest, scope: StaffScope) -> RequestLinks:
    """A shared account's request read by the other academy: its records of that academy
    covered by the account, and the account; never the school's records."""
    records = list(GuardianRecord.objects.filter(scope.guardian_records_q(),
                                                 account_id=item.account_id)
                   .select_related("account").order_by("last_name", "first_name", "pk")[:20])
    return RequestLinks(records=records, accounts=[item.account] if item.account else [])


EMPTY_QUEUE_TEXTS = {
    "": _("Aucune demande dans votre périmètre."),
    Status.NEW: _("Aucune demande nouvelle dans votre périmètre."),
    Status.TAKEN: _("Aucune demande prise en charge dans votre périmètre."),
    Status.ANSWERED: _("Aucune demande répondue dans votre périmètre."),
    Status.CLOSED: _("Aucune demande fermée dans votre périmètre."),
}


def queue(request):
    _require(request, VIEW_PERMISSION)
    status = request.GET.get("etat", "")
    if status not in Status.values:
        if status:
            messages.error(request, gettext(
                "État : choisissez un état de la liste ; toutes les demandes ouvertes sont "
                "affichées."))
        status = ""
    queue_q, own = _in_queue(staff_scope(request.user))
    requests = _own_academy(assistance_queue(queue_q, status=status or None), own)
    if not status:
        requests = requests.exclude(status=Status.CLOSED)
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return TemplateResponse(request, "admin/assistance/queue.html", _context(
        request, title=gettext("Demandes d'assistance"), page=page, status=status,
        statuses=Status.choices, empty_text=EMPTY_QUEUE_TEXTS[status],
    ))


def _detail_page(request, pk, *, reply_form=None, status=200):
    _require(request, VIEW_PERMISSION)
    assistance_request = _scoped(request, pk)
    own_academy = assistance_request.own_academy
    return TemplateResponse(request, "admin/assistance/detail.html", _context(
        request,
        title=gettext("Demande d'assistance n° %(number)s") % {"number": assistance_request.pk},
        item=assistance_request,
        links=(assistance_request_links(assistance_request) if own_academy else
               _links_of_other_academy(assistance_request, staff_scope(request.user))),
        replies=list(assistance_request.replies.select_related("author")),
        can_handle=request.user.has_perm(HANDLE_PERMISSION) and own_academy
        and assistance_request.status != Status.CLOSED,
        reply_form=reply_form or ReplyForm(),
    ), status=status)


def detail(request, pk):
    return _detail_page(request, pk)


def _act(request, pk, action, done: str):
    _require(request, HANDLE_PERMISSION)
    assistance_request = _scoped(request, pk, handling=True)
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
    _scoped(request, pk, handling=True)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, pk, reply_form=form, status=400)
    return _act(request, pk, lambda item: services.assistance_request_answer(
        assistance_request=item, actor=request.user, body=form.cleaned_data["body"],
        request=request),
        gettext("La réponse a été envoyée par mail à la famille."))
