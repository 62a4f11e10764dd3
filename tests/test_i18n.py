"""French is the source language: every wrapped text must read, in French, exactly as written.

Django's and django-dsfr's French catalogues are loaded too; a msgid of ours that happens to be
one of theirs (an English word that is also French, such as « Date » or « Type ») would be
replaced by their translation. This test extracts our msgids the way `makemessages` does —
Python sources read with `ast`, templates through Django's own `templatize` — and checks that
each one translates to itself.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "accounts", "pupils", "activation", "notifications", "services_portal",
        "backoffice", "educonnect", "oidc_idp")
SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
CONTEXT = {"pgettext", "pgettext_lazy"}
CONTEXT_PLURAL = {"npgettext", "npgettext_lazy"}
# templates/admin/pagination.html, search_form.html, change_list_results.html and
# edit_inline/tabular.html are copies of Django's: they keep the admin's English msgids, which
# Django's French catalogue translates.
DJANGO_ADMIN_MSGIDS = {"Show all", "Save", "Search", "%(counter)s result", "%(counter)s results",
                       "%(full_result_count)s total", "Remove from sorting",
                       "Sorting priority: %(priority_number)s", "Toggle sorting", "Delete?",
                       "Change", "View", "View on site"}


def _python_msgids():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                strings = [a.value for a in node.args
                           if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if name in SINGULAR | PLURAL | CONTEXT | CONTEXT_PLURAL and strings:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", name, strings


def _template_msgids():
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.suffix not in {".html", ".txt"}:
            continue
        source = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for number, line in enumerate(source.splitlines(), start=1):
            if "gettext" in line:
                yield from _calls(f"{path.relative_to(ROOT)}:{number}", line.strip())


def _calls(where: str, line: str):
    """The gettext calls of one line of templatize's output (one call never spans lines)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in (
            SINGULAR | PLURAL | CONTEXT | CONTEXT_PLURAL
        ):
            continue
        if index + 1 >= len(tokens) or tokens[index + 1].string != "(":
            continue
        strings = []
        for following in tokens[index + 2:]:
            if following.string == ")":
                break
            if following.type == tokenize.STRING:
                strings.append(ast.literal_eval(following.string))
        yield where, token.string, strings


def _translated(name: str, strings: list[str]) -> list[tuple[str, str]]:
    """(what we wrote, what a French reader gets) for each form of the message."""
    if name in SINGULAR:
        return [(strings[0], translation.gettext(strings[0]))]
    if name in PLURAL:
        singular, plural = strings[:2]
        return [(singular, translation.ngettext(singular, plural, 1)),
                (plural, translation.ngettext(singular, plural, 5))]
    if name in CONTEXT:
        return [(strings[1], translation.pgettext(strings[0], strings[1]))]
    context, singular, plural = strings[:3]
    return [(singular, translation.npgettext(context, singular, plural, 1)),
            (plural, translation.npgettext(context, singular, plural, 5))]


MSGIDS = [*_python_msgids(), *_template_msgids()]


def test_the_extraction_finds_our_texts():
    found = {strings[0] for _where, _name, strings in MSGIDS}
    assert "Identifiant ou mot de passe incorrect." in found  # Python
    assert "Je sélectionne mon profil" in found  # template {% translate %}
    assert any("L'assistance nationale répond au %(phone)s" in s for s in found)  # block
    assert len(MSGIDS) > 300


@pytest.mark.parametrize("language", ["fr", "fr-fr"])
def test_every_msgid_reads_as_written_in_french(language):
    with translation.override(language):
        replaced = [
            f"{where}: {written!r} reads {read!r}"
            for where, name, strings in MSGIDS
            for written, read in _translated(name, strings)
            if read != written and written not in DJANGO_ADMIN_MSGIDS
        ]
    assert replaced == []


# The family and pupil side says « mail » and « adresse mail », as the seeds do: never
# « email », « e-mail » or « courriel » in a text a parent or a pupil reads. The back-office
# too (test_the_back_office_says_mail): a secretary reads the family's words.
FAMILY_PYTHON = ("accounts", "activation", "families", "franceconnect", "services_portal",
                 "assistance", "core/code_messages.py", "core/forms.py", "core/code_step.py")
