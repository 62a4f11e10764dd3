"""core.forms.FrenchMobileNumberField: one reading of a mobile number for every form that asks
for one (activation, the back-office's guardian record, any later page)."""

import pytest
from django import forms
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from core.forms import FrenchMobileNumberField


class PhoneForm(forms.Form):
    phone = FrenchMobileNumberField(label="Téléphone portable", required=False,
                                    label_in_errors=True)


def clean(typed, *, region="FR", required=True):
    field = FrenchMobileNumberField(label="N° de téléphone portable", required=required)
    field.region = region
    return field.clean(typed)


def test_it_is_django_phonenumber_fields_form_field_underneath():
    assert issubclass(FrenchMobileNumberField, PhoneNumberField)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("07.81.23.45.67", "FR", "+33781234567"),
        ("(06) 12-34-56-78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        ("0033 6 12 34 56 78", "RE", "+33612345678"),
        # National forms of the overseas regions, from anywhere (0692… is no +33 number)…
        ("0692 12 34 56", "FR", "+262692123456"),
        ("0690 00 12 34", "FR", "+590690001234"),
        ("0696 20 12 34", "FR", "+596696201234"),
        # … and read in the school's region first: Mayotte's 0639 block from La Réunion.
        ("0639 01 23 45", "RE", "+262639012345"),
        ("0639 01 23 45", "YT", "+262639012345"),
        ("+508 55 12 34", "FR", "+508551234"),
        ("+687 75 12 34", "FR", "+687751234"),
        ("\u00a006\u202f12 34 56 78 ", "FR", "+33612345678"),
        # A family living abroad: a foreign mobile, in international form, as written.
        ("+32 470 12 34 56", "FR", "+32470123456"),
    ],
)
def test_every_written_form_gives_e164(typed, region, e164):
    assert clean(typed, region=region) == e164


NOT_A_MOBILE = (
    "Téléphone portable : Ce numéro n'est pas un numéro de téléphone portable valide. "
    "Saisissez un numéro de portable, par exemple 06 12 34 56 78, ou avec l'indicatif "
    "pour un numéro hors de France métropolitaine, par exemple +262 692 12 34 56."
)
# The tryout typed a landline and was told only « not a valid mobile number ».
A_LANDLINE = (
    "Téléphone portable : Ce numéro n'est pas un numéro de téléphone portable valide : "
    "c'est celui d'un téléphone fixe, qui ne reçoit pas de SMS. Saisissez un numéro de "
    "portable, par exemple 06 12 34 56 78."
)


@pytest.mark.parametrize(("typed", "message"), [
    ("0800 123 456", NOT_A_MOBILE), ("06 12", NOT_A_MOBILE), ("abc", NOT_A_MOBILE),
    ("+44 20 7946 0958", "Téléphone portable : Ce numéro n'est pas un numéro de téléphone "
     "portable valide pour l'indicatif +44. Vérifiez l'indicatif et le numéro, ou saisissez un "
     "numéro de portable français, par exemple 06 12 34 56 78."),
    ("01 23 45 67 89", A_LANDLINE), ("01 45 67 89 10", A_LANDLINE),
    ("0590 12 34 56", A_LANDLINE), ("+33 1 23 45 67 89", A_LANDLINE),
    ("05 96 12 34 56", A_LANDLINE),
])
def test_what_is_not_a_french_mobile_is_refused_in_french(typed, message):
    form = PhoneForm({"phone": typed})
    assert not form.is_valid()
    assert form.errors["phone"] == [message]


def test_messages_without_the_label_for_pages_that_show_it_beside_them():
    with pytest.raises(forms.ValidationError) as error:
        clean("01 23 45 67 89")
    assert error.value.messages[0].startswith("Ce numéro n'est pas un numéro de téléphone")
    with pytest.raises(forms.ValidationError) as error:
        clean("")
    assert error.value.messages == ["Saisissez un numéro de téléphone portable."]


def test_an_overlong_entry_is_refused_before_any_parsing():
    form = PhoneForm({"phone": "0" * 31})
    assert not form.is_valid()
    assert form.errors["phone"][0].startswith("Téléphone portable : Ce numéro est trop long.")
    assert 'maxlength="30"' in str(form["phone"])


def test_empty_optional_is_an_empty_string():
    form = PhoneForm({"phone": "  "})
    assert form.is_valid()
    assert form.cleaned_data["phone"] == ""


def test_a_stored_number_is_shown_in_international_form_and_typing_kept_as_typed():
    form = PhoneForm(initial={"phone": PhoneNumber.from_string("+262692123456")})
    assert 'value="+262 692 12 34 56"' in str(form["phone"])
    assert 'type="tel"' in str(form["phone"])
    bound = PhoneForm({"phone": "06 12"})
    assert 'value="06 12"' in str(bound["phone"])


def test_only_french_regions():
    with pytest.raises(ValueError, match="not a French region"):
        FrenchMobileNumberField(region="BE")


@pytest.mark.parametrize("typed", ["+44 7700 900123", "0044 7700 900123", "+44 (0)7700 900123"])
def test_a_foreign_number_that_is_no_mobile_there_is_told_its_code(typed):
    """« +44 7700 900123 » (a range the UK keeps for fiction) got the French examples only,
    as if the indicatif were not read. Foreign mobiles are accepted (a family abroad: « +44
    7911 123456 » is), so the message names the code read, not « only French numbers »."""
    form = PhoneForm({"phone": typed})
    assert not form.is_valid()
    assert form.errors["phone"] == [
        "Téléphone portable : Ce numéro n'est pas un numéro de téléphone portable valide pour "
        "l'indicatif +44. Vérifiez l'indicatif et le numéro, ou saisissez un numéro de portable "
        "français, par exemple 06 12 34 56 78."]
    assert PhoneForm({"phone": "+44 7911 123456"}).is_valid()
