import pytest

from core.normalization import (
    InvalidPhoneNumber,
    clean_name,
    mask_phone,
    mobile_phone_readings,
    name_key,
    parse_mobile_phone,
    region_for_uai,
    strip_invisible,
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


def test_mask_is_the_one_form_families_read_national_for_french_numbers():
    """Issue 13 §5: « 0692 •• •• 56 » everywhere, never also « +262 692 ** ** 56 »."""
    assert mask_phone("+33617904426") == "06 •• •• •• 26"
    assert mask_phone("+262692123456") == "0692 •• •• 56"  # La Réunion
    assert mask_phone("+262639401122") == "0639 •• •• 22"  # Mayotte
    assert mask_phone("+590690123434") == "0690 •• •• 34"  # Guadeloupe
    assert mask_phone("+32470123456") == "+32 •• •• •• 56"  # abroad: international form
    # Whatever the country's grouping, no more than the country code and the last 2 digits.
    assert mask_phone("+447911123456") == "+44 •• •• 56"  # « +44 7911 123456 »
    assert mask_phone("+16502530000") == "+1 •• •• •• 00"  # « +1 650-253-0000 »
    assert mask_phone("+4915123456789") == "+49 •• •• 89"  # « +49 1512 3456789 »
    assert mask_phone("pas un numéro") == "••"


# --- Issue 16 §1: overseas mobiles behind the metropolitan code ---------------------------

@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+33 6 92 41 18 07", "+262692411807"),  # the example: La Réunion
        ("+33 6 93 12 34 56", "+262693123456"),
        ("0033 6 92 41 18 07", "+262692411807"),
        ("+33 (0)6 92 41 18 07", "+262692411807"),
        ("+33(0)692411807", "+262692411807"),
        ("+33 6 39 01 23 45", "+262639012345"),  # Mayotte
        ("+33 6 90 12 34 56", "+590690123456"),  # Guadeloupe
        ("+33 6 94 20 12 34", "+594694201234"),  # Guyane
        ("+33 6 96 20 12 34", "+596696201234"),  # Martinique
        ("+33 (0)6 12 34 56 78", "+33612345678"),  # metropolitan, with the « (0) »
        ("+262 (0)692 12 34 56", "+262692123456"),
        ("06\u200b12 34 56 78", "+33612345678"),  # a zero-width space pasted in
    ],
)
def test_overseas_mobiles_written_behind_plus_33_are_read_as_their_overseas_number(typed, e164):
    assert parse_mobile_phone(typed) == e164
    assert mobile_phone_readings(typed) == (e164,)


@pytest.mark.parametrize("typed", ["+33 4 78 12 34 56", "+33 7 00 00 00 00", "+33 (0)1 23 45 67 89",
                                   "+33 5 90 12 34 56"])
def test_behind_plus_33_a_landline_stays_refused(typed):
    with pytest.raises(InvalidPhoneNumber):
        parse_mobile_phone(typed)


# --- Issue 16 §2: letters without decomposition, invisible characters ----------------------

@pytest.mark.parametrize(
    ("school", "parent"),
    [
        ("Halıcı", "HALICI"),  # dotless ı
        ("Łukasz Wałęsa", "LUKASZ WALESA"),
        ("Søren Ødegård", "soren odegard"),
        ("Þórður Guðmundsson", "THORDUR GUDMUNDSSON"),
        ("Weiß", "WEISS"),
        ("Məmmədov", "MEMMEDOV"),
        ("Đorđević", "DORDEVIC"),
        ("Jul\u200bie", "JULIE"),
        ("Ma\u00adrie", "MARIE"),  # soft hyphen
        ("\u202eLéa", "LEA"),  # right-to-left override
    ],
)
def test_every_letter_is_transliterated_in_the_comparison_key(school, parent):
    assert name_key(school) == name_key(parent)
    assert name_key(school).isascii() and name_key(school).isalnum()


def test_clean_name_strips_invisible_characters_from_what_people_type():
    assert clean_name(" Jul\u200bie\u2028 ") == "Julie"
    assert clean_name("Anne-\u00adSophie\ufeff") == "Anne-Sophie"
    assert strip_invisible("AB\u200d12\u2060") == "AB12"


def test_the_password_pages_fold_table_transliterates_as_name_key():
    # static/js/password-rules.js folds a password with this table: « Halıcı » in a password
    # is found as the server finds it.
    from core.normalization import name_key_js_table

    table = name_key_js_table()
    assert table["ı"] == "i" and table["ß"] == "ss" and table["Ł"] == "l"
    assert table["é"] == "e" and table["œ"] == "oe"
    assert all(key == name_key(char) and key.isascii() for char, key in table.items())
