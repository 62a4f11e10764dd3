"""The school letters and the follow-up of accounts in the back-office (issue 9 §1, §4).

- « Lettres des comptes provisoires »: a secretary chooses one of her schools, a level or a
  class (only her school's classes are offered; an unknown one is ignored), the pupils (all
  without an active account ticked, each one can be unticked), and how letters reach
  guardians (PDF only, or e-mail when the school knows the address); pupils.letters makes
  them in a Celery task; the run's page shows a progress bar (static/js/letter-progress.js
  polls `letter_run_progress`) and, once done, the PDF's link — for the secretary who asked
  only, until the file expires.
- « Suivi des comptes »: per level of one school, pupils and guardians by state of their
  account, the list filtered by level, class and state, and its CSV export. A secretary
  sees her schools, the helpdesk its academy's (backoffice.selectors.staff_scope); one
  school at a time, so a page costs what a school's rows cost. A row whose letter was
  issued (expired or not) has « Refaire la lettre » (a POST to the same page, for whoever
  may make letters): first a confirmation page naming the account and saying its current
  letter will stop working (nothing changes yet), then, once confirmed, a run of that one
  account, so that remaking a pupil's letter does not renew both parents' passwords; the
  letters page names, before « Faire les lettres », the accounts that would get a new
  password.

Thin views wrapped by BackOfficeSite.admin_view; a run or school outside the user's scope
is a 404, as everywhere in the back-office, except on the letters page, where a school that
is not one of the user's is said in words beside the choice of her own.
"""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from activation.provisional.services import provisional_first_sign_in_under_way
from backoffice.selectors import staff_scope
from pupils import letters as letter_services
from pupils.models import GuardianRecord, LetterDelivery, LetterRun, LetterRunStatus, Pupil
from pupils.selectors import (
    FOLLOW_STATES,
    establishment_divisions,
    follow_up_counts,
    follow_up_guardians,
    follow_up_pupils,
    follow_up_state,
    guardian_records_levels,
)
from services_portal.levels import Level, level_code, level_in_words

MAKE_PERMISSION = "pupils.letters_make"
FOLLOW_PERMISSION = "pupils.letters_follow"
PAGE_SIZE = 50
# The follow-up list's filters a « Refaire la lettre » carries, so that its page, « Annuler »
# and the return after a refusal show the list as it was.
FOLLOW_FILTERS = ("niveau", "classe", "etat", "page")
RECENT_RUNS = 10
# Pupils ticked when the letters page lists them: no account, or a password past its time.
TICKED_STATES = ("none", "expired")
# Follow-up rows whose letter can be remade alone: a letter issued, expired or not.
REISSUE_STATES = ("provisional", "expired")
STATE_LABELS = {
    "active": _("compte actif"),
    "provisional": _("lettre remise, compte non activé"),
    "expired": _("mot de passe provisoire expiré"),
    "none": _("aucun compte"),
    "other": _("compte verrouillé ou fermé"),
}


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _context(request, **extra):
    from django.contrib import admin

    return {**admin.site.each_context(request), **extra}


def _establishment(request, raw):
    """The establishment `raw` (an id) if it is in the user's scope; the only one when the
    scope has exactly one; None otherwise."""
    establishments = staff_scope(request.user).establishments().order_by("name", "pk")
    if raw:
        try:
            return establishments.filter(pk=int(raw)).first()
        except (TypeError, ValueError):
            return None
    only = list(establishments[:2])
    return only[0] if len(only) == 1 else None


def _run_in_scope(request, pk) -> LetterRun:
    run = (LetterRun.objects.filter(staff_scope(request.user).establishment_q("establishment"),
                                    pk=pk).select_related("establishment").first())
    if run is None:
        raise Http404
    return run


def _levels(establishment) -> list[str]:
    """The school's levels as its roster wrote them (the values of the « niveau » filter), in
    schooling order (services_portal.levels.Level: 6e before 5e), unknown ones last."""
    levels = list(Pupil.objects.filter(establishment=establishment).order_by("level")
                  .values_list("level", flat=True).distinct())
    order = {code: index for index, code in enumerate(Level.values)}
    return sorted(levels, key=lambda raw: order.get(level_code(raw), len(order)))


