"""The published password rules (accounts.password_policy), as activation and later the
password change apply them."""

import pytest
from django.core.exceptions import ValidationError

from accounts import password_policy as policy


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("cartable-vert-24", "1 majuscule"),
        ("CARTABLE-VERT-24", "1 minuscule"),
        ("Cartable-Vert-!!", "1 chiffre"),
        ("CartableVert2024", "1 caractère spécial"),
        ("Ca-24rt", "8 caractères"),
    ],
)
def test_each_rule_is_checked_with_its_french_message(password, missing):
    errors = policy.password_errors(password)
    assert len(errors) == 1 and missing in errors[0]


@pytest.mark.parametrize("special", list("!?@#$(){}[]_&=+-%°*<>£µ/.:;,"))
def test_every_listed_special_character_counts(special):
    assert policy.password_errors(f"Cartable24{special}") == []


def test_a_character_outside_the_list_is_not_special():
    assert "1 caractère spécial" in policy.password_errors("Cartable24~")[0]


def test_checklist_states_follow_the_typed_password():
    states = {rule.key: ok for rule, ok in policy.rule_results("abcD")}
    assert states == {"upper": True, "lower": True, "digit": False, "special": False,
                      "length": False}
    assert policy.RULES[0].label == "Doit contenir 1 majuscule"


@pytest.mark.parametrize(
    ("password", "word"),
    [("abc", "Faible"), ("Cartable1", "Faible"), ("Cartab1e!", "Moyen"),
     ("Cartable-Vert-24", "Fort")],
)
def test_strength_word(password, word):
    assert policy.strength(password) == word


def test_common_passwords_are_refused_whatever_their_case():
    assert policy.ERROR_COMMON in policy.password_errors("Password1!")
    assert policy.ERROR_COMMON in policy.password_errors("P@ssw0rd")


@pytest.mark.parametrize("password", ["Passw0rd!", "Azerty2024!", "P@ssword1", "!!Soleil2024",
                                      "Motdepasse1!", "1234Abcd!"])
def test_common_passwords_dressed_up_to_pass_the_rules_are_refused(password):
    # Digits and signs added at either end, look-alike digits for letters: what breach
    # corpuses hold most (NIST SP 800-63B §5.1.1.2). « Passw0rd! » passed before.
    assert policy.ERROR_COMMON in policy.password_errors(password)


@pytest.mark.parametrize("password", ["Cartable-Vert-2024!", "Maison-Bleue-7", "Tr0ub4dor&3",
                                      "Crème-Brûlée-2026!", "Lune+Velo+42"])
def test_passphrases_and_unusual_words_are_not_taken_for_common_ones(password):
    assert policy.ERROR_COMMON not in policy.password_errors(password)


@pytest.mark.parametrize(
    "password",
    ["Ndiaye-2024!", "jean-ERIC24!", "Mon.ÉRIC.24", "x/N'DIAYE/9z", "J.Ndiaye12!x"],
)
def test_names_and_identifier_are_refused_ignoring_case_accents_and_separators(password):
    errors = policy.password_errors(password, first_name="Jean-Éric", last_name="N'DIAYE",
                                    identifier="j.ndiaye12")
    assert policy.ERROR_CONTAINS_NAME in errors


def test_short_name_parts_do_not_forbid_everything():
    # « Li » would otherwise refuse every password containing "li".
    assert policy.password_errors("Olivier-Bleu-24", first_name="Li", last_name="Wu") == []


def test_too_long_passwords_are_refused_before_any_work():
    assert policy.password_errors("Aa1!" * 40) == [policy.ERROR_TOO_LONG]


def test_django_validator_uses_the_same_rules():
    class User:
        first_name, last_name, identifier = "Marie", "Curie", "m.curie10"

    validator = policy.EduConnectPasswordValidator()
    with pytest.raises(ValidationError) as error:
        validator.validate("Curie-1867!", user=User())
    assert policy.ERROR_CONTAINS_NAME in error.value.messages
    validator.validate("Polonium-1898!", user=User())
    assert "Doit contenir 1 majuscule" in validator.get_help_text()


# A pasted passphrase of 304 characters: every rule met, too long for the policy.
PASTED = ("Cartable-Vert-24!" * 18)[:304]


@pytest.mark.parametrize(("form_class", "kwargs", "labels"), [
    ("activation.forms.PasswordForm", {},
     ("Mot de passe", "Confirmation du mot de passe")),
    ("accounts.recovery.forms.NewPasswordForm", {},
     ("Nouveau mot de passe", "Confirmation du nouveau mot de passe")),
])
def test_a_new_password_over_the_maximum_is_refused_naming_the_field_and_the_limit(
        form_class, kwargs, labels):
    # Issue 13: the input used to carry maxlength="128", so the browser cut a pasted
    # password silently and the cut one was accepted. Now the whole value reaches the
    # server and is refused with the field's name, the limit and the length typed.
    module, _dot, name = form_class.rpartition(".")
    form_cls = getattr(__import__(module, fromlist=[name]), name)
    form = form_cls(data={"password": PASTED, "password_confirm": PASTED}, **kwargs)
    assert not form.is_valid()
    for field, label in zip(("password", "password_confirm"), labels, strict=True):
        assert form.errors[field] == [
            f"Le champ « {label} » ne doit pas dépasser {policy.MAX_LENGTH} caractères ; "
            "vous en avez saisi 304 : raccourcissez le mot de passe."]
        assert "maxlength" not in str(form[field])
    # At the maximum exactly, the length is no reason to refuse.
    at_limit = PASTED[:policy.MAX_LENGTH]
    assert form_cls(data={"password": at_limit, "password_confirm": at_limit},
                    **kwargs).is_valid()


def test_one_maximum_for_the_policy_and_the_fields():
    assert policy.MAX_LENGTH == 128
    assert policy.password_errors(PASTED[:policy.MAX_LENGTH]) == []
    assert policy.password_errors(PASTED[:policy.MAX_LENGTH + 1]) == [policy.ERROR_TOO_LONG]
