"""RP-initiated logout; clients registered in the back-office working at once; the signing
key and the deployment checks."""

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import SESSION_KEY
from django.core.checks import run_checks
from django.urls import reverse
from oauth2_provider.models import get_application_model

from core.journal import EventKind
from core.models import JournalEvent
from oidc_idp.signing_key import DEV_KEY_FILENAME, signing_key_pem
from tests.backoffice.conftest import make_staff
from tests.backoffice.conftest import sign_in as staff_sign_in
from tests.html import main, parse, text
from tests.oidc_idp.conftest import (
    POST_LOGOUT_URI,
    AuthRequest,
    authorize,
    exchange,
    sign_in,
    verified_claims,
)

Application = get_application_model()


def _id_token(client, service):
    sign_in(client)
    request = AuthRequest(service.client_id)
    code = authorize(client, request)["code"]
    return exchange(client, request, code).json()["id_token"]


# --- RP-initiated logout ----------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_a_service_signs_the_person_out_and_gets_them_back(client, family, service):
    id_token = _id_token(client, service)
    response = client.get(reverse("oauth2_provider:rp-initiated-logout"), {
        "id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s1",
    })
    assert response.status_code == 302
    assert response["Location"] == f"{POST_LOGOUT_URI}?state=s1"
    assert SESSION_KEY not in client.session
    event = JournalEvent.objects.filter(kind=EventKind.OIDC_LOGOUT).get()
    assert event.account == family.account
    assert event.data["client_id"] == service.client_id


@pytest.mark.needs_postgres
@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"post_logout_redirect_uri": "https://evil.example/"},
    {"client_id": "inconnu", "post_logout_redirect_uri": POST_LOGOUT_URI},
    {"id_token_hint": "pas.un.jeton"},
])
def test_a_bad_logout_request_gets_a_french_page_and_keeps_the_session(
    client, family, service, params
):
    id_token = _id_token(client, service)
    params = {"id_token_hint": id_token, **params}
    response = client.get(reverse("oauth2_provider:rp-initiated-logout"), params)
    assert response.status_code == 400
    assert "La demande de déconnexion envoyée par ce service est invalide" in (
        text(main(parse(response)))
    )
    assert SESSION_KEY in client.session
    refusal = JournalEvent.objects.filter(kind=EventKind.OIDC_REFUSED).get()
    assert refusal.data["endpoint"] == "logout"


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_without_a_token_the_person_confirms_in_french(client, family, service):
    sign_in(client)
    url = reverse("oauth2_provider:rp-initiated-logout")
    page = client.get(url, {"client_id": service.client_id,
                            "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert page.status_code == 200
    assert "Le service « ENT Île-de-France » demande à vous déconnecter" in text(main(parse(page)))
    stay = client.post(url, {"client_id": service.client_id,
                             "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert stay.status_code == 302 and SESSION_KEY in client.session
    leave = client.post(url, {"client_id": service.client_id, "allow": "1",
                              "post_logout_redirect_uri": POST_LOGOUT_URI})
    assert leave["Location"] == POST_LOGOUT_URI
    assert SESSION_KEY not in client.session


# --- The back-office --------------------------------------------------------------------


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_a_client_added_in_the_back_office_works_at_once(client, family):
    from accounts.models import StaffRole

    admin = staff_sign_in(client.__class__(), make_staff(StaffRole.NATIONAL, last_name="Nat"))
    add_url = reverse("admin:oauth2_provider_application_add")
    form_page = admin.get(add_url)
    assert form_page.status_code == 200
    # What the administrator reads on the page, and copies for the service.
    page = parse(form_page)
    initial = {name: page.find(attrs={"name": name})["value"]
               for name in ("client_id", "client_secret")}
    secret = initial["client_secret"]
    response = admin.post(add_url, {
        "name": "Scolarité services", "client_id": initial["client_id"],
        "client_secret": secret, "client_type": "confidential",
        "redirect_uris": "https://teleservices.example.org/cb",
        "post_logout_redirect_uris": "", "skip_authorization": "on",
        "policy-TOTAL_FORMS": "1", "policy-INITIAL_FORMS": "0",
        "policy-MIN_NUM_FORMS": "1", "policy-MAX_NUM_FORMS": "1",
        "policy-0-scopes": ["children"], "policy-0-sector_identifier": "",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = Application.objects.get(name="Scolarité services")
    assert created.algorithm == "RS256"
    assert created.authorization_grant_type == "authorization-code"
    assert created.client_secret != secret  # stored hashed
    assert created.policy.scope_list == ["children"]

    # The very next request, no restart: the client signs the guardian in.
    sign_in(client)
    request = AuthRequest(created.client_id, scope="openid children",
                          redirect_uri="https://teleservices.example.org/cb")
    code = authorize(client, request)["code"]
    response = exchange(client, request, code, secret=secret)
    claims = verified_claims(client, response.json()["id_token"])
    assert len(claims["children"]) == 2
    # It was given `children`, not `profile`.
    refused = authorize(client, AuthRequest(created.client_id, scope="openid profile",
                                            redirect_uri="https://teleservices.example.org/cb"))
    assert refused["error"] == "invalid_scope"


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_only_the_national_administration_manages_clients(client, family):
    from accounts.models import StaffRole

    secretary = staff_sign_in(client, make_staff(StaffRole.SECRETARY, last_name="Sec",
                                                 establishments=[family.college]))
    assert secretary.get(reverse("admin:oauth2_provider_application_changelist")).status_code \
        == 403


# --- Keys and deployment checks -----------------------------------------------------------


def _pem(bits):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_the_development_key_is_made_once_private_and_reused(tmp_path):
    pem, is_dev = signing_key_pem("", var_dir=tmp_path)
    assert is_dev and "PRIVATE KEY" in pem
    path = tmp_path / DEV_KEY_FILENAME
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing_key_pem("", var_dir=tmp_path) == (pem, True)
    assert [p.name for p in tmp_path.iterdir()] == [DEV_KEY_FILENAME]


def test_a_key_from_the_environment_as_text_or_path(tmp_path):
    pem = _pem(2048)
    assert signing_key_pem(pem, var_dir=tmp_path) == (pem, False)
    assert signing_key_pem(f"  {pem}\n", var_dir=tmp_path) == (pem, False)
    (tmp_path / "key.pem").write_text(pem)
    assert signing_key_pem(str(tmp_path / "key.pem"), var_dir=tmp_path) == (pem, False)
    with pytest.raises(ValueError, match="2048"):
        signing_key_pem(_pem(1024), var_dir=tmp_path)


def test_deploy_checks_refuse_the_demo_key_secret_and_a_missing_issuer(settings):
    ids = {message.id for message in run_checks(include_deployment_checks=True)}
    assert {"educonnect.E013", "educonnect.E014", "educonnect.E015"} <= ids
    settings.OIDC_SIGNING_KEY_IS_DEVELOPMENT = False
    settings.OIDC_PAIRWISE_SECRET = "x" * 64
    settings.OIDC_ISSUER = "https://educonnect.example.gouv.fr"
    ids = {message.id for message in run_checks(include_deployment_checks=True)}
    assert not {"educonnect.E013", "educonnect.E014", "educonnect.E015"} & ids
