"""The first sign-in with a school letter's provisional password (issue 9 §2), through Django's
test client: the guardian's activation to the link received by a real SMTP server on
loopback, the pupil's, the account held in its flow until then (« Mes services », « Mon
compte », SAML, OpenID Connect), resuming after signing in again, the expired letter, the
limits of the birth dates, the correction of the address."""

import datetime
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AccountKind, AccountState
from core.models import Flow, FlowStatus, JournalEvent, LinkToken
from pupils.letters import letters_issue
from pupils.models import Responsibility, ResponsibilityStatus
from tests import html
from tests.factories import (
    DEFAULT_PASSWORD,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.mailbox import html_of, link_from, text_of

pytestmark = pytest.mark.django_db

LETTER_PASSWORD = "7GMPGYF3"
NEW_PASSWORD = "Cartable-Vert-2024!"
GUARDIAN_LOGIN = reverse("accounts:login", args=["representant-legal"])
PUPIL_LOGIN = reverse("accounts:login", args=["eleve"])
MY_SERVICES = reverse("services_portal:my_services")
RESUME = reverse("activation:provisional")
ADDRESS = "nadia.bensaid@exemple.fr"


def provisional(kind=AccountKind.GUARDIAN, *, identifier, first_name, last_name, days=30):
    account = AccountFactory(identifier=identifier, kind=kind, first_name=first_name,
                             last_name=last_name, state=AccountState.PROVISIONAL,
                             provisional_expires_at=timezone.now()
                             + datetime.timedelta(days=days))
    account.set_password(LETTER_PASSWORD)
    account.save()
    return account


@pytest.fixture
def guardian():
    """Nadia Ben Saïd's letter: her records at two schools point to a provisional account."""
    account = provisional(identifier="n.bensaid12", first_name="Nadia", last_name="Ben Saïd")
    school = EstablishmentFactory(uai="9740001A", name="École élémentaire Les Alizés",
                                  kind="ecole")
    college = EstablishmentFactory(uai="9740002B", name="Collège Leconte-de-Lisle")
    ines = PupilFactory(establishment=school, first_names="Inès", last_name="BEN SAÏD",
                        birth_date=datetime.date(2016, 3, 9))
    yanis = PupilFactory(establishment=college, first_names="Yanis", last_name="BEN SAÏD",
                         birth_date=datetime.date(2012, 11, 23))
    for establishment, pupil in ((school, ines), (college, yanis)):
        record = GuardianRecordFactory(establishment=establishment, last_name="BEN SAÏD",
                                       first_name="Nadia", account=account)
        ResponsibilityFactory(guardian_record=record, pupil=pupil)
    account.pupils = {"ines": ines, "yanis": yanis}
    return account


@pytest.fixture
def pupil():
    account = provisional(AccountKind.PUPIL, identifier="y.bensaid3", first_name="Yanis",
                          last_name="Ben Saïd")
    PupilFactory(first_names="Yanis", last_name="BEN SAÏD", account=account,
                 birth_date=datetime.date(2012, 11, 23),
                 establishment=EstablishmentFactory(uai="9740003C", name="Collège Bourbon"))
    return account


def sign_in(client, identifier, password=LETTER_PASSWORD, url=GUARDIAN_LOGIN):
    return client.post(url, {"identifier": identifier, "password": password})


def follow(client, response, limit=6):
    """Follow redirects; returns the last response and the path it answered."""
    path = None
    for _ in range(limit):
        if response.status_code != 302:
            return response, path
        path = response["Location"]
        response = client.get(path)
    raise AssertionError("too many redirects")


def at_step(client, response):
    """Follow to the page shown (200); returns it parsed (tests/html.py) and its path."""
    page, path = follow(client, response)
    assert page.status_code == 200, (page.status_code, path)
    return html.parse(page), path


def birth_dates(*dates):
    data = {}
    for index, (legal, date) in enumerate(dates, start=1):
        data[f"eleve{index}_lien"] = "oui" if legal else "non"
        if date:
            data[f"eleve{index}_jour"] = f"{date.day:02d}"
            data[f"eleve{index}_mois"] = f"{date.month:02d}"
            data[f"eleve{index}_annee"] = str(date.year)
    return data


def guardian_to_pupils(client, guardian, commit):
    """Sign in with the letter, give the address and a new password: at the pupils' page."""
    page, path = at_step(client, sign_in(client, guardian.identifier))
    assert path.endswith("/adresse-mail/")
    page, path = at_step(client, commit(client.post, path, {"email": ADDRESS,
                                                            "email_confirm": ADDRESS}))
    assert path.endswith("/mot-de-passe/")
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert path.endswith("/eleves/")
    return page, path


def in_page_order(guardian):
    """The pupils as the page lists them (school name, then birth date)."""
    return [guardian.pupils["yanis"], guardian.pupils["ines"]]


def test_a_guardian_activates_with_the_letter_and_the_link_received(client, guardian, commit,
                                                                     smtp_server):
    response = sign_in(client, guardian.identifier)
    # The sign-in leads to « Mes services », which sends the provisional account to its flow.
    assert response.status_code == 302
    page, path = at_step(client, response)
    assert path.endswith("/adresse-mail/")
    assert "Étape 1 sur 5 : Je renseigne mon adresse mail" in html.text(page.find("title"))

    # Mandatory, and confirmed.
    refused = commit(client.post, path, {"email": ADDRESS, "email_confirm": "autre@exemple.fr"})
    page, again = at_step(client, refused)
    assert again == path
    assert html.field_errors(page, "id_email_confirm") == [
        "La confirmation ne correspond pas à l'adresse mail saisie. Saisissez deux fois la "
        "même adresse."]
    page, path = at_step(client, commit(client.post, path, {"email": "", "email_confirm": ""}))
    assert html.field_errors(page, "id_email") == ["Saisissez votre adresse mail."]
    page, path = at_step(client, commit(client.post, path, {"email": ADDRESS,
                                                            "email_confirm": ADDRESS}))
    assert path.endswith("/mot-de-passe/")

    # The policy, then not the letter's password, then a new one.
    page, path = at_step(client, commit(client.post, path, {
        "password": "court", "password_confirm": "court"}))
    assert path.endswith("/mot-de-passe/") and html.error_summary(page) is not None
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert path.endswith("/eleves/")
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD) and not guardian.check_password(LETTER_PASSWORD)
    assert guardian.state == AccountState.PROVISIONAL

    # The pupils: a wrong birth date first (the SMS path's words), then the right ones.
    yanis, ines = in_page_order(guardian)
    page, path = at_step(client, commit(client.post, path, birth_dates(
        (True, yanis.birth_date), (True, datetime.date(2016, 3, 10)))))
    assert path.endswith("/eleves/")
    # … with the wrong dates left before the flow is blocked.
    assert ("La date de naissance saisie est incorrecte. Encore 4 dates incorrectes possibles "
            "avant le blocage de l'activation." in html.text(html.error_summary(page)))
    assert not smtp_server.messages
    page, path = at_step(client, commit(client.post, path, birth_dates(
        (True, yanis.birth_date), (True, ines.birth_date))))
    assert path.endswith("/mail-envoye/")
    main = html.main(page)
    assert "Un mail a été envoyé" in html.text(main)
    assert ADDRESS in html.text(main.find(id="sent-to"))
    assert main.find("button", string="Renvoyer le mail")
    assert main.find("button", string="J'ai fait une erreur de saisie dans mon adresse mail")

    [message] = smtp_server.wait_for(1)
    assert message["To"] == ADDRESS
    # The subject says what the mail asks.
    assert message["Subject"].strip() == (
        "Confirmez votre adresse mail pour activer votre compte ÉduConnect")
    body = text_of(message)
    assert "Vous souhaitez activer votre compte ÉduConnect avec l'identifiant N.BENSAID12." in (
        " ".join(body.split()))
    assert "confirmez votre adresse mail en cliquant sur le lien" in " ".join(body.split())
    link = link_from(message)
    assert link in html_of(message)
    # Still provisional until the link is followed: « Mes services » is closed.
    assert client.get(MY_SERVICES)["Location"] == RESUME

    # The link, on another device: the GET shows a button (mail scanners), the POST activates.
    phone = Client()
    link_path = urlsplit(link).path
    for _ in range(2):
        shown = phone.get(link_path)
        assert shown.status_code == 200
        assert html.parse(shown).find("button", string="Valider mon adresse mail et activer "
                                                        "mon compte")
    guardian.refresh_from_db()
    assert guardian.state == AccountState.PROVISIONAL
    done = commit(phone.post, link_path)
    assert done["Location"] == reverse("activation:provisional_validated")
    guardian.refresh_from_db()
    assert guardian.state == AccountState.ACTIVE
    assert guardian.email == ADDRESS and guardian.email_verified
    assert guardian.provisional_expires_at is None and guardian.activated_at is not None
    assert Flow.objects.get(account=guardian).status == FlowStatus.COMPLETED
    # Used once; opened again, it says so — the address its holder typed and received, the
    # account active — and the way to sign in, not « Ce lien n'est plus valable ».
    for again in (phone.post, phone.get):
        response = again(link_path)
        assert response.status_code == 200
        main = html.main(html.parse(response))
        assert "Ce lien a déjà servi" in html.text(main)
        assert (f"L'adresse {ADDRESS} a été validée avec ce lien et le compte ÉduConnect est "
                "activé") in html.text(main)
        assert main.find("a", href=reverse("accounts:profile_choice"))
        assert main.find("button", type="submit") is None
    # Replayed by the first browser, signed in and active now: nothing left to do, and the
    # way to « Mes services ».
    for replay in (client.get, client.post):
        page = html.parse(replay(link_path))
        assert html.text(page.find("h1")) == "Votre compte est déjà activé"
        assert html.main(page).find("a", href=MY_SERVICES)
        assert "Reprendre" not in html.text(html.main(page))
    # A step of the finished flow, from this browser: the same.
    page = html.parse(client.get(path))
    assert html.text(page.find("h1")) == "Votre compte est déjà activé"

    # The first browser, still signed in, reaches « Mes services » now.
    services = client.get(MY_SERVICES)
    assert services.status_code == 200
    activated = JournalEvent.objects.get(kind="account_activated", account=guardian)
    assert activated.data["method"] == "letter"
    # Nothing secret in the journal or the flow.
    flow = Flow.objects.get(account=guardian)
    assert NEW_PASSWORD not in str(flow.data) and LETTER_PASSWORD not in str(flow.data)


