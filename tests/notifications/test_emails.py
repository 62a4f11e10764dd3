"""E-mails through the outbox, delivered to a real SMTP server on loopback (aiosmtpd)."""

import copy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from notifications import emails, services
from notifications.models import WIPED_BODY, Channel, MessageStatus, OutboundMessage
from tests.factories import AccountFactory
from tests.mailbox import html_of, link_from, text_of

pytestmark = pytest.mark.django_db

SENDER = "Administrateur des services en ligne <ne-pas-repondre@educonnect.example>"


@pytest.fixture(autouse=True)
def _sample_templates(settings):
    """templates/emails/sample_link* of this folder: a subject, a text and an HTML part
    extending the real emails/base.html."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], Path(__file__).parent / "templates"]
    settings.TEMPLATES = templates


def _send_sample(*, to="marie.dupont@example.org", secret=False, account=None):
    url = emails.absolute_url("/compte/lien/?jeton=abcDEF123-_")
    return emails.email_send(to=to, template="sample_link",
                             context={"first_name": "Marie", "url": url},
                             purpose="sample_link", contains_secret=secret, account=account)


def _commit_and_send(django_capture_on_commit_callbacks, send):
    """Run `send` in a transaction, then what the commit triggers (the demo's eager send)."""
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            return send()


def test_a_committed_email_arrives_with_subject_text_html_and_the_sender(
        smtp_server, django_capture_on_commit_callbacks):
    account = AccountFactory()
    message = _commit_and_send(django_capture_on_commit_callbacks,
                               lambda: _send_sample(account=account))
    [received] = smtp_server.wait_for(1)
    assert received["Subject"] == "Bonjour Marie, votre lien"
    assert received["To"] == "marie.dupont@example.org"
    assert received["From"] == SENDER
    assert smtp_server.envelopes == [("ne-pas-repondre@educonnect.example",
                                      ["marie.dupont@example.org"])]
    text = text_of(received)
    assert text.startswith("Bonjour Marie,")
    html = html_of(received)
    assert '<html lang="fr"' in html
    assert "Ce message vous a été envoyé automatiquement par ÉduConnect" in html
    assert 'href="http://testserver/compte/lien/?jeton=abcDEF123-_"' in html
    assert link_from(received) == "http://testserver/compte/lien/?jeton=abcDEF123-_"

    message.refresh_from_db()
    assert (message.channel, message.status, message.attempts) == (
        Channel.EMAIL, MessageStatus.SENT, 1)
    assert message.account == account
    assert message.provider_message_id == received["Message-ID"]
    # Not a secret: the text stays for the helpdesk.
    assert message.body == text.replace("\r\n", "\n")


def test_an_email_written_in_a_rolled_back_transaction_is_never_sent(
        smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            _send_sample()
            raise RuntimeError("the action failed")
    assert callbacks == []
    assert not OutboundMessage.objects.exists()
    # A later committed message arrives alone.
    _commit_and_send(django_capture_on_commit_callbacks,
                     lambda: _send_sample(to="paul.martin@example.org"))
    [received] = smtp_server.wait_for(1)
    assert received["To"] == "paul.martin@example.org"


def test_the_text_and_html_of_a_secret_email_are_wiped_once_sent(
        smtp_server, django_capture_on_commit_callbacks):
    message = _commit_and_send(django_capture_on_commit_callbacks,
                               lambda: _send_sample(secret=True))
    [received] = smtp_server.wait_for(1)
    assert "abcDEF123-_" in text_of(received)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert (message.body, message.html_body) == (WIPED_BODY, "")
    assert not OutboundMessage.objects.filter(body__contains="abcDEF123").exists()
    assert not OutboundMessage.objects.filter(html_body__contains="abcDEF123").exists()


def test_a_4xx_answer_is_tried_again_and_delivered_once(smtp_server):
    smtp_server.refuse("451 4.3.0 Réessayez plus tard")
    message = _send_sample()
    first = services.message_send(message_id=message.pk)
    assert first.status == MessageStatus.QUEUED and first.retry_in >= 1
    message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.last_error == (
        "Refus temporaire du serveur de messagerie (SMTP 451), nouvel essai")
    assert smtp_server.refused == 1 and smtp_server.messages == []

    assert services.message_send(message_id=message.pk).status == MessageStatus.SENT
    assert len(smtp_server.wait_for(1)) == 1
    # A duplicate task afterwards sends nothing more.
    assert services.message_send(message_id=message.pk).status == "skipped"
    assert len(smtp_server.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (
        MessageStatus.SENT, 2, "")


def test_a_5xx_answer_fails_the_message_with_a_french_reason(smtp_server):
    smtp_server.refuse("550 5.1.1 Mailbox unavailable")
    message = _send_sample(secret=True)
    assert services.message_send(message_id=message.pk).status == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    reason = ("Refusé par le serveur de messagerie (SMTP 550) : adresse inexistante ou "
              "message rejeté")
    assert message.last_error == reason
    # The link it carried is not kept for a message that will never leave.
    assert message.body == WIPED_BODY
    assert smtp_server.messages == []


def test_an_unreachable_server_is_a_transient_error(settings):
    from tests.mailbox import _free_port

    settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    message = _send_sample()
    assert services.message_send(message_id=message.pk).status == MessageStatus.QUEUED
    message.refresh_from_db()
    assert message.last_error == (
        "Serveur de messagerie injoignable (ConnectionRefusedError), nouvel essai")


def test_djangos_send_mail_goes_through_the_outbox(smtp_server,
                                                  django_capture_on_commit_callbacks):
    from django.core.mail import EmailMultiAlternatives, send_mail

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            assert send_mail("Objet", "Texte seul", None, ["a@example.org"]) == 1
            email = EmailMultiAlternatives(
                "Avec HTML", "Version texte", "Équipe <equipe@educonnect.example>",
                to=["b@example.org"], cc=["c@example.org"], bcc=["d@example.org"],
                reply_to=["support@educonnect.example"])
            email.attach_alternative("<p>Version HTML</p>", "text/html")
            assert email.send() == 1
            # Nothing has left before commit: only rows.
            assert OutboundMessage.objects.filter(status=MessageStatus.QUEUED).count() == 4
            assert smtp_server.messages == []
    received = smtp_server.wait_for(4)
    by_recipient = {message["To"]: message for message in received}
    assert set(by_recipient) == {"a@example.org", "b@example.org", "c@example.org",
                                 "d@example.org"}
    assert by_recipient["a@example.org"]["From"] == SENDER
    assert text_of(by_recipient["a@example.org"]).strip() == "Texte seul"
    for address in ("b@example.org", "c@example.org", "d@example.org"):
        message = by_recipient[address]
        # Each recipient gets its own copy: nobody sees another family's address.
        assert message["Cc"] is None and message["Bcc"] is None
        assert message["From"] == "Équipe <equipe@educonnect.example>"
        assert message["Reply-To"] == "support@educonnect.example"
        assert text_of(message).strip() == "Version texte"
        assert html_of(message).strip() == "<p>Version HTML</p>"
    assert set(OutboundMessage.objects.values_list("purpose", flat=True)) == {"django_mail"}
    assert mail.outbox == []


def test_the_email_backend_refuses_an_attachment_rather_than_dropping_it():
    from django.core.mail import EmailMessage

    email = EmailMessage("Objet", "Texte", None, ["a@example.org"])
    email.attach("note.txt", "contenu", "text/plain")
    with pytest.raises(ValueError):
        email.send()
    assert not OutboundMessage.objects.exists()


def test_email_send_refuses_a_header_injection():
    with pytest.raises(ValueError):
        _send_sample(to="a@example.org\r\nBcc: b@example.org")
    assert not OutboundMessage.objects.exists()


class TestAbsoluteUrl:
    def test_it_is_built_from_the_setting_never_from_the_request(self, settings, client):
        settings.SITE_URL = "https://educonnect.example/"
        assert emails.absolute_url("/mot-de-passe/?t=1") == (
            "https://educonnect.example/mot-de-passe/?t=1")
        assert emails.absolute_url(reverse("notifications:twilio_status")).startswith(
            "https://educonnect.example/")

    def test_it_refuses_what_is_not_a_path(self, settings):
        settings.SITE_URL = "https://educonnect.example"
        for bad in ("https://evil.example/x", "//evil.example/x", "x"):
            with pytest.raises(ValueError):
                emails.absolute_url(bad)

    def test_it_needs_the_setting(self, settings):
        settings.SITE_URL = ""
        with pytest.raises(ImproperlyConfigured):
            emails.absolute_url("/x/")


def test_a_link_followed_from_a_received_message_opens_the_portal(smtp_server, client,
                                                                django_capture_on_commit_callbacks):
    url = emails.absolute_url(reverse("accounts:profile_choice"))
    with django_capture_on_commit_callbacks(execute=True):
        emails.email_send(to="marie@example.org", template="sample_link",
                          context={"first_name": "Marie", "url": url}, purpose="t")
    [received] = smtp_server.wait_for(1)
    response = client.get(urlsplit(link_from(received)).path)
    assert response.status_code == 200


class TestDeployCheck:
    def _errors(self):
        from notifications.checks import email_ready_for_production

        return {error.id for error in email_ready_for_production(None)}

    def test_portal_base_url_must_be_https(self, settings):
        settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = (
            "django.core.mail.backends.smtp.EmailBackend")
        settings.SITE_URL = ""
        assert "notifications.E005" in self._errors()
        settings.SITE_URL = "http://educonnect.example"
        assert "notifications.E005" in self._errors()
        settings.SITE_URL = "https://educonnect.example"
        assert "notifications.E005" not in self._errors()

    def test_a_development_delivery_backend_is_refused(self, settings):
        settings.SITE_URL = "https://educonnect.example"
        settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "notifications.mail.DemoEmailBackend"
        assert self._errors() == {"notifications.E006"}

    def test_the_command_reports_it(self, settings):
        settings.SITE_URL = "http://educonnect.example"
        with pytest.raises(Exception, match="EDUCONNECT_SITE_URL"):
            call_command("check", "--deploy", "--fail-level", "ERROR")
