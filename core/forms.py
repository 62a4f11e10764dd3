"""Forms shared by every app: the base form of every page and the fields that read what
people type the same way everywhere.

## The base form

Forms subclass `EduConnectForm` (django-dsfr's `DsfrBaseForm`) and render each field with
`{{ form.field.as_field_group }}`, through django-dsfr's field snippets. FORM_RENDERER is
Django's `TemplatesSetting` (core.form_renderer.FormRenderer, which writes the text-like
`<input>`s in Python, as Django's templates do): form templates are found like every other
template, so the
project's `templates/dsfr/form_field_snippets/` replaces django-dsfr's snippets of the same
name. Ours give the hint and the messages the ids Django's `aria-describedby` points at
(`<id>_helptext`, `<id>_error`); django-dsfr's point it at the error only, and drop the hint.

A non-field error can be about what was typed in every field (« Identifiant ou mot de passe
incorrect. »): a form says so in `non_field_errors_concern_fields()`, and each of its inputs
is then marked invalid and described by the error summary's message (see
templates/components/error_summary.html, which carries NON_FIELD_ERRORS_ID).
"""

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EMPTY_VALUES
from django.utils.deconstruct import deconstructible
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBaseForm, DsfrBoundField
from phonenumber_field.formfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from .i18n import lazy_interpolate
from .normalization import (
    FRENCH_REGIONS,
    InvalidPhoneNumber,
    clean_name,
    foreign_country_code,
    has_bidi_control,
    is_french_landline,
    name_key,
    parse_mobile_phone,
)

MOBILE_PHONE_INVALID = _(
    "Ce numéro n'est pas un numéro de téléphone portable valide. Saisissez un numéro de "
    "portable, par exemple 06 12 34 56 78, ou avec l'indicatif pour un numéro hors de France "
    "métropolitaine, par exemple +262 692 12 34 56."
)
MOBILE_PHONE_TOO_LONG = _(
    "Ce numéro est trop long. Saisissez un numéro de téléphone portable, par exemple "
    "06 12 34 56 78."
)
# A number in international form with a foreign code that is no valid mobile there. Foreign
# mobiles are accepted (a family living abroad: FrenchMobileNumberField), so the message says
# which code the number was read with, not that only French numbers are accepted.
MOBILE_PHONE_FOREIGN_INVALID = _(
    "Ce numéro n'est pas un numéro de téléphone portable valide pour l'indicatif "
    "+%(country_code)s. Vérifiez l'indicatif et le numéro, ou saisissez un numéro de portable "
    "français, par exemple 06 12 34 56 78."
)
MOBILE_PHONE_REQUIRED = _("Saisissez un numéro de téléphone portable.")
MOBILE_PHONE_LANDLINE = _(
    "Ce numéro n'est pas un numéro de téléphone portable valide : c'est celui d'un téléphone "
    "fixe, qui ne reçoit pas de SMS. Saisissez un numéro de portable, par exemple "
    "06 12 34 56 78."
)


# Ids of the error summary and of its element holding the non-field errors.
# The one birth date given as an example on every page that asks for one (the hints « Par
# exemple : … » and the date errors, activation.forms, activation.provisional.forms, the
# {% birth_date_example %} tag): one example per page, whatever the message shown.
BIRTH_DATE_EXAMPLE = "17 05 2014"

ERROR_SUMMARY_ID = "error-summary"
NON_FIELD_ERRORS_ID = "error-summary-message"


class EduConnectBoundField(DsfrBoundField):
    @property
    def group_class(self) -> str:
        """The DSFR class of the field's wrapper (django-dsfr sets it on some widgets)."""
        return getattr(self.field.widget, "group_class", "fr-input-group")

    @property
    def aria_describedby(self):
        own = self.form.field_described_by(self)
        return super().aria_describedby if own is None else own

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if not self.is_hidden and self.form.field_invalid(self):
            attrs["aria-invalid"] = "true"
        if not self.is_hidden and self.form.non_field_errors_concern_fields():
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = " ".join(
                filter(None, [NON_FIELD_ERRORS_ID, attrs.get("aria-describedby")])
            )
        return attrs


