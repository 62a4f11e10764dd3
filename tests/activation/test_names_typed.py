"""Step 1 of the SMS activation reads the names as names: an emoji, a symbol or a name longer
than the guardian record's column gets a French message naming the field and the fix, the
same page and the same work whether or not the number is a known family's."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from activation.forms import IdentityForm
from notifications import sms
from notifications.models import OutboundMessage
from pupils.models import GuardianRecord
from tests import html

pytestmark = pytest.mark.django_db
CHARACTERS = ("ne peut contenir que des lettres, accentuées ou non, des espaces, des traits "
              "d'union et des apostrophes : retirez les chiffres, symboles et émojis.")


def post(client, **values):
    return client.post("/activation/", {"last_name": "Ben Saïd", "first_name": "Nadia",
                                        "phone": "0692 12 34 56", **values})


@pytest.mark.parametrize(("field", "value", "message"), [
    ("last_name", "😀" * 50, "Votre nom " + CHARACTERS),
    ("first_name", "Nadia 🌺", "Votre prénom " + CHARACTERS),
    ("first_name", "Nadia2", "Votre prénom " + CHARACTERS),
    ("first_name", "N" * 500, "Votre prénom comporte au plus 100 caractères : vérifiez votre "
                              "saisie."),
    ("last_name", "B" * 101, "Votre nom comporte au plus 100 caractères : vérifiez votre "
                             "saisie."),
])
def test_a_name_that_cannot_be_one_is_refused_on_its_field(family, field, value, message):
    client = Client()
    response = post(client, **{field: value})
    assert response.status_code == 200
    page = html.parse(response)
    assert any(message in text and href == f"#id_{field}"
               for href, text in html.summary_links(page)), html.summary_links(page)
    assert any(message in error for error in html.field_errors(page, f"id_{field}"))
    assert not sms.outbox and not OutboundMessage.objects.exists()


def test_the_length_limit_is_the_guardian_records():
    for name in ("last_name", "first_name"):
        assert (IdentityForm.base_fields[name].max_length
                == GuardianRecord._meta.get_field(name).max_length)


def test_a_refused_name_costs_the_same_for_a_known_and_an_unknown_number(family):
    """No enumeration: the name is refused before any lookup, with the same statements and
    the same page whether the number is the family's or nobody's."""
    def attempt(phone):
        client = Client()
        client.get("/activation/")
        with CaptureQueriesContext(connection) as queries:
            response = post(client, last_name="😀" * 50, phone=phone)
        shapes = [re.sub(r"'[^']*'|\d+", "?", q["sql"]) for q in queries.captured_queries]
        page = re.sub(r'value="[^"]*"', "", response.content.decode())
        page = re.sub(r"csrfmiddlewaretoken[^>]*>|nonce=\"[^\"]*\"", "", page)
        return response.status_code, shapes, page

    known, unknown = attempt("0692 12 34 56"), attempt("0692 99 88 77")
    assert known == unknown
    assert not any("pupils_guardianrecord" in sql for sql in known[1])
