"""« Modifier mon adresse mail » (FAQ §11, §8, §9, §7): two e-mails through a real SMTP server
on loopback (the old address told the new one, the new one a validation link), the old
address in use until the link's page is POSTed (from any device, signed out too), resend,
correction, refusals, no enumeration."""

import datetime
import time
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.middleware import SIGNED_IN_AT
from accounts.models import AccountKind
from core.models import JournalEvent, LinkToken
from notifications import sms
from tests import html
from tests.factories import DEFAULT_PASSWORD, AccountFactory
from tests.mailbox import html_of, link_from, text_of

from .conftest import sign_in
from .test_password_change import change

pytestmark = pytest.mark.django_db

URL = reverse("accounts:my_account:email")
INFORMATION = reverse("accounts:my_account:information")
NEW = "amina.b@exemple.fr"
OLD = "amina.benali@example.org"
# The subjects say what each mail is (not the FAQ §9's « Mise à disposition de services en
# ligne pour suivre la scolarité de votre enfant », which said nothing of an address).
SUBJECT = "Validez la nouvelle adresse mail de votre compte ÉduConnect"
FIRST_ADDRESS_SUBJECT = "Validez l'adresse mail de votre compte ÉduConnect"
NOTICE_SUBJECT = "Une nouvelle adresse mail a été demandée pour votre compte ÉduConnect"


def ask(client, commit, email=NEW, confirmation=None):
    return commit(client.post, URL, {"email": email,
                                     "email_confirm": email if confirmation is None
                                     else confirmation})


def by_recipient(messages):
    return {message["To"]: message for message in messages}


def test_the_change_from_request_to_validation_through_real_mail(signed_in, guardian, commit,
                                                                 smtp_server):
    response = ask(signed_in, commit, email="  Amina.B@Exemple.fr ")
    assert response.status_code == 302 and response["Location"] == URL
    page = html.parse(signed_in.get(URL))
    assert html.messages(page) == [
        "Votre demande est enregistrée. Un mail de validation a été envoyé à "
        "amina.b@exemple.fr : cliquez sur le lien qu'il contient pour valider cette adresse. "
        "Votre adresse actuelle a été prévenue du changement."]
    pending = html.text(page.find(id="pending"))
    assert "Un mail a été envoyé" in pending and NEW in pending
    assert page.find("button", string="Renvoyer le mail de validation")
    assert page.find("a", string="J'ai fait une erreur de saisie dans mon adresse mail")

    mails = by_recipient(smtp_server.wait_for(2))
    # The old address is told the new one, and carries no link.
    notice = mails[OLD]
    assert NEW in text_of(notice) and "http://testserver" not in text_of(notice)
    assert notice["Subject"].strip() == NOTICE_SUBJECT
    # The new address gets the link (its subject says so, text and HTML parts).
    validation = mails[NEW]
    # A change: the old address works until the new one is validated, and the mail says so.
    assert "votre ancienne adresse reste celle de votre compte" in " ".join(
        text_of(validation).split())
    # Django folds a long encoded subject after « Subject: »; the parser keeps that space.
    assert validation["Subject"].strip() == SUBJECT
    assert "A.BENALI14" in text_of(validation)
    link = link_from(validation)
    assert link in html_of(validation)

    # Until validated, the old address stays the account's.
    guardian.refresh_from_db()
    assert guardian.email == OLD and guardian.email_verified
    info = html.main(html.parse(signed_in.get(INFORMATION)))
    assert html.text(info.find(id="pending-email")) == (
        f"Nouvelle adresse en attente de validation : {NEW}")

    # From another device, signed out: the GET only shows a button (mail scanners)…
    phone = Client()
    path = urlsplit(link).path
    for _ in range(2):
        page = html.parse(phone.get(path))
        assert page.find("button", string="Valider mon adresse mail")
        # The brand once: base.html adds it after the page's own title.
        assert html.text(page.title) == "Je valide ma nouvelle adresse mail — ÉduConnect"
    guardian.refresh_from_db()
    assert guardian.email == OLD
    # …the POST validates, once.
    response = commit(phone.post, path)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:my_account:email_validated")
    assert html.text(html.parse(phone.get(response["Location"])).title) == (
        "Votre adresse mail est validée — ÉduConnect")
    guardian.refresh_from_db()
    assert guardian.email == NEW and guardian.email_verified
    # Used: opened again (or its button sent twice), it says its work is done — the address
    # its holder typed and received — and the way on, not « demandez un nouveau mail ».
    for again in (phone.post(path), phone.get(path)):
        assert again.status_code == 200
        main = html.main(html.parse(again))
        assert "Ce lien a déjà servi" in html.text(main)
        assert f"L'adresse {NEW} a été validée avec ce lien" in html.text(main)
        assert "n'est plus valable" not in html.text(main)
        assert main.find("a", href=reverse("accounts:profile_choice"))
        assert main.find("button", type="submit") is None
    guardian.refresh_from_db()
    assert guardian.email == NEW
    # Signed in, the way on is « Mon compte ».
    main = html.main(html.parse(signed_in.get(path)))
    assert "Ce lien a déjà servi" in html.text(main)
    assert main.find("a", href=INFORMATION)
    # Journaled, addresses masked, no token.
    changed = JournalEvent.objects.get(kind="my_account.email_changed", account=guardian)
    assert changed.data == {"old_email": "a•••@example.org", "new_email": "a•••@exemple.fr",
                            "phone_told": True}
    # The account's verified phone is told that the address was replaced.
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    assert "l'adresse mail de votre compte a été remplacée" in sms.outbox[0].body
    assert NEW not in sms.outbox[0].body
    requested = JournalEvent.objects.get(kind="my_account.email_change_requested")
    assert requested.data == {"new_email": "a•••@exemple.fr", "replaced": False,
                              "old_told": True}
    # Nothing pending any more.
    assert html.parse(signed_in.get(URL)).find(id="pending") is None


