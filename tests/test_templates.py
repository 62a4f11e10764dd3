"""Templates: every text a user reads is wrapped for translation, and a variable that does not
resolve in our templates fails the test that renders it (tests/conftest.py).

The wrapping check reads each template's source with Django's own lexer: what lies outside
`{% translate %}`/`{% blocktranslate %}` is parsed as HTML, and any text node or user-facing
attribute (title, aria-label, alt, placeholder, value of a button) that holds a letter is
reported, as are literal strings passed to an include (`with heading="…"`) or to the `yesno`
and `default` filters without `_()`.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template import Context, Engine
from django.template.base import Lexer, TokenType
from django.template.loader import render_to_string

from tests.conftest import InvalidTemplateVariable

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOT_YET_CONVERTED = ()  # templates left out of the checks below while being converted

LETTER = re.compile(r"[^\W\d_]")
HOLE = " "  # stands for what a template tag or variable puts in the page
USER_ATTRIBUTES = {"title", "aria-label", "alt", "placeholder"}
SKIPPED_ELEMENTS = {"style", "script", "svg"}
INCLUDE_LITERAL = re.compile(r"""\b\w+=(["'])(.*?)\1""")
FILTER_LITERAL = re.compile(r"""\|(?:yesno|default):(["'])(.*?)\1""")


def our_templates() -> list[Path]:
    return sorted(
        path for path in TEMPLATES.rglob("*")
        if path.suffix in {".html", ".txt"}
        and not str(path.relative_to(TEMPLATES)).startswith(NOT_YET_CONVERTED)
    )


def _skeleton(source: str, problems: list[str]) -> str:
    """The template's text with every tag and variable replaced by HOLE, translated blocks
    and comments removed; literal strings of includes and filters checked on the way."""
    out = []
    skip_until = None
    for token in Lexer(source).tokenize():
        content = token.contents
        if skip_until:
            if token.token_type == TokenType.BLOCK and content.split()[0] == skip_until:
                skip_until = None
            continue
        if token.token_type == TokenType.TEXT:
            out.append(content)
        elif token.token_type == TokenType.COMMENT:
            continue
        else:
            name = content.split()[0] if content.split() else ""
            if name in {"blocktranslate", "blocktrans"}:
                skip_until = "endblocktranslate" if name == "blocktranslate" else "endblocktrans"
            elif name == "comment":
                skip_until = "endcomment"
            elif name in {"include", "with"}:
                for _quote, literal in INCLUDE_LITERAL.findall(content):
                    if LETTER.search(literal):
                        problems.append(f"line {token.lineno}: {name} literal {literal!r}")
            for _quote, literal in FILTER_LITERAL.findall(content):
                if LETTER.search(literal):
                    problems.append(f"line {token.lineno}: filter literal {literal!r}")
            out.append(HOLE)
    return "".join(out)


class _TextFinder(HTMLParser):
    def __init__(self, problems: list[str]):
        super().__init__(convert_charrefs=True)
        self.problems = problems
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_ELEMENTS:
            self.skipping += 1
        attributes = dict(attrs)
        for name, value in attrs:
            shown = name in USER_ATTRIBUTES or (
                name == "value" and attributes.get("type") in {"submit", "button", "reset"}
            )
            if shown and value and LETTER.search(value):
                self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag in SKIPPED_ELEMENTS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and LETTER.search(data):
            self.problems.append(repr(" ".join(data.split())))


def untranslated_texts(source: str) -> list[str]:
    problems: list[str] = []
    finder = _TextFinder(problems)
    finder.feed(_skeleton(source, problems))
    finder.close()
    return problems


@pytest.mark.parametrize("path", our_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_visible_text_is_wrapped_for_translation(path):
    assert untranslated_texts(path.read_text(encoding="utf-8")) == []


def test_the_wrapping_check_finds_what_is_not_wrapped():
    # The check is only as good as its parser: each of these must be reported.
    assert untranslated_texts("<p>Bonjour</p>")
    assert untranslated_texts('<p>{{ name }} est connecté</p>')
    assert untranslated_texts('<button title="Fermer">{% translate "x" %}</button>')
    assert untranslated_texts('<input type="submit" value="Envoyer">')
    assert untranslated_texts('{% include "a.html" with heading="Titre" %}')
    assert untranslated_texts('{{ ok|yesno:"oui,non" }}')
    # …and none of these.
    assert untranslated_texts(
        '{% load i18n %}<p class="fr-x" id="a">{% translate "Bonjour" %} — {{ name }}</p>'
        '{% blocktranslate %}Il y a {{ n }} messages{% endblocktranslate %}'
        '{# commentaire #}{% comment %}Texte{% endcomment %}<style>p { color: red }</style>'
        '<input type="text" value="{{ v }}">{% include "a.html" with heading=_("Titre") %}'
        '{{ d|date:"d/m/Y" }}'
    ) == []


def test_messages_are_rendered_in_one_place_only():
    # base.html includes components/messages.html inside <main>; no page loops over them.
    loops = [
        str(path.relative_to(TEMPLATES)) for path in our_templates()
        if re.search(r"{%\s*for\s+\w+\s+in\s+messages\s*%}", path.read_text(encoding="utf-8"))
    ]
    assert loops == ["components/messages.html"]
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    main = base[base.index("<main"):base.index("</main>")]
    assert '{% include "components/messages.html" %}' in main


# --- Invalid template variables ----------------------------------------------------------


def test_a_missing_variable_in_our_templates_fails_the_test():
    # Without a request, the context processors do not run: the footer's phone is missing.
    with pytest.raises(InvalidTemplateVariable, match=r"ASSISTANCE_PHONE.*templates/base\.html"):
        render_to_string("errors/404.html")
    with pytest.raises(InvalidTemplateVariable, match=r"profile_choice_url.*sign_in\.html"):
        render_to_string("accounts/sign_in.html", {"form": None, "next": ""})


def test_a_missing_variable_elsewhere_renders_as_in_production():
    # Django's admin and django-dsfr rely on missing variables: outside templates/ nothing
    # fails, and filters such as `default` apply.
    engine = Engine.get_default()
    assert engine.from_string("[{{ missing }}]").render(Context()) == "[]"
    assert engine.from_string("[{{ missing|default:'d' }}]").render(Context()) == "[d]"


def test_a_doubled_brand_in_a_title_is_found():
    """tests/conftest.py checks every page rendered in the tests with this function."""
    from tests.html import doubled_brand_title

    assert doubled_brand_title(
        "<title>Je valide ma nouvelle adresse mail — ÉduConnect — ÉduConnect</title>")
    assert doubled_brand_title("<title>A &mdash; ÉduConnect &mdash; ÉduConnect</title>")
    assert doubled_brand_title(
        "<title>Je me connecte avec mon compte ÉduConnect — ÉduConnect</title>") is None
    assert doubled_brand_title("<title>Mes services — ÉduConnect</title>") is None