def error_summary_items(form) -> list[dict]:
    """The default items of the error summary: the form's own errors, then each field's,
    linked to the field (any Django form)."""
    items = [{"anchor": "", "label": "", "message": str(e)} for e in form.non_field_errors()]
    for field in form:
        for error in field.errors:
            if field.is_hidden:
                items.append({"anchor": "", "label": "", "message": str(error)})
            else:
                items.append({"anchor": field.id_for_label, "label": field.label,
                              "message": str(error)})
    return items


class EduConnectForm(DsfrBaseForm):
    bound_field_class = EduConnectBoundField

    def error_summary_items(self) -> list[dict]:
        """The errors of the error summary, in page order: {"anchor", "label", "message"};
        an empty anchor for an error that belongs to no visible field. A form whose fields
        are shown in groups of its own (one date in three inputs) says so here."""
        return error_summary_items(self)

    def field_described_by(self, field) -> str | None:
        """The ids `field`'s input points at, for a form whose template groups messages its
        own way (one date in three inputs); None: Django's (`<id>_helptext <id>_error`)."""
        return None

    def field_invalid(self, field) -> bool:
        """Whether `field`'s input is marked invalid beyond its own errors (an input of a
        group whose error is filed on another)."""
        return False

    def non_field_errors_concern_fields(self) -> bool:
        """Whether the non-field errors are about the values of the fields (so each input is
        invalid and described by them); a form whose refusal is about something else (too
        many attempts) leaves the inputs alone."""
        return False


class FrenchMobileNumberField(PhoneNumberField):
    """A mobile number of metropolitan France or an overseas region, as people type it.

    Built on django-phonenumber-field's form field, with the rules of
    core.normalization.parse_mobile_phone: a national form (06…, 0692…) is read in `region`
    first (the school's region when it is known: UAI 974… reads « 0692 12 34 56 » in La
    Réunion), then in metropolitan France and every overseas region; international forms
    (+262…, 00262…, and the foreign mobile of a family living abroad) are read as written;
    spaces, dots, dashes and brackets are ignored; only a mobile number is accepted. A number
    in international form with a foreign code that is no valid mobile there is told which
    code it was read with (« … pour l'indicatif +44 »), not the French examples only.
    `region` may be set after construction (a form that learns its school in __init__).

    Cleaned value: the E.164 string (« +262692123456 »), or "" when the field is optional and
    left empty — a str, as the services and the models take it.

    `label_in_errors`: start every message with the field's label (« Téléphone portable : Ce
    numéro… »), for pages that show errors without their label (the admin); pages that show
    the label beside the message (activation's error summary) leave it off.

    Where no region can be known and every reading matters (the helpdesk's search box),
    core.normalization.mobile_phone_readings applies the same rules.
    """

    default_error_messages = {
        "invalid": MOBILE_PHONE_INVALID,
        "foreign_invalid": MOBILE_PHONE_FOREIGN_INVALID,
        "landline": MOBILE_PHONE_LANDLINE,
        "required": MOBILE_PHONE_REQUIRED,
        "max_length": MOBILE_PHONE_TOO_LONG,
    }

    def __init__(self, *, region: str = "FR", label_in_errors: bool = False,
                 max_length: int = 30, autocomplete: str = "tel", widget=None, **kwargs):
        if region not in FRENCH_REGIONS:
            raise ValueError(f"{region!r} is not a French region ({', '.join(FRENCH_REGIONS)})")
        if widget is None:
            widget = forms.TextInput(attrs={"type": "tel", "inputmode": "tel",
                                            "autocomplete": autocomplete})
        super().__init__(region=region, widget=widget, max_length=max_length, **kwargs)
        if label_in_errors and self.label:
            for code in ("invalid", "foreign_invalid", "landline", "required", "max_length"):
                self.error_messages[code] = format_lazy("{} : {}", self.label,
                                                        self.error_messages[code])

    def to_python(self, value) -> str:
        if value in EMPTY_VALUES:
            return ""
        if isinstance(value, PhoneNumber):
            value = value.as_e164
        text = str(value).strip()
        if not text:
            return ""
        if self.max_length is not None and len(text) > self.max_length:
            # Before any parsing: nobody posts a page of digits to the parser.
            raise ValidationError(self.error_messages["max_length"], code="max_length")
        try:
            return parse_mobile_phone(text, preferred_region=self.region)
        except InvalidPhoneNumber:
            if is_french_landline(text, preferred_region=self.region):
                raise ValidationError(self.error_messages["landline"],
                                      code="landline") from None
            if (country_code := foreign_country_code(text)) is not None:
                raise ValidationError(self.error_messages["foreign_invalid"],
                                      code="foreign_invalid",
                                      params={"country_code": country_code}) from None
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def prepare_value(self, value):
        # A stored number is shown in its international form (+262 692 12 34 56), which reads
        # back the same from any school; what someone typed is shown as they typed it.
        if isinstance(value, PhoneNumber) and value.is_valid():
            return value.as_international
        return value