def test_resend_sends_a_new_link_and_both_work_until_one_is_used(signed_in, guardian, commit,
                                                                 smtp_server):
    ask(signed_in, commit)
    first = link_from(by_recipient(smtp_server.wait_for(2))[NEW])
    response = commit(signed_in.post, reverse("accounts:my_account:email_resend"))
    assert response["Location"] == URL
    assert html.messages(html.parse(signed_in.get(URL)))[-1].startswith(
        f"Un nouveau mail de validation a été envoyé à {NEW}.")
    messages = smtp_server.wait_for(3)
    assert [m["To"] for m in messages].count(NEW) == 2
    assert [m["To"] for m in messages].count(OLD) == 1  # a resend does not tell again
    second = link_from(messages[-1])
    assert second != first
    assert Client().get(urlsplit(first).path).status_code == 200
    commit(Client().post, urlsplit(second).path)
    guardian.refresh_from_db()
    assert guardian.email == NEW
    # The other link died with the validation: it did not serve, so it does not say it did.
    other = Client().get(urlsplit(first).path)
    assert other.status_code == 410
    assert "Ce lien a déjà servi" not in html.text(html.parse(other))


def test_a_typing_error_is_corrected_and_the_first_link_dies(signed_in, guardian, commit,
                                                            smtp_server):
    ask(signed_in, commit, email="amina.b@exmple.fr")
    wrong_link = link_from(by_recipient(smtp_server.wait_for(2))["amina.b@exmple.fr"])
    page = html.parse(signed_in.get(URL))
    assert page.find(id="id_email") is None  # the pending state, without the form
    page = html.parse(signed_in.get(URL + "?corriger=1"))
    assert page.find(id="id_email") is not None
    assert page.find("button", string="Annuler la demande de modification")
    ask(signed_in, commit)
    right_link = link_from(by_recipient(smtp_server.wait_for(4))[NEW])
    assert Client().post(urlsplit(wrong_link).path).status_code == 410
    commit(Client().post, urlsplit(right_link).path)
    guardian.refresh_from_db()
    assert guardian.email == NEW
    assert JournalEvent.objects.filter(kind="my_account.email_change_requested",
                                       data__replaced=True).count() == 1


