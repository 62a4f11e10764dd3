"""« Je n'ai pas reçu le code par SMS » on the recovery's code page advises starting again
« Par mail » only when the channel page offered « Par mail » (tryout: an account offered
« Par SMS » only was told to choose a channel it was never shown)."""

import pytest

from tests import html
from tests.factories import AccountFactory

from .conftest import decoy_identifier

pytestmark = pytest.mark.django_db

BY_MAIL = "Recommencez en choisissant « Par mail »"


def _code_page_help(recovery, identifier) -> tuple[str, str]:
    channels = recovery.page(recovery.start(identifier))
    help_box = html.parse(recovery.page(recovery.choose("sms"))).find(id="no-sms-help")
    return channels, html.text(help_box)


def test_an_account_offered_sms_only_is_not_told_to_choose_the_mail(recovery):
    AccountFactory(identifier="m.girard31", first_name="Marc", last_name="Girard",
                   phone="+33698765416", phone_verified=True)
    channels, help_text = _code_page_help(recovery, "m.girard31")
    assert "Par mail" not in channels
    assert BY_MAIL not in help_text
    assert "Écrivez à l'assistance de l'académie de votre enfant" in help_text


def test_an_account_offered_both_is_told_to_start_again_by_mail(recovery, guardian):
    channels, help_text = _code_page_help(recovery, "s.nguyen21")
    assert "Par mail" in channels
    assert BY_MAIL in help_text


@pytest.mark.parametrize(("with_email", "advised"), [(False, False), (True, True)])
def test_a_decoy_follows_the_channels_it_showed(recovery, db, with_email, advised):
    _, help_text = _code_page_help(recovery, decoy_identifier(with_phone=True,
                                                              with_email=with_email))
    assert (BY_MAIL in help_text) is advised
