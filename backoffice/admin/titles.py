"""The back-office's page titles and save messages in French words, instead of Django's
« Sélectionnez l'objet élève à changer », « Modification de élève » or « L'objet fiche
responsable « … » a été modifié avec succès ».

An admin class names its object with its articles, so no grammar is guessed from the
model's verbose name: `changelist_noun = gettext_lazy("un élève")
    object_noun = gettext_lazy("l'élève")` and `object_noun =
gettext_lazy("l'élève")`. The pages then read:

- the list: « Choisissez un élève à modifier », or « … à consulter » for whom may only view,
  and « Choisissez un élève » in a selection popup (Django's three cases,
  django.contrib.admin.views.main.ChangeList); its button « Ajouter un élève »;
- the form: « Ajouter un élève », « Modifier l'élève », or « Consulter l'élève » for whom
  may only view (the object's name stays beneath, as Django's subtitle);
- « Supprimer l'élève », « Historique des modifications : Zoé LEFÈVRE »;
- after a save: « Modifications enregistrées : l'élève « Zoé LEFÈVRE ». », « Ajout
  enregistré : … », « Suppression effectuée : … » (« … : 2 services. » by the list's action);
- an inline's button: its own `add_text` (« Ajouter un élève rattaché ») instead of
  « Ajouter un objet Élève rattaché supplémentaire ».
"""

import json

from django.contrib import messages
from django.contrib.admin.utils import model_ngettext, unquote
from django.contrib.admin.views.main import IS_POPUP_VAR
from django.utils.html import format_html
from django.utils.translation import gettext

_SUCCESS_ATTRIBUTE = "_backoffice_success_message"


def _with_add_text(inline_admin_formset, add_text) -> None:
    """Give a formset's « add a row » button `add_text` (Django's JavaScript reads it from
    the formset's data)."""
    data = json.loads(inline_admin_formset.inline_formset_data())
    data["options"]["addText"] = str(add_text)
    encoded = json.dumps(data)
    inline_admin_formset.inline_formset_data = lambda: encoded


class ChangelistTitleMixin:
    changelist_noun = None  # e.g. gettext_lazy("un élève"); None keeps Django's heading
    object_noun = None  # e.g. gettext_lazy("l'élève"); None keeps Django's form titles

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
            # The add button's words too (templates/admin/change_list_object_tools.html):
            # « Ajouter un établissement », not Django's « Ajouter établissement ».
            extra_context = {"title": title, "add_label": self.changeform_title(request, None),
                             **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    # --- the object's pages ---------------------------------------------------------------

    def changeform_title(self, request, object_id) -> str | None:
        """« Ajouter un élève », « Modifier l'élève » or « Consulter l'élève » (None: no
        nouns set)."""
        if object_id is None:
            if self.changelist_noun is None:
                return None
            return gettext("Ajouter %(noun)s") % {"noun": self.changelist_noun}
        if self.object_noun is None:
            return None
        if self.has_change_permission(request):
            return gettext("Modifier %(noun)s") % {"noun": self.object_noun}
        return gettext("Consulter %(noun)s") % {"noun": self.object_noun}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        title = self.changeform_title(request, object_id)
        if title is not None:
            extra_context = {"title": title, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if self.object_noun is not None:
            extra_context = {"title": gettext("Supprimer %(noun)s") % {
                "noun": self.object_noun}, **(extra_context or {})}
        return super().delete_view(request, object_id, extra_context)

    def history_view_title(self, request, obj):
        """simple-history's title of an object's « Historique » page."""
        return gettext("Historique des modifications : %(object)s") % {"object": obj}

    def history_form_view_title(self, request, obj):
        """simple-history's title of one past version of an object (read-only here)."""
        return gettext("Version passée : %(object)s") % {"object": obj}

    def history_view(self, request, object_id, extra_context=None):
        if not hasattr(super(), "history_view_title"):  # Django's own history page
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                extra_context = {"title": self.history_view_title(request, obj),
                                 **(extra_context or {})}
        return super().history_view(request, object_id, extra_context)

    # --- messages after a save --------------------------------------------------------------

    def _success_message(self, request, obj, done: str) -> None:
        if self.object_noun is None or IS_POPUP_VAR in request.POST:
            return
        message = format_html(done, noun=self.object_noun, obj=str(obj))
        if "_continue" in request.POST:
            message = format_html("{} {}", message, gettext("Vous pouvez continuer ci-dessous."))
        elif "_addanother" in request.POST:
            message = format_html("{} {}", message, gettext(
                "Le formulaire ci-dessous est prêt pour un nouvel ajout."))
        setattr(request, _SUCCESS_ATTRIBUTE, message)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        """Django's « L'objet … a été modifié avec succès » replaced by our own words (set by
        response_add, response_change, response_delete just before Django's message)."""
        if level == messages.SUCCESS and _SUCCESS_ATTRIBUTE in request.__dict__:
            message = request.__dict__.pop(_SUCCESS_ATTRIBUTE)
        return super().message_user(request, message, level, *args, **kwargs)

    def response_add(self, request, obj, post_url_continue=None):
        self._success_message(request, obj, gettext("Ajout enregistré : {noun} « {obj} »."))
        return super().response_add(request, obj, post_url_continue)

    def change_done_message(self, request, obj) -> str:
        """The message after a change is saved (format_html's string: {noun}, {obj})."""
        return gettext("Modifications enregistrées : {noun} « {obj} ».")

    def response_change(self, request, obj):
        self._success_message(request, obj, self.change_done_message(request, obj))
        return super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        if self.object_noun is not None:
            setattr(request, _SUCCESS_ATTRIBUTE, format_html(
                gettext("Suppression effectuée : {noun} « {obj} »."), noun=self.object_noun,
                obj=obj_display))
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        """Django's « Suppression des objets sélectionnés » action: its message in our words
        (« Suppression effectuée : 2 services. »)."""
        count = len(queryset)  # already read by the action
        super().delete_queryset(request, queryset)
        if count and self.object_noun is not None:
            setattr(request, _SUCCESS_ATTRIBUTE, gettext(
                "Suppression effectuée : %(count)s %(items)s.") % {
                    "count": count, "items": model_ngettext(self.opts, count)})

    # --- inlines ----------------------------------------------------------------------------

    def get_inline_formsets(self, request, formsets, inline_instances, obj=None):
        inline_admin_formsets = super().get_inline_formsets(request, formsets, inline_instances,
                                                            obj)
        for inline_admin_formset in inline_admin_formsets:
            add_text = getattr(inline_admin_formset.opts, "add_text", None)
            if add_text is not None:
                _with_add_text(inline_admin_formset, add_text)
        return inline_admin_formsets
