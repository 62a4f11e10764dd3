"""« Mes enfants » pages (issue 11): parse, call a service, redirect or render. Nothing else.

For signed-in guardians only (staff go to the back-office, pupils to « Mon compte »). « Ajouter
un enfant » runs on the flow engine (core.flows: bound to the browser and to the account
that started it, the row's step is the truth, POST → redirect → GET), like the SMS
activation whose stages it reuses. « Ajouter des enfants depuis un autre compte » checks the
other account's password, keeps what was proven in the session (bound to the account, single
use, FAMILIES_MERGE_CONFIRM_SECONDS) and merges only on « Confirmer le regroupement ».
"""

import secrets
import time
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account, AccountKind, AccountState
from activation.flows import ActivationData
from activation.forms import LINK_YES, CodeForm, PupilsForm
from activation.messages import message_phone_limit, message_phone_limit_rule
from activation.selectors import pupil_links_for_records
from activation.services import PupilField, dates_block_read, wrong_dates_left
from core.code_step import CodeStep, code_step_page, code_step_resend
from core.flows import (
    finished_elsewhere_message,
    flow_bind,
    flow_form,
    flow_form_refused,
    flow_home,
    flow_not_found,
    flow_redirect_to_step,
    flow_view,
)
from core.models import Flow, FlowStatus
from core.normalization import mask_phone

from . import messages as fmessages
from . import services
from .flows import CHILD_ATTACH, CHILD_ATTACH_CODE
from .forms import ChildNumberForm, MergeForm


def guardian_required(view):
    """Signed in as a guardian; staff go to the back-office, pupils to « Mon compte »."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.kind == AccountKind.STAFF:
            return redirect("admin:index")
        if request.user.kind != AccountKind.GUARDIAN:
            return redirect("accounts:my_account:information")
        return view(request, *args, **kwargs)

    return wrapper


def _context(request, title: str, form=None, **extra) -> dict:
    has_errors = form is not None and form.is_bound and bool(form.errors)
    page_title = _("%(page)s — Mon compte") % {"page": title}
    return {
        "page_title": _("Erreur : %(title)s") % {"title": page_title} if has_errors
        else page_title,
        "heading": title,
        "current": "children",
        "account": request.user,
        "is_guardian": True,
        "form": form,
        **extra,
    }


# --- Ajouter des enfants depuis un autre compte ---------------------------------------------


# The proof waiting for « Confirmer le regroupement », in the session: {"id": a random id
# the confirmation form carries back, "since": time.time(), "proof": MergeProof.as_dict()}.
# Once the merge is confirmed, the slot says so instead: {"done": that id} (a page opened
# again with Back shows the result, not « délai dépassé »), until another proof replaces it.
MERGE_PENDING_KEY = "families_merge_pending"
# The merges this session confirmed, newest last (at most MERGE_DONE_KEPT): [{"id": the
# proof's id, "account_id": the kept account, "closed_id": the closed one}]. A confirmation
# posted again from a page left open (a second tab, Back) is answered with the merge's
# result, never replayed and never refused as expired.
MERGE_DONE_KEY = "families_merges_done"
MERGE_DONE_KEPT = 5


def _merge_pending_take(request, *, pending_id: str | None = None,
                        pop: bool = False) -> services.MergeProof | None:
    """The proof this session keeps for the signed-in account, or None (none, already
    confirmed, another account's, malformed, past FAMILIES_MERGE_CONFIRM_SECONDS — then
    dropped). With `pending_id`, only the proof of that id (a confirmation page opened for
    an earlier proof confirms nothing). `pop`: taken out of the session (single use)."""
    pending = request.session.get(MERGE_PENDING_KEY)
    if not isinstance(pending, dict) or "done" in pending:
        return None
    try:
        proof = services.MergeProof.from_dict(pending["proof"])
        since = float(pending["since"])
        stored_id = str(pending["id"])
    except (KeyError, TypeError, ValueError):
        request.session.pop(MERGE_PENDING_KEY, None)
        return None
    expired = time.time() - since > settings.FAMILIES_MERGE_CONFIRM_SECONDS
    if expired or proof.account_id != request.user.pk:
        request.session.pop(MERGE_PENDING_KEY, None)
        return None
    if pending_id is not None and not constant_time_compare(pending_id, stored_id):
        return None
    if pop:
        request.session.pop(MERGE_PENDING_KEY, None)
    return proof


def _merge_done_record(request, *, proof_id: str, closed: Account) -> None:
    """After a confirmed merge: the slot says the proof `proof_id` is done, and the merge
    joins the session's list of confirmed ones (MERGE_DONE_KEY)."""
    done = [entry for entry in request.session.get(MERGE_DONE_KEY, [])
            if isinstance(entry, dict)]
    done.append({"id": proof_id, "account_id": request.user.pk, "closed_id": closed.pk})
    request.session[MERGE_DONE_KEY] = done[-MERGE_DONE_KEPT:]
    request.session[MERGE_PENDING_KEY] = {"done": proof_id}


