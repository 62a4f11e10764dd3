"""The validation link of a school letter's first sign-in when its account changed after the
e-mail left: closed because the family activated by SMS (the tryout's case), merged into
another account, closed by the helpdesk, locked, activated with another link, or a new
letter made by the school. Its page says at once that the link no longer works, why in the
family's words, and what to do, with the way on — no button that cannot work — on the GET
and on the POST (410, as a merged account's address link), changing nothing. It never names
another account's identifier. A link that still works keeps its button; an expired one
keeps the general words."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse

from accounts.models import AccountKind, AccountState
from backoffice.services import account_close
from core.models import LinkToken
from families.services import accounts_merge
from pupils import letters
from pupils.models import GuardianRecord
from tests import html
from tests.factories import AccountFactory
from tests.mailbox import link_from

pytestmark = pytest.mark.django_db

GUARDIAN_LOGIN = reverse("accounts:login", args=["representant-legal"])
PROFILE_CHOICE = reverse("accounts:profile_choice")
IDENTIFIER_FORGOTTEN = reverse("accounts:identifier_forgotten") + "?profil=representant-legal"
MY_SERVICES = reverse("services_portal:my_services")
ADDRESS = "nadia.bensaid@exemple.fr"
CHOSEN = "Cartable-Vert-2024!"
BUTTON = "Valider mon adresse mail et activer mon compte"


def secretary(number=1):
    return AccountFactory(identifier=f"s.secretaire{number}", kind=AccountKind.STAFF,
                          first_name="Sophie", last_name="Secrétaire")


def follow(client, response, limit=6):
    for _ in range(limit):
        if response.status_code != 302:
            return response
        response = client.get(response["Location"])
    raise AssertionError("too many redirects")


@pytest.fixture
def letter(family, commit, smtp_server):
    """Nadia's letter from the collège: she signed in with it, gave her address, chose a
    password, confirmed Yanis and received the validation link — then stopped there."""
    record = family["records"][1]
    _ines, yanis = family["pupils"]
    (made,), _counts = letters.letters_issue(establishment=record.establishment,
                                              actor=secretary(),
                                              guardian_record_ids=[record.pk])
    account = GuardianRecord.objects.get(pk=record.pk).account
    browser = Client()
    page = follow(browser, browser.post(GUARDIAN_LOGIN, {"identifier": account.identifier,
                                                         "password": made.password}))
    path = page.request["PATH_INFO"]
    assert path.endswith("/adresse-mail/"), path
    page = follow(browser, commit(browser.post, path, {"email": ADDRESS,
                                                      "email_confirm": ADDRESS}))
    path = page.request["PATH_INFO"]
    assert path.endswith("/mot-de-passe/"), path
    page = follow(browser, commit(browser.post, path, {"password": CHOSEN,
                                                      "password_confirm": CHOSEN}))
    path = page.request["PATH_INFO"]
    assert path.endswith("/eleves/"), path
    date = yanis.birth_date
    page = follow(browser, commit(browser.post, path, {
        "eleve1_lien": "oui", "eleve1_jour": f"{date.day:02d}",
        "eleve1_mois": f"{date.month:02d}", "eleve1_annee": str(date.year)}))
    assert page.request["PATH_INFO"].endswith("/mail-envoye/")
    [message] = smtp_server.wait_for(1)
    return {"account": account, "password": made.password, "browser": browser,
            "sent_path": page.request["PATH_INFO"],
            "link": urlsplit(link_from(message)).path, "mailbox": smtp_server}


def gone_page(response, *, why: str, todo: str):
    """The page of a link that no longer works: 410, its alert, why and what to do, the way
    on, no form, no button. Returns the parsed <main>."""
    assert response.status_code == 410
    main = html.main(html.parse(response))
    text = html.text(main)
    assert "Ce lien ne fonctionne plus" in text
    assert why in text, text
    assert todo in text, text
    assert main.find("form") is None and main.find("button", type="submit") is None
    assert BUTTON not in text
    return main


def assert_nothing_changed(account, state):
    account.refresh_from_db()
    assert account.state == state and not account.email_verified and account.email != ADDRESS
    assert not LinkToken.objects.filter(account=account, used_at__isnull=False).exists()


def test_a_letter_link_after_the_family_activated_by_sms_says_so(letter, driver, family,
                                                                  commit):
    """The tryout's case: Nadia, waiting for the mail, activates by SMS instead; the letter's
    account is closed. The old link used to show its button, then fail."""
    ines, yanis = family["pupils"]
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    driver.choose_password()
    pending = letter["account"]
    pending.refresh_from_db()
    assert pending.state == AccountState.CLOSED
    new = GuardianRecord.objects.get(pk=family["records"][1].pk).account
    assert new.state == AccountState.ACTIVE

    phone = Client()
    for send in (phone.get, phone.post):
        main = gone_page(
            commit(send, letter["link"]),
            why="votre compte ÉduConnect a été activé d'une autre façon (par SMS ou avec "
                "FranceConnect)",
            todo="Connectez-vous avec l'identifiant et le mot de passe choisis lors de cette "
                 "activation.")
        assert main.find("a", href=PROFILE_CHOICE)
        assert main.find("a", href=IDENTIFIER_FORGOTTEN)
        # Nothing about the other account: not its identifier.
        assert new.identifier not in html.text(main).lower()
    assert_nothing_changed(pending, AccountState.CLOSED)

    # Opened in the browser signed in with the SMS account: the same words (not « Ce lien
    # concerne un autre compte »), and the way to « Mes services ».
    main = gone_page(driver.client.get(letter["link"]),
                     why="activé d'une autre façon",
                     todo="Si vous êtes connecté avec ce compte, vous n'avez plus rien à faire.")
    assert main.find("a", href=MY_SERVICES)
    assert "autre compte ÉduConnect" not in html.text(main)


def test_a_letter_link_after_a_merge_says_the_account_was_regrouped(letter, commit):
    kept = AccountFactory(identifier="n.bensaid10", first_name="Nadia", last_name="Ben Saïd")
    pending = letter["account"]
    accounts_merge(account=kept, identifier=pending.identifier, password=CHOSEN)
    for send in (Client().get, Client().post):
        main = gone_page(commit(send, letter["link"]),
                         why="ce compte a été regroupé avec un autre de vos comptes ÉduConnect",
                         todo="Connectez-vous avec l'identifiant du compte que vous avez gardé")
        assert kept.identifier not in html.text(main).lower()
        assert main.find("a", href=PROFILE_CHOICE)
    assert_nothing_changed(pending, AccountState.CLOSED)


def test_a_letter_link_after_the_helpdesk_closed_the_account(letter, commit):
    pending = letter["account"]
    agent = AccountFactory(identifier="a.agent1", kind=AccountKind.STAFF)
    account_close(account=pending, actor=agent, reason="Doublon signalé par la famille")
    for send in (Client().get, Client().post):
        main = gone_page(commit(send, letter["link"]),
                         why="a été fermé par l'assistance ÉduConnect",
                         todo="demandez un nouveau courrier à l'école ou à l'établissement")
        assert main.find("a", href=IDENTIFIER_FORGOTTEN)
    assert_nothing_changed(pending, AccountState.CLOSED)


def test_a_letter_link_of_a_locked_account_leads_to_the_assistance(letter, commit):
    pending = letter["account"]
    pending.state = AccountState.LOCKED
    pending.save(update_fields=["state"])
    for send in (Client().get, Client().post):
        main = gone_page(commit(send, letter["link"]),
                         why="L'accès à ce compte a été suspendu",
                         todo="Écrivez à l'assistance ÉduConnect de votre académie")
        assert main.find("a", href=reverse("assistance:form"))
    assert_nothing_changed(pending, AccountState.LOCKED)


def test_a_letter_link_after_a_new_letter_says_to_use_the_new_one(letter, family, commit):
    record = family["records"][1]
    commit(letters.letters_issue, establishment=record.establishment, actor=secretary(2),
           guardian_record_ids=[record.pk])
    for send in (Client().get, Client().post):
        main = gone_page(commit(send, letter["link"]),
                         why="l'établissement a fait un nouveau courrier pour ce compte",
                         todo="mot de passe provisoire du nouveau courrier")
        assert main.find("a", href=PROFILE_CHOICE)
    assert_nothing_changed(letter["account"], AccountState.PROVISIONAL)


def test_a_letter_link_after_another_link_activated_the_account(letter, commit, settings):
    """« Renvoyer le mail », then the newer mail's link activates: the older link says the
    account is already active (signed out), « Votre compte est déjà activé » signed in."""
    browser = letter["browser"]
    commit(browser.post, reverse("activation:provisional_resend",
                                 args=[letter["sent_path"].split("/")[-3]]))
    [_first, second] = letter["mailbox"].wait_for(2)
    newer = urlsplit(link_from(second)).path
    assert newer != letter["link"]
    assert commit(Client().post, newer).status_code == 302
    letter["account"].refresh_from_db()
    assert letter["account"].state == AccountState.ACTIVE
    for send in (Client().get, Client().post):
        main = gone_page(commit(send, letter["link"]),
                         why="Votre compte ÉduConnect a déjà été activé avec un autre lien",
                         todo="Connectez-vous avec votre identifiant")
        assert main.find("a", href=PROFILE_CHOICE)
    page = html.parse(browser.get(letter["link"]))
    assert html.text(page.find("h1")) == "Votre compte est déjà activé"


def test_a_good_link_keeps_its_button_and_an_expired_one_its_general_words(letter):
    shown = Client().get(letter["link"])
    assert shown.status_code == 200
    assert html.parse(shown).find("button", string=BUTTON)
    LinkToken.objects.filter(account=letter["account"]).update(
        expires_at=F("created_at") + datetime.timedelta(microseconds=1))
    expired = Client().get(letter["link"])
    assert expired.status_code == 410
    text = html.text(html.main(html.parse(expired)))
    assert "Ce lien n'est plus valable" in text and "Ce lien ne fonctionne plus" not in text

