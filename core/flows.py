"""The flow engine: start, bind to the browser, lock, move and end the rows of core.models.Flow,
and the view helper every stage's view goes through.

A kind of flow is declared once, as a list of stages (core.flowkinds, e.g.
activation/flows.py). The rules every kind gets from here:

- Bound to the browser. Starting a flow makes a random secret (256 bits); the browser's
  session keeps it, the row keeps its SHA-256. An unknown id, another browser's flow, a flow
  of another kind at this URL and a session that ended all get the same 404 page.
- The row's step is the truth. `flow_view(kind, step=…)` lets a view run only for a flow open
  at that step and alive; any other flow is sent to its kind's home page, which shows the
  ended or expired state or redirects to the current step. Back, refresh, two tabs and typed
  URLs skip nothing.
- Every action locks the row (`flow_lock`: select_for_update), so two tabs, a double click
  or two web nodes cannot both spend the same attempt, and pushes the idle expiry back,
  never beyond the kind's maximum age (`flow_touch`).
- A step's POST refused by the CSRF check (the token changed under another tab: finishing a
  flow signs the person in, which gives the browser a new token) lands on the flow's own
  page when this browser's flow has ended (`flow_after_csrf_failure`): the second tab reads
  the result, not « Session expirée », which would invite the person to start again.
- POST → redirect → GET. A POST always answers with a redirect; a refused one first stores
  its errors (and what was typed, unless secret) in the session for the next GET of that
  stage (`flow_form_refused` / `flow_form`). A refresh shows the page again; it never sends
  the POST again, so it never spends a second attempt.

Services are functions with keyword-only arguments; the ones that write do it in the
caller's transaction (the caller owns the transaction of its step).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.contrib import messages as django_messages
from django.db import transaction
from django.forms import Form
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext

from .flowkinds import FlowKind, registered_kinds
from .models import Flow, FlowStatus
from .sql import model_insert, model_rows, model_update

SESSION_FLOWS = "flows"
SESSION_ERRORS = "flow_errors"
# A session remembers its last few flows (two tabs, a restart), not an unbounded list.
MAX_FLOWS_PER_SESSION = 5


class FlowUnavailable(Exception):
    """The flow cannot take this action now (another step, ended, expired, another kind):
    the view sends the browser to the flow's own page."""


# --- Rows --------------------------------------------------------------------------------


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def flow_touch(flow: Flow, *, now: datetime.datetime) -> None:
    """Push the idle expiry back after an action, within the kind's maximum age."""
    kind = _kind_of(flow)
    flow.updated_at = now
    flow.expires_at = min(
        now + datetime.timedelta(seconds=kind.idle_seconds),
        flow.created_at + datetime.timedelta(seconds=kind.max_age_seconds),
    )


def flow_start(
    *,
    kind: FlowKind,
    step: str,
    phone: str = "",
    data: dict | None = None,
    now: datetime.datetime | None = None,
) -> tuple[Flow, str]:
    """Create an open flow of `kind` at `step` (in the caller's transaction).

    Returns the row and the secret for the browser's session (`flow_bind`). `phone` is the
    number the flow is about (E.164) or empty; `data` the kind's JSON (never a secret).
    """
    kind.stage(step)
    now = now or timezone.now()
    secret = secrets.token_urlsafe(32)
    flow = Flow(kind=kind.name, step=step, session_secret_hash=_hash_secret(secret),
                phone=phone or "", data=data or {}, created_at=now)
    flow_touch(flow, now=now)
    model_insert(flow)  # flow.save(force_insert=True), its SQL written once per process
    return flow, secret


def flow_lock(
    *, flow_id: UUID, kind: FlowKind, step: str, now: datetime.datetime | None = None
) -> Flow:
    """The flow's row, locked until the end of the caller's transaction (select_for_update).

    Raises FlowUnavailable unless it is of `kind`, open, at `step` and alive. One query, its
    SQL written once per process (core.sql.model_rows).
    """
    rows = model_rows(Flow, where={"id": flow_id, "kind": kind.name}, for_update=True)
    flow = rows[0] if rows else None
    if flow is None or not flow.is_open_at(step, now or timezone.now()):
        raise FlowUnavailable()
    return flow


def flow_save(flow: Flow) -> None:
    """Write the locked `flow` (after flow_move, flow_end, flow_touch, its data) in the
    caller's transaction: one UPDATE of its columns, its SQL written once per process
    (core.sql.model_update; Flow has no save signals). What `flow.save()` does, without
    building the ORM's UPDATE at each step (issue 14)."""
    model_update(flow)


