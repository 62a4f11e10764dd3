"""SMS texts come from templates (notifications.texts), in the words the service uses."""

import pytest
from django.utils import translation

from activation.services import sms_text
from notifications.texts import text_render
from tests.conftest import InvalidTemplateVariable


def test_the_activation_code_sms_reads_as_the_service_sends_it(settings):
    settings.ACTIVATION_CODE_TTL = 30 * 60
    text = text_render("sms/activation_code.txt", {"code": "K7P2QX", "minutes": 30})
    assert text == (
        "ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes. "
        "Ne le communiquez à personne."
    )
    # The same words as the activation flow's SMS today.
    assert text == sms_text("K7P2QX")


def test_one_minute_is_singular_and_nothing_is_escaped():
    text = text_render("sms/activation_code.txt", {"code": "<&'>", "minutes": 1})
    assert text == (
        "ÉduConnect : votre code de sécurité est <&'>. Il est valable 1 minute. "
        "Ne le communiquez à personne."
    )
    assert "\n" not in text


def test_the_invalid_variable_check_covers_sms_templates():
    with translation.override("fr"), pytest.raises(InvalidTemplateVariable, match="code"):
        text_render("sms/activation_code.txt", {"minutes": 30})