# --- Letters ----------------------------------------------------------------------------


# Shared by the letters and the follow-up pages: another school's id, said in words.
NOT_YOUR_ESTABLISHMENT = _(
    "Établissement : cet établissement n'est pas l'un des vôtres ; vous ne pouvez "
    "faire que les lettres des élèves et des responsables de vos établissements. "
    "Choisissez l'un d'eux dans la liste.")


@never_cache
def letters_new(request):
    _require(request, MAKE_PERMISSION)
    source = request.POST if request.method == "POST" else request.GET
    establishment = _establishment(request, source.get("etablissement"))
    errors = {}
    if establishment is None and source.get("etablissement"):
        # Another school's (or no school's) id: said in words, the page asks for one of hers.
        errors["establishment"] = str(NOT_YOUR_ESTABLISHMENT)
    levels = _levels(establishment) if establishment else []
    level = source.get("niveau", "")
    if level not in levels:
        if level and request.method == "GET" and establishment:
            errors["level"] = gettext("Niveau : choisissez un niveau de la liste.")
        level = ""
    # Only this school's classes: a class of another school (or a typo) shows nobody.
    divisions = establishment_divisions(establishment=establishment) if establishment else []
    division = source.get("classe", "")
    if division not in divisions:
        if division and request.method == "GET" and establishment:
            errors["division"] = gettext("Classe : choisissez une classe de la liste.")
        division = ""
    if (request.method == "GET" and establishment and not errors and not (level or division)
            and ("niveau" in source or "classe" in source)):
        # « Afficher les élèves » with neither: said, rather than the same page again.
        errors["level"] = gettext("Niveau ou classe : choisissez un niveau ou une classe.")
    if request.method == "POST" and establishment is None and not errors:
        errors["establishment"] = gettext("Établissement : choisissez l'un de vos "
                                          "établissements dans la liste.")
    if request.method == "POST" and not errors:
        chosen = []
        for raw in request.POST.getlist("eleves"):
            try:
                chosen.append(int(raw))
            except ValueError:
                continue
        try:
            run = letter_services.letter_run_request(
                establishment=establishment, actor=request.user, pupil_ids=chosen,
                delivery=request.POST.get("remise", LetterDelivery.PAPER), request=request)
        except ValidationError as error:
            errors = {key: " ".join(str(m) for m in value)
                      for key, value in error.message_dict.items()}
        else:
            # Said once, about the request: the page below tells the progress, and a
            # « en préparation » banner would stay next to « Terminé ».
            messages.success(request, gettext(
                "Les lettres ont été demandées ; cette page montre où elles en sont."))
            return HttpResponseRedirect(reverse("admin:letter_run", args=[run.pk]))
    pupils, renewed_by_default = [], {}
    if establishment and (level or division):
        listed = list(follow_up_pupils(establishment=establishment, level=level or None,
                                       division=division or None))
        renewals = letter_services.letter_renewals(
            establishment=establishment, pupil_ids=[pupil.pk for pupil in listed])
        for pupil in listed:
            state = follow_up_state(pupil.account)
            names = [name for _account_id, name in renewals[pupil.pk]]
            pupils.append((pupil, state, STATE_LABELS[state], names))
            if state in TICKED_STATES:
                renewed_by_default.update(renewals[pupil.pk])
    runs = LetterRun.objects.filter(
        staff_scope(request.user).establishment_q("establishment")).select_related(
        "establishment", "requested_by")[:RECENT_RUNS]
    return TemplateResponse(request, "admin/letters/new.html", _context(
        request, title=gettext("Lettres des comptes provisoires"),
        establishments=staff_scope(request.user).establishments().order_by("name", "pk"),
        establishment=establishment, levels=levels, level=level, divisions=divisions,
        division=division, pupils=pupils, deliveries=LetterDelivery.choices, errors=errors,
        runs=runs, ticked_states=TICKED_STATES,
        renewed_by_default=sorted(renewed_by_default.values()),
    ), status=400 if errors else 200)


