"""The activation SMS is a template (templates/sms/activation_code.txt, rendered by
core.codes for the purpose's template), in the words the service uses."""

import pytest
from django.template.loader import render_to_string

from tests.conftest import InvalidTemplateVariable


def sms(**context) -> str:
    # As core.codes renders a purpose's template.
    return render_to_string("sms/activation_code.txt", context).strip()


def test_the_activation_code_sms_is_one_line_in_the_service_words():
    assert sms(code="K7P2QX", minutes=30) == (
        "ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes. "
        "Ne le communiquez à personne."
    )


def test_one_minute_is_singular_and_nothing_is_html_escaped():
    # An SMS is plain text: nothing of it may come out as an HTML entity.
    assert sms(code="<&'>", minutes=1) == (
        "ÉduConnect : votre code de sécurité est <&'>. Il est valable 1 minute. "
        "Ne le communiquez à personne."
    )


def test_the_invalid_variable_check_covers_sms_templates():
    with pytest.raises(InvalidTemplateVariable, match="code"):
        sms(minutes=30)