def test_cancel_keeps_the_old_address_and_kills_the_link(signed_in, guardian, commit):
    ask(signed_in, commit)
    assert LinkToken.objects.filter(account=guardian, revoked_at__isnull=True).count() == 1
    response = commit(signed_in.post, reverse("accounts:my_account:email_cancel"))
    assert html.messages(html.parse(signed_in.get(response["Location"])))[-1].startswith(
        "La demande de modification est annulée")
    assert LinkToken.objects.filter(account=guardian, revoked_at__isnull=True).count() == 0
    assert html.parse(signed_in.get(URL)).find(id="pending") is None
    guardian.refresh_from_db()
    assert guardian.email == OLD
    assert JournalEvent.objects.filter(kind="my_account.email_change_cancelled").exists()


@pytest.mark.parametrize(("email", "confirmation", "field", "message"), [
    ("amina.b@exemple.fr", "amina.b@exemple.com", "id_email_confirm",
     "La confirmation ne correspond pas à l'adresse mail saisie. Saisissez deux fois la même "
     "adresse."),
    ("amina.b@", "amina.b@", "id_email",
     "Saisissez une adresse mail valide, par exemple prenom.nom@exemple.fr."),
    ("Amina.Benali@Example.org", None, "id_email",
     "Cette adresse est déjà l'adresse mail validée de votre compte. Saisissez la nouvelle "
     "adresse mail."),
    ("", "", "id_email", "Saisissez votre nouvelle adresse mail."),
    ("a" * 300 + "@exemple.fr", "a" * 300 + "@exemple.fr", "id_email",
     "Une adresse mail comporte au plus 254 caractères : vérifiez votre saisie."),
])
def test_refusals_name_the_field_and_the_fix(signed_in, guardian, commit, email, confirmation,
                                             field, message):
    response = ask(signed_in, commit, email=email, confirmation=confirmation)
    assert response.status_code == 400
    assert (f"#{field}", message) in [
        (href, text.split(" : ", 1)[1]) for href, text in html.summary_links(
            html.parse(response))]
    assert not LinkToken.objects.exists()
    assert not JournalEvent.objects.filter(kind__startswith="my_account.email").exists()


def test_an_address_another_account_uses_is_accepted_without_a_word(signed_in, guardian,
                                                                    commit, smtp_server):
    """Families share mailboxes (issue 8 §2 lists several identifiers in one e-mail), and
    saying « already used » would tell who has an account: same page, same e-mails."""
    AccountFactory(identifier="k.benali15", email=NEW, email_verified=True)
    response = ask(signed_in, commit)
    assert response.status_code == 302
    assert html.messages(html.parse(signed_in.get(URL)))[0].startswith(
        "Votre demande est enregistrée.")
    commit(Client().post, urlsplit(link_from(by_recipient(smtp_server.wait_for(2))[NEW])).path)
    guardian.refresh_from_db()
    assert guardian.email == NEW and guardian.email_verified


def test_an_unvalidated_address_can_be_validated_again_as_is(client, commit, smtp_server):
    """FAQ §7: « Si vous validez l'adresse sans effectuer de correction, un courriel de
    confirmation vous sera envoyé à cette adresse »."""
    account = AccountFactory(identifier="l.martin20", email="l.martin@example.org",
                             email_verified=False)
    sign_in(client, "l.martin20")
    ask(client, commit, email="l.martin@example.org")
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "l.martin@example.org"
    commit(Client().post, urlsplit(link_from(message)).path)
    account.refresh_from_db()
    assert account.email_verified


def test_a_pupils_first_address_gets_words_for_a_pupil_and_a_first_address(client, commit,
                                                                          smtp_server):
    """Zoé, a pupil, had no address: the mail neither speaks of « votre enfant » nor of an
    « ancienne adresse »."""
    AccountFactory(identifier="z.coeur70", first_name="Zoé", last_name="Coeur",
                   kind=AccountKind.PUPIL, email="", email_verified=False)
    client.post(reverse("accounts:login", args=["eleve"]),
                {"identifier": "z.coeur70", "password": DEFAULT_PASSWORD})
    ask(client, commit, email="zoe.coeur@exemple.fr")
    [message] = smtp_server.wait_for(1)
    assert message["Subject"].strip() == "Validez l'adresse mail de votre compte ÉduConnect"
    for part in (text_of(message), html_of(message)):
        assert "ancienne adresse" not in part
        assert ("Tant que cette adresse n'est pas validée, elle ne permet pas de récupérer "
                "votre identifiant ou votre mot de passe.") in " ".join(unescape(part).split())