# --- Names -------------------------------------------------------------------------------

# The characters a name may hold besides letters: spaces, hyphens (the ASCII one and the
# Unicode hyphens a phone keyboard types), apostrophes (straight, typographic, modifier).
NAME_PUNCTUATION = frozenset(" -\u2010\u2011'\u2019\u02bc")
# The period that ends an abbreviation (« St. Pierre », « Ste. Marie », « J.-P. »): civil
# registries and SIECLE exports write it, the roster import keeps it. Accepted right after a
# letter only; name_key drops it, so « St. Pierre » and « St Pierre » are one name.
NAME_ABBREVIATION_PERIOD = "."
# Variation selectors are combining marks (Mn) that only dress a symbol as an emoji.
_VARIATION_SELECTORS = (range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))


def _name_letter_or_mark(character: str) -> bool:
    """Whether `character` is a letter of any script or a combining mark (an accent typed
    apart), a variation selector excepted."""
    category = unicodedata.category(character)
    if category.startswith("L"):
        return True
    return category.startswith("M") and not any(
        ord(character) in selectors for selectors in _VARIATION_SELECTORS)


def name_characters_valid(name: str) -> bool:
    """Whether `name` holds only the characters of a person's name: letters of any script,
    with or without accents (precomposed or combining), spaces, hyphens and apostrophes
    (NAME_PUNCTUATION), and a period right after a letter, the end of an abbreviation
    (« St. Pierre », « Ste. Marie »: NAME_ABBREVIATION_PERIOD). Digits, symbols, emoji,
    other punctuation and a period after anything but a letter (« . Pierre », « St.. »,
    « St -. ») are refused.

    `name` is read as typed after core.normalization.clean_name (invisible characters, such
    as an emoji's zero-width joiner, already removed)."""
    previous_is_letter = False
    for character in name:
        if character == NAME_ABBREVIATION_PERIOD:
            if not previous_is_letter:
                return False
            previous_is_letter = False
            continue
        if character in NAME_PUNCTUATION:
            previous_is_letter = False
            continue
        if not _name_letter_or_mark(character):
            return False
        previous_is_letter = True
    return True


