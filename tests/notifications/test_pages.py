"""The demo page of sent messages (DEBUG only) and the read-only admin."""

import pytest
from django.urls import reverse

from notifications import services
from notifications.models import WIPED_BODY, OutboundMessage
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CODE_SMS = "ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes."


def test_demo_page_does_not_exist_outside_debug(client, settings):
    settings.DEBUG = False
    services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code")
    response = client.get(reverse("notifications:demo_outbox"))
    assert response.status_code == 404
    assert b"K7P2QX" not in response.content


def test_demo_page_shows_the_code_sent_through_the_file_backend(
        client, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        services.sms_enqueue(to="+262692123456", body=CODE_SMS, purpose="activation_code",
                             contains_secret=True)
        services.sms_enqueue(to="+33612345678", body="Votre compte est activé.",
                             purpose="account_activated")
    # The database no longer holds the code; the page reads it from the backend's file.
    assert OutboundMessage.objects.filter(body=WIPED_BODY).count() == 1
    response = client.get(reverse("notifications:demo_outbox"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Messages envoyés (démonstration)" in html
    assert "K7P2QX" in html
    assert "+262692123456" in html
    assert "Votre compte est activé." in html
    # Newest first.
    assert html.index("Votre compte est activé.") < html.index("K7P2QX")
    assert response["Cache-Control"].startswith("max-age=0")


def test_demo_page_says_when_a_wiped_text_cannot_be_shown(client, settings,
                                                          django_capture_on_commit_callbacks):
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        services.sms_enqueue(to="+33612345678", body=CODE_SMS, purpose="activation_code",
                             contains_secret=True)
    html = client.get(reverse("notifications:demo_outbox")).content.decode()
    assert "K7P2QX" not in html
    assert "FileSMSBackend" in html


def test_demo_page_shows_a_wiped_email_with_its_link_clickable(
        client, settings, tmp_path, django_capture_on_commit_callbacks, capsys):
    from tests.html import parse

    settings.DEBUG = True
    settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "notifications.mail.DemoEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    link = "http://testserver/compte/valider/Zq8LINKTOKEN_x/"
    with django_capture_on_commit_callbacks(execute=True):
        services.email_enqueue(
            to="marie.dupont@example.org", subject="Validez votre adresse mail",
            body=f"Bonjour,\n\nPour valider votre adresse, ouvrez ce lien :\n{link}\n",
            html_body=f'<p><a href="{link}">Valider</a></p>', purpose="email_validation",
            contains_secret=True)
    # Printed on the console, as a developer expects; gone from the database.
    assert link in capsys.readouterr().out
    assert OutboundMessage.objects.get().body == WIPED_BODY
    response = client.get(reverse("notifications:demo_outbox"))
    soup = parse(response.content)
    row = soup.find("td", string=lambda text: text and "marie.dupont@example.org" in text)
    assert row is not None
    cells = row.find_parent("tr")
    assert "Validez votre adresse mail" in cells.get_text()
    # The channel is named as the footer's link names these messages: « SMS et mails ».
    channel = cells.find("td", attrs={"data-label": "Canal"})
    assert channel.get_text(strip=True) == "Mail"
    assert "Pour valider votre adresse, ouvrez ce lien" in cells.get_text()
    assert [a["href"] for a in cells.find_all("a")] == [link]


def test_demo_page_says_when_a_wiped_email_cannot_be_shown(
        client, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    settings.EMAIL_FILE_PATH = tmp_path  # locmem delivery: no file kept
    with django_capture_on_commit_callbacks(execute=True):
        services.email_enqueue(to="marie.dupont@example.org", subject="Lien",
                               body="http://testserver/r/SECRET/", purpose="t",
                               contains_secret=True)
    html = client.get(reverse("notifications:demo_outbox")).content.decode()
    assert "SECRET" not in html
    assert "notifications.mail.DemoEmailBackend" in html


def test_demo_page_lists_at_most_fifty_messages_in_few_queries(
        client, settings, django_assert_max_num_queries):
    settings.DEBUG = True
    OutboundMessage.objects.bulk_create(
        OutboundMessage(channel="sms", recipient=f"+336123456{n:02d}", body=f"message {n}",
                        purpose="t") for n in range(60))
    with django_assert_max_num_queries(3):
        response = client.get(reverse("notifications:demo_outbox"))
    assert len(response.context["messages_sent"]) == 50


def _sign_in_backoffice(client, account):
    """What a password + TOTP sign-in leaves in the session (the back-office requires both)."""
    import time

    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.middleware import SIGNED_IN_AT

    device = TOTPDevice.objects.create(user=account, name="Application", confirmed=True)
    client.force_login(account, backend="accounts.backends.IdentifierBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[SIGNED_IN_AT] = time.time()
    session.save()
    return client


class TestAdmin:
    @pytest.fixture
    def staff_client(self, client):
        admin = AccountFactory(identifier="admin.national", is_staff=True, is_superuser=True,
                               kind="staff")
        return _sign_in_backoffice(client, admin)

    def test_a_staff_user_without_the_permission_is_refused(self, client, queued_secret):
        staff = AccountFactory(identifier="agent.test", is_staff=True, kind="staff")
        _sign_in_backoffice(client, staff)
        url = reverse("admin:notifications_outboundmessage_changelist")
        assert client.get(url).status_code == 403
        change = reverse("admin:notifications_outboundmessage_change", args=[queued_secret.pk])
        assert client.get(change).status_code in (403, 404)

    @pytest.fixture
    def queued_secret(self):
        return services.sms_enqueue(to="+33612345678", body=CODE_SMS,
                                    purpose="activation_code", contains_secret=True)

    def test_changelist_and_search_by_phone_in_national_form(self, staff_client, queued_secret):
        services.sms_enqueue(to="+33698765432", body="autre", purpose="t")
        url = reverse("admin:notifications_outboundmessage_changelist")
        response = staff_client.get(url, {"q": "06 12 34 56 78"})
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [queued_secret]

    def test_the_text_of_a_secret_message_is_never_shown(self, staff_client, queued_secret):
        url = reverse("admin:notifications_outboundmessage_change", args=[queued_secret.pk])
        response = staff_client.get(url)
        assert response.status_code == 200
        assert b"K7P2QX" not in response.content
        assert "masqué".encode() in response.content

    def test_the_outbox_cannot_be_edited_or_deleted(self, staff_client, queued_secret):
        change = reverse("admin:notifications_outboundmessage_change", args=[queued_secret.pk])
        response = staff_client.post(change, {"body": "changé", "status": "sent"})
        assert response.status_code == 403
        delete = reverse("admin:notifications_outboundmessage_delete", args=[queued_secret.pk])
        assert staff_client.post(delete, {"post": "yes"}).status_code == 403
        assert staff_client.get(
            reverse("admin:notifications_outboundmessage_add")).status_code == 403
        queued_secret.refresh_from_db()
        assert queued_secret.body == CODE_SMS

    def test_a_refused_email_shows_its_french_reason_and_hides_its_link(self, staff_client,
                                                                       smtp_server):
        smtp_server.refuse("550 5.1.1 Mailbox unavailable")
        message = services.email_enqueue(
            to="marie.dupont@example.org", subject="Réinitialisation de votre mot de passe",
            body="Votre lien : http://testserver/r/SECRETTOKEN123/",
            html_body='<a href="http://testserver/r/SECRETTOKEN123/">lien</a>',
            purpose="password_reset_link", contains_secret=True)
        services.message_send(message_id=message.pk)
        url = reverse("admin:notifications_outboundmessage_change", args=[message.pk])
        response = staff_client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert ("Refusé par le serveur de messagerie (SMTP 550) : adresse inexistante ou "
                "message rejeté") in page.replace("&#x27;", "'")
        assert "Échec" in page
        assert "SECRETTOKEN123" not in page


def test_every_page_links_to_the_demo_page_in_debug_only(client, settings):
    """The demo's pages make the page of sent messages findable (the footer); without DEBUG
    no page names it."""
    settings.DEBUG = True
    page = client.get(reverse("pages:site_map")).content.decode()
    assert ('href="/notifications/demonstration/" id="demo-outbox-link">Démonstration : SMS '
            'et mails envoyés</a>') in page
    settings.DEBUG = False
    page = client.get(reverse("pages:site_map")).content.decode()
    assert "demonstration" not in page and "demo-outbox-link" not in page