def flow_move(flow: Flow, *, step: str) -> None:
    """Set the flow at `step` (a stage of its kind); the caller saves it."""
    flow.step = _kind_of(flow).stage(step).name


def flow_end(flow: Flow, *, status: FlowStatus, account=None, step: str | None = None) -> None:
    """End the flow (completed, already active, blocked); the caller saves it. A completed
    flow names its account (a database constraint holds it)."""
    if status == FlowStatus.OPEN:
        raise ValueError("flow_end ends a flow: give a status other than open")
    if step is not None:
        flow_move(flow, step=step)
    if account is not None:
        flow.account = account
    flow.status = status


def flows_replace(*, kind: FlowKind, account, keep: Flow | None = None) -> int:
    """End every open flow of `kind` of `account` (but `keep`) with status REPLACED, in the
    caller's transaction: a newer request replaces the older ones, as a newer e-mail link
    revokes the older ones (core.tokens.link_tokens_revoke). Their codes can no longer be
    checked (flow_lock refuses a flow that is not open), and their pages say they were
    replaced. Each row is locked first (the order of flow_lock: a code being checked on an
    old flow at the same moment either wins before or finds it replaced). Returns how many
    were ended; one query when there is none."""
    rows = (Flow.objects.select_for_update()
            .filter(kind=kind.name, account=account, status=FlowStatus.OPEN).order_by("pk"))
    if keep is not None:
        rows = rows.exclude(pk=keep.pk)
    ended = 0
    for flow in rows:
        flow_end(flow, status=FlowStatus.REPLACED)
        flow.save(update_fields=["status"])
        ended += 1
    return ended


