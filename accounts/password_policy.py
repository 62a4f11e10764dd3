"""The published password rules, their wording (French source, translatable), and a
strength word.

One source for the server (every page that sets a password) and for the live checklist of
static/js/password-rules.js, which receives RULES through the template
(`new_password_context`, `password_rules_script`) so that the browser and the server say the
same thing.

Two policies, the same rules:
- families and pupils: the published rules (1 upper case, 1 lower case, 1 digit, 1 special
  character of the list, 8 characters at least), not a common password, no name or
  identifier inside;
- back-office staff, who reach thousands of families' data: the same, with at least
  STAFF_MIN_LENGTH characters and neither the email address inside.

As Django validators (AUTH_PASSWORD_VALIDATORS): EduConnectPasswordValidator applies the staff
policy to staff accounts (see is_staff_user), the published one to the others;
StaffPasswordValidator always applies the staff policy. Every Django path that sets a
password through validate_password obeys them: the back-office's password change,
`changepassword`, `createsuperuser`, the staff services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import Promise
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from core.i18n import lazy_interpolate
from core.normalization import name_key, name_key_js_table, password_normalize

from .models import AccountKind

MIN_LENGTH = 8
# Back-office staff: ANSSI's recommendation for a password guarding sensitive data without
# another long secret is 12 to 14 characters at least; their second factor does not make a
# short first one acceptable.
STAFF_MIN_LENGTH = 14
# Long enough for any passphrase, short enough that nobody posts megabytes to the hasher.
# The one maximum of a new password: the policy (below), the new-password fields
# (NewPasswordField) and their error read it.
MAX_LENGTH = 128
# The seeds' list, in their order.
SPECIAL_CHARACTERS = "!?@#$(){}[]_&=+-%°*<>£µ/.:;,"
SPECIAL_CHARACTERS_DISPLAY = " ".join(SPECIAL_CHARACTERS)
# Strength: every rule met and at least this long reads « Fort ».
STRONG_LENGTH = 12

STRENGTH_WEAK = _("Faible")
STRENGTH_MEDIUM = _("Moyen")
STRENGTH_STRONG = _("Fort")


@dataclass(frozen=True)
class Rule:
    key: str
    label: Promise  # the checklist line, as the seeds word it
    error: Promise  # the error shown under the field when the rule is not met


RULES: tuple[Rule, ...] = (
    Rule("upper", _("Doit contenir 1 majuscule"),
         _("Le mot de passe doit contenir au moins 1 majuscule.")),
    Rule("lower", _("Doit contenir 1 minuscule"),
         _("Le mot de passe doit contenir au moins 1 minuscule.")),
    Rule("digit", _("Doit contenir 1 chiffre"),
         _("Le mot de passe doit contenir au moins 1 chiffre.")),
    Rule("special",
         lazy_interpolate(_("Doit contenir 1 caractère spécial parmi %(characters)s"),
                          characters=SPECIAL_CHARACTERS_DISPLAY),
         lazy_interpolate(
             _("Le mot de passe doit contenir au moins 1 caractère spécial parmi "
               "%(characters)s."),
             characters=SPECIAL_CHARACTERS_DISPLAY)),
    Rule("length",
         lazy_interpolate(_("Doit contenir %(min_length)s caractères minimum"),
                          min_length=MIN_LENGTH),
         lazy_interpolate(_("Le mot de passe doit contenir au moins %(min_length)s caractères."),
                          min_length=MIN_LENGTH)),
)

ERROR_TOO_LONG = lazy_interpolate(
    _("Le mot de passe ne doit pas dépasser %(max_length)s caractères."), max_length=MAX_LENGTH
)
# Under a new-password field whose typed or pasted value is over MAX_LENGTH (issue 13): the
# field's label, the limit, and how long the value was, so that nobody wonders what is wrong.
ERROR_FIELD_TOO_LONG = _(
    "Le champ « %(label)s » ne doit pas dépasser %(max_length)s caractères ; vous en avez "
    "saisi %(length)s : raccourcissez le mot de passe."
)
ERROR_COMMON = _(
    "Ce mot de passe est trop courant : il figure parmi les mots de passe les plus utilisés. "
    "Choisissez-en un autre."
)
ERROR_CONTAINS_NAME = _(
    "Le mot de passe ne doit pas contenir votre nom, votre prénom ou votre identifiant. "
    "Choisissez-en un autre."
)
ERROR_STAFF_TOO_SHORT = lazy_interpolate(
    _("Le mot de passe est trop court : il doit contenir au moins %(min_length)s caractères "
      "pour un compte de l'espace de gestion."),
    min_length=STAFF_MIN_LENGTH,
)
ERROR_STAFF_CONTAINS_PERSONAL_DATA = _(
    "Le mot de passe ne doit contenir ni le nom, ni le prénom, ni l'identifiant, ni "
    "l'adresse mail de son titulaire. Choisissez-en un autre."
)
STAFF_HELP_TEXT = lazy_interpolate(
    _("Au moins %(min_length)s caractères, dont 1 majuscule, 1 minuscule, 1 chiffre et 1 "
      "caractère spécial parmi %(characters)s ; ni un mot de passe courant, ni le nom, le "
      "prénom, l'identifiant ou l'adresse mail de son titulaire."),
    min_length=STAFF_MIN_LENGTH, characters=SPECIAL_CHARACTERS_DISPLAY,
)
ERROR_MISMATCH = _(
    "La confirmation ne correspond pas au mot de passe. Saisissez deux fois le même mot de passe."
)
ERROR_SAME_AS_CURRENT = _(
    "Ce mot de passe est déjà celui de votre compte. Choisissez un mot de passe différent de "
    "votre mot de passe actuel."
)
ERROR_REQUIRED = _("Saisissez un mot de passe.")
ERROR_CONFIRMATION_REQUIRED = _("Saisissez une deuxième fois le mot de passe pour le confirmer.")

# Passwords are judged in NFKC (accounts.hashers), which turns the listed micro sign « µ »
# (U+00B5) into the Greek « μ » (U+03BC): the list's NFKC forms count too.
_SPECIAL_RE = re.compile(
    "[" + re.escape(SPECIAL_CHARACTERS + password_normalize(SPECIAL_CHARACTERS)) + "]"
)
# Names shorter than this are not looked for (« Li » would forbid every password with "li").
_MIN_NAME_PART = 3


def _checks(password: str) -> dict[str, bool]:
    return {
        "upper": any(c.isupper() for c in password),
        "lower": any(c.islower() for c in password),
        "digit": any(c in "0123456789" for c in password),
        "special": bool(_SPECIAL_RE.search(password)),
        "length": len(password) >= MIN_LENGTH,
    }


def rule_results(password: str) -> list[tuple[Rule, bool]]:
    """Each published rule with whether `password` meets it (the checklist's state), judged
    on its NFKC form, the form that is hashed (accounts.hashers)."""
    checks = _checks(password_normalize(password or ""))
    return [(rule, checks[rule.key]) for rule in RULES]


def strength(password: str) -> str:
    """« Faible » until every rule is met, then « Moyen », then « Fort » from 12 characters
    (of the NFKC form)."""
    password = password_normalize(password or "")
    if not all(_checks(password).values()):
        return str(STRENGTH_WEAK)
    return str(STRENGTH_STRONG if len(password) >= STRONG_LENGTH else STRENGTH_MEDIUM)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # Django's list (20,000 entries, lowercase); loaded once per process.
    return frozenset(CommonPasswordValidator().passwords)


# Look-alike digits and signs people put for letters (« p@ssw0rd »): « 1 » is tried as both.
_LOOK_ALIKES = (str.maketrans("0345$@7!", "oeasaati"), str.maketrans("0345$@7!1", "oeasaatil"),
                str.maketrans("0345$@7!1", "oeasaatll"))
# What people add around a common word to pass the rules: digits and signs at either end.
_AFFIXES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def is_common(password: str) -> bool:
    """Whether `password` is one of the most used passwords (Django's list of 20,000) or one
    of them dressed up to pass the rules: capitals, digits and signs added at either end,
    look-alike digits for letters (« Passw0rd! », « Azerty2024! », « P@ssword1 »). NIST
    SP 800-63B §5.1.1.2 asks to refuse passwords from breach corpuses and dictionary words;
    these variations are what those corpuses hold most (a tryout set « Passw0rd! »)."""
    common = _common_passwords()
    typed = password.lower().strip()
    bare = _AFFIXES.sub("", typed)
    candidates = {typed, bare}
    for table in _LOOK_ALIKES:
        candidates.add(typed.translate(table))
        candidates.add(_AFFIXES.sub("", typed.translate(table)))
    return any(len(word) >= 4 and word in common for word in candidates)


def personal_parts(*, first_name: str = "", last_name: str = "", identifier: str = "",
                   email: str = "") -> set[str]:
    """The comparison keys that a password must not contain."""
    parts = set()
    for value in (first_name, last_name):
        # "Jean-Éric" forbids "jeaneric", "jean" and "eric".
        parts.add(name_key(value))
        parts.update(name_key(p) for p in re.split(r"[\s\-'’]+", value or ""))
    if identifier:
        parts.add(name_key(identifier))
    if email:
        # "anne.coeur@ac-creteil.fr" forbids "annecoeur", "anne" and "coeur".
        local = email.partition("@")[0]
        parts.add(name_key(local))
        parts.update(name_key(p) for p in re.split(r"[._+\-]+", local))
    return {p for p in parts if len(p) >= _MIN_NAME_PART}


def contains_personal_data(password: str, parts: set[str]) -> bool:
    # Both sides folded the same way: case, accents and separators ignored.
    folded = name_key(password)
    return any(part in folded for part in parts)


def password_errors(
    password: str, *, first_name: str = "", last_name: str = "", identifier: str = ""
) -> list[str]:
    """Every error for `password`, in the active language (empty list: the password is
    acceptable)."""
    return _errors(password, first_name=first_name, last_name=last_name,
                   identifier=identifier, staff=False)


def staff_password_errors(
    password: str, *, first_name: str = "", last_name: str = "", identifier: str = "",
    email: str = "",
) -> list[str]:
    """Every error for a back-office password (the staff policy), in the active language."""
    return _errors(password, first_name=first_name, last_name=last_name,
                   identifier=identifier, email=email, staff=True)


def _errors(password: str, *, first_name: str, last_name: str, identifier: str,
            email: str = "", staff: bool) -> list[str]:
    if not password:
        return [str(ERROR_REQUIRED)]
    # Judged as it is hashed (accounts.hashers): « é » in two code points is one letter,
    # a full-width « Ａ » is an upper-case A, the ligature « ﬁ » is two lower-case letters.
    password = password_normalize(password)
    if len(password) > MAX_LENGTH:
        return [str(ERROR_TOO_LONG)]
    errors = [rule.error for rule, ok in rule_results(password)
              if not ok and not (staff and rule.key == "length")]
    if staff and len(password) < STAFF_MIN_LENGTH:
        errors.append(ERROR_STAFF_TOO_SHORT)
    if is_common(password):
        errors.append(ERROR_COMMON)
    parts = personal_parts(first_name=first_name, last_name=last_name, identifier=identifier,
                           email=email if staff else "")
    if contains_personal_data(password, parts):
        errors.append(ERROR_STAFF_CONTAINS_PERSONAL_DATA if staff else ERROR_CONTAINS_NAME)
    return [str(error) for error in errors]


def password_rules_for_js() -> dict:
    """What static/js/password-rules.js needs besides the person's own names: the rules,
    the special characters, the lengths, the strength words and name_key's fold table, in
    the active language. The page carries it through password_rules_script."""
    return {
        "rules": [{"key": r.key, "label": str(r.label)} for r in RULES],
        "special": SPECIAL_CHARACTERS,
        "minLength": MIN_LENGTH,
        "strongLength": STRONG_LENGTH,
        "words": {"weak": str(STRENGTH_WEAK), "medium": str(STRENGTH_MEDIUM),
                  "strong": str(STRENGTH_STRONG)},
        # name_key's transliteration of the Latin letters (« ı » → « i »), so that the live
        # check finds « Halıcı » in a password as the server does (issue 16).
        "fold": name_key_js_table(),
    }


# password_rules_script's text per language. Forgotten when a setting changes (tests).
_RULES_SCRIPTS: dict[str, SafeString] = {}


@receiver(setting_changed)
def _rules_scripts_forget(**kwargs) -> None:
    _RULES_SCRIPTS.clear()


def password_rules_script() -> SafeString:
    """`<script id="password-rules-config" type="application/json">…</script>`: the
    password_rules_for_js of the active language, escaped as Django's json_script does.

    The same bytes for every visitor, so it is built once per process and language: its
    10 kB (mostly the fold table) took 1.2 ms of CPU per page through json_script, a fifth
    of the activation's password page (issue 14)."""
    language = get_language() or ""
    script = _RULES_SCRIPTS.get(language)
    if script is None:
        script = _RULES_SCRIPTS[language] = json_script(password_rules_for_js(),
                                                        "password-rules-config")
    return script


def new_password_context(*, first_name: str = "", last_name: str = "",
                         identifier: str = "") -> dict:
    """What templates/components/new_password.html shows beside a new password's form, for
    every page that sets one (the activations, « Mot de passe oublié ? », « Mon compte »):

    - `checklist`: each published rule as {"key", "label"}, in a neutral state: the fields
      come back empty after a refused submit, and static/js/password-rules.js marks the
      rules as the person types;
    - `password_rules_script`: password_rules_script();
    - `password_personal`: the sorted keys of the person's names and identifier that the
      live check looks for in the password (personal_parts), as the server refuses them.
    """
    return {
        "checklist": [{"key": rule.key, "label": rule.label} for rule in RULES],
        "password_rules_script": password_rules_script(),
        "password_personal": sorted(personal_parts(
            first_name=first_name, last_name=last_name, identifier=identifier)),
    }


def is_staff_user(user) -> bool:
    """Whether `user`'s password follows the staff policy: a staff or superuser account, or an
    Account whose kind is not set yet (`createsuperuser` validates the password on one built
    from the identifier alone; a family's or a pupil's account always has its kind)."""
    if user is None:
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    return getattr(user, "kind", None) in (AccountKind.STAFF, "")


def _user_facts(user) -> dict[str, str]:
    return {name: getattr(user, name, "") or "" for name in ("first_name", "last_name",
                                                               "identifier", "email")}


class EduConnectPasswordValidator:
    """The product's policy as a Django password validator (AUTH_PASSWORD_VALIDATORS): the
    staff policy for staff accounts (see is_staff_user), the published rules for families
    and pupils. The user's names, identifier (and, for staff, email) are read from `user`."""

    def validate(self, password, user=None):
        facts = _user_facts(user)
        if is_staff_user(user):
            errors = staff_password_errors(password, **facts)
        else:
            facts.pop("email")
            errors = password_errors(password, **facts)
        if errors:
            raise ValidationError(errors, code="password_policy")

    def get_help_text(self):
        return " ; ".join(str(rule.label) for rule in RULES) + (
            gettext(" (%(min_length)s caractères minimum pour un compte de l'espace de gestion).")
            % {"min_length": STAFF_MIN_LENGTH}
        )


class StaffPasswordValidator:
    """The staff policy, whoever the user is: for the back-office's own forms and services,
    which know the password is a staff member's before the account exists."""

    def validate(self, password, user=None):
        errors = staff_password_errors(password, **_user_facts(user))
        if errors:
            raise ValidationError(errors, code="password_policy")

    def get_help_text(self):
        return STAFF_HELP_TEXT


NEW_PASSWORD_ATTRS = {
    "class": "fr-password__input fr-input", "autocomplete": "new-password",
    "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
}


class NewPasswordField(forms.CharField):
    """A new password or its confirmation (activation, « Mot de passe oublié ? », « Mon
    compte »): kept as typed (no strip), refused above MAX_LENGTH characters with
    ERROR_FIELD_TOO_LONG, which names the field, the limit and the length typed.

    The input has no HTML `maxlength` on purpose (issue 13): a browser cuts a pasted
    304-character password to the limit without a word, the cut one would be accepted and
    the one the person keeps would never sign in. The length is judged on the server only.
    `label` and `required_message` are (lazy) French texts.
    """

    default_error_messages = {"too_long": ERROR_FIELD_TOO_LONG}

    def __init__(self, *, label, required_message, **kwargs):
        kwargs.setdefault("widget", forms.PasswordInput(attrs=dict(NEW_PASSWORD_ATTRS)))
        super().__init__(label=label, strip=False,
                         error_messages={"required": required_message}, **kwargs)

    def validate(self, value):
        super().validate(value)
        if value and len(value) > MAX_LENGTH:
            raise ValidationError(
                self.error_messages["too_long"], code="max_length",
                params={"label": str(self.label), "max_length": MAX_LENGTH,
                        "length": len(value)},
            )
