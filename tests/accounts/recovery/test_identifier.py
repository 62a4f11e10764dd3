"""« Identifiant oublié ? » by SMS: the identifier to the account's number, the same page
whatever matched, a limit per address shown and one per number silent."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.journal import EventKind
from core.models import JournalEvent
from notifications import sms
from notifications.models import OutboundMessage
from tests import html
from tests.factories import AccountFactory

from .conftest import CSRF
from .test_enumeration import _shapes

pytestmark = pytest.mark.django_db
URL = reverse("accounts:identifier_forgotten_sms")


def ask(client, last_name="Nguyen Lefort", first_name="SEBASTIEN", phone="06 12 34 56 78",
        **kwargs):
    return client.post(URL + "?profil=representant-legal",
                       {"last_name": last_name, "first_name": first_name, "phone": phone},
                       **kwargs)


def sent_page(client, response) -> str:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:identifier_forgotten_sent"))
    return CSRF.sub("csrf", client.get(response["Location"]).content.decode())


def test_the_identifier_arrives_by_sms_and_the_page_is_the_same_for_a_stranger(
    client, guardian, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = sent_page(client, ask(client))
        unknown = sent_page(client, ask(client, first_name="Sabine"))
    assert known == unknown
    page = html.parse(known)
    assert "Si ces nom, prénom et numéro correspondent à un compte ÉduConnect, vous allez " \
           "recevoir un SMS avec votre identifiant." in html.text(html.main(page))
    assert [(m.to, m.body) for m in sms.outbox] == [(
        "+33612345678",
        "ÉduConnect : votre identifiant est S.NGUYEN21. Connectez-vous avec cet identifiant et "
        "votre mot de passe.",
    )]
    sent = JournalEvent.objects.get(kind=EventKind.IDENTIFIER_REMINDER_SENT)
    assert sent.account == guardian and sent.data == {"channel": "sms"}
    assert JournalEvent.objects.get(kind=EventKind.IDENTIFIER_REMINDER_NOT_SENT).data == {
        "channel": "sms", "reason": "no_match"}


def test_two_accounts_of_one_person_are_listed_in_one_sms(client, guardian,
                                                          django_capture_on_commit_callbacks):
    AccountFactory(identifier="s.nguyen22", first_name="Sébastien", last_name="NGUYEN LEFORT",
                   phone="+33612345678", phone_verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client)
    assert len(sms.outbox) == 1
    assert "vos identifiants sont S.NGUYEN21, S.NGUYEN22." in sms.outbox[0].body


def test_an_unproven_number_or_a_closed_account_gets_nothing(client, db,
                                                             django_capture_on_commit_callbacks):
    AccountFactory(identifier="s.nguyen21", first_name="Sébastien", last_name="Nguyen-Lefort",
                   phone="+33612345678", phone_verified=False)
    AccountFactory(identifier="s.nguyen22", first_name="Sébastien", last_name="Nguyen-Lefort",
                   phone="+33612345678", phone_verified=True, state="closed")
    with django_capture_on_commit_callbacks(execute=True):
        ask(client)
    assert not sms.outbox


def test_bad_input_names_the_field_and_the_fix(client, db):
    response = ask(client, last_name="", phone="01 23 45 67 89")
    assert response.status_code == 200
    page = html.parse(response)
    messages = [message for _href, message in html.summary_links(page)]
    assert "Saisissez votre nom." in " ".join(messages)
    assert "n'est pas un numéro de téléphone portable valide" in " ".join(messages)
    assert "Erreur" in html.text(page.find("title"))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("last_name", "Nguyen 🙂", "Votre nom ne peut contenir que des lettres, accentuées ou non"),
    ("first_name", "S" * 500, "Votre prénom comporte au plus 100 caractères"),
    # A right-to-left override shows « \u202eNAIDN » as « NDIAN »: refused, never removed.
    ("last_name", "\u202eNAIDN", "Votre nom contient un caractère invisible qui change le sens "
                                 "d'affichage du texte"),
    ("first_name", "Seb\u2067astien", "Votre prénom contient un caractère invisible"),
])
def test_a_name_that_cannot_be_one_is_refused_before_any_lookup(client, guardian, field,
                                                               value, message):
    with CaptureQueriesContext(connection) as queries:
        response = ask(client, **{field: value})
    assert response.status_code == 200
    page = html.parse(response)
    assert any(message in text and href == f"#id_{field}"
               for href, text in html.summary_links(page))
    assert not any("accounts_account" in q["sql"] for q in queries.captured_queries)
    assert not sms.outbox


def test_an_over_long_address_gets_the_length_message_by_email_too(client, guardian):
    response = client.post(reverse("accounts:identifier_forgotten_email")
                           + "?profil=representant-legal", {"email": "a" * 300 + "@orange.fr"})
    assert response.status_code == 200
    page = html.parse(response)
    assert html.field_errors(page, "id_email") == [
        "Une adresse mail comporte au plus 254 caractères : vérifiez votre saisie."]


def test_the_per_address_limit_is_shown_and_the_per_number_limit_is_silent(
    guardian, settings, django_capture_on_commit_callbacks
):
    settings.IDENTIFIER_REMINDER_MAX_PER_RECIPIENT = 2
    settings.IDENTIFIER_REMINDER_MAX_PER_IP = 4
    client = Client(REMOTE_ADDR="198.51.100.7")
    with django_capture_on_commit_callbacks(execute=True):
        pages = {sent_page(client, ask(client)) for _ in range(3)}
    assert len(pages) == 1  # the third request reads the same, and sends nothing
    assert len(sms.outbox) == 2
    assert JournalEvent.objects.filter(kind=EventKind.IDENTIFIER_REMINDER_NOT_SENT,
                                       data__reason="recipient_quota").count() == 1
    ask(client, first_name="Sabine")  # a non-match counts against the address too
    refused = ask(client)
    assert refused.status_code == 429 and refused["Retry-After"]
    page = html.parse(refused)
    assert "Trop de demandes ont été faites depuis votre connexion internet" in html.text(
        html.error_summary(page))
    assert len(sms.outbox) == 2


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_same_database_work_for_a_match_and_a_non_match(guardian, channel):
    url = reverse(f"accounts:identifier_forgotten_{'sms' if channel == 'sms' else 'email'}")

    def shapes(known):
        client = Client()
        client.get(url)
        data = ({"last_name": "Nguyen-Lefort", "first_name": "Sébastien" if known else "Sabine",
                 "phone": "06 12 34 56 78"} if channel == "sms"
                else {"email": "seb.nguyen@orange.fr" if known else "sabine@orange.fr"})
        with CaptureQueriesContext(connection) as queries:
            assert client.post(url, data).status_code == 302
        return _shapes(queries)

    match, non_match = shapes(True), shapes(False)
    assert "INSERT notifications_outboundmessage" in non_match  # rehearsed, rolled back
    assert match == non_match
    assert OutboundMessage.objects.count() == 1


def test_the_sign_in_pages_link_to_both_recoveries(client, db):
    for profile in ("representant-legal", "eleve"):
        page = html.parse(client.get(reverse("accounts:login", args=[profile])))
        links = {html.text(a): a["href"] for a in page.find_all("a")}
        assert links["Identifiant oublié ?"] == (
            reverse("accounts:identifier_forgotten") + f"?profil={profile}")
        assert links["Mot de passe oublié ?"] == (
            reverse("accounts:password_forgotten") + f"?profil={profile}")
