"""Wording of the helpdesk's pages (tryout of an academy's agent): no « (e) » form
(« né(e) le », « débloqué(e) »); a phrase that agrees without it, « Date de naissance »."""

import re

import pytest
from django.urls import reverse

from tests import html as h

pytestmark = pytest.mark.django_db

PARENTHESISED_ENDING = re.compile(r"\w\((e|es|s)\)", re.IGNORECASE)


def main_text(client, url) -> str:
    return h.text(h.main(h.parse(client.get(url))))


def test_the_account_and_record_pages_write_no_parenthesised_ending(helpdesk_client, world):
    for url in (reverse("admin:helpdesk_account", args=[world.account_a1.pk]),
                reverse("admin:helpdesk_record", args=[world.rec_a1.pk])):
        text = main_text(helpdesk_client, url)
        assert not PARENTHESISED_ENDING.search(text), PARENTHESISED_ENDING.search(text)
        assert "Date de naissance" in text