@pytest.mark.parametrize("path", [
    MY_SERVICES,
    reverse("accounts:my_account:information"),
    "/idp/profile/SAML2/Redirect/SSO?SAMLRequest=x",
    "/idp/profile/SAML2/Unsolicited/SSO?providerId=https://sp.example.org",
    "/oidc/authorize/?client_id=x&response_type=code&scope=openid",
    reverse("activation:start"),
])
def test_a_provisional_account_reaches_nothing_but_its_flow(client, guardian, path):
    sign_in(client, guardian.identifier)
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == RESUME
    # The sign-out and the academic assistance form stay open.
    assert client.get(reverse("assistance:form")).status_code == 200


@pytest.mark.parametrize("name", ["pages:accessibility", "pages:legal_notice",
                                  "pages:personal_data", "pages:cookies", "pages:site_map",
                                  "pages:help", "pages:password_help"])
def test_the_footer_pages_open_during_the_first_sign_in(client, guardian, name):
    # The e-mail step refers to « Données personnelles »; the accessibility statement and the
    # help must be reachable from every page. They open, and the flow is still where it was.
    sign_in(client, guardian.identifier)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert client.get(MY_SERVICES)["Location"] == RESUME


def test_leaving_and_signing_in_again_resumes_where_it_stopped(client, guardian, commit):
    guardian_to_pupils(client, guardian, commit)
    client.post(reverse("accounts:logout"))
    # Another browser, the new password: back at the pupils, the address kept.
    other = Client()
    _page, path = at_step(other, sign_in(other, guardian.identifier, NEW_PASSWORD))
    assert path.endswith("/eleves/")
    assert Flow.objects.filter(account=guardian).count() == 1
    # The first browser no longer opens the flow (bound to the one that signed in last).
    assert client.get(path).status_code == 302
    assert JournalEvent.objects.filter(kind="provisional.flow_resumed",
                                       account=guardian).exists()


