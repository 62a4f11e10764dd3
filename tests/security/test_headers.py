"""Security headers on every page: Content-Security-Policy (django-csp, nonces for the few
inline blocks), Permissions-Policy, HSTS from the environment (issue 12 §3)."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from accounts.models import StaffRole
from tests.backoffice.conftest import make_staff, sign_in

pytestmark = pytest.mark.django_db

# Public pages of each app, the admin's sign-in, a static file, a 404.
PUBLIC_PAGES = [
    "/", "/connexion/", "/activation/", "/assistance/", "/gestion/login/",
    "/.well-known/openid-configuration", "/idp/shibboleth", "/page-qui-n-existe-pas/",
    "/static/js/password-rules.js",
]
INLINE = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:]
            for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_answer_carries_the_csp_and_the_permissions_policy(client, path):
    response = client.get(path)
    assert response.status_code in (200, 301, 302, 404), path
    csp = _directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy


def test_inline_styles_of_the_back_office_carry_the_nonce_of_the_header(client, db):
    agent = make_staff(StaffRole.NATIONAL)
    sign_in(client, agent)
    response = client.get("/gestion/")
    assert response.status_code == 200
    [nonce] = re.findall(r"'nonce-([^']+)'",
                         _directives(response["Content-Security-Policy"])["style-src"][1])
    blocks = INLINE.findall(response.content.decode())
    inline = [attrs for tag, attrs in blocks if "src=" not in attrs]
    assert inline, "the back-office frame has its inline style"
    for attrs in inline:
        assert f'nonce="{nonce}"' in attrs
    # A new nonce for every answer.
    again = client.get("/gestion/")
    assert nonce not in again["Content-Security-Policy"]


def test_no_template_of_ours_has_an_inline_script_or_handler():
    """Scripts are static files (script-src 'self'): an inline <script> or an on…= handler in
    a page template would be blocked by the browser. E-mails are not pages, nor are the
    documents WeasyPrint renders to PDF (`*_pdf.html`: the school letters)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        if "emails" in template.parts or template.name.endswith("_pdf.html"):
            continue
        text = template.read_text()
        for tag, attrs in INLINE.findall(text):
            if "src=" not in attrs and "nonce=" not in attrs and "application/json" not in attrs:
                offenders.append(f"{template.relative_to(root)}: <{tag}{attrs}>")
        if re.search(r"\son[a-z]+\s*=", text) or ' style="' in text:
            offenders.append(f"{template.relative_to(root)}: inline handler or style")
    assert offenders == []


def test_hsts_is_read_from_the_environment(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = Client(headers={"host": "localhost"}).get("/", secure=True)
    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload")


def test_settings_read_hsts_preload_and_subdomains_from_their_variables(monkeypatch):
    import importlib

    import educonnect.settings as project_settings

    monkeypatch.setenv("DJANGO_SECURE_HSTS_SECONDS", "63072000")
    monkeypatch.setenv("DJANGO_SECURE_HSTS_PRELOAD", "true")
    monkeypatch.setenv("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "false")
    try:
        reloaded = importlib.reload(project_settings)
        assert reloaded.SECURE_HSTS_SECONDS == 63072000
        assert reloaded.SECURE_HSTS_PRELOAD is True
        assert reloaded.SECURE_HSTS_INCLUDE_SUBDOMAINS is False
    finally:
        monkeypatch.undo()
        importlib.reload(project_settings)


def test_the_deploy_check_refuses_a_missing_totp_seed_key(settings):
    settings.OTP_TOTP_ENCRYPTION_KEY = ""
    with pytest.raises(SystemCheckError, match=r"educonnect\.E016"):
        call_command("check", deploy=True, fail_level="ERROR")
