"""Template tags of the shared page components: `{% load educonnect %}`.

`{% error_summary form %}` is the one error summary of the site (templates/components/
error_summary.html): a DSFR error alert at the top of the form, with a heading, a link to each
field in error and the errors that belong to no field. It takes `tabindex="-1"`, so a script
can move the focus to it. Optional `title` replaces the heading, optional `text` adds a
paragraph (what to check).
"""

from django import template
from django.utils.translation import ngettext

from core.forms import ERROR_SUMMARY_ID, NON_FIELD_ERRORS_ID, error_summary_items

register = template.Library()


@register.inclusion_tag("components/error_summary.html")
def error_summary(form, title: str = "", text: str = "") -> dict:
    if form is None or not form.errors:
        return {"show": False}
    items = (form.error_summary_items() if hasattr(form, "error_summary_items")
             else error_summary_items(form))
    general = [item["message"] for item in items if not item["anchor"]]
    linked = [item for item in items if item["anchor"]]
    if not title:
        if linked:
            count = len(items)
            title = ngettext(
                "Le formulaire contient %(count)s erreur",
                "Le formulaire contient %(count)s erreurs",
                count,
            ) % {"count": count}
        else:
            # Only errors about the form as a whole: the first one is the heading.
            title, general = general[0], general[1:]
            return {"show": True, "summary_id": ERROR_SUMMARY_ID, "title": title,
                    "title_id": NON_FIELD_ERRORS_ID, "general": general, "general_id": "",
                    "text": text, "linked": []}
    return {"show": True, "summary_id": ERROR_SUMMARY_ID, "title": title, "title_id": "",
            "general": general, "general_id": NON_FIELD_ERRORS_ID, "text": text,
            "linked": linked}