def test_an_expired_flow_gives_way_to_a_new_one_that_keeps_what_was_done(client, guardian,
                                                                         commit, settings):
    guardian_to_pupils(client, guardian, commit)
    Flow.objects.filter(account=guardian).update(expires_at=timezone.now())
    _page, path = at_step(client, client.get(RESUME))
    assert path.endswith("/eleves/")
    assert Flow.objects.filter(account=guardian).count() == 2


def test_a_letter_reissued_during_the_first_sign_in_starts_it_over(client, guardian, commit,
                                                                    smtp_server):
    """Found by a tryout: a letter reissued while the family waited for its validation e-mail
    replaced the password the family had chosen, and the link then activated the account
    with the school's new password. Now the link dies and the first sign-in starts over."""
    _page, path = guardian_to_pupils(client, guardian, commit)
    yanis, ines = in_page_order(guardian)
    at_step(client, commit(client.post, path, birth_dates((True, yanis.birth_date),
                                                          (True, ines.birth_date))))
    [message] = smtp_server.wait_for(1)
    link_path = urlsplit(link_from(message)).path

    record = guardian.guardian_records.get(establishment__uai="9740002B")
    [letter], counts = commit(letters_issue, establishment=record.establishment,
                              guardian_record_ids=[record.pk], actor=AccountFactory())
    assert counts.reissued == 1 and letter.identifier == guardian.display_identifier

    # The old link activates nothing, and says so.
    phone = Client()
    assert commit(phone.post, link_path).status_code == 410
    guardian.refresh_from_db()
    assert guardian.state == AccountState.PROVISIONAL and not guardian.email_verified
    # The password the family chose is gone with the old letter; the first browser is out.
    assert not guardian.check_password(NEW_PASSWORD)
    out = client.get(MY_SERVICES)
    assert out.status_code == 302 and out["Location"] != RESUME
    assert "_auth_user_id" not in client.session
    # The new letter starts at step 1, and nothing of the old attempt is kept.
    again = Client()
    _page, path = at_step(again, sign_in(again, guardian.identifier, letter.password))
    assert path.endswith("/adresse-mail/")
    assert html.field(_page, "id_email").get("value") in (None, "")
    issued = JournalEvent.objects.filter(kind="letters.issued", account=guardian).latest("at")
    assert issued.data["reissued"] and issued.data["first_sign_in_restarted"]
    assert letter.password not in str(issued.data)


def test_the_first_step_back_and_another_accounts_flow(client, guardian, commit):
    page, path = at_step(client, sign_in(client, guardian.identifier))
    page, path = at_step(client, commit(client.post, path, {"email": ADDRESS,
                                                            "email_confirm": ADDRESS}))
    page, back = at_step(client, client.post(path, {"action": "back"}))
    assert back.endswith("/adresse-mail/")
    # The address typed is shown again, in both fields: « Confirmer » alone goes on.
    assert html.field(page, "id_email").get("value") == ADDRESS
    assert html.field(page, "id_email_confirm").get("value") == ADDRESS
    page, path = at_step(client, commit(client.post, back, {"email": ADDRESS,
                                                            "email_confirm": ADDRESS}))
    assert path.endswith("/mot-de-passe/")

    # Another provisional account signed in in the same browser gets the 404 page.
    other = provisional(identifier="j.payet4", first_name="Jean", last_name="Payet")
    client.post(reverse("accounts:logout"))
    sign_in(client, other.identifier)
    assert client.get(back).status_code == 404


