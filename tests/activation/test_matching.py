"""Step 1: what the person types, read the way the schools' records are written."""

from html import unescape

import pytest
from django.urls import reverse

from accounts.models import AccountState
from activation.selectors import guardian_records_matching
from core.models import Flow
from notifications import sms
from pupils.models import ResponsibilityStatus
from tests import html as h
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db


def known_guardian(*, last_name="N'DIAYE", first_name="Jean-Éric", phone="+33612345678",
                   uai="0750001A", **kwargs):
    record = GuardianRecordFactory(
        last_name=last_name, first_name=first_name, mobile_phone=phone,
        establishment=EstablishmentFactory(uai=uai), **kwargs,
    )
    ResponsibilityFactory(guardian_record=record)
    return record


@pytest.mark.parametrize(
    ("typed_last", "typed_first"),
    [
        ("ndiaye", "jean eric"),
        ("N'Diaye", "Jean-Eric"),
        ("  n diaye ", "JEAN  ÉRIC"),
        ("N’DIAYE", "jean-éric"),
    ],
)
def test_names_match_ignoring_case_accents_hyphens_apostrophes_and_spaces(typed_last, typed_first):
    record = known_guardian()
    found = guardian_records_matching(phone="+33612345678", last_name=typed_last,
                                      first_name=typed_first)
    assert found == [record.pk]


def test_a_different_name_or_number_does_not_match():
    known_guardian()
    assert guardian_records_matching(phone="+33612345678", last_name="Ndiaye",
                                     first_name="Jean") == []
    assert guardian_records_matching(phone="+33612345679", last_name="Ndiaye",
                                     first_name="Jean-Éric") == []


def test_records_of_every_establishment_match_at_once():
    first = known_guardian(uai="0750001A")
    second = known_guardian(uai="9710001B", last_name="Ndiaye", first_name="JEAN ERIC")
    found = guardian_records_matching(phone="+33612345678", last_name="N'Diaye",
                                      first_name="Jean-Éric")
    assert found == [first.pk, second.pk]


def test_a_record_without_an_active_link_to_a_pupil_does_not_match():
    record = known_guardian()
    record.responsibilities.update(status=ResponsibilityStatus.REMOVED)
    assert guardian_records_matching(phone="+33612345678", last_name="Ndiaye",
                                     first_name="Jean-Eric") == []


def test_a_record_covered_by_a_provisional_account_can_still_self_activate():
    account = AccountFactory(state=AccountState.PROVISIONAL)
    record = known_guardian(account=account)
    assert guardian_records_matching(phone="+33612345678", last_name="Ndiaye",
                                     first_name="Jean-Eric") == [record.pk]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("07.81.23.45.67", "+33781234567"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("0692 12 34 56", "+262692123456"),  # La Réunion
        ("0693-12-34-56", "+262693123456"),  # La Réunion
        ("0639 01 23 45", "+262639012345"),  # Mayotte
        ("0690 00 12 34", "+590690001234"),  # Guadeloupe, Saint-Barthélemy, Saint-Martin
        ("0691 28 12 34", "+590691281234"),  # Guadeloupe
        ("0694 20 12 34", "+594694201234"),  # Guyane
        ("0696 20 12 34", "+596696201234"),  # Martinique
        ("0697 12 34 56", "+596697123456"),  # Martinique
        ("+262 692 12 34 56", "+262692123456"),
        ("+508 55 12 34", "+508551234"),  # Saint-Pierre-et-Miquelon
        ("+681 82 12 34", "+681821234"),  # Wallis-et-Futuna
        ("+687 75 12 34", "+687751234"),  # Nouvelle-Calédonie
        ("+689 87 12 34 56", "+68987123456"),  # Polynésie française
    ],
)
def test_mobile_numbers_in_every_written_form_reach_the_record(driver, typed, stored):
    known_guardian(phone=stored)
    response = driver.start(last_name="Ndiaye", first_name="Jean-Éric", phone=typed)
    assert response.status_code == 302
    assert str(Flow.objects.get().phone) == stored
    assert [m.to for m in sms.outbox] == [stored]


@pytest.mark.parametrize("typed", ["01 23 45 67 89", "0800 123 456", "06 12", "abc"])
def test_a_number_that_is_not_a_mobile_gets_a_french_error_on_the_field(client, db, typed):
    response = client.post(reverse("activation:start"),
                           {"last_name": "Ndiaye", "first_name": "Jean", "phone": typed})
    page = unescape(response.content.decode())
    assert response.status_code == 200
    assert "N° de téléphone portable : Ce numéro n'est pas un numéro de téléphone portable" in page
    parsed = h.parse(page)
    [(href, _text)] = h.summary_links(parsed)  # the error summary links to the field
    assert href == "#id_phone"
    assert [h.text(e) for e in h.described_by(parsed, "id_phone")][1].startswith(
        "Ce numéro n'est pas un numéro de téléphone portable"
    )
    assert len(h.alerts(parsed)) == 1
    assert page.count("<title>Erreur : ") == 1
    assert not Flow.objects.exists()


def test_empty_fields_are_named_in_the_errors(client, db):
    response = client.post(reverse("activation:start"), {"last_name": " ", "first_name": "",
                                                         "phone": ""})
    page = unescape(response.content.decode())
    assert "Nom : Saisissez votre nom." in page
    assert "Prénom : Saisissez votre prénom." in page
    assert "N° de téléphone portable : Saisissez votre numéro de téléphone portable." in page


def test_step_one_page_has_the_seeds_words_and_autocomplete(client, db):
    page = unescape(client.get(reverse("activation:start")).content.decode())
    assert "Étape 1 sur 5" in page and "Je confirme mon identité" in page
    assert "Je renseigne mon n° de téléphone portable" in page
    assert "merci d'indiquer l'indicatif régional" in page
    assert 'autocomplete="family-name"' in page and 'autocomplete="given-name"' in page
    assert 'autocomplete="tel"' in page