NAME_MESSAGES = {
    "last_name": {
        "required": _("Saisissez votre nom."),
        "max_length": _("Votre nom comporte au plus %(max_length)s caractères : vérifiez votre "
                        "saisie."),
        "characters": _("Votre nom ne peut contenir que des lettres, accentuées ou non, des "
                        "espaces, des traits d'union, des apostrophes et le point d'une "
                        "abréviation (« St. ») : retirez les chiffres, symboles et émojis."),
        "no_letter": _("Votre nom doit contenir au moins une lettre."),
        "bidi": _("Votre nom contient un caractère invisible qui change le sens d'affichage "
                  "du texte (souvent ajouté par un copier-coller) : effacez-le et saisissez "
                  "votre nom de nouveau au clavier."),
    },
    "first_name": {
        "required": _("Saisissez votre prénom."),
        "max_length": _("Votre prénom comporte au plus %(max_length)s caractères : vérifiez "
                        "votre saisie."),
        "characters": _("Votre prénom ne peut contenir que des lettres, accentuées ou non, des "
                        "espaces, des traits d'union, des apostrophes et le point d'une "
                        "abréviation (« St. ») : retirez les chiffres, symboles et émojis."),
        "no_letter": _("Votre prénom doit contenir au moins une lettre."),
        "bidi": _("Votre prénom contient un caractère invisible qui change le sens "
                  "d'affichage du texte (souvent ajouté par un copier-coller) : effacez-le et "
                  "saisissez votre prénom de nouveau au clavier."),
    },
    "pupil_name": {
        "required": _("Saisissez le nom et le prénom de votre enfant."),
        "max_length": _("Le nom et le prénom de votre enfant comportent au plus "
                        "%(max_length)s caractères : vérifiez votre saisie."),
        "characters": _("Le nom et le prénom de votre enfant ne peuvent contenir que des "
                        "lettres, accentuées ou non, des espaces, des traits d'union, des "
                        "apostrophes et le point d'une abréviation (« St. ») : retirez les "
                        "chiffres, symboles et émojis."),
        "no_letter": _("Le nom et le prénom de votre enfant doivent contenir au moins une "
                       "lettre."),
        "bidi": _("Le nom et le prénom de votre enfant contiennent un caractère invisible qui "
                  "change le sens d'affichage du texte (souvent ajouté par un copier-coller) : "
                  "effacez-les et saisissez-les de nouveau au clavier."),
    },
}


# How many characters a name may have as typed, per character once cleaned (clean_name drops
# invisible characters and runs of spaces).
RAW_NAME_FACTOR = 4


class PersonNameField(forms.CharField):
    """A person's name as people type it, checked the same way on every public form.

    `kind`: « last_name », « first_name » or « pupil_name » (NAME_MESSAGES: each message
    names the field and says the fix). `max_length`: the column the name is compared with
    or stored in (GuardianRecord.last_name/first_name: 100), checked first: as typed against
    RAW_NAME_FACTOR times it (a page of text is never scanned), then after clean_name; a
    bidirectional control (core.normalization.has_bidi_control) is refused before clean_name
    (message « bidi »), the other invisible characters are removed by it. Then
    the characters (name_characters_valid), then at least one letter
    (core.normalization.name_key).
    `no_letter` overrides the last message (a form whose fix names its source).

    The checks read only what was typed: a form that looks a person up does the same work
    for every name it refuses, before any lookup.

    Cleaned value: core.normalization.clean_name of the input ("" when optional and empty).
    """

    def __init__(self, *, kind: str, max_length: int = 100, no_letter=None,
                 autocomplete: str = "off", widget=None, **kwargs):
        messages = dict(NAME_MESSAGES[kind])
        messages["max_length"] = lazy_interpolate(messages["max_length"],
                                                  max_length=max_length)
        if no_letter is not None:
            messages["no_letter"] = no_letter
        messages.update(kwargs.pop("error_messages", {}) or {})
        if widget is None:
            widget = forms.TextInput(attrs={"class": "fr-input", "autocomplete": autocomplete,
                                            "spellcheck": "false"})
        super().__init__(max_length=max_length, error_messages=messages, widget=widget,
                         **kwargs)

    def to_python(self, value) -> str:
        value = super().to_python(value)
        # Before cleaning: a page of text is refused without being scanned (cleaning 1 MB
        # takes ~0.2 s). Room is left for the invisible characters and spaces cleaning drops.
        if self.max_length is not None and len(value) > RAW_NAME_FACTOR * self.max_length:
            raise ValidationError(self.error_messages["max_length"], code="max_length")
        # Before cleaning, which would drop them: a bidirectional control is refused, not
        # removed (core.normalization.BIDI_CONTROLS); other invisible characters are removed.
        if has_bidi_control(value):
            raise ValidationError(self.error_messages["bidi"], code="bidi")
        value = clean_name(value)
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError(self.error_messages["max_length"], code="max_length")
        return value

    def validate(self, value) -> None:
        super().validate(value)
        if value in self.empty_values:
            return
        if not name_characters_valid(value):
            raise ValidationError(self.error_messages["characters"], code="characters")
        if not name_key(value):
            raise ValidationError(self.error_messages["no_letter"], code="no_letter")

    def widget_attrs(self, widget):
        # No maxlength in the page: the browser would cut a pasted name silently; the
        # server says it is too long.
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


