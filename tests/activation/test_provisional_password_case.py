"""A school letter prints its provisional password in capitals (« 7RNCMWEN »); a phone types
it in lower case. The letter's password signs in whatever the case typed — only the letter's
(accounts.hashers.ProvisionalLetterHasher): a password the person chose keeps its case — with
the Argon2 work of any other sign-in, the unknown identifier's included."""

import pytest
from django.urls import reverse

from accounts import hashers
from accounts.models import Account, AccountState
from pupils.letters import PASSWORD_ALPHABET, letters_issue, provisional_password_generate
from tests import html
from tests.factories import AccountFactory, EstablishmentFactory, PupilFactory

pytestmark = pytest.mark.django_db

PUPIL_LOGIN = reverse("accounts:login", args=["eleve"])
NEW_PASSWORD = "Cartable-Vert-2024!"
REFUSED = "Identifiant ou mot de passe incorrect"


@pytest.fixture
def letter(commit):
    school = EstablishmentFactory(uai="9740003C", name="Collège Bourbon")
    pupil = PupilFactory(first_names="Yanis", last_name="BEN SAÏD", establishment=school)
    [issued], _counts = commit(letters_issue, establishment=school, pupil_ids=[pupil.pk],
                               actor=AccountFactory())
    return issued


def sign_in(client, identifier, password):
    return client.post(PUPIL_LOGIN, {"identifier": identifier, "password": password})


def refused(response) -> bool:
    return response.status_code != 302 and REFUSED in html.text(html.main(html.parse(response)))


@pytest.fixture
def argon2_runs(monkeypatch):
    runs = []
    real = hashers._NfkcArgon2Hasher._verify_as_is
    monkeypatch.setattr(hashers._NfkcArgon2Hasher, "_verify_as_is",
                        lambda self, *args: runs.append(1) or real(self, *args))
    return runs


def test_the_provisional_alphabet_is_capitals_and_digits_so_upper_casing_loses_nothing():
    assert PASSWORD_ALPHABET == PASSWORD_ALPHABET.upper()
    assert all(c.isascii() and (c.isupper() or c.isdigit()) for c in PASSWORD_ALPHABET)
    password = provisional_password_generate()
    assert password == password.upper()


def typed_cases(password: str) -> list[str]:
    mixed = "".join(c.lower() if i % 2 else c for i, c in enumerate(password))
    return [password.lower(), mixed]


@pytest.mark.parametrize("case", [0, 1], ids=["lower case", "mixed case"])
def test_the_letters_password_signs_in_typed_in_any_case(client, letter, case, argon2_runs):
    typed = typed_cases(letter.password)[case]
    assert typed != letter.password
    response = sign_in(client, letter.identifier.lower(), typed)
    assert response.status_code == 302, html.text(html.main(html.parse(response)))
    # One Argon2 verification, as for the capitals printed.
    assert len(argon2_runs) == 1
    page = client.get(response["Location"], follow=True)
    assert "Je choisis mon nouveau mot de passe" in html.text(html.parse(page).find("title"))


def test_the_capitals_printed_still_sign_in_and_are_never_rehashed_to_the_case_typed(
        client, letter):
    assert sign_in(client, letter.identifier, letter.password.lower()).status_code == 302
    client.post(reverse("accounts:logout"))
    # Signing in in lower case stored nothing in lower case: the capitals still work.
    assert sign_in(client, letter.identifier, letter.password).status_code == 302


def test_a_wrong_password_is_refused_with_one_verification(client, letter, argon2_runs):
    response = sign_in(client, letter.identifier, "7rncmwex")
    assert refused(response)
    assert len(argon2_runs) == 1


def test_the_unknown_identifier_costs_the_same_and_is_refused_the_same(client, argon2_runs):
    response = sign_in(client, "y.inconnu9", "7rncmwen")
    assert refused(response)
    assert len(argon2_runs) == 1


def test_a_chosen_password_keeps_its_case(client, letter, commit):
    page = client.get(sign_in(client, letter.identifier, letter.password.lower())["Location"],
                      follow=True)
    path = page.redirect_chain[-1][0]
    assert path.endswith("/mot-de-passe/")
    response = commit(client.post, path, {"password": NEW_PASSWORD,
                                          "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    # Still provisional (the identity step is next), with the password chosen.
    assert Account.objects.get(pk=letter.account_id).state == AccountState.PROVISIONAL
    client.post(reverse("accounts:logout"))
    assert refused(sign_in(client, letter.identifier, NEW_PASSWORD.upper()))
    assert refused(sign_in(client, letter.identifier, NEW_PASSWORD.lower()))
    # The letter's password no longer signs in, in any case.
    assert refused(sign_in(client, letter.identifier, letter.password.lower()))
    assert refused(sign_in(client, letter.identifier, letter.password))
    assert sign_in(client, letter.identifier, NEW_PASSWORD).status_code == 302
