import pytest

from core.normalization import (
    InvalidPhoneNumber,
    mask_phone,
    name_key,
    parse_mobile_phone,
    region_for_uai,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Jean-Éric  N'DIAYE", "jean eric ndiaye"),
        ("LÆTITIA", "laetitia"),
        ("  Chloé ", "CHLOE"),
        ("de La Fontaine", "Delafontaine"),
        ("O’Connor", "oconnor"),
    ],
)
def test_names_compare_ignoring_case_accents_hyphens_apostrophes_and_spaces(typed, stored):
    assert name_key(typed) == name_key(stored)


def test_different_names_have_different_keys():
    assert name_key("Martin") != name_key("Martine")


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("07 81 23 45 67", "+33781234567"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("0692 12 34 56", "+262692123456"),  # La Réunion
        ("0693 12 34 56", "+262693123456"),
        ("0639 01 23 45", "+262639012345"),  # Mayotte
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe
        ("0691 28 12 34", "+590691281234"),
        ("0694 20 12 34", "+594694201234"),  # Guyane
        ("0696 20 12 34", "+596696201234"),  # Martinique
        ("0697 12 34 56", "+596697123456"),
        ("+262 692 12 34 56", "+262692123456"),
    ],
)
def test_mobile_numbers_in_every_written_form(typed, e164):
    assert parse_mobile_phone(typed) == e164


@pytest.mark.parametrize("typed", ["01 23 45 67 89", "0800 123 456", "12", "abc", "", "06 12"])
def test_numbers_that_are_not_mobiles_are_refused_with_a_french_message(typed):
    with pytest.raises(InvalidPhoneNumber) as error:
        parse_mobile_phone(typed)
    assert "portable" in error.value.message


def test_school_region_reads_national_form_first():
    assert region_for_uai("9740012A") == "RE"
    assert region_for_uai("0750001A") == "FR"
    assert parse_mobile_phone("0692 12 34 56", preferred_region="RE") == "+262692123456"


def test_mask_shows_only_the_country_and_the_last_digits():
    assert mask_phone("+33617904426") == "+33 6 ** ** ** 26"
    masked = mask_phone("+262692123456")
    assert masked.startswith("+262 692") and masked.endswith("56") and "1234" not in masked