def test_a_parents_first_address_has_a_subject_that_says_so_and_no_old_address(
        client, commit, smtp_server):
    AccountFactory(identifier="l.martin21", email="", email_verified=False)
    sign_in(client, "l.martin21")
    ask(client, commit, email="l.martin@example.org")
    [message] = smtp_server.wait_for(1)
    assert message["Subject"].strip() == FIRST_ADDRESS_SUBJECT
    assert "ancienne adresse" not in text_of(message)


def test_a_first_address_is_said_to_be_added_not_to_replace_one(client, commit, smtp_server):
    """An account without an address: while the link waits, no « adresse actuelle » (there
    is none); once validated, the phone is told that an address was added, not replaced."""
    AccountFactory(identifier="l.martin21", email="", email_verified=False,
                   phone="+33612340000", phone_verified=True)
    sign_in(client, "l.martin21")
    ask(client, commit, email="l.martin@example.org")
    page = html.parse(client.get(URL))
    panel = " ".join(html.text(html.main(page)).split())
    assert "Votre compte n'a pas encore d'adresse mail." in panel
    pending = " ".join(html.text(page.find(id="pending")).split())
    assert "adresse actuelle" not in pending
    assert ("Cliquez sur le lien affiché dans le mail pour valider cette adresse : d'ici là, "
            "votre compte reste sans adresse mail.") in pending
    [message] = smtp_server.wait_for(1)
    commit(Client().post, urlsplit(link_from(message)).path)
    [told] = sms.outbox
    assert told.to == "+33612340000"
    assert "une adresse mail a été ajoutée à votre compte" in told.body
    assert "remplacée" not in told.body


def test_the_link_expires_after_seven_days(signed_in, guardian, commit, smtp_server):
    ask(signed_in, commit)
    path = urlsplit(link_from(by_recipient(smtp_server.wait_for(2))[NEW])).path
    with freeze_time(LinkToken.objects.get().expires_at):
        assert Client().get(path).status_code == 410
        assert Client().post(path).status_code == 410
    guardian.refresh_from_db()
    assert guardian.email == OLD


def test_validation_links_per_account_are_limited(signed_in, guardian, commit, settings):
    settings.EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT = 2
    ask(signed_in, commit)
    commit(signed_in.post, reverse("accounts:my_account:email_resend"))
    response = commit(signed_in.post, reverse("accounts:my_account:email_resend"))
    assert html.messages(html.parse(signed_in.get(response["Location"])))[-1].startswith(
        "Trop de mails de validation ont été envoyés pour votre compte. Réessayez dans ")
    assert LinkToken.objects.count() == 2
    refused = ask(signed_in, commit, email="autre@exemple.fr")
    assert refused.status_code == 400
    assert LinkToken.objects.count() == 2


def test_the_change_asks_for_the_password_again_after_five_minutes(signed_in, commit):
    session = signed_in.session
    session[SIGNED_IN_AT] = time.time() - 301
    session.save()
    response = ask(signed_in, commit)
    assert response["Location"].startswith(reverse("accounts:my_account:reauthenticate"))
    assert not LinkToken.objects.exists()


def test_an_unknown_or_malformed_link_gets_the_same_page(client):
    for token in ("x" * 43, "abc", "%20"):
        response = client.get(reverse("accounts:my_account:email_validate", args=[token]))
        assert response.status_code == 410
        assert "Ce lien n'est plus valable" in html.text(html.parse(response))


def test_the_password_change_is_told_by_email_too(signed_in, guardian, commit, smtp_server):
    change(signed_in, commit)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == OLD
    assert message["Subject"].strip() == "Le mot de passe de votre compte ÉduConnect a été modifié"
    assert "A.BENALI14" in text_of(message)


