"""Identifiers are printed in capitals (letters, « Mon compte »: P.NOM12, J.NDIAYE11) while
the seed's hint writes them in small letters (« p.nomXX »). Every field where an identifier
is typed says that both are accepted, and the sign-in indeed accepts both."""

import pytest
from django.urls import reverse

from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

BOTH_CASES = "Majuscules et minuscules sont acceptées"


def hints(response):
    page = h.parse(response)
    return " ".join(h.text(e) for e in h.described_by(page, "id_identifier"))


@pytest.mark.parametrize("url", [
    reverse("accounts:login", args=["representant-legal"]),
    reverse("accounts:login", args=["eleve"]),
    reverse("accounts:password_forgotten"),
])
def test_the_identifier_fields_say_capitals_are_accepted(client, url):
    hint = hints(client.get(url))
    assert "au format p.nomXX" in hint  # the seed's words, kept
    assert BOTH_CASES in hint


def test_the_merge_s_identifier_field_says_capitals_are_accepted(client):
    AccountFactory(identifier="j.ndiaye11", phone="+33612345678", phone_verified=True)
    response = client.post(reverse("accounts:login", args=["representant-legal"]),
                           {"identifier": "J.NDIAYE11", "password": DEFAULT_PASSWORD})
    # Typed as the letter prints it, the identifier signs in.
    assert response.status_code == 302
    hint = hints(client.get(reverse("families:merge")))
    assert "au format p.nomXX, par exemple p.martin12" in hint
    assert BOTH_CASES in hint