STAFF_TEMPLATES = ("templates/admin/", "templates/backoffice/")
OTHER_WORDS = re.compile(r"\b(e-?mails?|courriels?)\b", re.IGNORECASE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _python_msgids(path):
    """(« file:line », string) of each literal given to a gettext function in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        name = getattr(getattr(node, "func", None), "id",
                       getattr(getattr(node, "func", None), "attr", None))
        if isinstance(node, ast.Call) and name in SINGULAR | PLURAL | CONTEXT:
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", arg.value


def _family_python_msgids():
    for part in FAMILY_PYTHON:
        base = ROOT / part
        for path in sorted([base] if base.is_file() else base.rglob("*.py")):
            if "migrations" in path.parts or path.name in {"models.py", "admin.py"}:
                continue
            yield from _python_msgids(path)


def _family_texts():
    yield from _family_python_msgids()
    for where, _name, strings in _template_msgids():
        if not where.startswith(STAFF_TEMPLATES):
            for string in strings:
                yield where, string


def test_the_family_side_says_mail():
    found = [f"{where}: {text!r}" for where, text in _family_texts()
             if OTHER_WORDS.search(PLACEHOLDER.sub("", text))]
    assert found == []


# The back-office's words, and the labels of the models and journal events it shows.
STAFF_PYTHON = ("backoffice", "pupils", "core/journal.py", "core/models.py")
COURRIEL = re.compile(r"\bcourriels?\b", re.IGNORECASE)


def _staff_texts():
    for part in STAFF_PYTHON:
        base = ROOT / part
        for path in sorted([base] if base.is_file() else base.rglob("*.py")):
            if "migrations" not in path.parts:
                yield from _python_msgids(path)
    for where, _name, strings in _template_msgids():
        if where.startswith(STAFF_TEMPLATES):
            for string in strings:
                yield where, string


def test_the_back_office_says_mail():
    found = [f"{where}: {text!r}" for where, text in _staff_texts() if COURRIEL.search(text)]
    assert found == []


def test_the_word_check_finds_the_other_words():
    assert OTHER_WORDS.search("Renvoyer l'email de validation")
    assert OTHER_WORDS.search("J'ouvre le lien reçu par courriel")
    assert OTHER_WORDS.search("SMS et e-mails envoyés")
    assert not OTHER_WORDS.search("Renvoyer le mail de validation à mon adresse mail")


# The whole product, staff pages included, names the address « adresse mail » (the seeds' term,
# 32 uses): never « adresse électronique ». The legal pages may keep their own wording.
OTHER_ADDRESS_WORDS = re.compile(r"\badresses? (é|e)lectroniques?\b", re.IGNORECASE)
LEGAL_TEMPLATES = ("templates/pages/legal_notice", "templates/pages/personal_data",
                   "templates/pages/cookies")
ALL_APPS = ("core", "accounts", "pupils", "activation", "notifications", "services_portal",
            "backoffice", "educonnect", "oidc_idp", "saml_idp", "families", "franceconnect",
            "assistance")


def _all_user_texts():
    for app in ALL_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield from _python_msgids(path)
    for where, _name, strings in _template_msgids():
        if not where.startswith(LEGAL_TEMPLATES):
            for string in strings:
                yield where, string


def test_the_whole_product_says_adresse_mail():
    found = [f"{where}: {text!r}" for where, text in _all_user_texts()
             if OTHER_ADDRESS_WORDS.search(text)]
    assert found == []


def test_the_address_word_check_finds_the_other_words():
    assert OTHER_ADDRESS_WORDS.search("Votre adresse électronique")
    assert OTHER_ADDRESS_WORDS.search("Adresse électronique professionnelle")
    assert not OTHER_ADDRESS_WORDS.search("Votre adresse mail")


# Pupils are addressed as « vous », like everyone (the seeds, the pupil's letter and its
# activation): no « tu », « ton », « te »… in any text of the family or pupil side.
INFORMAL = re.compile(r"(?<![\w'-])(tu|toi|ton|tes|te|ta)(?![\w'-])|(?<![\w-])t'",
                      re.IGNORECASE)


def test_pupils_are_addressed_as_vous():
    found = [f"{where}: {text!r}" for where, text in _family_texts()
             if INFORMAL.search(PLACEHOLDER.sub("", text))]
    assert found == []


def test_the_register_check_finds_tu():
    assert INFORMAL.search("Ton établissement te remet un courrier")
    assert INFORMAL.search("tu choisiras ton propre mot de passe")
    assert not INFORMAL.search("Votre établissement vous remet un courrier : votre identifiant")
