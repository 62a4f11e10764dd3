"""A school letter reissued while the family's first sign-in was under way (a tryout finding):
Nadia had chosen her password and was told « reconnectez-vous avec … le nouveau mot de passe
que vous avez choisi » when the secretary used « Refaire la lettre ». The password she had
chosen then said only « Identifiant ou mot de passe incorrect. », and her open session
« Votre session a pris fin » with no reason.

Now the session that ended says why (the browser held that account's session: it tells no
stranger anything). The sign-in page keeps the usual words for the password she had chosen:
telling her apart would take a second Argon2 check on the refusals of that identifier only, a
difference of timing that would say which identifiers exist (no enumeration by timing)."""

import pytest
from django.test import Client

from pupils import letters
from tests import html

from . import test_provisional_link_gone
from .test_provisional_link_gone import CHOSEN, GUARDIAN_LOGIN, MY_SERVICES, follow, secretary

letter = test_provisional_link_gone.letter  # Nadia at « Un mail a été envoyé » (a fixture)

pytestmark = pytest.mark.django_db

INCORRECT = "Identifiant ou mot de passe incorrect."


def refusal(identifier, password) -> str:
    response = Client().post(GUARDIAN_LOGIN, {"identifier": identifier, "password": password})
    assert response.status_code == 200
    return html.text(html.main(html.parse(response)))


@pytest.fixture
def reissued(letter, family):
    """The secretary remakes Nadia's letter: returns its new provisional password."""
    record = family["records"][1]
    (made,), _counts = letters.letters_issue(establishment=record.establishment,
                                              actor=secretary(2),
                                              guardian_record_ids=[record.pk])
    assert made.reissued
    return made.password


def test_the_sign_in_keeps_the_usual_words_for_every_password(letter, reissued):
    """The password she had chosen, a wrong one and the first letter's: the same words (and
    the same single Argon2 check) as any refusal."""
    identifier = letter["account"].identifier
    for typed, password in ((identifier, CHOSEN), (identifier, "Pas-Le-Bon-Mot-2024!"),
                            ("x.inconnu10", CHOSEN), (identifier, letter["password"])):
        text = refusal(typed, password)
        assert INCORRECT in text, (typed, text)
        assert "nouveau courrier" not in text


def test_the_open_session_says_it_ended_because_of_a_new_letter(letter, reissued):
    browser = letter["browser"]
    page = follow(browser, browser.get(MY_SERVICES))
    shown = " ".join(html.messages(html.parse(page)))
    assert "Votre session a pris fin : l'établissement a fait un nouveau courrier pour ce " \
           "compte" in shown, shown
    assert "mot de passe provisoire du nouveau courrier" in shown


def test_a_session_ended_otherwise_keeps_the_general_words(letter):
    """No new letter: a session ended on the server says only that it ended."""
    browser = letter["browser"]
    account = letter["account"]
    account.set_password("Autre-Mot-De-Passe-2024!")
    account.save(update_fields=["password"])
    page = follow(browser, browser.get(MY_SERVICES))
    shown = " ".join(html.messages(html.parse(page)))
    assert "Votre session a pris fin. Reconnectez-vous pour continuer." in shown, shown
    assert "nouveau courrier" not in shown