def _merge_done_closed(request, *, proof_id: str | None = None) -> Account | None:
    """The account closed by a merge this session confirmed for the signed-in account, or
    None: with `proof_id` (a confirmation posted again), the merge of that proof; without
    (the confirmation page opened again), the merge of the proof the slot last held, if it
    was confirmed. The account is read again: it is returned only if it is closed indeed."""
    if proof_id is None:
        pending = request.session.get(MERGE_PENDING_KEY)
        if not isinstance(pending, dict) or "done" not in pending:
            return None
        proof_id = str(pending["done"])
    for entry in request.session.get(MERGE_DONE_KEY, []):
        if (isinstance(entry, dict) and entry.get("account_id") == request.user.pk
                and constant_time_compare(proof_id, str(entry.get("id", "")))):
            return Account.objects.filter(pk=entry.get("closed_id"),
                                          state=AccountState.CLOSED).first()
    return None


def _merge_result_message(request, closed: Account) -> str:
    return _(
        "Les enfants du compte %(closed)s ont été ajoutés à votre compte. Le compte "
        "%(closed)s est fermé : connectez-vous désormais avec l'identifiant %(kept)s."
    ) % {"closed": closed.display_identifier, "kept": request.user.display_identifier}


def _merge_already_done(request, closed: Account):
    """A confirmation (or its cancel) posted again, or its page opened again, after the
    merge was confirmed: « Mes enfants » with the notice that the démarche is done (the
    words of a finished flow, core.flows.finished_elsewhere_message) and its result."""
    messages.info(request, finished_elsewhere_message())
    messages.success(request, _merge_result_message(request, closed))
    return redirect("services_portal:my_children")


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def merge(request):
    """The other account's identifier and password. Once they are proven, the proof waits in
    the session and the confirmation page lists the children: nothing changes here."""
    form = MergeForm(request.POST if request.method == "POST" else None)
    status = 200
    retry_after = 0
    if request.method == "POST" and form.is_valid():
        try:
            proof = services.accounts_merge_prove(
                account=request.user, identifier=form.cleaned_data["identifier"],
                password=form.cleaned_data["password"], request=request,
            )
        except services.FamiliesRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
            retry_after = refusal.retry_after
        else:
            request.session[MERGE_PENDING_KEY] = {
                "id": secrets.token_urlsafe(16), "since": time.time(),
                "proof": proof.as_dict(),
            }
            return redirect("families:merge_confirm")
    if form.errors:
        status = 429 if retry_after else 400
    context = _context(request, _("Ajouter des enfants depuis un autre compte"), form)
    response = render(request, "families/merge.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def merge_confirm(request):
    """« Confirmer le regroupement »: GET lists the children of the other account whose
    password this session proved (first name, school), says what the merge does and that it
    cannot be undone; POST « Confirmer le regroupement » merges (the proof is used once and
    both accounts are checked again, families.services.accounts_merge_confirm), POST
    « Annuler » drops the proof. Without a live proof: back to the form, nothing changed —
    unless the proof was the one of a merge this session confirmed (a second tab, Back):
    then « Mes enfants » with the notice that the démarche is done and its result
    (`_merge_already_done`), nothing replayed."""
    if request.method == "POST":
        posted_id = request.POST.get("proof", "")
        closed = _merge_done_closed(request, proof_id=posted_id)
        if closed is not None:
            return _merge_already_done(request, closed)
        proof = _merge_pending_take(request, pending_id=posted_id, pop=True)
        if "confirm" not in request.POST:
            messages.info(request, fmessages.message_merge_cancelled())
            return redirect("services_portal:my_children")
        if proof is None:
            messages.error(request, fmessages.message_merge_expired())
            return redirect("families:merge")
        try:
            closed = services.accounts_merge_confirm(account=request.user, proof=proof,
                                                     request=request)
        except services.MergeAlreadyDone as done:
            # The same confirmation sent twice at once: the other request merged. Told as
            # a confirmation sent again afterwards is.
            _merge_done_record(request, proof_id=posted_id, closed=done.closed)
            return _merge_already_done(request, done.closed)
        except services.FamiliesRefused as refusal:
            messages.error(request, refusal.message)
            return redirect("families:merge")
        _merge_done_record(request, proof_id=posted_id, closed=closed)
        messages.success(request, _merge_result_message(request, closed))
        return redirect("services_portal:my_children")
    proof = _merge_pending_take(request)
    if proof is None:
        closed = _merge_done_closed(request)
        if closed is not None:
            return _merge_already_done(request, closed)
        messages.error(request, fmessages.message_merge_expired())
        return redirect("families:merge")
    other = Account.objects.filter(pk=proof.other_id).first()
    if other is None:
        request.session.pop(MERGE_PENDING_KEY, None)
        messages.error(request, fmessages.message_merge_changed())
        return redirect("families:merge")
    children = services.merge_proof_children(proof)
    context = _context(request, _("Confirmer le regroupement des comptes"), None,
                       other=other, children=children,
                       proof_id=request.session[MERGE_PENDING_KEY]["id"],
                       minutes=max(settings.FAMILIES_MERGE_CONFIRM_SECONDS // 60, 1))
    return render(request, "families/merge_confirm.html", context)


# --- Ajouter un enfant (flow kind CHILD_ATTACH) ----------------------------------------------


def _child_flow_view(step: str | None = None):
    """flow_view, for the signed-in guardian that started the flow only."""

    def decorator(view):
        @guardian_required
        @flow_view(CHILD_ATTACH, step=step)
        @wraps(view)
        def wrapper(request, flow: Flow, *args, **kwargs):
            if flow.account_id != request.user.pk:
                return flow_not_found(request, CHILD_ATTACH)
            return view(request, flow, *args, **kwargs)

        return wrapper

    return decorator


def _child_context(request, step: str, form=None, **extra) -> dict:
    context = _context(request, _("Ajouter un enfant"), form, **extra)
    has_errors = form is not None and form.is_bound and bool(form.errors)
    context.update(CHILD_ATTACH.stepper(step),
                   page_title=CHILD_ATTACH.page_title(step, error=has_errors))
    return context


@never_cache
@require_http_methods(["GET", "POST"])
@guardian_required
def child_add(request):
    """The first stage: the number the school has. Its form starts the flow (a refused one
    starts nothing, so it answers directly)."""
    form = ChildNumberForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            flow, secret = services.child_attach_start(
                account=request.user, phone=form.cleaned_data["phone"], request=request,
            )
        except services.FamiliesRefused as refusal:
            form.add_error(refusal.field or None, refusal.message)
        else:
            flow_bind(request, flow, secret)
            return redirect("families:child_code", flow_id=flow.id)
    if form.errors:
        status = 400
    return render(request, "families/child_number.html",
                  _child_context(request, "number", form), status=status)


@never_cache
@require_GET
@_child_flow_view()
def child_flow(request, flow: Flow):
    if flow.status == FlowStatus.COMPLETED:
        return redirect("families:child_done", flow_id=flow.id)
    if flow.status == FlowStatus.OPEN and not flow.is_expired():
        return flow_redirect_to_step(flow)
    # A blocked addition says what holds now: this démarche only (a new one may start, with
    # the dates left on the number), or the number's 24-hour window (until when).
    block = dates_block_read(flow) if flow.status == FlowStatus.BLOCKED else None
    context = _child_context(request, flow.step, ended=flow.status, dates_block=block,
                             assistance_phone=settings.EDUCONNECT_ASSISTANCE_PHONE)
    context["page_title"] = _("Ajout interrompu — %(title)s") % {"title": CHILD_ATTACH.title}
    status = 410 if flow.status == FlowStatus.OPEN else 200
    return render(request, "families/child_ended.html", context, status=status)


def _child_code_verify(*, request, flow: Flow, typed_code: str) -> None:
    services.child_attach_code_verify(flow_id=flow.id, account=request.user,
                                      typed_code=typed_code, request=request)


def _child_code_resend(*, request, flow: Flow) -> None:
    services.child_attach_code_resend(flow_id=flow.id, account=request.user, request=request)


def _child_code_resent(flow: Flow) -> str:
    # The number's limit in the activation's words (the same counters): true whether or
    # not the number is known and whether or not the limit held the SMS back.
    return _(
        "Si ce numéro est celui que l'établissement connaît, un nouveau code de sécurité "
        "est envoyé au %(phone)s. Un code reçu plus tôt reste valable. %(limit)s"
    ) % {"phone": mask_phone(str(flow.phone)), "limit": message_phone_limit()}


CODE_STEP = CodeStep(
    kind=CHILD_ATTACH, stage="code", purpose=CHILD_ATTACH_CODE,
    resend_url_name="families:child_resend", template="families/child_code.html",
    form_class=CodeForm, verify=_child_code_verify, resend=_child_code_resend,
    resent_message=_child_code_resent,
    context=lambda request, flow, form: _child_context(request, "code", form),
    refused=services.FamiliesRefused,
    # No SMS comes when no record of an uncovered child has this number with a link of
    # représentant légal still active or disputed by the guardian
    # (activation.selectors.ATTACHABLE_LINK: a wrong « Je ne suis pas le représentant
    # légal » at activation is corrected here, seed 000): say every case, to every number
    # alike, whatever happened (the children already in the account are the person's own
    # to see; a link the school removed only its secretariat can restore): nothing leaks.
    no_code_help=lazy(lambda: _(
        "Rien reçu après quelques minutes ? Aucun code n'est envoyé si les enfants suivis "
        "avec ce numéro sont déjà dans votre compte (voyez « Mes enfants »), ni si "
        "l'établissement de l'enfant ne connaît pas ce numéro pour vous ou a retiré votre "
        "lien avec l'enfant. Dans ces deux derniers cas, le secrétariat de l'établissement "
        "de l'enfant peut corriger ses informations et rétablir le lien avec l'enfant ; "
        "l'assistance de votre académie peut aussi vous aider.") + " "
        + message_phone_limit_rule(), str)(),
    no_code_help_template="activation/_code_no_sms.html",
)


@never_cache
@require_http_methods(["GET", "POST"])
@_child_flow_view(step="code")
def child_code(request, flow: Flow):
    return code_step_page(request, flow, step=CODE_STEP)


@never_cache
@require_POST
@_child_flow_view()
def child_resend(request, flow: Flow):
    return code_step_resend(request, flow, step=CODE_STEP)


@never_cache
@require_http_methods(["GET", "POST"])
@_child_flow_view(step="pupils")
def child_pupils(request, flow: Flow):
    data = ActivationData.of(flow)
    links = pupil_links_for_records(data.matched_record_ids, with_disputed=True)
    if request.method == "POST":
        form = PupilsForm(request.POST, links=links)
        if form.is_valid():
            answers = [
                services.PupilAnswer(pupil_id=link.pupil.pk, is_legal_representative=legal,
                                     birth_date=birth_date)
                for link, legal, birth_date in form.answers
            ]
            try:
                services.child_attach_pupils_confirm(
                    flow_id=flow.id, account=request.user, answers=answers, request=request)
            except services.FlowUnavailable:
                return flow_home(flow)
            except services.FamiliesRefused as refusal:
                flow.refresh_from_db()
                if flow.status != FlowStatus.OPEN:
                    return flow_home(flow)
                rows = {row.link.pupil.pk: row for row in form.rows}
                for pupil_id, (part, message) in refusal.field_errors.items():
                    row = rows.get(pupil_id)
                    if row is not None:
                        target = (row.day if part == PupilField.BIRTH_DATE
                                  else row.link_field)
                        form.add_error(target.name if target is not None else None, message)
                if refusal.message:
                    form.add_error(None, refusal.message)
            else:
                return flow_home(flow)
        return flow_form_refused(request, flow, form)
    form = flow_form(request, flow, lambda posted: PupilsForm(posted, links=links))
    # The nearer of the journey's and the number's limits (one read, no hit).
    left = wrong_dates_left(flow, data)
    context = _child_context(
        request, "pupils", form, flow=flow, rows=form.rows, only_link=len(links) == 1,
        wrong_dates=data.wrong_dates, remaining_dates=left.count, dates_left=left,
        link_yes=LINK_YES,
    )
    return render(request, "families/child_pupils.html", context)


@never_cache
@require_GET
@_child_flow_view()
def child_done(request, flow: Flow):
    if flow.status != FlowStatus.COMPLETED:
        return flow_home(flow)
    data = ActivationData.of(flow)
    context = _child_context(request, "done", None, flow=flow,
                             pupils=len(data.confirmed_pupil_ids))
    context["page_title"] = _("L'enfant a été rattaché à votre compte — Mon compte")
    return render(request, "families/child_done.html", context)
