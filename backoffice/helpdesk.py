"""Helpdesk pages inside the back-office: search an account of one's academy, read its file,
and act on it (unlock, close, resend the activation SMS), each action with a reason.

Thin views: parse, call a selector or a service, render. Wrapped by BackOfficeSite.admin_view
(signed in with the second factor); each view checks its own permission and the scope.
"""

import datetime
import zoneinfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from accounts.limits import sign_in_suspensions
from accounts.models import AccountState
from accounts.recovery.flows import PASSWORD_RESET_SMS
from activation.provisional.services import provisional_wrong_dates
from activation.selectors import letter_email_pending
from backoffice.selectors import (
    ASSISTANCE_HANDLING_KINDS,
    InvalidSearch,
    account_file,
    guardian_record_file,
    helpdesk_search,
    letter_run_summaries,
    merge_closing,
    search_query_parse,
    sign_in_failure_addresses,
    staff_actions_of,
    staff_scope,
)
from core import codes, ratelimit
from core.journal import EventKind, journal_record
from core.ratelimit import wait_text

from . import activation, assistance_queue, services
from .forms import CloseForm, ReasonForm, ReleaseForm, SearchForm
from .journal_labels import describe_event, describe_events, describe_message
from .limits import search_admit

SEARCH_PERMISSION = "accounts.helpdesk_search"
LETTERS_PERMISSION = "pupils.letters_make"
ASSISTANCE_HANDLE_PERMISSION = assistance_queue.HANDLE_PERMISSION
# The helpdesk's pages write times in Paris time, whatever the agent's academy.
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


# A refused action form (no reason, closing unconfirmed), kept for the next GET of its page.
REFUSED_FORM_SESSION_KEY = "backoffice_helpdesk_refused_form"
ACCOUNT_FORMS = {"unlock": ReasonForm, "close": CloseForm, "identifier": ReasonForm,
                 "letter_unblock": ReasonForm}
RECORD_FORMS = {"resend": ReasonForm, "unblock": ReasonForm}


def _refused_form_keep(request, *, page_url: str, prefix: str, form) -> HttpResponseRedirect:
    """POST-redirect-GET for an action form refused (the helpdesk's account and record
    pages): what was typed and which form, kept in the session for the next GET of
    `page_url`, and the redirect there. The agent stays on the file's page (its address, not
    the action's POST-only one, which a reload or a reopened tab would get as a 405), with
    the error under its field as before: the GET rebuilds the form (`_refused_form_take`),
    as core.flows.flow_form_refused does for the families' steps. Shown once."""
    request.session[REFUSED_FORM_SESSION_KEY] = {
        "url": page_url, "prefix": prefix,
        "data": {name: form.data.getlist(name) for name in form.data
                 if name != "csrfmiddlewaretoken"},
    }
    return HttpResponseRedirect(page_url)


def _refused_form_take(request, forms: dict) -> dict:
    """The form refused on this page (`_refused_form_keep`), bound again and validated so
    that its errors show: {"<prefix>_form": form}, or {} when none is kept for this page.
    `forms`: {prefix: form class} of the page's actions."""
    kept = request.session.get(REFUSED_FORM_SESSION_KEY)
    if not kept or kept.get("url") != request.path:
        return {}
    del request.session[REFUSED_FORM_SESSION_KEY]
    form_class = forms.get(kept["prefix"])
    if form_class is None:
        return {}
    data = QueryDict(mutable=True)
    for name, values in kept["data"].items():
        data.setlist(name, values)
    form = form_class(data, prefix=kept["prefix"])
    form.is_valid()
    return {f"{kept['prefix']}_form": form}


def block_end(seconds: int) -> dict[str, str] | None:
    """The end of a block that holds `seconds` more (a Decision's `retry_after`), in Paris
    time, as the helpdesk's pages write it « jusqu'au {{ day }} à {{ time }} »:
    {"day": "2 décembre 2026", "time": "14 h 05"}; None when nothing blocks (0)."""
    if not seconds:
        return None
    at = timezone.localtime(timezone.now() + datetime.timedelta(seconds=seconds), PARIS)
    return {"day": date_format(at, "j F Y"), "time": time_format(at, "H \\h i")}


def _context(request, **extra):
    from django.contrib import admin

    return {**admin.site.each_context(request), **extra}


