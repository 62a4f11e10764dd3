"""core.forms.PersonNameField and EmailAddressField: one reading of a person's name and of an
e-mail address for every public form (activation, « Identifiant oublié ? », « Mon compte »,
assistance)."""

import pytest
from django import forms

from core.forms import EmailAddressField, PersonNameField, name_characters_valid


class NamesForm(forms.Form):
    last_name = PersonNameField(kind="last_name", label="Nom")
    first_name = PersonNameField(kind="first_name", label="Prénom", max_length=20)


@pytest.mark.parametrize("typed", [
    "Ben Saïd", "Jean-Éric", "N'DIAYE", "O’Connor", "Łukasz", "Nguyễn Thị", "Halıcı",
    "Zoé", "Zoe\u0301",  # « é » typed as e + combining acute (macOS, some PDFs)
    "Μαρία", "Иван", "محمد", "Anne\u2011Sophie",
])
def test_the_names_of_families_are_accepted_as_typed(typed):
    form = NamesForm(data={"last_name": typed, "first_name": "Nadia"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["last_name"] == typed


@pytest.mark.parametrize("typed", [
    "😀" * 50, "Nadia 😀", "👨\u200d👩\u200d👧", "Nadia2", "Jean & Marie", "Ben_Saïd",
    "<script>", "Nadia!", "★Nadia", "Nadia\ufe0f",
    # A period ends an abbreviation: after a letter only, one at a time.
    ".Pierre", "St.. Pierre", "St .Pierre", "Jean-. Pierre", "St. 2", "St.😀", "...",
    "St; Pierre", "St, Pierre", "St… Pierre",
])
def test_emoji_digits_and_symbols_get_a_message_naming_the_field_and_the_fix(typed):
    form = NamesForm(data={"last_name": typed, "first_name": "Nadia"})
    assert not form.is_valid()
    assert form.errors["last_name"] == [
        "Votre nom ne peut contenir que des lettres, accentuées ou non, des espaces, des traits "
        "d'union, des apostrophes et le point d'une abréviation (« St. ») : retirez les "
        "chiffres, symboles et émojis."]


@pytest.mark.parametrize("typed", [
    "St. Pierre", "Ste. Marie", "Ste.Marie", "J.-P. Martin", "Saint-Just Ste.", "Ste\u0301.",
])
def test_a_period_that_ends_an_abbreviation_is_accepted_as_typed(typed):
    """Civil registries and SIECLE exports write « St. Pierre »; the roster import keeps it."""
    form = NamesForm(data={"last_name": typed, "first_name": "Nadia"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["last_name"] == typed


def test_a_name_with_an_abbreviation_period_has_the_key_of_the_name_without_it():
    """The matching of activation and recoveries (name_key) reads « St. Pierre » as the
    roster import stores its key: the period, like a space or a hyphen, is not compared."""
    from core.normalization import name_key
    from pupils.roster import _clean

    stored, stored_key = _clean("  ST. PIERRE ")
    assert stored == "ST. PIERRE"
    assert stored_key == name_key("St. Pierre") == name_key("St Pierre") == "stpierre"


def test_a_name_longer_than_its_column_gets_the_length_only():
    form = NamesForm(data={"last_name": "a" * 101, "first_name": "😀" * 21})
    assert not form.is_valid()
    assert form.errors["last_name"] == [
        "Votre nom comporte au plus 100 caractères : vérifiez votre saisie."]
    assert form.errors["first_name"] == [
        "Votre prénom comporte au plus 20 caractères : vérifiez votre saisie."]


def test_a_page_of_text_is_refused_as_too_long_without_being_cleaned(monkeypatch):
    import core.forms

    cleaned = []
    monkeypatch.setattr(core.forms, "clean_name", lambda v: cleaned.append(v) or v)
    form = NamesForm(data={"last_name": "a" * 1_000_000, "first_name": "Nadia"})
    assert form.errors["last_name"] == [
        "Votre nom comporte au plus 100 caractères : vérifiez votre saisie."]
    assert cleaned == ["Nadia"]


def test_the_length_is_that_of_the_name_once_cleaned():
    form = NamesForm(data={"last_name": "  Ben   Saïd\u200b  ", "first_name": "a" * 20})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["last_name"] == "Ben Saïd"


def test_a_name_without_a_letter_is_refused():
    form = NamesForm(data={"last_name": "- '", "first_name": "Nadia"})
    assert form.errors["last_name"] == ["Votre nom doit contenir au moins une lettre."]


def test_the_page_sets_no_maxlength_that_would_cut_a_pasted_name_silently():
    assert "maxlength" not in str(NamesForm()["last_name"])
    assert not name_characters_valid("Nadia😀") and name_characters_valid("Jean-Éric")
    assert name_characters_valid("St. Pierre") and not name_characters_valid(". Pierre")


class EmailForm(forms.Form):
    email = EmailAddressField(label="Adresse mail")


@pytest.mark.parametrize("typed", [
    "a" * 300 + "@exemple.fr",
    "prenom.nom@" + "x" * 63 + "." + "y" * 63 + "." + "z" * 63 + "." + "w" * 63 + ".fr",
    "x" * 312,
])
def test_an_over_long_address_gets_the_length_message_only(typed):
    form = EmailForm(data={"email": typed})
    assert not form.is_valid()
    assert form.errors["email"] == [
        "Une adresse mail comporte au plus 254 caractères : vérifiez votre saisie."]
    assert "maxlength" not in str(form["email"])


def test_a_well_formed_address_of_254_characters_is_accepted():
    address = "a" * 60 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 62 + ".fr"
    assert len(address) == 254
    form = EmailForm(data={"email": address})
    assert form.is_valid(), form.errors


# --- A slip in a common domain: warned once, then accepted ----------------------------------

@pytest.mark.parametrize(("typed", "suggestion"), [
    ("camille.roux@gmial.com", "camille.roux@gmail.com"),       # two letters swapped
    ("camille.roux@hotmial.fr", "camille.roux@hotmail.fr"),
    ("camille.roux@gmail.fr", "camille.roux@gmail.com"),        # gmail has no .fr
    ("camille.roux@orange.fe", "camille.roux@orange.fr"),       # a neighbouring key
    ("camille.roux@wanadoo.ft", "camille.roux@wanadoo.fr"),
    ("camille.roux@laposte.ner", "camille.roux@laposte.net"),
    ("camille.roux@yahoo.fe", "camille.roux@yahoo.fr"),
    ("camille.roux@gmai.com", "camille.roux@gmail.com"),        # a letter missing
    ("camille.roux@ouutlook.fr", "camille.roux@outlook.fr"),    # a letter doubled
    ("Camille.Roux@GMIAL.COM", "Camille.Roux@gmail.com"),       # the domain in capitals
])
def test_a_slip_in_a_common_domain_is_warned_about_with_the_suggestion(typed, suggestion):
    form = EmailForm(data={"email": typed})
    assert not form.is_valid()
    assert form.errors["email"] == [
        f"Vérifiez votre adresse : vouliez-vous écrire {suggestion} ? Si l'adresse saisie "
        "est la bonne, validez de nouveau sans la changer."]
    # The page shown again keeps what was typed and remembers the address warned about.
    html = str(form["email"])
    assert f'value="{typed}"' in html
    assert f'<input type="hidden" name="email_verifiee" value="{typed}">' in html


def test_the_same_address_posted_again_is_accepted():
    first = EmailForm(data={"email": "camille.roux@gmial.com"})
    assert not first.is_valid()
    again = EmailForm(data={"email": " camille.roux@gmial.com ",
                            "email_verifiee": "camille.roux@gmial.com"})
    assert again.is_valid(), again.errors
    assert again.cleaned_data["email"] == "camille.roux@gmial.com"
    # Re-shown for another reason, the page still remembers it: no second warning.
    assert 'name="email_verifiee"' in str(again["email"])


def test_another_slip_after_a_warning_is_warned_about_again():
    form = EmailForm(data={"email": "camille.roux@hotmial.fr",
                           "email_verifiee": "camille.roux@gmial.com"})
    assert not form.is_valid()
    assert "camille.roux@hotmail.fr" in form.errors["email"][0]


@pytest.mark.parametrize("typed", [
    "camille.roux@gmail.com", "camille.roux@orange.fr", "camille.roux@free.fr",
    "camille.roux@ac-creteil.fr", "camille.roux@exemple.fr", "camille.roux@sfr.fr",
    "camille.roux@gmail.co.uk", "camille.roux@live.com",
])
def test_common_and_unrelated_domains_pass_at_once(typed):
    form = EmailForm(data={"email": typed})
    assert form.is_valid(), form.errors
    assert "email_verifiee" not in str(form["email"])


def test_a_form_declaring_its_own_input_keeps_its_attributes():
    class Declared(forms.Form):
        email = EmailAddressField(widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                                 "class": "fr-input"}))

    html = str(Declared()["email"])
    assert 'type="email"' in html and 'autocomplete="email"' in html
    assert 'class="fr-input"' in html


@pytest.mark.parametrize("control", [
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200e", "\u200f", "\u061c",
])
def test_a_bidirectional_control_is_refused_with_the_field_and_the_fix(control):
    """« \u202eNAIDN » displays as « NDIAN »: a name reads as it was typed or is refused
    (core.normalization.BIDI_CONTROLS), never silently cleaned into another."""
    form = NamesForm(data={"last_name": f"{control}NAIDN", "first_name": f"Na{control}dia"})
    assert not form.is_valid()
    assert form.errors["last_name"] == [
        "Votre nom contient un caractère invisible qui change le sens d'affichage du texte "
        "(souvent ajouté par un copier-coller) : effacez-le et saisissez votre nom de nouveau "
        "au clavier."]
    assert form.errors["first_name"] == [
        "Votre prénom contient un caractère invisible qui change le sens d'affichage du texte "
        "(souvent ajouté par un copier-coller) : effacez-le et saisissez votre prénom de "
        "nouveau au clavier."]


def test_zero_width_characters_are_still_removed_from_a_name():
    form = NamesForm(data={"last_name": "Ben\u200b Sa\u00adïd\u2060", "first_name": "Na\ufeffdia"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"last_name": "Ben Saïd", "first_name": "Nadia"}