def flows_purge(*, kind: FlowKind | None = None, batch_size: int = 5000) -> int:
    """Delete flows (and their codes) started more than their kind's retention days ago:
    what people typed is personal data. Every registered kind when `kind` is None. Batched
    by primary key so that a large backlog never holds a long lock. Returns the rows deleted
    (flows, not counting their codes)."""
    deleted = 0
    for each in [kind] if kind is not None else registered_kinds():
        cutoff = timezone.now() - datetime.timedelta(days=each.retention_days)
        while True:
            ids = list(
                Flow.objects.filter(kind=each.name, created_at__lt=cutoff)
                .order_by("created_at")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            with transaction.atomic():
                Flow.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
    return deleted


def _kind_of(flow: Flow) -> FlowKind:
    kind = flow.kind_spec
    if kind is None:
        raise LookupError(f"No flow kind registered as {flow.kind!r}")
    return kind


# --- The browser's binding ---------------------------------------------------------------


def flow_bind(request: HttpRequest, flow: Flow, secret: str) -> None:
    """Remember the flow's secret in the browser's session (the oldest of more than
    MAX_FLOWS_PER_SESSION flows is forgotten)."""
    flows = dict(request.session.get(SESSION_FLOWS, {}))
    flows[str(flow.id)] = secret
    while len(flows) > MAX_FLOWS_PER_SESSION:
        flows.pop(next(iter(flows)))
    request.session[SESSION_FLOWS] = flows


def flow_rebind(flow: Flow) -> str:
    """Give `flow` a new browser secret (in the caller's transaction; the caller saves the
    row) and return it for `flow_bind`: the browser that held the old secret no longer opens
    the flow. For a step proven from another device — a link opened from an e-mail — after
    which the flow belongs to the browser that proved it."""
    secret = secrets.token_urlsafe(32)
    flow.session_secret_hash = _hash_secret(secret)
    return secret


def flow_session_rotate(request: HttpRequest) -> None:
    """Give the browser's session a new key, its contents kept (Django's `cycle_key`).

    Called when a code sent by SMS was accepted: from that step on the flow shows personal
    data (a family's children, an account's identifier). A session key planted in the
    browser beforehand (session fixation: a cookie set by a sibling site, a shared computer)
    is deleted then, so whoever planted it does not follow the flow (issue 12 §3).
    """
    request.session.cycle_key()


def session_flow_ids(request: HttpRequest) -> list[str]:
    """Ids of the flows this browser started (newest last)."""
    return list(request.session.get(SESSION_FLOWS, {}))


def flows_keep_alive(*, request: HttpRequest, now: datetime.datetime | None = None) -> int:
    """« Prolonger » (issue 13 §2, RGAA 13.1: a time limit can be extended): push back the
    idle expiry of the open, live flows this browser started, each within its kind's maximum
    age, as an action would. Returns how many were pushed back. One transaction; at most
    MAX_FLOWS_PER_SESSION rows, by primary key. Not journaled: it changes no state a
    person or the helpdesk acts on."""
    bound = request.session.get(SESSION_FLOWS, {})
    if not bound:
        return 0
    now = now or timezone.now()
    known = {kind.name for kind in registered_kinds()}
    touched = 0
    with transaction.atomic():
        rows = (Flow.objects.select_for_update()
                .filter(pk__in=list(bound)[-MAX_FLOWS_PER_SESSION:], status=FlowStatus.OPEN,
                        expires_at__gt=now, kind__in=known))
        for flow in rows:
            if not secrets.compare_digest(_hash_secret(bound[str(flow.pk)]),
                                          flow.session_secret_hash):
                continue
            flow_touch(flow, now=now)
            flow.save(update_fields=["updated_at", "expires_at"])
            touched += 1
    return touched


def flow_for_request(request: HttpRequest, *, flow_id: UUID, kind: FlowKind) -> Flow | None:
    """The flow of `kind` with this id if this browser started it, else None (unknown id,
    another browser's flow, another kind, or a session that ended: no difference).

    The account is not joined: building it (and parsing its phone number) on every step
    cost only the flows that name an account — a known identifier's recovery took 0.3 ms
    more than an unknown one's (issue 8 §6). The few pages that show it read `flow.account`
    (one query).

    The flow is read by SQL written once per process (core.sql.model_rows): every step of
    every flow runs this lookup, which the ORM took 0.4 ms of CPU to build (issue 14)."""
    secret = request.session.get(SESSION_FLOWS, {}).get(str(flow_id))
    if not secret:
        return None
    rows = model_rows(Flow, where={"id": flow_id, "kind": kind.name})
    flow = rows[0] if rows else None
    if flow is None or not secrets.compare_digest(_hash_secret(secret),
                                                  flow.session_secret_hash):
        return None
    return flow


# --- Views -------------------------------------------------------------------------------


def flow_home(flow: Flow) -> HttpResponseRedirect:
    """Redirect to the flow's own page (its kind's home), which shows where it stands."""
    return redirect(_kind_of(flow).home_url_name, flow_id=flow.id)


def flow_redirect_to_step(flow: Flow) -> HttpResponseRedirect:
    """Redirect to the page of the flow's current step."""
    return redirect(_kind_of(flow).stage(flow.step).url_name, flow_id=flow.id)


def flow_not_found(request: HttpRequest, kind: FlowKind) -> HttpResponse:
    context = {
        "page_title": gettext("Page non disponible — %(title)s") % {"title": kind.title},
        "idle_minutes": max(1, round(kind.idle_seconds / 60)),
        "flow_kind": kind,
    }
    return render(request, kind.not_found_template, context, status=404)


def flow_view(kind: FlowKind, *, step: str | None = None):
    """Decorator of a view of one flow of `kind`: called as view(request, flow, …) with the
    flow bound to this browser (from the URL's `flow_id`).

    Anything else than this browser's flow of this kind gets the kind's 404 page. With
    `step`, a flow that is not open at that step (or is expired) goes to its home page
    instead: typing a later step's URL never skips one, an earlier one never goes back.
    """
    if step is not None:
        kind.stage(step)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, flow_id: UUID, *args, **kwargs):
            flow = flow_for_request(request, flow_id=flow_id, kind=kind)
            if flow is None:
                return flow_not_found(request, kind)
            if step is not None and not flow.is_open_at(step):
                if request.method == "POST":
                    # A step posted from a tab left open after the flow ended elsewhere.
                    flow_finished_elsewhere_notice(request, flow, posted_step=step)
                return flow_home(flow)
            return view(request, flow, *args, **kwargs)

        return wrapper

    return decorator


def _kind_of_url(view_name: str) -> FlowKind | None:
    """The flow kind one of whose stages (or its home page) has the URL named `view_name`."""
    for kind in registered_kinds():
        if view_name == kind.home_url_name or any(
            view_name == stage.url_name for stage in kind.stages
        ):
            return kind
    return None