def my_action_lines(user) -> list[dict]:
    """« Mes actions » of the back-office index: the user's latest actions, newest first,
    HELPDESK_ACTIONS_SHOWN at most (selectors.staff_actions_of): their helpdesk actions with
    the helpdesk permission, their requests of school letters with the letters permission
    (pupils.letters_make: a school secretary's letter runs, found missing by a tryout). Each
    as {"line": EventLine, "url": the file or the run it concerns or "", "target": what to
    call it, "reason": the helpdesk action's reason or "", "status": a run's state or ""}.
    Only the user's own actions (the journal's actor); [] without either permission."""
    may_make_letters = user.has_perm(LETTERS_PERMISSION)
    events = staff_actions_of(actor=user, helpdesk=user.has_perm(SEARCH_PERMISSION),
                              letter_runs=may_make_letters,
                              assistance=user.has_perm(ASSISTANCE_HANDLE_PERMISSION))
    runs = letter_run_summaries([
        event.data["letter_run"] for event in events
        if event.kind == EventKind.LETTER_RUN_REQUESTED and isinstance(event.data, dict)
        and isinstance(event.data.get("letter_run"), int)])
    lines = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        url, target, status = "", "", ""
        if event.kind == EventKind.LETTER_RUN_REQUESTED:
            summary = runs.get(data.get("letter_run"))
            if summary is not None:
                url = reverse("admin:letter_run", args=[summary.run.pk])
                target = _letter_run_words(summary)
                status = summary.run.get_status_display()
            lines.append({"line": describe_event(event), "url": url, "target": target,
                          "reason": "", "status": status})
            continue
        if event.kind in ASSISTANCE_HANDLING_KINDS:
            number = data.get("assistance_request")
            if isinstance(number, int):
                url = reverse("admin:assistance_request", args=[number])
                target = gettext("demande d'assistance n° %(number)d") % {"number": number}
            lines.append({"line": describe_event(event), "url": url, "target": target,
                          "reason": "", "status": ""})
            continue
        if data.get("guardian_record"):
            url = reverse("admin:helpdesk_record", args=[data["guardian_record"]])
            target = gettext("fiche responsable")
        if event.account_id:
            url = url or reverse("admin:helpdesk_account", args=[event.account_id])
            target = event.account.display_identifier
        lines.append({"line": describe_event(event), "url": url, "target": target,
                      "reason": data.get("reason", ""), "status": ""})
    return lines


def _letter_run_words(summary) -> str:
    """« Collège Jules-Ferry, classe 6A, 2 élèves »: the school, the class (or the levels),
    the pupils and the guardian records chosen directly."""
    parts = [summary.run.establishment.name]
    if summary.division:
        parts.append(gettext("classe %(division)s") % {"division": summary.division})
    elif summary.levels:
        parts.append(ngettext("niveau %(levels)s", "niveaux %(levels)s", len(summary.levels))
                     % {"levels": ", ".join(summary.levels)})
    if summary.pupils:
        parts.append(ngettext("%(count)d élève", "%(count)d élèves", summary.pupils)
                     % {"count": summary.pupils})
    if summary.records:
        parts.append(ngettext("%(count)d fiche responsable", "%(count)d fiches responsables",
                              summary.records) % {"count": summary.records})
    return ", ".join(parts)