def test_an_expired_letter_is_told_only_after_the_right_password(client, guardian):
    guardian.provisional_expires_at = timezone.now() - datetime.timedelta(minutes=1)
    guardian.save()
    refused = sign_in(client, guardian.identifier)
    assert refused.status_code == 200
    assert html.text(html.error_summary(html.parse(refused))).count(
        "Le mot de passe provisoire de votre courrier a expiré") == 1
    assert "_auth_user_id" not in client.session
    # A wrong password, an unknown identifier: the usual words, nothing about a letter.
    for identifier, password in ((guardian.identifier, "Mauvais-1!"),
                                 ("x.inconnu99", LETTER_PASSWORD)):
        page = html.parse(sign_in(Client(), identifier, password))
        summary = html.text(html.error_summary(page))
        assert "Identifiant ou mot de passe incorrect." in summary
        assert "provisoire" not in summary


def test_too_many_wrong_birth_dates_block_the_flow_until_the_window_passes(client, guardian,
                                                                           commit, settings):
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 3
    page, path = guardian_to_pupils(client, guardian, commit)
    yanis, _ines = in_page_order(guardian)
    # Two different wrong dates (the same one typed again would count once).
    at_step(client, commit(client.post, path, birth_dates(
        (True, yanis.birth_date), (True, datetime.date(2015, 1, 1)))))
    page, _blocked = at_step(client, commit(client.post, path, birth_dates(
        (True, yanis.birth_date), (True, datetime.date(2015, 1, 2)))))
    assert "Activation impossible : trop de dates de naissance incorrectes" in html.text(
        html.main(page))
    assert Flow.objects.get(account=guardian).status == FlowStatus.BLOCKED
    # Signing in again gives a new flow (the per-account window has room for one more)…
    page, again = at_step(client, client.get(RESUME))
    assert again.endswith("/eleves/")
    assert Flow.objects.filter(account=guardian).count() == 2
    # … whose one wrong date fills the window: blocked, and signing in again finds it so.
    page, _path = at_step(client, commit(client.post, again, birth_dates(
        (True, yanis.birth_date), (True, datetime.date(2015, 1, 1)))))
    assert "Activation impossible" in html.text(html.main(page))
    page, _path = at_step(client, client.get(RESUME))
    assert "Activation impossible" in html.text(html.main(page))
    assert Flow.objects.filter(account=guardian).count() == 2


def test_disputing_a_link_and_correcting_the_address(client, guardian, commit, smtp_server):
    page, path = guardian_to_pupils(client, guardian, commit)
    yanis, ines = in_page_order(guardian)
    page, sent = at_step(client, commit(client.post, path, birth_dates(
        (True, yanis.birth_date), (False, None))))
    assert sent.endswith("/mail-envoye/")
    assert Responsibility.objects.get(pupil=ines).status == ResponsibilityStatus.DISPUTED
    [first] = smtp_server.wait_for(1)

    # « J'ai fait une erreur de saisie »: back to the address; the first link dies.
    flow = Flow.objects.get(account=guardian)
    page, path = at_step(client, client.post(
        reverse("activation:provisional_correct", args=[flow.id])))
    assert path.endswith("/adresse-mail/")
    corrected = "nadia.ben-said@exemple.fr"
    page, again = at_step(client, commit(client.post, path, {"email": corrected,
                                                             "email_confirm": corrected}))
    assert again == sent
    second = smtp_server.wait_for(2)[1]
    assert second["To"] == corrected
    dead = Client().get(urlsplit(link_from(first)).path)
    assert dead.status_code == 410
    # Its words are true: « Renvoyer le mail » replaces no link, a correction does.
    words = html.text(html.main(html.parse(dead)))
    assert "plus récent" not in words and "a déjà servi" not in words
    assert "l'adresse mail a été corrigée depuis son envoi" in words

    # « Renvoyer le mail »: one more, to the corrected address; both live.
    page, _path = at_step(client, commit(client.post, reverse(
        "activation:provisional_resend", args=[flow.id])))
    assert html.messages(page) == [
        f"Un nouveau mail a été envoyé à {corrected}. Le lien des mails précédents reste "
        "valable."]
    third = smtp_server.wait_for(3)[2]
    assert third["To"] == corrected
    commit(Client().post, urlsplit(link_from(second)).path)
    guardian.refresh_from_db()
    assert guardian.state == AccountState.ACTIVE and guardian.email == corrected
    assert LinkToken.objects.filter(account=guardian, used_at__isnull=True,
                                    revoked_at__isnull=True).count() == 0


