"""« Modifier mon mot de passe » (FAQ §10): the current password, the policy, the
confirmation; other sessions end at once, this one stays; the owner is told by SMS; wrong
current passwords are slowed down, never locked."""

import json

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.my_account.limits import SLOWDOWN
from accounts.password_policy import personal_parts
from core import ratelimit
from core.models import JournalEvent
from core.normalization import name_key
from notifications import sms
from tests import html
from tests.factories import DEFAULT_PASSWORD

from .conftest import NEW_PASSWORD, sign_in

pytestmark = pytest.mark.django_db

URL = reverse("accounts:my_account:password")
MY_SERVICES = reverse("services_portal:my_services")


def change(client, commit, *, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirmation=None):
    return commit(client.post, URL, {
        "current_password": current, "password": new,
        "password_confirm": new if confirmation is None else confirmation,
    })


def field_errors(response, field_id):
    page = html.parse(response)
    return [html.text(p) for p in page.find(id=f"{field_id}_error").find_all(
        class_="fr-message--error") if "fr-hidden" not in p["class"]]


def test_the_page_shows_the_three_fields_and_the_checklist(signed_in):
    page = html.parse(signed_in.get(URL))
    assert page.find("h1").get_text() == "Modifier mon mot de passe"
    for field_id, autocomplete in (("id_current_password", "current-password"),
                                   ("id_password", "new-password"),
                                   ("id_password_confirm", "new-password")):
        assert page.find(id=field_id)["autocomplete"] == autocomplete
    checklist = page.find(id="id_password_error")
    assert [p["data-rule"] for p in checklist.find_all(attrs={"data-rule": True})] == [
        "upper", "lower", "digit", "special", "length", "personal"]
    assert len(page.find_all(id="password-rules-config")) == 1


def test_the_live_check_gets_the_rules_and_the_account_s_names_apart(signed_in, guardian):
    """static/js/password-rules.js reads the rules (the same bytes for everybody, built once
    per process: accounts.password_policy.password_rules_script) and the folded names and
    identifier it must not find in the password, from a script of their own."""
    page = html.parse(signed_in.get(URL))
    rules_node = page.find(id="password-rules-config")
    rules = json.loads(rules_node.string)
    assert [rule["key"] for rule in rules["rules"]] == [
        "upper", "lower", "digit", "special", "length"]
    assert rules["fold"]["ı"] == "i"
    assert "personal" not in rules
    personal = json.loads(page.find(id="password-rules-personal").string)
    assert personal == sorted(personal_parts(first_name=guardian.first_name,
                                             last_name=guardian.last_name,
                                             identifier=guardian.identifier))
    assert name_key(guardian.last_name) in personal
    assert name_key(guardian.last_name) not in rules_node.string


def test_the_names_rule_is_in_the_checklist_from_the_first_display(signed_in):
    """« Ne doit contenir ni votre nom, ni votre prénom, ni votre identifiant » was hidden
    until a password broke it: people learnt it from the refusal. It is shown with the five
    rules, neutral (info) until something is typed, with its state for screen readers."""
    page = html.parse(signed_in.get(URL))
    checklist = page.find(id="id_password_error")
    personal = checklist.find(attrs={"data-rule": "personal"})
    assert "fr-hidden" not in personal["class"]
    assert "fr-message--info" in personal["class"]
    assert html.text(personal) == ("Votre mot de passe ne doit contenir ni votre nom, ni votre "
                                   "prénom, ni votre identifiant.")
    assert personal.find(attrs={"data-rule-state": True}) is not None
    # In the list, after its five rules (the seeds' « Doit contenir 1 majuscule »…, under no
    # heading that would say « doit contenir » once more).
    shown = [html.text(p) for p in checklist.find_all("p", class_="fr-message")]
    assert shown.index(html.text(personal)) == shown.index("Doit contenir 1 majuscule") + 5
    assert not any("Votre mot de passe doit contenir" in line for line in shown)



def test_the_checklist_says_a_common_password_is_refused_too(signed_in):
    """A tryout turned every line green with « Azerty123! », then read « trop courant » on
    sending: the list says so beforehand, as a note the script does not tick."""
    page = html.parse(signed_in.get(URL))
    note = page.find(id="id_password_error").find(attrs={"data-rule-note": "common"})
    assert html.text(note) == ("Il ne doit pas non plus être un mot de passe courant, comme "
                               "« Azerty123! » : c'est vérifié quand vous validez.")
    assert note.find(attrs={"data-rule-state": True}) is None