# --- Free text ---------------------------------------------------------------------------

BIDI_CONTROL_MESSAGE = _(
    "%(field)s : ce texte contient un caractère invisible qui change le sens d'affichage des "
    "mots (souvent ajouté par un copier-coller). Saisissez-le de nouveau au clavier plutôt "
    "que de le coller."
)


@deconstructible
class BidiControlValidator:
    """The validator of every free-text field families and staff type (the assistance
    form's message, the helpdesk's reply and reasons, a school's message, staff names):
    refuses a text holding a bidirectional control (core.normalization.BIDI_CONTROLS,
    the rule of UTS #55) with BIDI_CONTROL_MESSAGE naming `field` (the field's label as the
    page shows it, « Votre message », « Réponse »), code « bidi ». Names have their own
    messages (PersonNameField, NAME_MESSAGES « bidi »).

    Raises django.core.exceptions.ValidationError; returns None for any other text."""

    def __init__(self, field):
        self.field = field

    def __call__(self, value) -> None:
        if isinstance(value, str) and has_bidi_control(value):
            raise ValidationError(BIDI_CONTROL_MESSAGE, code="bidi",
                                  params={"field": self.field})

    def __eq__(self, other):
        return isinstance(other, BidiControlValidator) and str(other.field) == str(self.field)


PLAIN_TEXT_MESSAGE = _(
    "%(field)s : retirez les signes < et >, les émojis et les caractères de contrôle ; "
    "saisissez seulement des lettres, des chiffres et la ponctuation courante."
)


def plain_text_valid(text: str) -> bool:
    """Whether `text` holds no markup sign (« < », « > »), no emoji or pictograph (a symbol
    of category So or Sk from U+2190 on: arrows, dingbats, emoji, their skin tones; the
    Latin-1 « ° », « © » stay allowed, « École n° 2 »), and no control, private-use,
    surrogate or unassigned character. The rule of a short label staff type and families
    read (an establishment's name, a pupil's class)."""
    for character in text or "":
        if character in "<>":
            return False
        category = unicodedata.category(character)
        if category in ("Cc", "Co", "Cs", "Cn"):
            return False
        if category in ("So", "Sk") and ord(character) >= 0x2190:
            return False
    return True


@deconstructible
class PlainTextValidator:
    """Refuses a text plain_text_valid refuses, with PLAIN_TEXT_MESSAGE naming `field` (the
    field's label as the page shows it, « Nom », « Classe »), code « plain_text ».

    Raises django.core.exceptions.ValidationError; returns None for any other text."""

    def __init__(self, field):
        self.field = field

    def __call__(self, value) -> None:
        if isinstance(value, str) and not plain_text_valid(value):
            raise ValidationError(PLAIN_TEXT_MESSAGE, code="plain_text",
                                  params={"field": self.field})

    def __eq__(self, other):
        return isinstance(other, PlainTextValidator) and str(other.field) == str(self.field)


# --- E-mail addresses --------------------------------------------------------------------

EMAIL_MAX_LENGTH = 254  # RFC 5321's path limit, Django's EmailField's
EMAIL_TOO_LONG = lazy_interpolate(
    _("Une adresse mail comporte au plus %(max_length)s caractères : vérifiez votre saisie."),
    max_length=EMAIL_MAX_LENGTH,
)
EMAIL_INVALID = _("Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr.")