def test_a_pupil_activates_with_the_letter(client, pupil, commit):
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    assert path.endswith("/mot-de-passe/")
    assert "Étape 1 sur 4 : Je choisis mon nouveau mot de passe" in html.text(page.find("title"))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert path.endswith("/identite/")
    assert "Je confirme mon identité" in html.text(page.find("title"))

    page, path = at_step(client, client.post(path, {"jour": "24", "mois": "11",
                                                    "annee": "2012"}))
    assert path.endswith("/identite/")
    assert html.field_errors(page, "id_jour") == [
        "La date de naissance saisie est incorrecte. Il vous reste 4 essais."]
    page, path = at_step(client, client.post(path, {"jour": "31", "mois": "02",
                                                    "annee": "2012"}))
    assert "Cette date n'existe pas." in html.text(html.error_summary(page))
    pupil.refresh_from_db()
    assert pupil.state == AccountState.PROVISIONAL

    page, path = at_step(client, client.post(path, {"jour": "23", "mois": "11",
                                                    "annee": "2012"}))
    assert path.endswith("/adresse-mail/")
    pupil.refresh_from_db()
    assert pupil.state == AccountState.ACTIVE and pupil.provisional_expires_at is None
    # The address is optional.
    # The stepper said « Étape 3 sur 4 … Étape suivante : Mon compte est activé »: step 4
    # is shown, then « Mes services » (as the guardian's letter ends on « Votre compte est
    # activé »).
    page, path = at_step(client, client.post(path, {"skip": ""}))
    assert path.endswith("/compte-active/")
    assert html.text(page.find("title")).startswith("Étape 4 sur 4 : Mon compte est activé")
    main = html.main(page)
    assert "Étape 4 sur 4" in html.text(main)
    assert "Votre compte est activé : vous pouvez accéder à vos services." in html.text(main)
    assert main.find("a", string="Accéder à mes services")["href"] == MY_SERVICES


@pytest.mark.parametrize("earlier", ["/identite/", "/mot-de-passe/"])
def test_back_from_the_pupils_address_step_lands_on_it_again(client, pupil, commit, earlier):
    """At « Étape 3 sur 4 Je renseigne mon adresse mail (facultatif) » the account is active
    already (the identity step activates it), but the flow is open at the address step:
    Back to an earlier step's page shows the address step again — with its counter, and
    saying the account is active — never « Votre compte est déjà activé… plus rien à
    faire », which contradicted the counter and dropped the optional step."""
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    identity = path
    page, email_path = at_step(client, client.post(path, {"jour": "23", "mois": "11",
                                                          "annee": "2012"}))
    assert email_path.endswith("/adresse-mail/")
    pupil.refresh_from_db()
    assert pupil.state == AccountState.ACTIVE

    page, path = at_step(client, client.get(identity.replace("/identite/", earlier)))
    assert path == email_path
    assert "Étape 3 sur 4 : Je renseigne mon adresse mail (facultatif)" in html.text(
        page.find("title"))
    assert "Votre compte est déjà activé" not in html.text(html.main(page))
    assert "Votre compte est activé" in html.text(page.find(id="pupil-active"))
    # The step still works: skipping it ends the flow (step 4, « Mon compte est activé »).
    page, path = at_step(client, client.post(email_path, {"skip": ""}))
    assert path.endswith("/compte-active/")


def test_the_pupils_address_step_says_what_signing_out_now_really_does(client, pupil, commit):
    """The tryout: at the pupil's address step the page said « Votre compte est activé »
    beside « Terminer plus tard (se déconnecter) » and « l'activation reprendra où vous
    l'avez laissée ». The account is active from the identity step: signing in again leads
    to « Mes services », never back here; the address is given later in « Mon compte »."""
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    page, path = at_step(client, client.post(path, {"jour": "23", "mois": "11",
                                                    "annee": "2012"}))
    assert path.endswith("/adresse-mail/")
    words = html.text(html.main(page))
    assert "Terminer plus tard" not in words
    assert "reprendra où vous l'avez laissée" not in words
    assert (
        "Votre compte est activé : l'adresse mail est facultative. Si vous vous déconnectez "
        "maintenant, reconnectez-vous avec votre identifiant et le nouveau mot de passe que "
        "vous avez choisi : vous arriverez directement sur vos services, et vous pourrez "
        "indiquer une adresse mail plus tard dans « Mon compte ».") in _help(page)
    [logout] = [b for b in html.main(page).find_all("button")
                if "déconnecter" in html.text(b)]
    assert html.text(logout) == "Me déconnecter sans indiquer d'adresse mail"
    # What it says is true: signed out, the new password leads to « Mes services ».
    client.post(reverse("accounts:logout"))
    _page, landed = at_step(client, sign_in(client, pupil.identifier, NEW_PASSWORD,
                                            url=PUPIL_LOGIN))
    assert landed == MY_SERVICES


def test_a_pupil_gives_an_address_validated_by_its_link(client, pupil, commit, smtp_server):
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    page, path = at_step(client, client.post(path, {"jour": "23", "mois": "11",
                                                    "annee": "2012"}))
    # Optional for a pupil, and said so.
    assert html.label_of(page, "id_email").startswith("Adresse mail (facultatif)")
    address = "yanis.bs@exemple.fr"
    page, path = at_step(client, commit(client.post, path, {"email": address,
                                                           "email_confirm": address}))
    assert path.endswith("/compte-active/")
    assert (f"Votre compte est activé. Un mail de validation a été envoyé à {address}"
            in html.text(html.main(page)))
    [message] = smtp_server.wait_for(1)
    assert message["To"] == address
    commit(Client().post, urlsplit(link_from(message)).path)
    pupil.refresh_from_db()
    assert pupil.email == address and pupil.email_verified