def test_a_change_keeps_this_session_ends_the_others_and_tells_the_owner(
        client, guardian, commit):
    sign_in(client)
    other_device = sign_in(Client())
    assert other_device.get(MY_SERVICES).status_code == 200
    session_key = client.session.session_key

    response = change(client, commit)

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:my_account:information")
    page = html.parse(client.get(response["Location"]))
    assert html.messages(page) == [
        "Votre mot de passe a été modifié. Utilisez-le à votre prochaine connexion : vos "
        "autres connexions en cours ont été fermées."]
    # This browser stays signed in, under a new session key; the other device is out.
    assert client.session.session_key != session_key
    assert client.session[SESSION_KEY] == str(guardian.pk)
    assert client.get(MY_SERVICES).status_code == 200
    assert other_device.get(MY_SERVICES).status_code == 302
    # The new password signs in, the old one no longer does.
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)
    assert not guardian.check_password(DEFAULT_PASSWORD)
    # The owner's phone is told.
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    assert "le mot de passe de votre compte a été modifié" in sms.outbox[0].body
    assert "0 809 54 06 06" in sms.outbox[0].body
    event = JournalEvent.objects.get(kind="password_changed", account=guardian)
    assert event.data == {"reason": "my_account"}


def test_a_wrong_current_password_changes_nothing_and_says_so(signed_in, guardian, commit):
    response = change(signed_in, commit, current="Motdepasse2!")
    assert response.status_code == 400
    assert field_errors(response, "id_current_password") == [
        "Le mot de passe actuel est incorrect. Saisissez le mot de passe avec lequel vous vous "
        "êtes connecté(e) : il tient compte des majuscules et des minuscules."]
    assert html.summary_links(html.parse(response))[0][0] == "#id_current_password"
    guardian.refresh_from_db()
    assert guardian.check_password(DEFAULT_PASSWORD)
    assert sms.outbox == []
    assert JournalEvent.objects.filter(kind="my_account.password_rejected").count() == 1
    # Nothing typed comes back in the page.
    assert "Motdepasse2!" not in response.content.decode()
    assert NEW_PASSWORD not in response.content.decode()


def test_a_mismatched_confirmation_is_refused_on_the_confirmation(signed_in, guardian, commit):
    response = change(signed_in, commit, confirmation="Trousse-Bleue-2025!")
    assert response.status_code == 400
    assert field_errors(response, "id_password_confirm") == [
        "La confirmation ne correspond pas au mot de passe. Saisissez deux fois le même mot de "
        "passe."]
    guardian.refresh_from_db()
    assert guardian.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(("new", "message"), [
    ("trousse-bleue-2025?", "Le mot de passe doit contenir au moins 1 majuscule."),
    ("Benali-Amina-2025?", "Le mot de passe ne doit pas contenir votre nom, votre prénom ou "
                           "votre identifiant. Choisissez-en un autre."),
    ("A.benali14!x", "Le mot de passe ne doit pas contenir votre nom, votre prénom ou "
                     "votre identifiant. Choisissez-en un autre."),
])
def test_the_new_password_follows_the_published_policy(signed_in, guardian, commit, new,
                                                       message):
    response = change(signed_in, commit, new=new)
    assert response.status_code == 400
    assert message in field_errors(response, "id_password")
    guardian.refresh_from_db()
    assert guardian.check_password(DEFAULT_PASSWORD)


def test_a_pasted_password_over_the_maximum_is_refused_not_cut(signed_in, guardian, commit):
    # Issue 13: maxlength="128" on the input cut a pasted 304-character password silently;
    # the cut one was saved and the full one, which the owner keeps, never signed in.
    pasted = ("Trousse-Bleue-2025?" * 16)[:304]
    page = html.parse(signed_in.get(URL))
    for field_id in ("id_password", "id_password_confirm"):
        assert not page.find(id=field_id).has_attr("maxlength")

    response = change(signed_in, commit, new=pasted)

    assert response.status_code == 400
    assert field_errors(response, "id_password") == [
        "Le champ « Nouveau mot de passe » ne doit pas dépasser 128 caractères ; vous en avez "
        "saisi 304 : raccourcissez le mot de passe."]
    assert field_errors(response, "id_password_confirm") == [
        "Le champ « Confirmation du nouveau mot de passe » ne doit pas dépasser 128 "
        "caractères ; vous en avez saisi 304 : raccourcissez le mot de passe."]
    guardian.refresh_from_db()
    assert guardian.check_password(DEFAULT_PASSWORD)