def test_resend_without_a_pending_change_says_what_to_do(signed_in, commit):
    response = commit(signed_in.post, reverse("accounts:my_account:email_resend"))
    assert html.messages(html.parse(signed_in.get(response["Location"]))) == [
        "Aucune demande de modification d'adresse mail n'est en cours : saisissez votre "
        "nouvelle adresse mail ci-dessous."]
    assert not LinkToken.objects.exists()


def test_no_maxlength_cuts_a_pasted_address_or_its_confirmation():
    """A browser cuts silently at maxlength: a 312-character paste would read « valide » or
    « ne correspond pas » instead of the length message."""
    from accounts.my_account.forms import EmailChangeForm

    form = EmailChangeForm()
    assert "maxlength" not in str(form["email"]) + str(form["email_confirm"])


def test_a_slip_in_a_common_domain_is_warned_about_once_then_accepted(signed_in, guardian,
                                                                      commit):
    """« gmial.com »: the page comes back once, the suggestion on the address field and in
    the error summary; the same address posted again (the page remembers it) is taken."""
    typed = "amina.b@gmial.com"
    response = ask(signed_in, commit, email=typed)
    assert response.status_code == 400
    page = html.parse(response)
    warning = ("Vérifiez votre adresse : vouliez-vous écrire amina.b@gmail.com ? Si l'adresse "
               "saisie est la bonne, validez de nouveau sans la changer.")
    assert html.text(page.find(id="id_email_error")) == warning
    assert [text for _, text in html.summary_links(page)] == [f"Nouvelle adresse mail : {warning}"]
    assert page.find(id="id_email")["value"] == typed
    remembered = page.find("input", attrs={"name": "email_verifiee"})
    assert remembered["type"] == "hidden" and remembered["value"] == typed
    assert not JournalEvent.objects.filter(kind="my_account.email_change_requested").exists()

    response = commit(signed_in.post, URL, {"email": typed, "email_confirm": typed,
                                            "email_verifiee": remembered["value"]})
    assert response.status_code == 302
    assert html.text(html.parse(signed_in.get(URL)).find(id="pending")).count(typed) == 1


# --- The address checked at sign-in (FAQ §7): a correction is a change of address -----------


@pytest.fixture
def unvalidated(db):
    return AccountFactory(identifier="l.martin20", first_name="Lucie", last_name="Martin",
                          phone="+33698765432", phone_verified=True,
                          email="l.martin@exemple.org", email_verified=False)


def test_a_late_correction_at_sign_in_asks_for_the_password_first(client, unvalidated,
                                                                  commit, smtp_server):
    """A session left open must not let someone give the account their own address (then
    reset the password by e-mail): past five minutes, « corriger » asks for the password,
    as « Modifier mon adresse mail » does; and the phone is told once the address changed."""
    check = client.post(reverse("accounts:login", args=["representant-legal"]), {
        "identifier": unvalidated.identifier, "password": DEFAULT_PASSWORD})["Location"]
    assert check.startswith(reverse("accounts:my_account:email_check"))
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 301
    session.save()
    correction = {"action": "correct", "email": "lucie@exemple.fr",
                  "email_confirm": "lucie@exemple.fr"}
    response = commit(client.post, check, correction)
    reauthenticate = reverse("accounts:my_account:reauthenticate")
    assert response.status_code == 302
    assert response["Location"].startswith(reauthenticate + "?next=")
    assert not LinkToken.objects.exists() and smtp_server.messages == []

    back = client.post(reauthenticate, {"password": DEFAULT_PASSWORD, "next": check})
    assert back["Location"] == check
    done = commit(client.post, check, correction)
    assert done["Location"] == reverse("services_portal:my_services")
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "lucie@exemple.fr"
    commit(Client().post, urlsplit(link_from(message)).path)
    unvalidated.refresh_from_db()
    assert unvalidated.email == "lucie@exemple.fr" and unvalidated.email_verified
    assert [m.to for m in sms.outbox] == ["+33698765432"]
    assert "l'adresse mail de votre compte a été remplacée" in sms.outbox[0].body