def test_a_pupils_confirmation_without_the_address_is_refused_not_skipped(client, pupil,
                                                                         commit, smtp_server):
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    page, email_path = at_step(client, client.post(path, {"jour": "23", "mois": "11",
                                                          "annee": "2012"}))
    page, path = at_step(client, commit(client.post, email_path,
                                        {"email": "", "email_confirm": "x@exemple.fr"}))
    assert path == email_path
    message = ("Vous n'avez rempli que la confirmation. Saisissez aussi votre adresse mail, ou "
               "videz les deux champs pour ne pas en indiquer.")
    assert html.field_errors(page, "id_email") == [message]
    assert html.summary_links(page) == [("#id_email", f"Adresse mail : {message}")]
    assert html.field_errors(page, "id_email_confirm") == []
    # Nothing skipped: the step is still there, no address, no mail.
    again = client.get(email_path)
    assert again.status_code == 200
    title = html.text(html.parse(again).find("title"))
    assert "Je renseigne mon adresse mail (facultatif)" in title
    pupil.refresh_from_db()
    assert pupil.email == ""
    assert not smtp_server.messages
    # Both emptied: no address, as « Passer cette étape ».
    page, path = at_step(client, commit(client.post, email_path, {"email": "",
                                                                  "email_confirm": ""}))
    assert path.endswith("/compte-active/")


def test_a_pupil_blocked_after_too_many_wrong_dates(client, pupil, commit, settings):
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    for day in ("01", "02"):  # two different wrong dates
        page, _path = at_step(client, client.post(path, {"jour": day, "mois": "01",
                                                         "annee": "2012"}))
    assert "Activation impossible" in html.text(html.main(page))
    pupil.refresh_from_db()
    assert pupil.state == AccountState.PROVISIONAL
    assert client.get(MY_SERVICES)["Location"] == RESUME


# --- §3: an address not validated ----------------------------------------------------------------


@pytest.fixture
def unvalidated():
    return AccountFactory(identifier="l.martin20", first_name="Lucie", last_name="Martin",
                          email="l.martin@exemple.org", email_verified=False)


def test_signing_in_with_an_unvalidated_address_asks_to_check_it(client, unvalidated, commit,
                                                                 smtp_server):
    response = sign_in(client, unvalidated.identifier, "Motdepasse-Long-1!")
    assert response.status_code == 200  # wrong password first: nothing asked
    response = sign_in(client, unvalidated.identifier, DEFAULT_PASSWORD)
    check = reverse("accounts:my_account:email_check")
    assert response["Location"].startswith(check)
    page = html.parse(client.get(response["Location"]))
    assert "l.martin@exemple.org" in html.text(page.find(id="address-to-check"))
    # The services are open meanwhile.
    assert client.get(MY_SERVICES).status_code == 200

    # « Cette adresse est correcte »: a new validation e-mail to it, then on to the services.
    kept = commit(client.post, check, {"action": "keep", "next": MY_SERVICES})
    assert kept["Location"] == MY_SERVICES
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "l.martin@exemple.org"


def test_correcting_an_unvalidated_address_does_not_write_to_the_old_one(client, unvalidated,
                                                                         commit, smtp_server):
    response = sign_in(client, unvalidated.identifier, DEFAULT_PASSWORD)
    check = response["Location"]
    refused = commit(client.post, check, {"action": "correct", "email": "lucie@exemple.fr",
                                          "email_confirm": "lucie@exemple.com"})
    assert refused.status_code == 400
    done = commit(client.post, check, {"action": "correct", "email": "lucie@exemple.fr",
                                       "email_confirm": "lucie@exemple.fr"})
    assert done["Location"] == MY_SERVICES
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "lucie@exemple.fr"
    commit(Client().post, urlsplit(link_from(message)).path)
    unvalidated.refresh_from_db()
    assert unvalidated.email == "lucie@exemple.fr" and unvalidated.email_verified
    # Validated: the next sign-in asks nothing.
    again = sign_in(Client(), unvalidated.identifier, DEFAULT_PASSWORD)
    assert again["Location"] == MY_SERVICES


def test_a_validated_address_is_not_asked_about(client):
    account = AccountFactory(email="ok@exemple.fr", email_verified=True)
    assert sign_in(client, account.identifier, DEFAULT_PASSWORD)["Location"] == MY_SERVICES
    assert Account.objects.get(pk=account.pk).email_verified


