"""`level_words`: a roster's level code in the words people read (« 5EME » → « 5e »),
through services_portal.levels.level_in_words; "" stays "" (for `default`)."""

from django import template

from services_portal.levels import level_in_words

register = template.Library()


@register.filter
def level_words(raw) -> str:
    return level_in_words(str(raw)) if raw else ""
