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
              "d'union, des apostrophes et le point d'une abréviation (« St. ») : retirez les "
              "chiffres, symboles et émojis.")


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


@pytest.mark.parametrize(("typed_last", "typed_first"), [
    ("St. Pierre", "Ste. Marie"),  # as the civil registry writes it
    ("St Pierre", "Ste Marie"),    # without the periods
    ("ST.PIERRE", "ste.-marie"),
])
def test_a_name_with_an_abbreviation_period_reaches_the_record_the_roster_import_wrote(
    typed_last, typed_first, tmp_path, django_capture_on_commit_callbacks
):
    """A SIECLE export writes « ST. PIERRE »: the import keeps it as written, and step 1
    accepts it typed with or without the period and sends the code to the record's number."""
    from pupils.roster import HEADER
    from pupils.roster_import import roster_import

    from .conftest import Driver

    values = {"uai": "0750123A", "etablissement": "Collège Saint-Pierre",
              "type_etablissement": "college", "academie": "Paris", "ine": "123456789AB",
              "eleve_nom": "ST. PIERRE", "eleve_prenoms": "Lou", "eleve_date_naissance":
              "2014-09-01", "niveau": "6EME", "responsable_civilite": "Mme",
              "responsable_nom": "ST. PIERRE", "responsable_prenom": "Ste. Marie",
              "responsable_telephone_portable": "06 12 34 56 78", "responsable_email": "",
              "representant_legal": "oui"}
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "\n" + ";".join(values[c] for c in HEADER.split(";")) + "\n",
                    encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        assert roster_import(path=path).rows_imported == 1
    record = GuardianRecord.objects.get()
    assert (record.last_name, record.first_name) == ("ST. PIERRE", "Ste. Marie")

    driver = Driver(Client(), django_capture_on_commit_callbacks)
    response = driver.start(last_name=typed_last, first_name=typed_first,
                            phone="06 12 34 56 78")
    assert response.status_code == 302, html.summary_links(html.parse(response))
    assert [message.to for message in sms.outbox] == ["+33612345678"]


def test_a_period_that_ends_no_abbreviation_is_still_refused(family):
    response = post(Client(), last_name="Ben . Saïd")
    assert response.status_code == 200
    assert any("Votre nom " + CHARACTERS in error
               for error in html.field_errors(html.parse(response), "id_last_name"))