def test_keeping_the_address_at_sign_in_needs_no_password_and_tells_no_phone(
        client, unvalidated, commit, smtp_server):
    check = client.post(reverse("accounts:login", args=["representant-legal"]), {
        "identifier": unvalidated.identifier, "password": DEFAULT_PASSWORD})["Location"]
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 301
    session.save()
    kept = commit(client.post, check, {"action": "keep"})
    assert kept["Location"] == reverse("services_portal:my_services")
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "l.martin@exemple.org"
    commit(Client().post, urlsplit(link_from(message)).path)
    unvalidated.refresh_from_db()
    assert unvalidated.email_verified
    # The same address validated: nothing was replaced, the phone is not told.
    assert sms.outbox == []
    changed = JournalEvent.objects.get(kind="my_account.email_changed", account=unvalidated)
    assert changed.data["phone_told"] is False


@pytest.mark.parametrize(("email_verified", "phone_verified", "said"), [
    (True, True, ["Votre adresse actuelle sera prévenue de la demande.",
                  "Une fois la nouvelle adresse validée, votre téléphone portable sera "
                  "prévenu du changement par SMS."]),
    (True, False, ["Votre adresse actuelle sera prévenue de la demande."]),
    (False, True, ["Une fois la nouvelle adresse validée, votre téléphone portable sera "
                   "prévenu du changement par SMS."]),
    (False, False, []),
])
def test_the_page_says_who_is_told_and_only_who_is(client, commit, smtp_server,
                                                    email_verified, phone_verified, said):
    """« Modifier mon adresse mail » says who will be told, as the services do: a validated
    address is told at the request, never one that was not validated; a verified phone is
    told by SMS once the new address is validated. Then the writes match the words."""
    AccountFactory(identifier="m.roux31", email="m.roux@exemple.fr",
                   email_verified=email_verified, phone="+33612340000",
                   phone_verified=phone_verified)
    sign_in(client, "m.roux31")
    page = html.parse(client.get(URL))
    words = " ".join(html.text(page.find(id="email-change-notices")).split())
    assert words.startswith("Saisissez votre nouvelle adresse mail et confirmez-la. Un lien de "
                            "validation lui sera envoyé.")
    assert "si vous en avez une" not in words
    for sentence in ("Votre adresse actuelle sera prévenue de la demande.",
                     "Une fois la nouvelle adresse validée, votre téléphone portable sera "
                     "prévenu du changement par SMS."):
        assert (sentence in words) == (sentence in said), words

    ask(client, commit, email="m.roux.2@exemple.fr")
    received = {m["To"] for m in smtp_server.wait_for(2 if email_verified else 1)}
    assert ("m.roux@exemple.fr" in received) == email_verified
    commit(Client().post, urlsplit(link_from(
        next(m for m in smtp_server.wait_for(len(received)) if m["To"] == "m.roux.2@exemple.fr")
    )).path)
    assert [m.to for m in sms.outbox] == (["+33612340000"] if phone_verified else [])