def flow_after_csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Where a POST refused by the CSRF check goes when it was a step of a flow that this
    browser finished meanwhile (in another tab: the sign-in that ends an activation rotates
    the CSRF token, so the other tab's form is refused): the flow's own page, which shows
    its result (the account activated, the password changed…) and the way on, with a notice.

    None (the usual « Session expirée » page) for any other request: not a flow's step, not
    this browser's flow (the flow's binding to the session is checked as on every step, so
    nothing is told to anyone else), or a flow still open. Nothing is acted on: the refused
    POST is never replayed."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    flow_id = match.kwargs.get("flow_id")
    kind = _kind_of_url(match.view_name) if flow_id is not None else None
    if kind is None:
        return None
    flow = flow_for_request(request, flow_id=flow_id, kind=kind)
    if flow is None or flow.status == FlowStatus.OPEN:
        return None
    posted = next((stage.name for stage in kind.stages if stage.url_name == match.view_name),
                  None)
    flow_finished_elsewhere_notice(request, flow, posted_step=posted)
    return flow_home(flow)


def finished_elsewhere_message() -> str:
    """The words of a step posted from a page left open after its démarche was completed
    (another tab, Back): it is done, here is its result, nothing to start again. Also used
    by the démarches that are not flows (families.views: the merge's confirmation)."""
    return gettext(
        "Cette démarche est déjà terminée, sans doute dans un autre onglet ou une autre "
        "fenêtre : voici son résultat. Vous n'avez pas besoin de recommencer.")


def flow_finished_elsewhere_notice(
    request: HttpRequest, flow: Flow, *, posted_step: str | None = None
) -> None:
    """The notice (a Django message, for the next page rendered) of a step posted from a
    page left open after the flow was completed; nothing for a flow not completed. Called
    by flow_view and flow_after_csrf_failure, and by the views of a kind with its own
    decorator (activation.provisional.views). Shows the posted stage's own words when it
    declares some (`Stage.finished_elsewhere`: a password step says the password typed
    there was not saved), else the general ones.
    `posted_step`: the name of the stage whose page was posted, None when unknown."""
    if flow.status != FlowStatus.COMPLETED:
        return
    words = ""
    if posted_step is not None:
        words = str(_kind_of(flow).stage(posted_step).finished_elsewhere)
    django_messages.info(request, words or finished_elsewhere_message())


# --- Refused POSTs: errors for the next GET ----------------------------------------------


def flow_form_refused(
    request: HttpRequest, flow: Flow, form: Form, *, secret_fields: tuple[str, ...] = ()
) -> HttpResponseRedirect:
    """Keep the errors of a refused form (and what was typed, except `secret_fields` and
    the CSRF token) for the next GET of the flow's current step, and redirect there.

    The errors stay tied to their fields: the GET rebuilds the form with them (`flow_form`),
    so the field's aria-describedby and the error summary are the same as on a direct
    render. Shown once: a second refresh shows the clean page.
    """
    data = {
        name: form.data.getlist(name) if hasattr(form.data, "getlist") else [form.data[name]]
        for name in form.data
        if name != "csrfmiddlewaretoken" and name not in secret_fields
    }
    errors = {name: [str(message) for message in messages]
              for name, messages in form.errors.items()}
    stash = dict(request.session.get(SESSION_ERRORS, {}))
    stash[str(flow.id)] = {"step": flow.step, "errors": errors, "data": data}
    # Only the flows this browser still knows: the stash never grows without bound.
    known = set(session_flow_ids(request))
    request.session[SESSION_ERRORS] = {k: v for k, v in stash.items() if k in known}
    return flow_redirect_to_step(flow)


def flow_form(request: HttpRequest, flow: Flow, factory: Callable[..., Form]) -> Form:
    """The form of the flow's current step for a GET: `factory(data)` bound to what was
    typed and carrying the errors of the POST refused just before, or `factory(None)`.

    The stored errors are shown as they are, without validating again (the refusal may have
    come from a service, such as a wrong code, which validation cannot know).
    """
    stash = dict(request.session.get(SESSION_ERRORS, {}))
    entry = stash.pop(str(flow.id), None)
    if entry is not None:
        request.session[SESSION_ERRORS] = stash
    if entry is None or entry.get("step") != flow.step:
        return factory(None)
    form = factory(MultiValueDict(entry["data"]))
    errors = ErrorDict()
    for name, messages in entry["errors"].items():
        errors[name] = form.error_class(
            messages, error_class="nonfield" if name == "__all__" else None,
            renderer=form.renderer,
        )
    form._errors = errors
    form.cleaned_data = {}
    return form
