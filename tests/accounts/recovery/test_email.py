"""The e-mail paths, through a real SMTP server on loopback (aiosmtpd), following the link
found in the received message: the identifier by e-mail, the reset link (single use, expiry,
another browser, a mail scanner's GET), the SMS telling the number after an e-mail reset."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.journal import EventKind
from core.models import Flow, FlowStatus, JournalEvent, LinkToken
from notifications import sms
from tests import html
from tests.factories import DEFAULT_PASSWORD
from tests.mailbox import link_from, text_of

from .conftest import CSRF, NEW_PASSWORD, Recovery, decoy_identifier, last_code, normalized

pytestmark = pytest.mark.django_db(transaction=True)


def _identifier_by_email(client, email):
    response = client.post(reverse("accounts:identifier_forgotten_email") + "?profil=eleve",
                           {"email": email})
    assert response.status_code == 302
    return CSRF.sub("csrf", client.get(response["Location"]).content.decode())


def test_the_identifiers_of_a_validated_address_arrive_in_one_email(client, guardian, pupil,
                                                                    smtp_server):
    guardian.email = "Lina.Nguyen@LaPoste.net"
    guardian.save()
    known = _identifier_by_email(client, "lina.nguyen@laposte.net ")
    unknown = _identifier_by_email(client, "personne@exemple.fr")
    assert known == unknown
    assert "Si cette adresse est l'adresse mail validée d'un compte ÉduConnect" in html.text(
        html.main(html.parse(known)))
    [message] = smtp_server.wait_for(1)
    assert message["To"].lower() == "lina.nguyen@laposte.net"
    assert message["Subject"].strip() == "Vos identifiants ÉduConnect"
    assert "- L.NGUYEN07" in text_of(message) and "- S.NGUYEN21" in text_of(message)
    assert urlsplit(link_from(message)).path == reverse("accounts:profile_choice")


def test_an_address_not_validated_gets_nothing(client, guardian, smtp_server):
    guardian.email_verified = False
    guardian.save()
    _identifier_by_email(client, "seb.nguyen@orange.fr")
    with pytest.raises(AssertionError):
        smtp_server.wait_for(1, timeout=1)


def _email_reset(recovery, smtp_server, identifier="s.nguyen21"):
    recovery.start(identifier)
    page = recovery.page(recovery.choose("email"))
    assert "Consultez votre messagerie" in page
    [message] = smtp_server.wait_for(1)
    return message, urlsplit(link_from(message)).path


def test_the_link_opens_in_another_browser_and_the_first_one_loses_the_flow(
    recovery, guardian, smtp_server
):
    message, path = _email_reset(recovery, smtp_server)
    assert message["To"] == "seb.nguyen@orange.fr"
    assert "valable 60 minutes et ne sert qu'une fois" in text_of(message)
    # The identifier in the form screens and letters print (issue 13 §3).
    assert "compte ÉduConnect S.NGUYEN21." in text_of(message)
    phone = Client()  # the mail is read on the phone
    # A mail scanner (or the person) opening the link spends nothing.
    for _ in range(2):
        landing = phone.get(path)
        assert landing.status_code == 200
        assert "Choisir un nouveau mot de passe" in landing.content.decode()
    assert LinkToken.objects.get().used_at is None

    response = phone.post(path)
    assert response["Location"] == recovery.url("password")
    response = phone.post(recovery.url("password"), {"password": NEW_PASSWORD,
                                                     "password_confirm": NEW_PASSWORD})
    assert response["Location"] == recovery.url("done")
    assert "Votre mot de passe a été modifié" in phone.get(response["Location"]).content.decode()
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)
    assert SESSION_KEY not in phone.session
    # The browser that started no longer opens the flow.
    assert recovery.client.get(recovery.url("password")).status_code == 404
    # The link served once.
    again = phone.post(path)
    assert again.status_code == 410
    assert "Ce lien n'est plus valable" in again.content.decode()
    # The number is told by SMS.
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    assert "le mot de passe du compte S.NGUYEN21 a été modifié" in sms.outbox[0].body
    changed = JournalEvent.objects.get(kind=EventKind.PASSWORD_CHANGED)
    assert changed.data == {"reason": "recovery_email"}


def test_an_expired_link_is_refused(recovery, guardian, smtp_server):
    _message, path = _email_reset(recovery, smtp_server)
    now = timezone.now()
    LinkToken.objects.update(created_at=now - datetime.timedelta(hours=2),
                             expires_at=now - datetime.timedelta(seconds=1))
    assert Client().get(path).status_code == 410
    assert Client().post(path).status_code == 410
    assert Flow.objects.get().step == "link"


def test_a_reset_voids_the_other_links_of_the_account(recovery, guardian, smtp_server,
                                                      settings, client):
    settings.PASSWORD_RESET_RESEND_COOLDOWN_SECONDS = 0
    _message, first_path = _email_reset(recovery, smtp_server)
    other = Recovery(Client(), recovery.capture)
    other.start("s.nguyen21")
    other.choose("email")
    second = smtp_server.wait_for(2)[1]
    second_path = urlsplit(link_from(second)).path
    browser = Client()
    browser.post(second_path)
    browser.post(other.url("password"), {"password": NEW_PASSWORD,
                                         "password_confirm": NEW_PASSWORD})
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)
    assert Client().get(first_path).status_code == 410
    assert Client().get(second_path).status_code == 410


def test_the_email_after_an_sms_reset_tells_the_address(recovery, guardian, smtp_server):
    recovery.start("s.nguyen21")
    recovery.choose("sms")
    recovery.send_code(last_code())
    recovery.new_password()
    [message] = smtp_server.wait_for(1)
    assert message["Subject"].strip() == "Votre mot de passe ÉduConnect a été modifié"
    assert "avec un code reçu par SMS" in text_of(message)
    assert "le mot de passe du compte ÉduConnect S.NGUYEN21 a été changé" in text_of(message)


def test_the_email_path_reads_the_same_for_an_unknown_identifier(guardian, smtp_server,
                                                                 django_capture_on_commit_callbacks):
    known = Recovery(Client(), django_capture_on_commit_callbacks)
    unknown = Recovery(Client(), django_capture_on_commit_callbacks)
    pages = []
    for recovery, identifier in ((known, "s.nguyen21"), (unknown, decoy_identifier())):
        recovery.start(identifier)
        pages.append(normalized(recovery.page(recovery.choose("email"))))
    assert pages[0] == pages[1]
    smtp_server.wait_for(1)
    with pytest.raises(AssertionError):
        smtp_server.wait_for(2, timeout=1)
    assert LinkToken.objects.count() == 1
    flow = Flow.objects.get(account__isnull=True)
    assert flow.status == FlowStatus.OPEN and flow.step == "link"
    assert guardian.check_password(DEFAULT_PASSWORD)


def test_a_pupil_resets_the_password_with_the_link(client, pupil, smtp_server,
                                                   django_capture_on_commit_callbacks):
    recovery = Recovery(client, django_capture_on_commit_callbacks, profile="eleve")
    _message, path = _email_reset(recovery, smtp_server, identifier="l.nguyen07")
    response = client.post(path)
    client.post(response["Location"], {"password": NEW_PASSWORD,
                                       "password_confirm": NEW_PASSWORD})
    pupil.refresh_from_db()
    assert pupil.check_password(NEW_PASSWORD)
    done = client.get(recovery.url("done")).content.decode()
    assert reverse("accounts:login", args=["eleve"]) in done
