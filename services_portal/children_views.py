"""« Mes enfants » of « Mon compte »: each child of the signed-in guardian with their school
and level. Here rather than in accounts/my_account because the children are pupils data,
which accounts may not import (docs/architecture.md)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import AccountKind
from pupils.selectors import pupils_of_guardian_account

from .levels import level_in_words


@never_cache
@require_GET
@login_required
def my_children(request):
    """One query for the children and their schools, whatever their number
    (pupils.selectors.pupils_of_guardian_account). The level is shown in the words of
    « Mes services » (services_portal.levels.level_in_words: « 5e » for the roster's `5EME`).
    A pupil's account has no children: it goes to its « Mon compte »."""
    account = request.user
    if account.kind == AccountKind.STAFF:
        return redirect("admin:index")
    if account.kind != AccountKind.GUARDIAN:
        return redirect("accounts:my_account:information")
    title = _("Mes enfants")
    context = {
        "page_title": _("%(page)s — Mon compte") % {"page": title},
        "heading": title,
        "current": "children",
        "account": account,
        "is_guardian": True,
        "form": None,
        "children": [{"pupil": pupil, "level_words": level_in_words(pupil.level)}
                     for pupil in pupils_of_guardian_account(account)],
    }
    return render(request, "services_portal/my_children.html", context)
