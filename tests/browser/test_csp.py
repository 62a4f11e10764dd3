"""The Content-Security-Policy blocks nothing the pages need (issue 12 §3): in Chromium, the
portal's pages, the activation with its password rules script, and the back-office with its
nonce-carrying inline styles raise no CSP violation; the DSFR's scripts run. axe on each."""

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from accounts.models import StaffRole
from tests.backoffice.conftest import make_staff, sign_in
from tests.browser.a11y import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = ["/", "/connexion/representant-legal/", "/activation/", "/assistance/",
          "/gestion/login/"]


def _watch_violations(page) -> list[str]:
    """Every CSP violation the page reports (the DOM event) or logs (the console)."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script("""
        document.addEventListener('securitypolicyviolation', (e) => {
            console.error('Content Security Policy violation: ' + e.violatedDirective
                          + ' ' + e.blockedURI);
        });
    """)
    return seen


def test_public_pages_run_their_scripts_without_a_violation(page, live_server):
    violations = _watch_violations(page)
    for path in PUBLIC:
        response = page.goto(live_server.url + path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # The DSFR's JavaScript ran: it marks the document once started.
        expect(page.locator("html")).to_have_attribute("data-fr-js", "true")
        assert_accessible(page)
    assert violations == []


def test_the_back_office_inline_styles_apply_under_the_policy(page, live_server):
    violations = _watch_violations(page)
    agent = make_staff(StaffRole.NATIONAL)
    client = sign_in(Client(), agent)
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])
    page.goto(live_server.url + "/gestion/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    # The frame's inline <style> (base_site.html) was applied: a style blocked by the policy
    # gets no style sheet (HTML, « update a style block »).
    rules = page.evaluate("""() => [...document.querySelectorAll('style')]
        .map(s => s.sheet ? s.sheet.cssRules.length : -1)""")
    assert rules and all(count > 0 for count in rules), rules
    assert_accessible(page)
    assert violations == []
