"""The changelist's heading in French words, instead of Django's « Sélectionnez l'objet élève
à changer ».

An admin class names its object with its article (`changelist_noun = gettext_lazy("un
élève")`), so no grammar is guessed from the model's verbose name: the page reads
« Choisissez un élève à modifier », or « … à consulter » for whom may only view, and
« Choisissez un élève » in a selection popup (Django's three cases, django.contrib.admin
.views.main.ChangeList).
"""

from django.contrib.admin.views.main import IS_POPUP_VAR
from django.utils.translation import gettext


class ChangelistTitleMixin:
    changelist_noun = None  # e.g. gettext_lazy("un élève"); None keeps Django's heading

    def changelist_title(self, request) -> str | None:
        """The heading of the list for `request`'s user, or None when no noun is set."""
        if self.changelist_noun is None:
            return None
        words = {"noun": self.changelist_noun}
        if IS_POPUP_VAR in request.GET:
            return gettext("Choisissez %(noun)s") % words
        if self.has_change_permission(request):
            return gettext("Choisissez %(noun)s à modifier") % words
        return gettext("Choisissez %(noun)s à consulter") % words

    def changelist_view(self, request, extra_context=None):
        title = self.changelist_title(request)
        if title is not None:
            extra_context = {"title": title, **(extra_context or {})}
        return super().changelist_view(request, extra_context)
