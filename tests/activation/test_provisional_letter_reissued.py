"""A school letter reissued while the family's first sign-in was under way (a tryout finding):
Nadia had chosen her password and was told « reconnectez-vous avec … le nouveau mot de passe
que vous avez choisi » when the secretary used « Refaire la lettre ». The password she had
chosen then said only « Identifiant ou mot de passe incorrect. », and her open session
« Votre session a pris fin » with no reason.

Now the sign-in tells whoever types the password she had chosen that the school made a new
letter (and only them: a wrong password, an unknown identifier, get the usual words), and the
session that ended says why. Choosing a new password with the new letter ends the
explanation."""

import pytest
from django.test import Client

from pupils import letters
from pupils.models import GuardianRecord
from tests import html

from . import test_provisional_link_gone
from .test_provisional_link_gone import CHOSEN, GUARDIAN_LOGIN, MY_SERVICES, follow, secretary

letter = test_provisional_link_gone.letter  # Nadia at « Un mail a été envoyé » (a fixture)

pytestmark = pytest.mark.django_db

NEW_LETTER = ("L'établissement a fait un nouveau courrier pour ce compte : utilisez "
              "l'identifiant et le mot de passe provisoire du nouveau courrier.")
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


def test_the_password_she_had_chosen_says_a_new_letter_was_made(letter, reissued):
    identifier = letter["account"].identifier
    text = refusal(identifier, CHOSEN)
    assert NEW_LETTER in text, text
    assert INCORRECT not in text
    # The identifier typed in capitals, as the letter prints it: the same words.
    assert NEW_LETTER in refusal(identifier.upper(), CHOSEN)


def test_no_enumeration_a_wrong_password_or_an_unknown_identifier_get_the_usual_words(
        letter, reissued):
    identifier = letter["account"].identifier
    for typed, password in ((identifier, "Pas-Le-Bon-Mot-2024!"), ("x.inconnu10", CHOSEN),
                            (identifier, letter["password"])):  # the first letter's password
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


def test_once_a_new_password_is_chosen_with_the_new_letter_the_old_one_is_just_wrong(
        letter, reissued, commit, family):
    identifier = letter["account"].identifier
    browser = Client()
    page = follow(browser, browser.post(GUARDIAN_LOGIN, {"identifier": identifier,
                                                         "password": reissued}))
    path = page.request["PATH_INFO"]
    assert path.endswith("/adresse-mail/"), path  # the first sign-in starts over
    page = follow(browser, commit(browser.post, path, {"email": "nadia@exemple.fr",
                                                      "email_confirm": "nadia@exemple.fr"}))
    path = page.request["PATH_INFO"]
    assert path.endswith("/mot-de-passe/"), path
    other = "Nouveau-Cartable-2025!"
    page = follow(browser, commit(browser.post, path, {"password": other,
                                                      "password_confirm": other}))
    assert page.request["PATH_INFO"].endswith("/eleves/")
    text = refusal(identifier, CHOSEN)
    assert INCORRECT in text and "nouveau courrier" not in text
    assert GuardianRecord.objects.get(pk=family["records"][1].pk).account_id \
        == letter["account"].pk
