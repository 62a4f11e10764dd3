"""Texts of the SMS and emails, rendered from templates (templates/sms/, templates/emails/).

The words live in templates, wrapped for translation like every page; the caller gives the
values. Templates are rendered without autoescaping (plain text, not HTML) and in the language
active at the time (the request's, or LANGUAGE_CODE in a task).
"""

import re

from django.template import Context, engines

_WHITESPACE = re.compile(r"\s+")


def text_render(template_name: str, context: dict, *, one_line: bool = True) -> str:
    """The text of `template_name` with `context`. An SMS is one line (`one_line`): runs of
    whitespace, line breaks included, become one space; an email body keeps its lines and
    loses only its blank edges."""
    template = engines["django"].engine.get_template(template_name)
    text = template.render(Context(context, autoescape=False))
    if one_line:
        return _WHITESPACE.sub(" ", text).strip()
    return text.strip()