def test_at_sign_in_a_mail_already_sent_is_said_before_another_is_offered(
        client, unvalidated, commit, smtp_server, settings):
    """The tryout: minutes after a validation mail left (a school letter's activation, or
    « Je garde cette adresse »), the next sign-in offered « m'envoyer le mail de
    validation » as if none had. The page says to which address and when one left, to click
    its link and look in the spams; only then offers another, within the same limits, the
    first link still valid. The address is the signed-in owner's own, written in full as in
    the next paragraph (it was masked there: « h•••@e•••.org » beside « helene.dupre@… »)."""
    settings.EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT = 2
    login = reverse("accounts:login", args=["representant-legal"])
    pair = {"identifier": unvalidated.identifier, "password": DEFAULT_PASSWORD}
    check = client.post(login, pair)["Location"]
    assert "id=\"email-already-sent\"" not in client.get(check).content.decode()
    commit(client.post, check, {"action": "keep"})
    [first] = smtp_server.wait_for(1)
    LinkToken.objects.update(created_at=datetime.datetime(2026, 1, 15, 13, 5,
                                                          tzinfo=datetime.UTC))
    client.post(reverse("accounts:logout"))

    check = client.post(login, pair)["Location"]
    assert check.startswith(reverse("accounts:my_account:email_check"))
    page = html.parse(client.get(check))
    notice = " ".join(html.text(page.find(id="email-already-sent")).split())
    assert notice == (
        "Un mail de validation vous a déjà été envoyé "
        "Un mail de validation a été envoyé à l.martin@exemple.org le 15 janvier 2026 à "
        "14 h 05 (heure de Paris). Cliquez sur le lien qu'il contient pour valider votre adresse. "
        "Vous ne le trouvez pas ? Il peut mettre quelques minutes à arriver : regardez aussi "
        "dans vos courriers indésirables (spams). Si vous ne l'avez toujours pas reçu, "
        "demandez-en un nouveau ci-dessous.")
    assert html.text(page.find(id="address-to-check")).startswith(
        "L'adresse mail l.martin@exemple.org de votre compte")
    words = " ".join(html.text(html.main(page)).split())
    resend_label = "Je n'ai pas reçu le mail : m'envoyer un nouveau mail de validation"
    assert words.index("courriers indésirables") < words.index(resend_label)
    assert "Cette adresse est correcte : m'envoyer le mail de validation" not in words

    resent = commit(client.post, check, {"action": "keep"})
    assert html.messages(html.parse(client.get(resent["Location"]))) == [
        "Un nouveau mail de validation a été envoyé à l.martin@exemple.org. Pensez à vérifier "
        "vos courriers indésirables (spams) s'il n'arrive pas d'ici 5 minutes."]
    assert smtp_server.wait_for(2)[1]["To"] == "l.martin@exemple.org"
    # The existing limit still holds.
    refused = commit(client.post, check, {"action": "keep"})
    assert html.messages(html.parse(client.get(refused["Location"])))[-1].startswith(
        "Trop de mails de validation ont été envoyés pour votre compte.")
    assert LinkToken.objects.count() == 2
    # The first mail's link still validates the address.
    commit(Client().post, urlsplit(link_from(first)).path)
    unvalidated.refresh_from_db()
    assert unvalidated.email_verified


def _dead_link_page(client, path):
    response = client.get(path)
    assert response.status_code == 410
    return html.main(html.parse(response))


def test_a_dead_link_opened_signed_in_says_why_and_leads_to_a_new_mail(
        signed_in, guardian, commit, smtp_server, settings):
    """The tryout: a dead validation link opened while signed in said « Connectez-vous et
    demandez un nouveau mail de validation » and not which cause applied. Its own account,
    signed in, reads the cause and goes straight to « Modifier mon adresse mail »; a visitor
    signed out reads the same general words as before."""
    ask(signed_in, commit)
    first = urlsplit(link_from(by_recipient(smtp_server.wait_for(2))[NEW])).path
    smtp_server.messages.clear()
    ask(signed_in, commit, email="autre@exemple.fr")
    second = urlsplit(link_from(by_recipient(smtp_server.wait_for(2))["autre@exemple.fr"])).path

    replaced = _dead_link_page(signed_in, first)
    assert "Un mail de validation plus récent vous a été envoyé : il a remplacé celui-ci." in (
        html.text(replaced))
    assert "Connectez-vous" not in html.text(replaced)
    assert replaced.find("a", string="Demander un nouveau mail de validation")["href"] == URL
    # Signed out: nothing more than before.
    visitor = html.text(_dead_link_page(Client(), first))
    assert "remplacé celui-ci" not in visitor
    assert "Une demande plus récente l'a remplacé, la demande a été annulée" in visitor

    commit(signed_in.post, reverse("accounts:my_account:email_cancel"))
    cancelled = html.text(_dead_link_page(signed_in, second))
    assert "La demande de changement d'adresse a été annulée" in cancelled
    assert "La demande de changement" not in html.text(_dead_link_page(Client(), second))


def test_an_expired_link_opened_signed_in_says_it_expired(signed_in, guardian, commit,
                                                          smtp_server):
    ask(signed_in, commit)
    path = urlsplit(link_from(by_recipient(smtp_server.wait_for(2))[NEW])).path
    with freeze_time(LinkToken.objects.get().expires_at):
        session = signed_in.session
        session[SIGNED_IN_AT] = time.time()
        session.save()
        page = _dead_link_page(signed_in, path)
    assert "Ce lien a expiré." in html.text(page)
    assert page.find("a", string="Demander un nouveau mail de validation")["href"] == URL