def test_the_address_step_offers_the_address_the_school_holds(client, guardian, commit):
    """The roster's address for this guardian is in both fields, said to come from the
    school, and can be changed (a guardian without one: the fields stay empty, see
    test_a_letter_reissued_during_the_first_sign_in_starts_it_over)."""
    first, second = guardian.guardian_records.order_by("pk")
    first.email = "nadia.ancienne@exemple.fr"
    first.save(update_fields=["email"])
    second.email = "Nadia.BenSaid@Exemple.fr"
    second.save(update_fields=["email"])
    page, path = at_step(client, sign_in(client, guardian.identifier))
    assert path.endswith("/adresse-mail/")
    # The most recent record's address, as stored (lowercase), in both fields.
    assert html.field(page, "id_email")["value"] == "nadia.bensaid@exemple.fr"
    assert html.field(page, "id_email_confirm")["value"] == "nadia.bensaid@exemple.fr"
    assert "que l'établissement de votre enfant nous a transmise" in html.text(
        page.find(id="email-from-roster"))
    # Still editable: another address is taken as typed.
    page, path = at_step(client, commit(client.post, path, {"email": ADDRESS,
                                                            "email_confirm": ADDRESS}))
    assert path.endswith("/mot-de-passe/")
    page, _back = at_step(client, client.post(path, {"action": "back"}))
    assert html.field(page, "id_email")["value"] == ADDRESS  # the one typed, not the roster's
    assert page.find(id="email-from-roster") is None


def test_a_roster_address_with_a_slip_is_warned_about_when_sent(client, guardian, commit):
    record = guardian.guardian_records.first()
    record.email = "nadia.bensaid@hotmial.fr"
    record.save(update_fields=["email"])
    page, path = at_step(client, sign_in(client, guardian.identifier))
    assert html.field(page, "id_email")["value"] == "nadia.bensaid@hotmial.fr"
    assert page.find("input", attrs={"name": "email_verifiee"}) is None  # offered, not sent
    data = {"email": "nadia.bensaid@hotmial.fr", "email_confirm": "nadia.bensaid@hotmial.fr"}
    page, path = at_step(client, commit(client.post, path, data))
    assert html.field_errors(page, "id_email") == [
        "Vérifiez votre adresse : vouliez-vous écrire nadia.bensaid@hotmail.fr ? Si "
        "l'adresse saisie est la bonne, validez de nouveau sans la changer."]
    remembered = page.find("input", attrs={"name": "email_verifiee"})["value"]
    page, path = at_step(client, commit(client.post, path, {**data,
                                                            "email_verifiee": remembered}))
    assert path.endswith("/mot-de-passe/")



@pytest.fixture
def one_child_guardian():
    """Karim Payet's letter: one record, one child."""
    account = provisional(identifier="k.payet7", first_name="Karim", last_name="Payet")
    school = EstablishmentFactory(uai="9740004D", name="École primaire Les Camélias",
                                  kind="ecole")
    lea = PupilFactory(establishment=school, first_names="Léa", last_name="PAYET",
                       birth_date=datetime.date(2017, 6, 1))
    record = GuardianRecordFactory(establishment=school, last_name="PAYET", first_name="Karim",
                                   account=account)
    ResponsibilityFactory(guardian_record=record, pupil=lea)
    account.pupils = {"lea": lea}
    return account


def _help(page) -> str:
    return html.text(page.select_one(".fr-callout"))


def test_the_help_names_the_password_that_signs_in_again_at_each_step(client, guardian,
                                                                       commit):
    """Before any password is chosen, « Terminer plus tard » brings the person back with the
    letter's password; once one is chosen, with that one (the letter's works no more)."""
    page, path = at_step(client, sign_in(client, guardian.identifier))
    assert path.endswith("/adresse-mail/")
    assert "le mot de passe provisoire du courrier" in _help(page)
    assert "choisi" not in _help(page)
    page, path = at_step(client, commit(client.post, path, {"email": ADDRESS,
                                                            "email_confirm": ADDRESS}))
    assert path.endswith("/mot-de-passe/")
    assert "le mot de passe provisoire du courrier" in _help(page)
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert path.endswith("/eleves/")
    assert ("reconnectez-vous avec votre identifiant et le nouveau mot de passe que vous avez "
            "choisi (celui du courrier ne fonctionne plus)") in _help(page)
    # What it says is true: signed out, the letter's password is refused, the new one resumes.
    client.post(reverse("accounts:logout"))
    assert sign_in(client, guardian.identifier).status_code == 200
    page, resumed = at_step(client, sign_in(client, guardian.identifier, NEW_PASSWORD))
    assert resumed == path


def test_one_child_the_step_says_up_front_no_dispute_and_the_way_out(client,
                                                                      one_child_guardian,
                                                                      commit):
    page, _path = guardian_to_pupils(client, one_child_guardian, commit)
    main = html.text(html.main(page))
    assert ("Un seul élève est rattaché à ce compte provisoire : en saisissant sa date de "
            "naissance, vous confirmez être son représentant légal.") in main
    # The choice it would refuse is not offered.
    assert "Je ne suis pas le représentant légal de cet élève" not in main
    assert not html.main(page).select("input[type=radio]")
    # And what a person who is not the child's représentant légal can do instead.
    assert html.text(page.select_one("#only-link-way-out")) == (
        "Si vous n'êtes pas son représentant légal, n'activez pas ce compte : contactez "
        "l'école ou l'établissement qui vous a remis ce courrier, puis choisissez « Terminer "
        "plus tard (se déconnecter) ».")