@never_cache
def letter_run(request, pk):
    _require(request, MAKE_PERMISSION)
    run = _run_in_scope(request, pk)
    now = timezone.now()
    downloadable = (run.requested_by_id == request.user.pk and bool(run.file_name)
                    and run.file_expires_at is not None and run.file_expires_at > now)
    return TemplateResponse(request, "admin/letters/run.html", _context(
        request, title=gettext("Lettres — %(school)s") % {"school": run.establishment.name},
        run=run, downloadable=downloadable, selection=dict(zip(
            ("with_guardians", "alone", "records"),
            (len(ids) for ids in letter_services.letter_run_selection(run)), strict=True)),
        finished=run.status in (
            LetterRunStatus.DONE, LetterRunStatus.FAILED),
        progress_url=reverse("admin:letter_run_progress", args=[run.pk]),
    ))


@never_cache
def letter_run_progress(request, pk):
    _require(request, MAKE_PERMISSION)
    run = _run_in_scope(request, pk)
    return JsonResponse({
        "status": run.status, "status_label": run.get_status_display(),
        "done": run.done, "total": run.total, "percent": run.percent,
        "finished": run.status in (LetterRunStatus.DONE, LetterRunStatus.FAILED),
    })


@never_cache
def letter_run_download(request, pk):
    _require(request, MAKE_PERMISSION)
    run = _run_in_scope(request, pk)
    try:
        handle = letter_services.letter_run_file_open(run=run, actor=request.user,
                                                      request=request)
    except PermissionDenied as exc:
        raise Http404 from exc  # another secretary of the school: as if it did not exist
    except letter_services.LetterFileGone:
        return TemplateResponse(request, "admin/letters/gone.html", _context(
            request, title=gettext("Fichier supprimé"), run=run), status=410)
    name = f"lettres-{run.establishment.uai}-{timezone.localtime(run.created_at):%Y%m%d-%H%M}.pdf"
    response = FileResponse(handle, as_attachment=True, filename=name,
                            content_type="application/pdf")
    response["Cache-Control"] = "no-store"
    return response


# --- Follow-up --------------------------------------------------------------------------


def _follow_rows(establishment, population, level, state, division=None):
    if population == "responsables":
        records = list(follow_up_guardians(establishment=establishment, level=level,
                                           state=state, division=division))
        # A guardian's « Niveau »: the levels of their children at the school (one query).
        levels = guardian_records_levels(establishment=establishment,
                                         record_ids=[record.pk for record in records])
        for record in records:
            yield record, record.last_name, record.first_name, ", ".join(
                level_in_words(level) or gettext("sans niveau")
                for level in levels.get(record.pk, [])
            ), follow_up_state(record.account)
    else:
        for pupil in follow_up_pupils(establishment=establishment, level=level, state=state,
                                      division=division):
            yield (pupil, pupil.last_name, pupil.first_name, level_in_words(pupil.level),
                   follow_up_state(pupil.account))


def _csv(establishment, population, level, state, division=None):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="suivi-{establishment.uai}-{population}.csv"')
    response["Cache-Control"] = "no-store"
    response.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = csv.writer(response, delimiter=";")
    writer.writerow([gettext("Nom"), gettext("Prénom"), gettext("Niveau"),
                     gettext("Identifiant"), gettext("État du compte")])
    for row, last_name, first_name, row_level, row_state in _follow_rows(
            establishment, population, level, state, division):
        account = row.account
        identifier = account.display_identifier if account else ""
        writer.writerow([_csv_cell(last_name.upper()), _csv_cell(first_name),
                         _csv_cell(row_level), identifier, str(STATE_LABELS[row_state])])
    return response


