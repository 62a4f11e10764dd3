"""{% rendered_once %} (core.templatetags.educonnect): a fragment the same for every visitor,
rendered once per process, that sees only the values passed to it."""

import pytest
from django.template import Context, Engine
from django.test import override_settings
from django.utils import translation

ENGINE = Engine(libraries={"educonnect": "core.templatetags.educonnect"},
                builtins=["django.templatetags.i18n"])


def _template(text):
    return ENGINE.from_string("{% load educonnect %}" + text)


def test_the_fragment_is_rendered_once_and_given_back_the_same():
    template = _template("{% rendered_once %}{{ footer }}{% endrendered_once %}")
    # `footer` is not passed: inside, it does not exist.
    assert template.render(Context({"footer": "pied de page"})) == ""
    template = _template("{% rendered_once footer=footer %}{{ footer }}{% endrendered_once %}")
    node = template.nodelist[-1]
    renders = []
    real_render = node.nodelist.render
    node.nodelist.render = lambda context: renders.append(1) or real_render(context)
    first = template.render(Context({"footer": "pied de page"}))
    second = template.render(Context({"footer": "pied de page"}))
    assert first == second == "pied de page"
    assert len(renders) == 1


def test_a_value_keys_the_fragment_by_its_text_not_its_identity():
    class Label:
        def __init__(self, text):
            self.text = text

        def __str__(self):
            return self.text

    template = _template("{% rendered_once label=label %}{{ label }}{% endrendered_once %}")
    assert template.render(Context({"label": Label("Étape 1")})) == "Étape 1"
    assert template.render(Context({"label": Label("Étape 2")})) == "Étape 2"
    assert template.render(Context({"label": Label("Étape 1")})) == "Étape 1"
    assert len(template.nodelist[-1]._kept) == 2


def test_it_never_sees_the_page_s_variables_nor_the_request():
    template = _template(
        "{% rendered_once phone=phone %}{{ phone }}|{{ user }}|{{ request }}"
        "{% endrendered_once %}")
    context = Context({"phone": "3929", "user": "nadia@example.fr", "request": "secret"})
    assert template.render(context) == "3929||"


def test_each_value_and_language_is_a_variant_of_its_own():
    template = _template(
        "{% rendered_once step=step %}{% translate 'Étape' %} {{ step }}{% endrendered_once %}")
    assert template.render(Context({"step": 1})) == "Étape 1"
    assert template.render(Context({"step": 2})) == "Étape 2"
    with translation.override("en"):
        assert template.render(Context({"step": 2})) == "Étape 2"
    assert len(template.nodelist[-1]._kept) == 3


def test_a_changed_setting_forgets_what_was_kept():
    template = _template("{% rendered_once %}{% now 'Y' %}{% endrendered_once %}")
    template.render(Context())
    node = template.nodelist[-1]
    assert node._kept
    with override_settings(EDUCONNECT_ASSISTANCE_PHONE="0 800 000 000"):
        template.render(Context())
        assert len(node._kept) == 1


def test_values_that_differ_per_visitor_are_not_kept_past_a_bound(monkeypatch):
    from core.templatetags import educonnect

    monkeypatch.setattr(educonnect, "RENDERED_ONCE_MAX_VARIANTS", 2)
    template = _template("{% rendered_once v=v %}{{ v }}{% endrendered_once %}")
    assert [template.render(Context({"v": n})) for n in range(5)] == ["0", "1", "2", "3", "4"]
    assert len(template.nodelist[-1]._kept) == 2


@pytest.mark.django_db
def test_the_page_frame_is_the_same_for_every_visitor(client):
    first = client.get("/activation/").content.decode()
    second = client.get("/activation/").content.decode()
    assert "Plan du site" in first
    # The CSRF token differs between two browsers; the frame around it does not.
    strip = [line for line in first.splitlines() if "csrfmiddlewaretoken" not in line]
    assert strip == [line for line in second.splitlines()
                     if "csrfmiddlewaretoken" not in line]