# The domains most French families' addresses are at, most used first: an address at a
# domain one typing slip away from one of them is probably that one (« gmial.com »).
COMMON_EMAIL_DOMAINS = (
    "gmail.com", "hotmail.fr", "hotmail.com", "outlook.fr", "outlook.com", "live.fr",
    "yahoo.fr", "yahoo.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "laposte.net",
    "icloud.com", "neuf.fr", "bbox.fr",
)
# Real-looking domains of those services that hold no mailboxes (the wrong ending).
EMAIL_DOMAIN_SLIPS = {"gmail.fr": "gmail.com", "icloud.fr": "icloud.com"}
EMAIL_TYPO = _(
    "Vérifiez votre adresse : vouliez-vous écrire %(suggestion)s ? Si l'adresse saisie est "
    "la bonne, validez de nouveau sans la changer."
)
# The hidden input that carries the address a warning was about (EmailAddressInput).
EMAIL_CHECKED_SUFFIX = "_verifiee"


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by exactly one edit: a character inserted, deleted or
    replaced, or two neighbours swapped (Damerau-Levenshtein distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one character inserted into a
        return a[i:] == b[i + 1:]
    if a[i + 1:] == b[i + 1:]:  # one character replaced
        return True
    return (i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]  # two swapped
            and a[i + 2:] == b[i + 2:])


def email_domain_suggestion(address: str) -> str:
    """The address with the common domain its domain is probably a slip of (« gmial.com » →
    « gmail.com »), or "" when the domain is a common one or is not one edit from any."""
    local, at, domain = address.strip().rpartition("@")
    domain = domain.lower()
    if not at or not local or domain in COMMON_EMAIL_DOMAINS:
        return ""
    if domain in EMAIL_DOMAIN_SLIPS:
        return f"{local}@{EMAIL_DOMAIN_SLIPS[domain]}"
    for common in COMMON_EMAIL_DOMAINS:
        if _one_edit_apart(domain, common):
            return f"{local}@{common}"
    return ""


class CheckedAddress(str):
    """An address as posted, with `checked`: the address the page had warned about (the
    hidden input), "" when it had warned about none."""

    checked = ""


class EmailAddressInput(forms.EmailInput):
    """The e-mail input; when it shows a posted address that gets a typo warning, a hidden
    input holding that address too: posting the same address again accepts it (no script,
    no session). Decided from the value alone, so a page rebuilt from stored data (a flow's
    refused POST, core.flows.flow_form) has it too; an address the page offers (initial,
    not posted) has none, and is warned about when first sent."""

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        if not isinstance(value, str):
            return value
        posted = CheckedAddress(value)
        posted.checked = str(data.get(name + EMAIL_CHECKED_SUFFIX, ""))
        return posted

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        if not isinstance(value, CheckedAddress) or not email_domain_suggestion(value):
            return html
        return html + format_html('<input type="hidden" name="{}" value="{}">',
                                  name + EMAIL_CHECKED_SUFFIX, value.strip())


class EmailAddressField(forms.EmailField):
    """An e-mail address as people type it, on every form that asks for one.

    Its length is checked first (at most EMAIL_MAX_LENGTH characters once trimmed): an
    over-long address gets the length message only, never the « adresse mail valide » one,
    and is not handed to the address validator. `error_messages` may reword « required » and
    « invalid ». Cleaned value: the address trimmed (forms lowercase it where they store it).

    An address at a domain one slip from a common one (COMMON_EMAIL_DOMAINS: « gmial.com »,
    « orange.fe ») is refused once with the suggestion (EMAIL_TYPO, code « typo »); the same
    address posted again is accepted (EmailAddressInput remembers it in the page): a real
    address is never blocked.
    """

    default_error_messages = {"invalid": EMAIL_INVALID, "max_length": EMAIL_TOO_LONG,
                              "typo": EMAIL_TYPO}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", EMAIL_MAX_LENGTH)
        widget = kwargs.get("widget") or forms.EmailInput
        if isinstance(widget, type):
            widget = widget()
        if not isinstance(widget, EmailAddressInput):
            widget = EmailAddressInput(attrs=dict(widget.attrs))
        kwargs["widget"] = widget
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        value = super().to_python(value)
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError(self.error_messages["max_length"], code="max_length")
        return value

    def clean(self, value):
        checked = getattr(value, "checked", "")
        value = super().clean(value)
        suggestion = email_domain_suggestion(value) if value else ""
        if suggestion and checked.strip().lower() != value.lower():
            raise ValidationError(self.error_messages["typo"], code="typo",
                                  params={"suggestion": suggestion})
        return value

    def widget_attrs(self, widget):
        # No maxlength in the page: the browser would cut a pasted address silently, and the
        # cut address would get the « valide » message instead of the length one.
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs
