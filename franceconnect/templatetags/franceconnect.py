"""{% franceconnect_button next %}: FranceConnect's block of the guardian sign-in page (the
seeds' « ou », heading, DSFR button, « Qu'est-ce que FranceConnect ? » and sentence), or
nothing at all while FranceConnect is not configured."""

from django import template

from ..client import is_configured

register = template.Library()


@register.inclusion_tag("franceconnect/button.html", takes_context=True)
def franceconnect_button(context, next_path=""):
    return {"configured": is_configured(), "next": next_path,
            "csrf_token": context.get("csrf_token")}
