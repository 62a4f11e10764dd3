"""What the recovery pages say matches what they do: the messages go to the account's own
validated number and address only (not the school's), and a pupil, who is offered the mail
only, reads no step about an SMS code."""

import pytest
from django.urls import reverse

from tests import html
from tests.factories import AccountFactory

from .conftest import Recovery, decoy_identifier, last_code

pytestmark = pytest.mark.django_db


def _stepper(page) -> str:
    return html.text(page.find(class_="fr-stepper"))


@pytest.mark.parametrize("name", ["identifier_forgotten", "identifier_forgotten_sms",
                                  "identifier_forgotten_email", "password_forgotten"])
def test_the_guardian_help_says_only_the_accounts_own_contacts_work(client, name):
    page = html.parse(client.get(reverse(f"accounts:{name}") + "?profil=representant-legal"))
    contacts = page.find(id="recovery-contacts")
    text = html.text(contacts)
    assert "ceux donnés à l'école" not in text and "prévenez l'école" not in text
    assert text.startswith(
        "Le SMS ou le mail ne part que vers le numéro de téléphone portable ou l'adresse mail "
        "de votre compte ÉduConnect, ceux que vous avez validés à l'activation ou dans "
        "« Mon compte ». Un numéro ou une adresse donnés seulement à l'école ou à "
        "l'établissement de vos enfants ne suffisent pas.")
    # What to do then: the academy's assistance form, which exists.
    assert contacts.find("a", string="formulaire d'assistance académique")["href"] == reverse(
        "assistance:form")


def test_the_pupils_channel_step_speaks_of_the_mail_only(client, pupil,
                                                         django_capture_on_commit_callbacks):
    recovery = Recovery(client, django_capture_on_commit_callbacks, profile="eleve")
    first = html.parse(client.get(reverse("accounts:password_forgotten") + "?profil=eleve"))
    assert "code par SMS" not in html.text(html.main(first))
    assert "Étape suivante : Je reçois un lien par mail" in _stepper(first)
    recovery.start("l.nguyen07")
    page = html.parse(recovery.get("channel"))
    main = html.text(html.main(page))
    assert "Étape suivante : J'ouvre le lien reçu par mail" in _stepper(page)
    assert "SMS" not in _stepper(page) and "ce numéro" not in main
    assert page.find("legend").get_text(strip=True) == "Je reçois un lien par mail"
    [offered] = [html.text(label) for label in page.select("input[name=channel] + label")]
    assert offered.startswith("Par mail, un lien à ")
    assert html.text(page.find(id="channel-unknown")).startswith(
        "Vous ne reconnaissez pas cette adresse ?")


def test_the_guardians_channel_step_names_both_ways(recovery, guardian):
    recovery.start(guardian.identifier)
    page = html.parse(recovery.get("channel"))
    assert ("Étape suivante : Je saisis le code reçu par SMS ou j'ouvre le lien reçu par mail"
            in _stepper(page))
    # The mail sends a link, not a code: the step's question names both.
    assert page.find("legend").get_text(strip=True) == (
        "Je choisis comment recevoir mon code ou mon lien")
    assert "Je choisis comment recevoir mon code ou mon lien" in html.text(page.find("title"))
    unknown = page.find(id="channel-unknown")
    assert html.text(unknown).startswith("Vous ne reconnaissez pas ce numéro ou cette adresse ?")
    assert "contactez l'école" not in html.text(unknown)


def test_a_real_account_without_a_number_is_offered_its_address_only(
        client, django_capture_on_commit_callbacks):
    """Tryout: an account with no validated number was offered an invented one, and its
    owner waited for an SMS that never came. It is offered its own address only; the words
    under the choices are those of every identifier (no enumeration): nothing comes by a way
    one does not recognise, what to choose then, and whom to ask."""
    AccountFactory(identifier="m.girard31", phone="", phone_verified=False,
                   email="m.girard@free.fr", email_verified=True)
    recovery = Recovery(client, django_capture_on_commit_callbacks)
    recovery.start("m.girard31")
    page = html.parse(recovery.get("channel"))
    offered = [html.text(label) for label in page.select("input[name=channel] + label")]
    assert offered == ["Par mail, un lien à m•••@f•••.fr"]
    unknown = page.find(id="channel-unknown")
    text = html.text(unknown)
    assert "ce sont le numéro et l'adresse de votre compte" not in html.text(html.main(page))
    assert text == (
        "Vous ne reconnaissez pas ce numéro ou cette adresse ? Vérifiez l'identifiant saisi "
        "et recommencez. Un code ou un lien ne part que vers le numéro ou l'adresse validés "
        "du compte : par un moyen que vous ne reconnaissez pas, aucun SMS ni mail ne vous "
        "parviendra, choisissez l'autre s'il vous est proposé. Si vous n'en reconnaissez "
        "aucun, écrivez à l'assistance de l'académie de vos enfants avec le formulaire "
        "d'assistance académique (« Identifiant ou mot de passe perdu »).")
    assert unknown.find("a", string="formulaire d'assistance académique")["href"] == reverse(
        "assistance:form")


