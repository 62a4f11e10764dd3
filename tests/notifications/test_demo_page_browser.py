"""The demo page of sent messages in Chromium: readable code, a link received by e-mail that
can be followed, and no axe violation."""

import pytest
from playwright.sync_api import expect

from notifications import services
from tests.browser.a11y import assert_accessible

pytestmark = pytest.mark.browser


def test_demo_page_shows_the_code_and_is_accessible(page, live_server, settings, tmp_path,
                                                    transactional_db):
    settings.DEBUG = True
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = tmp_path
    services.sms_enqueue(
        to="+262692123456", purpose="activation_code", contains_secret=True,
        body="ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes.")
    services.email_enqueue(to="marie.dupont@example.org", subject="Votre compte ÉduConnect",
                           body="Votre compte est activé.", purpose="account_activated")

    page.goto(f"{live_server.url}/notifications/demonstration/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages envoyés (démonstration)")
    table = page.get_by_role("table")
    expect(table).to_contain_text("K7P2QX")
    expect(table).to_contain_text("+262692123456")
    expect(table).to_contain_text("Votre compte ÉduConnect")
    assert_accessible(page)


def test_a_link_received_by_email_is_followed_from_the_demo_page(
        page, live_server, settings, tmp_path, transactional_db):
    from notifications.emails import absolute_url

    settings.DEBUG = True
    settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "notifications.mail.DemoEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    settings.SITE_URL = live_server.url
    link = absolute_url("/")
    # Sent after commit, as in the demo (no broker): the body is then wiped from the table.
    services.email_enqueue(to="marie.dupont@example.org", subject="Validez votre adresse mail",
                           body=f"Pour continuer, ouvrez ce lien :\n{link}\n",
                           purpose="email_validation", contains_secret=True)

    page.goto(f"{live_server.url}/notifications/demonstration/")
    table = page.get_by_role("table")
    expect(table).to_contain_text("Validez votre adresse mail")
    assert_accessible(page)
    page.get_by_role("link", name=link).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/**")
    expect(page.get_by_role("heading", level=1)).not_to_have_text(
        "Messages envoyés (démonstration)")


def test_an_html_email_passes_axe(page, smtp_server, settings, transactional_db):
    """The HTML part as a mail client shows it (received over SMTP, loaded in Chromium):
    lang="fr", a title, readable contrast, a link with its name — no serious violation."""
    import copy
    from pathlib import Path

    from notifications import emails
    from tests.mailbox import html_of

    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], Path(__file__).parent / "templates"]
    settings.TEMPLATES = templates
    emails.email_send(to="marie.dupont@example.org", template="sample_link",
                      context={"first_name": "Marie", "url": emails.absolute_url("/x/")},
                      purpose="t")
    [received] = smtp_server.wait_for(1)
    page.set_content(html_of(received))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Continuer")).to_have_attribute(
        "href", "http://testserver/x/")
    assert_accessible(page)


def test_the_demo_page_is_reached_from_the_footer_of_any_page(page, live_server, settings,
                                                             transactional_db):
    """In the demo (DEBUG), every page's footer links to the page of sent messages; the
    link is reached with the keyboard; axe on both pages."""
    settings.DEBUG = True
    page.goto(f"{live_server.url}/")
    link = page.get_by_role("contentinfo").get_by_role(
        "link", name="Démonstration : SMS et mails envoyés")
    expect(link).to_have_attribute("href", "/notifications/demonstration/")
    assert_accessible(page)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages envoyés (démonstration)")
    assert_accessible(page)


def test_on_a_phone_the_code_and_the_link_are_seen_without_scrolling_sideways(
        browser, live_server, settings, tmp_path, transactional_db):
    """Tryout finding 14: at 390×844 the « Message » column, which holds the code and the
    link, was past the right edge of the screen. Each message is now a block of labelled
    lines: the code and the whole link are within the screen's width, the page does not
    scroll sideways."""
    from notifications.emails import absolute_url

    settings.DEBUG = True
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = tmp_path
    settings.NOTIFICATIONS_EMAIL_DELIVERY_BACKEND = "notifications.mail.DemoEmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    settings.SITE_URL = live_server.url
    link = absolute_url("/mon-compte/adresse-mail/valider/" + "x" * 43 + "/")
    services.sms_enqueue(
        to="+262692123456", purpose="activation_code", contains_secret=True,
        body="ÉduConnect : votre code de sécurité est K7P2QX. Il est valable 30 minutes.")
    services.email_enqueue(to="marie-helene.dupont-de-la-tour@example.org",
                           subject="Validez votre adresse mail",
                           body=f"Pour continuer, ouvrez ce lien :\n{link}\n",
                           purpose="email_validation", contains_secret=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/notifications/demonstration/")
        table = page.get_by_role("table")
        expect(table).to_contain_text("K7P2QX")
        for target in (page.get_by_text("K7P2QX"), page.get_by_role("link", name=link)):
            box = target.bounding_box()
            assert box is not None and box["width"] > 0
            assert 0 <= box["x"] and box["x"] + box["width"] <= 390, box
        # The column's name is read before its value.
        expect(page.locator("td[data-label='Message']").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(page)
    finally:
        context.close()