SAME_AS_CURRENT = ("Ce mot de passe est déjà celui de votre compte. Choisissez un mot de passe "
                   "différent de votre mot de passe actuel.")


def test_the_same_password_again_is_refused(client, commit, monkeypatch):
    from accounts import hashers
    from tests.factories import AccountFactory

    # A current password the policy accepts (DEFAULT_PASSWORD is a common one dressed up,
    # which the policy now refuses for itself), so that the only refusal is « the same ».
    current = "Cartable-Jaune-31!"
    account = AccountFactory(identifier="c.jaune31", first_name="Paul", last_name="Durand",
                             password=current)
    sign_in(client, "c.jaune31", current)
    verified = []
    real = hashers._NfkcArgon2Hasher._verify_as_is
    monkeypatch.setattr(hashers._NfkcArgon2Hasher, "_verify_as_is",
                        lambda self, *args: verified.append(1) or real(self, *args))
    response = change(client, commit, current=current, new=current)
    assert response.status_code == 400
    assert field_errors(response, "id_password") == [SAME_AS_CURRENT]
    # One Argon2 verification: the current password's; the new one is compared to it.
    assert len(verified) == 1
    account.refresh_from_db()
    assert account.check_password(current)


def test_the_same_password_in_another_unicode_form_is_refused_too(client, commit):
    from unicodedata import normalize

    from tests.factories import AccountFactory

    composed = normalize("NFC", "Crème-Brûlée-12")
    AccountFactory(identifier="c.brulee12", first_name="Paul", last_name="Durand",
                   password=composed)
    sign_in(client, "c.brulee12", composed)
    response = change(client, commit, current=composed, new=normalize("NFD", composed))
    assert response.status_code == 400
    assert field_errors(response, "id_password") == [SAME_AS_CURRENT]


def test_empty_fields_each_say_what_to_type(signed_in, commit):
    response = commit(signed_in.post, URL, {})
    assert response.status_code == 400
    assert [text for _, text in html.summary_links(html.parse(response))] == [
        "Mot de passe actuel : Saisissez votre mot de passe actuel.",
        "Nouveau mot de passe : Saisissez un mot de passe.",
        "Confirmation du nouveau mot de passe : Saisissez une deuxième fois le mot de passe "
        "pour le confirmer.",
    ]


def test_wrong_current_passwords_slow_down_but_the_right_one_still_works(
        signed_in, guardian, commit, settings):
    settings.MY_ACCOUNT_MAX_WRONG_PASSWORDS = 3
    settings.MY_ACCOUNT_PASSWORD_SLOWDOWN_SECONDS = 60
    for _ in range(3):
        response = change(signed_in, commit, current="Mauvais-1!")
        assert "incorrect" in field_errors(response, "id_current_password")[0]
    # Past the free ones: one attempt a minute. The fourth is admitted (wrong)…
    response = change(signed_in, commit, current="Mauvais-1!")
    assert "incorrect" in field_errors(response, "id_current_password")[0]
    # …the fifth must wait, even with the right password: it is not even checked.
    response = change(signed_in, commit)
    assert response.status_code == 400
    message = field_errors(response, "id_current_password")[0]
    assert message.startswith(
        "Le mot de passe actuel a été saisi trop de fois de manière incorrecte. Pour protéger "
        "votre compte, patientez ")
    assert "« Mot de passe oublié ? »" in message
    guardian.refresh_from_db()
    assert guardian.check_password(DEFAULT_PASSWORD)
    # Once the pace allows an attempt, the right password works: slowed down, never locked.
    ratelimit.clear(SLOWDOWN, f"account:{guardian.pk}")  # the minute has passed
    response = change(signed_in, commit)
    assert response.status_code == 302
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)
    # And the right password cleared the count: the next wrong one is checked at once.
    response = change(signed_in, commit, current="Mauvais-1!", new="Autre-Trousse-2026!")
    assert "incorrect" in field_errors(response, "id_current_password")[0]