def test_back_from_the_pupils_step_to_the_password_kept_or_changed(client, one_child_guardian,
                                                                   commit):
    """« Précédent » of « Je confirme mon lien avec les élèves »: the password step, which
    says a password is already chosen and offers to keep it; nothing is undone."""
    page, pupils_path = guardian_to_pupils(client, one_child_guardian, commit)
    [back] = [b for b in html.main(page).select("button") if html.text(b) == "Précédent"]
    assert back.find_parent("form")["method"] == "post"

    page, path = at_step(client, client.post(pupils_path, {"action": "back"}))
    assert path.endswith("/mot-de-passe/")
    assert ("Vous avez déjà choisi votre nouveau mot de passe : c'est avec lui que vous vous "
            "reconnecterez. Gardez-le, ou choisissez-en un autre ci-dessous."
            ) in html.text(page.select_one("#password-chosen"))
    assert "Garder ce mot de passe" in [html.text(b) for b in html.main(page).select("button")]

    # « Garder ce mot de passe »: on to the pupils, the password unchanged.
    page, again = at_step(client, client.post(path, {"action": "keep"}))
    assert again == pupils_path
    changed = JournalEvent.objects.filter(kind="password_changed",
                                          account=one_child_guardian)
    assert changed.count() == 1

    # The same password typed again is kept too, without an error.
    at_step(client, client.post(pupils_path, {"action": "back"}))
    page, again = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert again == pupils_path and changed.count() == 1

    # Another one replaces it.
    at_step(client, client.post(pupils_path, {"action": "back"}))
    other = "Cartable-Bleu-2025!"
    page, again = at_step(client, commit(client.post, path, {
        "password": other, "password_confirm": other}))
    assert again == pupils_path and changed.count() == 2
    one_child_guardian.refresh_from_db()
    assert one_child_guardian.check_password(other)

    # The pupil confirmed, the account goes on as before.
    lea = one_child_guardian.pupils["lea"]
    page, sent = at_step(client, commit(client.post, pupils_path,
                                        birth_dates((True, lea.birth_date))))
    assert sent.endswith("/mail-envoye/")


def test_the_password_step_posted_after_the_activation_says_that_password_was_not_saved(
        client, pupil, commit):
    """The password step left open in another tab, posted after the first sign-in ended:
    the notice says the password typed there was not saved and how to sign in or change
    it, not only « démarche déjà terminée » (the tester then signed in with it, and failed)."""
    page, password_path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, password_path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    page, path = at_step(client, client.post(path, {"jour": "23", "mois": "11",
                                                    "annee": "2012"}))
    at_step(client, client.post(path, {"skip": ""}))
    other = "Lune-Bleue-22-Nuit!"
    page, path = at_step(client, commit(client.post, password_path, {
        "password": other, "password_confirm": other}))
    (notice,) = html.messages(page)
    assert "Le mot de passe saisi dans cette page n'a pas été enregistré" in notice
    assert "l'identifiant du courrier et le mot de passe choisi dans l'autre onglet" in notice
    assert "« Mot de passe oublié ? »" in notice and "« Mon compte »" in notice
    pupil.refresh_from_db()
    assert pupil.check_password(NEW_PASSWORD) and not pupil.check_password(other)


def test_every_step_of_the_pupil_s_first_sign_in_is_titled_as_the_seeds_title_theirs():
    """Every step titled « Je … » (the seeds: « Je confirme mon identité », « Je renseigne mon
    n° de téléphone portable »…), the identity step too; the last one says the result."""
    from activation.flows import PROVISIONAL_PUPIL

    titles = {stage.name: str(stage.label) for stage in PROVISIONAL_PUPIL.stages}
    assert titles["identity"] == "Je confirme mon identité"
    assert all(title.startswith("Je ") for name, title in titles.items() if name != "done")


def test_the_pupils_identity_step_gives_one_example_date(client, pupil, commit):
    """The tryout: the hint said « Par exemple : 17 05 2010 » and, after 31/02/2011, the
    error « par exemple 17 05 2014 »: one example per page, from one place."""
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    assert path.endswith("/identite/")
    page, path = at_step(client, client.post(path, {"jour": "31", "mois": "02",
                                                    "annee": "2011"}))
    words = html.text(html.main(page))
    assert "Cette date n'existe pas." in words
    examples = set(re.findall(r"[Pp]ar exemple :? ?(\d\d \d\d \d{4})", words))
    assert len(examples) == 1, examples
    page, path = at_step(client, client.post(path, {"jour": "", "mois": "", "annee": ""}))
    words = html.text(html.main(page))
    assert set(re.findall(r"[Pp]ar exemple :? ?(\d\d \d\d \d{4})", words)) == examples


def test_the_pupils_step_speaks_of_one_child_in_the_singular(client, one_child_guardian,
                                                             guardian, commit):
    page, _path = guardian_to_pupils(client, one_child_guardian, commit)
    main = html.text(html.main(page))
    assert ("Pour avoir accès aux services concernant l'élève ci-dessous, vous devez confirmer "
            "que vous êtes bien représentant(e) légal(e) de cet élève et renseigner sa date de "
            "naissance.") in main
    assert "ces élèves" not in main and "leur date" not in main
    client.post(reverse("accounts:logout"))
    page, _path = guardian_to_pupils(client, guardian, commit)  # two children: the seeds' words
    assert ("Pour avoir accès aux services concernant les élèves ci-dessous, vous devez "
            "confirmer que vous êtes bien représentant(e) légal(e) de ces élèves et renseigner "
            "leur date de naissance.") in html.text(html.main(page))