PUPIL_UNKNOWN_ADDRESS = (
    "Vous ne reconnaissez pas cette adresse ? Si vous n'avez jamais validé d'adresse mail "
    "pour votre compte ÉduConnect, c'est normal : votre identifiant peut être juste, mais "
    "aucun mail ne vous parviendra ; demandez un nouveau mot de passe à votre établissement "
    "(professeur principal, vie scolaire ou secrétariat). Sinon, vérifiez l'identifiant "
    "saisi et recommencez.")


@pytest.mark.parametrize("identifier", ["pupil_without_email", "l.personne99"])
def test_a_pupil_without_an_address_is_not_led_to_think_the_identifier_was_mistyped(
        client, pupil_without_email, django_capture_on_commit_callbacks, identifier):
    """Tryout finding 13: a pupil who never gave an address is shown the decoy address of an
    unknown identifier (no enumeration: same page, same words); the words right under it say
    first that this is expected when no address was ever validated, and what to do (the
    school gives a new password), before suggesting a typing error."""
    if identifier == "pupil_without_email":
        identifier = pupil_without_email.identifier
    recovery = Recovery(client, django_capture_on_commit_callbacks, profile="eleve")
    recovery.start(identifier)
    page = html.parse(recovery.get("channel"))
    [offered] = [html.text(label) for label in page.select("input[name=channel] + label")]
    assert offered.startswith("Par mail, un lien à ")
    text = html.text(page.find(id="channel-unknown"))
    assert "n'est plus la vôtre" not in text
    assert text == PUPIL_UNKNOWN_ADDRESS


def test_the_code_page_does_not_say_a_code_went_to_an_identifier_that_reaches_no_one(
        client, django_capture_on_commit_callbacks):
    """« Par SMS » chosen for an identifier whose number is a decoy: nothing is sent, and
    the page's words hold for it too (a code goes only to a validated number)."""
    recovery = Recovery(client, django_capture_on_commit_callbacks)
    recovery.start(decoy_identifier(with_phone=True, with_email=False))
    page = html.parse(recovery.page(recovery.choose("sms")))
    text = html.text(html.main(page))
    assert "Si cet identifiant correspond à un compte, un code" not in text
    assert ("Si cet identifiant correspond à un compte dont le numéro de téléphone portable "
            "est validé, un code de sécurité") in text


def _help_titles(page) -> list[str]:
    return [html.text(title) for title in page.select(".fr-callout__title")]


def test_the_no_message_help_is_on_the_code_step_and_not_on_the_new_password_step(
        recovery, guardian):
    """« Vous n'avez rien reçu ? » helps while the code is awaited; once the code is
    accepted, the step that chooses the new password shows no such box, neither at first nor
    after a refused password."""
    recovery.start("s.nguyen21")
    code_page = html.parse(recovery.client.get(recovery.choose("sms")["Location"],
                                               follow=True))
    assert "Vous n'avez rien reçu ?" in _help_titles(code_page)
    assert recovery.send_code(last_code()).status_code == 302
    password_page = html.parse(recovery.get("password"))
    assert "Je choisis mon nouveau mot de passe" in [
        html.text(h2) for h2 in html.main(password_page).find_all("h2")]
    assert "Vous n'avez rien reçu ?" not in _help_titles(password_page)
    refused = recovery.new_password("court")
    refused_page = html.parse(recovery.client.get(refused["Location"], follow=True))
    assert html.error_summary(refused_page)
    assert "Vous n'avez rien reçu ?" not in _help_titles(refused_page)