def _csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _reissue_one(request):
    """« Refaire la lettre » of one follow-up row: a run of that one account (a pupil's own
    account, or one guardian record's), nobody else's password renewed; then its run page.
    Without `confirmer=oui` in the POST nothing is written: the page asking to confirm names
    the account and says its current letter will stop working (a plain form, no script).
    When the family's first sign-in is under way (a password already chosen:
    activation.provisional.services.provisional_first_sign_in_under_way), the page warns that
    it will be cancelled and that the family starts again with the new letter.
    A school or row outside the user's scope is a 404; an account that is not provisional
    is refused (a French message on the follow-up page)."""
    _require(request, MAKE_PERMISSION)
    establishment = _establishment(request, request.POST.get("etablissement"))
    if establishment is None or not request.POST.get("etablissement"):
        raise Http404
    population = "responsables" if request.POST.get("qui") == "responsables" else "eleves"
    try:
        pk = int(request.POST.get("id", ""))
    except ValueError:
        raise Http404 from None
    model = GuardianRecord if population == "responsables" else Pupil
    row = (model.objects.filter(establishment=establishment, pk=pk)
           .select_related("account").first())
    if row is None:
        raise Http404
    filters = [(key, request.POST[key]) for key in FOLLOW_FILTERS if request.POST.get(key)]
    back = reverse("admin:follow_up") + "?" + urlencode(
        [("etablissement", establishment.pk), ("qui", population), *filters])
    name = f"{row.last_name.upper()} {row.first_name}"
    if follow_up_state(row.account) not in REISSUE_STATES:
        messages.error(request, gettext(
            "%(name)s : aucune lettre à refaire, son compte n'est pas un compte provisoire "
            "(actif, verrouillé, fermé ou pas encore créé). Pour une première lettre, "
            "passez par « Lettres des comptes provisoires ».") % {"name": name})
        return HttpResponseRedirect(back)
    if request.POST.get("confirmer") != "oui":
        return TemplateResponse(request, "admin/letters/reissue_confirm.html", _context(
            request, title=gettext("Refaire la lettre de %(name)s ?") % {"name": name},
            establishment=establishment, population=population, row=row, name=name,
            back=back, filters=filters,
            under_way=provisional_first_sign_in_under_way(row.account)))
    try:
        run = letter_services.letter_run_request(
            establishment=establishment, actor=request.user, request=request,
            **({"guardian_record_ids": [row.pk]} if model is GuardianRecord
               else {"pupil_ids_alone": [row.pk]}))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(back)
    messages.success(request, gettext(
        "La nouvelle lettre de %(name)s a été demandée ; son ancien mot de passe "
        "provisoire ne fonctionnera plus. Les autres comptes de la famille ne changent "
        "pas.") % {"name": name})
    return HttpResponseRedirect(reverse("admin:letter_run", args=[run.pk]))


@never_cache
def follow_up(request):
    _require(request, FOLLOW_PERMISSION)
    if request.method == "POST":
        return _reissue_one(request)
    establishment = _establishment(request, request.GET.get("etablissement"))
    errors = {}
    if establishment is None and request.GET.get("etablissement"):
        errors["establishment"] = str(NOT_YOUR_ESTABLISHMENT)
    levels = _levels(establishment) if establishment else []
    level = request.GET.get("niveau") or None
    if level not in levels:
        level = None
    divisions = establishment_divisions(establishment=establishment) if establishment else []
    division = request.GET.get("classe") or None
    if division not in divisions:
        division = None
    population = "responsables" if request.GET.get("qui") == "responsables" else "eleves"
    state = request.GET.get("etat") or None
    if state not in FOLLOW_STATES:
        state = None
    if establishment and request.GET.get("format") == "csv":
        return _csv(establishment, population, level, state, division)
    counts, page = [], None
    if establishment:
        counts = follow_up_counts(establishment=establishment)
        rows = [(row, last, first, lvl, st, STATE_LABELS[st]) for row, last, first, lvl, st
                in _follow_rows(establishment, population, level, state, division)]
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return TemplateResponse(request, "admin/letters/follow_up.html", _context(
        request, title=gettext("Suivi des comptes"),
        establishments=staff_scope(request.user).establishments().order_by("name", "pk"),
        establishment=establishment, levels=levels, level=level or "",
        divisions=divisions, division=division or "", population=population,
        state=state or "", states=[(s, STATE_LABELS[s]) for s in FOLLOW_STATES],
        counts=counts, page=page, query=query.urlencode(),
        may_reissue=request.user.has_perm(MAKE_PERMISSION), reissue_states=REISSUE_STATES,
        filters=[(key, request.GET[key]) for key in FOLLOW_FILTERS if request.GET.get(key)],
        errors=errors,
    ), status=400 if errors else 200)
