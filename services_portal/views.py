"""« Mes services »: for now the account's children and their schools (the service tiles come
with the services catalogue)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.models import AccountKind
from pupils.selectors import pupil_of_account, pupils_of_guardian_account


@login_required
def my_services(request):
    account = request.user
    if account.kind == AccountKind.STAFF:
        return redirect("admin:index")  # staff have no children here: their tools are there
    context = {"page_title": _("Mes services"), "account": account}
    if account.kind == AccountKind.GUARDIAN:
        context["children"] = list(pupils_of_guardian_account(account))
    else:
        context["pupil"] = pupil_of_account(account)
    return render(request, "services_portal/my_services.html", context)
