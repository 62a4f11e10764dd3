"""Staff sign in with a password, then a TOTP code; the first time, they enrol with a QR code."""

import re
import time
from base64 import b32decode

import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import StaffRole
from backoffice.auth import PENDING_KEY, WRONG_CREDENTIALS
from core.models import JournalEvent
from tests import html as h
from tests.backoffice.conftest import STAFF_PASSWORD, make_staff
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

LOGIN = "/gestion/login/"


def code_for(device, drift=0):
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                drift=drift)
    return f"{code:06d}"


def password_step(client, identifier, password=STAFF_PASSWORD, next_url="/gestion/"):
    return client.post(LOGIN, {"step": "password", "identifier": identifier,
                               "password": password, "next": next_url})


@pytest.fixture
def secretary(world):
    return make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Durand")


def test_back_office_requires_sign_in(client):
    response = client.get("/gestion/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_password_then_code_signs_in_with_a_new_session_key(client, secretary):
    client.get(LOGIN)
    key_at_start = client.session.session_key
    response = password_step(client, secretary.identifier.upper())  # any case
    assert response.status_code == 302
    key_after_password = client.session.session_key
    # Half signed in: not yet a user of the back-office.
    assert client.get("/gestion/").status_code == 302
    page = client.get(response["Location"])
    assert "Code à 6 chiffres" in page.content.decode()
    device = TOTPDevice.objects.get(user=secretary)
    response = client.post(LOGIN, {"step": "code", "code": code_for(device),
                                   "next": "/gestion/pupils/pupil/"})
    assert response.status_code == 302
    assert response["Location"] == "/gestion/pupils/pupil/"
    assert len({key_at_start, key_after_password, client.session.session_key}) == 3
    assert PENDING_KEY not in client.session
    assert client.get("/gestion/").status_code == 200
    assert JournalEvent.objects.filter(kind="backoffice.signed_in", account=secretary).exists()


def test_code_with_spaces_is_accepted(client, secretary):
    password_step(client, secretary.identifier)
    device = TOTPDevice.objects.get(user=secretary)
    code = code_for(device)
    response = client.post(LOGIN, {"step": "code", "code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302
    assert client.get("/gestion/").status_code == 200


def test_wrong_code_is_refused_and_never_signs_in(client, secretary):
    password_step(client, secretary.identifier)
    device = TOTPDevice.objects.get(user=secretary)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(LOGIN, {"step": "code", "code": wrong})
    assert response.status_code == 400
    page = h.parse(response)
    assert h.field_errors(page, "id_code") == [
        "Code incorrect ou expiré : saisissez le code affiché en ce moment par votre "
        "application d'authentification. Il vous reste 4 essais ; ensuite, vous devrez "
        "saisir à nouveau votre identifiant et votre mot de passe."
    ]
    assert len(h.alerts(page)) == 1
    assert client.get("/gestion/").status_code == 302
    assert JournalEvent.objects.filter(kind="backoffice.sign_in_failed", account=secretary,
                                       data__step="second_factor").exists()


def test_badly_typed_code_names_the_field(client, secretary):
    password_step(client, secretary.identifier)
    response = client.post(LOGIN, {"step": "code", "code": "12a"})
    page = h.parse(response)
    assert response.status_code == 400
    assert h.text(page.title).startswith("Erreur – Connexion à l'espace de gestion")
    # One alert, the error summary, inside <main>, linking to the field.
    [alert] = h.alerts(page)
    assert alert.find_parent("main") is not None
    assert h.summary_links(page) == [
        ("#id_code", "Code à 6 chiffres : Le code comporte 6 chiffres, par exemple 123456.")
    ]
    # The input is invalid and described by its hint, then its error.
    assert h.field(page, "id_code")["aria-invalid"] == "true"
    assert [h.text(e) for e in h.described_by(page, "id_code")] == [
        "Le code affiché en ce moment par votre application d'authentification.",
        "Le code comporte 6 chiffres, par exemple 123456.",
    ]


def test_too_many_wrong_codes_send_back_to_the_password(client, secretary, settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES = 2
    password_step(client, secretary.identifier)
    for _ in range(2):
        last = client.post(LOGIN, {"step": "code", "code": "000000"}, follow=True)
    assert PENDING_KEY not in client.session
    # Back at step 1, the reason is said once: one alert, inside <main>.
    page = h.parse(last)
    assert h.messages(page) == [
        "Trop de codes erronés : saisissez à nouveau votre identifiant et votre mot de passe."
    ]
    [alert] = h.alerts(page)
    assert alert.find_parent("main") is not None
    assert page.find(id="id_identifier") is not None
    device = TOTPDevice.objects.get(user=secretary)
    response = client.post(LOGIN, {"step": "code", "code": code_for(device)})
    assert client.get("/gestion/").status_code == 302
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_half_signed_in_state_expires(client, secretary, settings):
    password_step(client, secretary.identifier)
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "since": time.time() - 3600}
    session.save()
    device = TOTPDevice.objects.get(user=secretary)
    client.post(LOGIN, {"step": "code", "code": code_for(device)})
    assert client.get("/gestion/").status_code == 302


def test_first_sign_in_enrols_the_second_factor_with_a_qr_code(client, world):
    newcomer = make_staff(StaffRole.HELPDESK, academy=world.academy_a, last_name="Nouvel",
                          enrolled=False)
    password_step(client, newcomer.identifier)
    page = client.get(LOGIN).content.decode()
    assert "<svg" in page and 'aria-label="QR code' in page
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=newcomer)
    assert not device.confirmed
    assert b32decode(secret) == device.bin_key  # the key shown is the device's
    # A reload shows the same key: a QR code scanned a moment ago stays good.
    assert secret in client.get(LOGIN).content.decode().replace(" ", "")
    response = client.post(LOGIN, {"step": "code", "code": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/gestion/").status_code == 200
    assert JournalEvent.objects.filter(kind="backoffice.second_factor_enrolled",
                                       account=newcomer).exists()
    # Enrolled: the next sign-in asks for the code and never shows the key again.
    client.logout()
    password_step(client, newcomer.identifier)
    page = client.get(LOGIN).content.decode()
    assert 'aria-label="QR code' not in page and secret[:8] not in page.replace(" ", "")


@pytest.mark.parametrize("who", ["unknown", "wrong_password", "guardian"])
def test_refusals_all_read_the_same(client, world, secretary, who):
    identifier, password = {
        "unknown": ("x.inconnu99", STAFF_PASSWORD),
        "wrong_password": (secretary.identifier, "Mauvais-mot-de-passe-1"),
        "guardian": (AccountFactory(identifier="g.parent12").identifier, DEFAULT_PASSWORD),
    }[who]
    response = password_step(client, identifier, password)
    assert response.status_code == 400
    page = h.parse(response)
    assert [h.text(alert) for alert in h.alerts(page)] == [str(WRONG_CREDENTIALS)]
    assert PENDING_KEY not in client.session


def test_password_attempts_are_limited(client, secretary, settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 3
    for _ in range(3):
        password_step(client, secretary.identifier, "Mauvais-mot-de-passe-1")
    response = password_step(client, secretary.identifier)  # even the right password
    assert response.status_code == 429
    assert [h.text(alert) for alert in h.alerts(h.parse(response))] == [
        "Trop de tentatives de connexion. Patientez 15 minutes avant de réessayer, ou contactez "
        "l'administration nationale."
    ]
    assert PENDING_KEY not in client.session


def test_a_session_without_the_second_factor_is_not_admitted(client, secretary):
    client.force_login(secretary, backend="accounts.backends.IdentifierBackend")
    response = client.get("/gestion/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_next_must_stay_on_this_site(client, secretary):
    password_step(client, secretary.identifier, next_url="https://evil.example/")
    device = TOTPDevice.objects.get(user=secretary)
    response = client.post(LOGIN, {"step": "code", "code": code_for(device),
                                   "next": "https://evil.example/"})
    assert response["Location"] == reverse("admin:index")


def test_closed_staff_account_cannot_sign_in(client, secretary):
    secretary.state = "closed"
    secretary.save(update_fields=["state"])
    assert password_step(client, secretary.identifier).status_code == 400


def test_sign_in_page_has_labelled_fields_with_autocomplete(client):
    page = h.parse(client.get(LOGIN))
    assert h.text(page.h1) == "Connexion à l'espace de gestion"
    assert h.label_of(page, "id_identifier") == "Identifiant"
    assert h.field(page, "id_identifier")["autocomplete"] == "username"
    assert h.label_of(page, "id_password") == "Mot de passe"
    assert h.field(page, "id_password")["autocomplete"] == "current-password"
    assert page.find(id="id_password-show")["type"] == "checkbox"  # DSFR show/hide
    assert page.html["lang"] == settings.LANGUAGE_CODE == "fr"
    assert h.alerts(page) == []