def search(request):
    _require(request, SEARCH_PERMISSION)
    form = SearchForm(request.GET or None)
    results = None
    status = 200
    retry_after = 0
    if form.is_bound and form.is_valid():
        # Counted before the search runs (BACKOFFICE_SEARCHES_PER_HOUR per agent).
        decision = search_admit(agent_id=request.user.pk)
        if not decision.allowed:
            retry_after = decision.retry_after
            form.add_error("q", gettext(
                "Vous avez atteint le nombre maximal de recherches pour une heure. Réessayez "
                "dans %(wait)s ou contactez l'administration nationale."
            ) % {"wait": wait_text(retry_after)})
            status = 429
        else:
            try:
                query = search_query_parse(form.cleaned_data["q"])
            except InvalidSearch as exc:
                form.add_error("q", exc.message)
            else:
                results = helpdesk_search(query=query, scope=staff_scope(request.user))
    if status == 200 and form.is_bound and form.errors:
        status = 400
    response = TemplateResponse(
        request,
        "admin/helpdesk/search.html",
        _context(request, title=gettext("Rechercher un compte"), form=form, results=results),
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _account_page(request, pk, *, unlock_form=None, close_form=None, identifier_form=None,
                  letter_unblock_form=None, status=200):
    _require(request, SEARCH_PERMISSION)
    file = account_file(account_id=pk, scope=staff_scope(request.user))
    if file is None:
        raise Http404
    if request.method == "GET":
        # Who looked at whose personal data: kept, like every helpdesk action.
        journal_record(EventKind.HELPDESK_ACCOUNT_VIEWED, request=request, account=file.account,
                       actor=request.user)
    account = file.account
    user = request.user
    # Portal sign-in suspended after too many failures for browsers without the account's
    # device cookie — everywhere (the identifier's shared window) or from some addresses
    # (their (identifier, address) windows, found through the journal's recent failures):
    # the agent sees it, and can unlock (accounts.limits).
    suspensions = sign_in_suspensions(identifier=account.identifier,
                                      ips=sign_in_failure_addresses(account=account))
    longest = max((wait for _ip, wait in suspensions.addresses), default=0)
    # The account's number got as many « Mot de passe oublié ? » codes as allowed: no more
    # before the window frees one (core.codes' per-recipient limit).
    reset_sms = (ratelimit.peek(PASSWORD_RESET_SMS.recipient_rule, codes.recipient_key(
        PASSWORD_RESET_SMS.channel, str(account.phone))) if account.phone else None)
    # A school letter's first sign-in: the wrong birth dates counted on the account (the
    # block the parent sees, activation.provisional), which « Débloquer l'activation » lifts.
    letter_dates = (provisional_wrong_dates(account)
                    if account.state == AccountState.PROVISIONAL else None)
    # A closed account signs in no more and has no identifier to send: nothing to unlock
    # or resend. Closed by a merge, the file names the account kept (its children are there).
    closed = account.state == AccountState.CLOSED
    merged = merge_closing(account=account, scope=staff_scope(user)) if closed else None
    if file.shared and (close_form is None or not isinstance(close_form, ReleaseForm)):
        # A shared account's « Fermer le compte » releases the academy's records only
        # (account_close): its own confirmation, a refused form bound again to it.
        close_form = ReleaseForm(close_form.data if close_form is not None else None,
                                 prefix="close")
        if close_form.is_bound:
            close_form.is_valid()
    context = _context(
        request,
        title=gettext("Compte %(identifier)s") % {"identifier": account.display_identifier},
        messages_sent=[describe_message(message) for message in file.messages],
        file=file,
        journal=describe_events(file.journal, scope=staff_scope(user)),
        sign_in_suspended_until=block_end(suspensions.shared_retry_after),
        # The addresses are shown as the journal below shows them, in full.
        sign_in_suspended_addresses=", ".join(ip for ip, _wait in suspensions.addresses),
        sign_in_suspended_address_count=len(suspensions.addresses),
        sign_in_suspended_addresses_until=block_end(longest),
        reset_sms_until=block_end(reset_sms.retry_after if reset_sms is not None else 0),
        merged=merged,
        can_unlock=user.has_perm("accounts.account_unlock") and not closed
        and (account.state == AccountState.LOCKED or suspensions.suspended),
        can_close=user.has_perm("accounts.account_close") and not closed,
        can_resend=user.has_perm("accounts.activation_resend") and not closed,
        letter_dates=letter_dates,
        # The address typed in the letter's first sign-in, not the account's until validated.
        email_pending="" if account.email else letter_email_pending(account),
        letter_dates_until=block_end(letter_dates.retry_after if letter_dates else 0),
        can_letter_unblock=user.has_perm("accounts.activation_resend")
        and letter_dates is not None and letter_dates.used > 0,
        letter_unblock_form=letter_unblock_form or ReasonForm(prefix="letter_unblock"),
        unlock_form=unlock_form or ReasonForm(prefix="unlock"),
        close_form=close_form or CloseForm(prefix="close"),
        identifier_form=identifier_form or ReasonForm(prefix="identifier"),
    )
    return TemplateResponse(request, "admin/helpdesk/account.html", context, status=status)


def account(request, pk):
    return _account_page(request, pk, **_refused_form_take(request, ACCOUNT_FORMS))


def _account_action(request, pk, *, permission, prefix, service, done, form_class=None):
    _require(request, permission)
    file = account_file(account_id=pk, scope=staff_scope(request.user))
    if file is None:
        raise Http404
    form = (form_class or ReasonForm)(request.POST, prefix=prefix)
    if not form.is_valid():
        return _refused_form_keep(request, prefix=prefix, form=form,
                                  page_url=reverse("admin:helpdesk_account", args=[pk]))
    try:
        service(account=file.account, actor=request.user, reason=form.cleaned_data["reason"],
                request=request)
    except services.ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(reverse("admin:helpdesk_account", args=[pk]))


@require_POST
def account_unlock(request, pk):
    return _account_action(
        request, pk, permission="accounts.account_unlock", prefix="unlock",
        service=services.account_unlock,
        done=gettext("Le compte est déverrouillé : son titulaire peut à nouveau se connecter."),
    )


@require_POST
def account_letter_unblock(request, pk):
    """« Débloquer l'activation » of a school letter's first sign-in (same permission as the
    record's unblock): backoffice.activation.letter_unblock_by_helpdesk."""

    def unblock(*, account, actor, reason, request):
        activation.letter_unblock_by_helpdesk(account=account, actor=actor, reason=reason,
                                              request=request)

    return _account_action(
        request, pk, permission="accounts.activation_resend", prefix="letter_unblock",
        service=unblock,
        done=gettext("L'activation est débloquée : les dates de naissance incorrectes comptées "
                     "sur ce compte sont effacées. À sa prochaine connexion, son titulaire "
                     "reprend sa première connexion avec toutes ses tentatives."),
    )


@require_POST
def account_close(request, pk):
    """« Fermer le compte » (backoffice.services.account_close, with the agent's scope).

    An account of the agent's scope only is closed, and its file shown again. An account
    that also covers another academy's records (a parent with a child in each) is not
    closed: only the records and pupil record of the agent's academy are released, the
    account stays open for the other academy, which its own helpdesk manages. That account
    leaves the agent's scope, whose page would now be a 404: the agent is taken to the
    first record released (or the search), with a message saying what was done.

    The other account-wide actions (« Déverrouiller », « Renvoyer l'identifiant »,
    « Débloquer l'activation » of a school letter) touch only the account's own sign-in and
    contacts — the parent's, whom the agent helps — never a record of another academy: they
    stay open to each academy's agent of a shared account."""
    _require(request, "accounts.account_close")
    scope = staff_scope(request.user)
    file = account_file(account_id=pk, scope=scope)
    if file is None:
        raise Http404
    page_url = reverse("admin:helpdesk_account", args=[pk])
    form = (ReleaseForm if file.shared else CloseForm)(request.POST, prefix="close")
    if not form.is_valid():
        return _refused_form_keep(request, prefix="close", form=form, page_url=page_url)
    try:
        result = services.account_close(account=file.account, actor=request.user,
                                        reason=form.cleaned_data["reason"], request=request,
                                        scope=scope)
    except services.ActionRefused as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(page_url)
    if result.closed:
        messages.success(request, gettext(
            "Le compte est fermé. Les fiches responsables qu'il couvrait sont libérées : une "
            "nouvelle activation est possible."))
        return HttpResponseRedirect(page_url)
    messages.success(request, gettext(
        "Les fiches de votre académie sont libérées : une nouvelle activation est possible "
        "pour elles. Le compte reste ouvert pour les fiches d'une autre académie, que son "
        "assistance gère ; il n'apparaît plus dans votre périmètre."))
    if result.released_records:
        return HttpResponseRedirect(
            reverse("admin:helpdesk_record", args=[result.released_records[0]]))
    return HttpResponseRedirect(reverse("admin:helpdesk_search"))


@require_POST
def account_identifier_send(request, pk):
    return _account_action(
        request, pk, permission="accounts.activation_resend", prefix="identifier",
        service=services.account_identifier_send,
        done=gettext("L'identifiant a été envoyé par SMS au numéro vérifié du compte."),
    )


def _record_page(request, pk, *, resend_form=None, unblock_form=None, status=200):
    _require(request, SEARCH_PERMISSION)
    file = guardian_record_file(record_id=pk, scope=staff_scope(request.user))
    if file is None:
        raise Http404
    if request.method == "GET":
        journal_record(EventKind.HELPDESK_RECORD_VIEWED, request=request, actor=request.user,
                       guardian_record=file.record.pk)
    # Covered by a school letter's account still in its first sign-in: the parent goes on
    # with the letter (not « Je n'ai pas de compte »), its wrong dates count on the account.
    account = file.record.account
    letter_account = account if account and account.state == AccountState.PROVISIONAL else None
    letter_dates = provisional_wrong_dates(letter_account) if letter_account else None
    # Covered by an active account: the parent signs in, no activation to advise or unblock.
    active_account = account if account and account.state == AccountState.ACTIVE else None
    counters = (activation.number_counters(str(file.record.mobile_phone))
                if file.record.mobile_phone else None)
    context = _context(
        request,
        title=gettext("Fiche responsable : %(record)s") % {"record": file.record},
        file=file,
        journal=describe_events(file.journal, scope=staff_scope(request.user)),
        messages_sent=[describe_message(message) for message in file.messages],
        stalled_flow=activation.stalled_flow(file.flows),
        can_resend=request.user.has_perm("accounts.activation_resend"),
        resend_form=resend_form or ReasonForm(prefix="resend"),
        counters=counters,
        letter_account=letter_account,
        active_account=active_account,
        letter_dates=letter_dates,
        letter_dates_until=block_end(letter_dates.retry_after if letter_dates else 0),
        number_dates_until=block_end(counters["wrong_dates_wait"] if counters else 0),
        number_sms_until=block_end(counters["sms_wait"] if counters else 0),
        unblock_form=unblock_form or ReasonForm(prefix="unblock"),
    )
    return TemplateResponse(request, "admin/helpdesk/record.html", context, status=status)


@require_POST
def record_unblock(request, pk):
    """« Débloquer l'activation »: clear the counters of the record's number, with a reason
    (same permission as resending the activation SMS)."""
    _require(request, "accounts.activation_resend")
    file = guardian_record_file(record_id=pk, scope=staff_scope(request.user))
    if file is None:
        raise Http404
    form = ReasonForm(request.POST, prefix="unblock")
    if not form.is_valid():
        return _refused_form_keep(request, prefix="unblock", form=form,
                                  page_url=reverse("admin:helpdesk_record", args=[pk]))
    try:
        counted = activation.activation_unblock_by_helpdesk(
            record=file.record, actor=request.user, reason=form.cleaned_data["reason"],
            request=request,
        )
    except services.ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        if counted["letter_wrong_dates"]:
            messages.success(request, gettext(
                "L'activation est débloquée : le parent reprend, avec toutes ses tentatives, "
                "en se connectant avec l'identifiant du courrier de l'établissement."))
        else:
            messages.success(request, gettext(
                "L'activation est débloquée : le parent peut la recommencer depuis « Je n'ai "
                "pas de compte », avec toutes ses tentatives."))
    return HttpResponseRedirect(reverse("admin:helpdesk_record", args=[pk]))


def record(request, pk):
    return _record_page(request, pk, **_refused_form_take(request, RECORD_FORMS))


@require_POST
def record_resend_sms(request, pk):
    """Resend the activation code of the record's latest stalled flow, to the number the
    flow was started with (never to a number typed here)."""
    _require(request, "accounts.activation_resend")
    file = guardian_record_file(record_id=pk, scope=staff_scope(request.user))
    if file is None:
        raise Http404
    form = ReasonForm(request.POST, prefix="resend")
    if not form.is_valid():
        return _refused_form_keep(request, prefix="resend", form=form,
                                  page_url=reverse("admin:helpdesk_record", args=[pk]))
    flow = activation.stalled_flow(file.flows)
    if flow is None:
        messages.error(
            request, gettext("Aucune activation en cours pour cette fiche : rien à renvoyer.")
        )
    else:
        try:
            activation.flow_resend_by_helpdesk(
                flow=flow, actor=request.user, reason=form.cleaned_data["reason"],
                request=request,
            )
        except services.ActionRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("Le SMS d'activation a été renvoyé."))
    return HttpResponseRedirect(reverse("admin:helpdesk_record", args=[pk]))
