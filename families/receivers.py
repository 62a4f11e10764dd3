"""Receivers of Django's signals, connected in FamiliesConfig.ready(); each calls a service."""

from django.contrib import messages
from django.utils.translation import gettext as _

from accounts.models import AccountKind

from .services import new_children_notice_take


def new_children_notice(sender, request, user, **kwargs) -> None:
    """At every sign-in of a guardian (portal, activation): the one-time notice of the
    children a roster import attached to the account (pupils.roster_import), shown on the
    page the sign-in leads to. One UPDATE on the account's records (index on
    GuardianRecord.account), nothing else. A request without Django's messages (a test's
    force_login) leaves the notice pending."""
    if user.kind != AccountKind.GUARDIAN or not hasattr(request, "_messages"):
        return
    if new_children_notice_take(account=user):
        messages.info(request, _("Un nouvel enfant a été rattaché à votre compte. Retrouvez "
                                 "ses services dans « Mes services »."))
