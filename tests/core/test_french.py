"""core.french: « de » elided before a first name, as the pages write it."""

import pytest
from django.template import Context, Template

from core.french import elides, of_name


@pytest.mark.parametrize(("name", "expected"), [
    ("Apolline", "d'Apolline"), ("Adam", "d'Adam"), ("Élodie", "d'Élodie"),
    ("Hugo", "d'Hugo"), ("Œlle", "d'Œlle"), ("Yves", "d'Yves"), ("îlona", "d'îlona"),
    ("Marc", "de Marc"), ("Yasmine", "de Yasmine"), ("Nour", "de Nour"), ("", ""),
])
def test_of_name(name, expected):
    assert of_name(name) == expected


def test_a_y_alone_does_not_elide():
    assert not elides("Y")


def test_the_template_filter_is_the_same_helper():
    rendered = Template("{% load educonnect %}{{ a|of_name }} / {{ b|of_name }}").render(
        Context({"a": "Adam", "b": "Lucas"}))
    assert rendered == "d&#x27;Adam / de Lucas"
