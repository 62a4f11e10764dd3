"""Back-office sign-in limits on core.ratelimit: the password step counted before the check,
in the portal's windows with its device cookies (nobody can lock a staff member out of
their own browser); the code step limited per pending sign-in (then the password is due
again), per account and per address; every refusal says how long to wait; a second-factor
reset clears them."""

import threading
from html import unescape

import pytest
from django.db import connections
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import StaffRole
from backoffice.auth import PENDING_KEY
from backoffice.services import staff_second_factor_reset
from core.models import JournalEvent
from tests.backoffice.conftest import STAFF_PASSWORD, make_staff

pytestmark = pytest.mark.django_db

LOGIN = "/gestion/login/"
WRONG_PASSWORD = "Mauvais-mot-de-passe-1"


def code_for(account, drift=0):
    device = TOTPDevice.objects.get(user=account)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits,
                drift=drift)
    return f"{code:06d}"


def wrong_code_for(account):
    return f"{(int(code_for(account)) + 500_000) % 1_000_000:06d}"


def password_step(client, account, password=STAFF_PASSWORD):
    return client.post(LOGIN, {"step": "password", "identifier": account.identifier,
                               "password": password})


def code_step(client, code):
    return client.post(LOGIN, {"step": "code", "code": code})


def text(response):
    return unescape(response.content.decode())


def signed_in(client):
    return client.get("/gestion/").status_code == 200


@pytest.fixture
def staff(world):
    return make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Durand")


def test_a_wrong_code_says_how_many_tries_are_left(client, staff, settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES = 3
    password_step(client, staff)
    first = code_step(client, wrong_code_for(staff))
    assert first.status_code == 400
    assert "Code incorrect ou expiré" in text(first) and "Il vous reste 2 essais ;" in text(first)
    assert "Il vous reste 1 essai ;" in text(code_step(client, wrong_code_for(staff)))
    last = code_step(client, wrong_code_for(staff))
    assert last.status_code == 302 and PENDING_KEY not in client.session
    page = text(client.get(last["Location"]))
    assert "Trop de codes erronés : saisissez à nouveau votre identifiant" in page
    assert JournalEvent.objects.filter(kind="backoffice.sign_in_failed", account=staff,
                                       data__step="second_factor").count() == 3


def test_codes_are_limited_per_account_across_sign_ins(client, staff, settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES = 2
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT = 3
    password_step(client, staff)
    for _ in range(2):
        code_step(client, wrong_code_for(staff))
    assert PENDING_KEY not in client.session  # start over…
    password_step(client, staff)
    # … but a restarted sign-in does not bring the account's codes back: its last wrong
    # code says how long to wait, and so does the next code, even a right one.
    last = code_step(client, wrong_code_for(staff))
    assert last.status_code == 429
    assert "Code incorrect" in text(last) and "patientez 24 heures" in text(last)
    refused = code_step(client, code_for(staff))
    assert refused.status_code == 429
    assert "Trop de codes erronés : patientez 24 heures avant de saisir un nouveau code" in text(
        refused)
    assert 86_000 < int(refused["Retry-After"]) <= 86_400
    assert not signed_in(client)


def test_a_right_code_gives_the_account_its_tries_back(client, staff, settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT = 3
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 3
    for drift in (0, 1):  # a second code: the first one cannot be used twice
        password_step(client, staff, WRONG_PASSWORD)
        password_step(client, staff)
        code_step(client, wrong_code_for(staff))
        code_step(client, wrong_code_for(staff))
        assert code_step(client, code_for(staff, drift)).status_code == 302
        assert signed_in(client)
        client.logout()


def test_codes_are_limited_per_address_whatever_the_account(client, world, staff, settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODES_PER_IP = 2
    colleague = make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Petit")
    password_step(client, staff)
    assert code_step(client, code_for(staff)).status_code == 302
    client.logout()
    password_step(client, colleague)
    assert code_step(client, wrong_code_for(colleague)).status_code == 429
    refused = code_step(client, code_for(colleague))
    assert refused.status_code == 429
    assert "patientez 1 heure avant de saisir un nouveau code" in text(refused)
    # Another address is not concerned.
    other = Client(REMOTE_ADDR="198.51.100.20")
    password_step(other, colleague)
    assert code_step(other, code_for(colleague)).status_code == 302


def test_the_password_refusal_says_how_long_to_wait(client, staff, settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 1
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 1800
    password_step(client, staff, WRONG_PASSWORD)
    refused = password_step(client, staff)
    assert refused.status_code == 429
    assert "Patientez 30 minutes avant de réessayer" in text(refused)
    assert 1790 <= int(refused["Retry-After"]) <= 1800


def test_a_second_factor_reset_lets_the_staff_member_enrol_at_once(client, staff, world,
                                                                   settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES = 2
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT = 2
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 2
    password_step(client, staff)  # the phone is lost: codes are guessed
    code_step(client, wrong_code_for(staff))
    code_step(client, wrong_code_for(staff))
    password_step(client, staff)
    assert code_step(client, code_for(staff)).status_code == 429
    admin = make_staff(StaffRole.NATIONAL, last_name="National")
    staff_second_factor_reset(account=staff, actor=admin)

    password_step(client, staff)
    client.get(LOGIN)  # the enrolment page creates the new device
    assert code_step(client, code_for(staff)).status_code == 302
    assert signed_in(client)


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
def test_on_redis_parallel_wrong_passwords_never_pass_the_limit(world, settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 3
    staff = make_staff(StaffRole.NATIONAL, last_name="National")
    barrier = threading.Barrier(12)
    statuses = []

    def attempt(n):
        try:
            client = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
            barrier.wait()
            statuses.append(password_step(client, staff, WRONG_PASSWORD).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [400] * 3 + [429] * 9
    failures = JournalEvent.objects.filter(kind="backoffice.sign_in_failed", account=staff)
    assert failures.count() == 3  # only the admitted attempts had their password checked


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgres_one_code_sent_in_parallel_signs_in_once(world, settings):
    """The device's row is locked while a code is checked: the same code, sent by six
    pending sign-ins at once (a phished code replayed), opens one session only."""
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP = 10  # six passwords from one address
    staff = make_staff(StaffRole.NATIONAL, last_name="National")
    clients = [Client() for _ in range(6)]
    for client in clients:
        assert password_step(client, staff).status_code == 302
    code = code_for(staff)
    barrier = threading.Barrier(len(clients))
    statuses = []

    def attempt(client):
        try:
            barrier.wait()
            statuses.append(code_step(client, code).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302] + [400] * 5
    assert JournalEvent.objects.filter(kind="backoffice.signed_in", account=staff).count() == 1


def test_failures_elsewhere_never_lock_a_staff_member_out_of_their_own_browser(client, staff,
                                                                               settings):
    """Staff identifiers are easy to guess: a stranger filling the identifier's window is
    refused, the browser that signed in before (its device cookie) is not."""
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 5
    password_step(client, staff)
    assert code_step(client, code_for(staff)).status_code == 302
    client.post("/gestion/logout/")
    assert not signed_in(client)
    for address in ("198.51.100.7", "198.51.100.8", "203.0.113.9"):
        stranger = Client(REMOTE_ADDR=address)
        for _ in range(3):
            password_step(stranger, staff, WRONG_PASSWORD)
    refused = password_step(Client(REMOTE_ADDR="203.0.113.10"), staff)
    assert refused.status_code == 429  # untrusted browsers wait, even with the password
    own = password_step(client, staff)
    assert own.status_code == 302 and PENDING_KEY in client.session
    assert code_step(client, code_for(staff, 1)).status_code == 302
    assert signed_in(client)


def test_invisible_characters_do_not_make_another_identifier(client, staff, settings):
    """« a\u200b.durand… » is the same identifier for the limits and the journal as for the
    account lookup (accounts.backends): its failures count, and name the account."""
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP = 3
    identifier = staff.identifier
    for position in range(1, 4):
        disguised = identifier[:position] + "\u200b" + identifier[position:]
        response = client.post(LOGIN, {"step": "password", "identifier": disguised,
                                       "password": WRONG_PASSWORD})
        assert response.status_code == 400
    assert password_step(client, staff).status_code == 429
    failures = JournalEvent.objects.filter(kind="backoffice.sign_in_failed", data__step="password")
    assert failures.count() == 3 and all(event.account_id == staff.pk for event in failures)


# --- One model, told the truth: the tryout of the code step (default settings) ---------------

def test_a_right_code_after_a_wrong_one_signs_in_at_once(client, staff):
    """« Il vous reste 4 essais » then the right code: signed in, no hidden wait."""
    password_step(client, staff)
    wrong = code_step(client, wrong_code_for(staff))
    assert "Il vous reste 4 essais" in text(wrong)
    short = code_step(client, "12345")
    assert short.status_code == 400 and "Le code comporte 6 chiffres" in text(short)
    right = code_step(client, code_for(staff))
    assert right.status_code == 302, text(right)
    assert signed_in(client)


def test_each_wrong_code_counts_down_then_step_1_says_why(client, staff):
    password_step(client, staff)
    for left in (4, 3, 2, 1):
        response = code_step(client, wrong_code_for(staff))
        assert response.status_code == 400, text(response)
        page = text(response)
        word = "essai" if left == 1 else "essais"
        assert f"Il vous reste {left} {word}" in page
        assert "saisir à nouveau votre identifiant et votre mot de passe" in page
        assert "patientez" not in page
    last = code_step(client, wrong_code_for(staff))
    assert last.status_code == 302 and PENDING_KEY not in client.session
    page = text(client.get(last["Location"], follow=True))
    assert "Étape 1 sur 2" in page
    assert "Trop de codes erronés : saisissez à nouveau votre identifiant" in page
    # A new sign-in has its tries back, and no wait carried over from the last one.
    password_step(client, staff)
    assert "Il vous reste 4 essais" in text(code_step(client, wrong_code_for(staff)))
    assert code_step(client, code_for(staff)).status_code == 302
    assert signed_in(client)


def test_the_account_window_is_announced_before_it_makes_the_user_wait(client, staff, settings):
    settings.BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT = 2
    password_step(client, staff)
    first = text(code_step(client, wrong_code_for(staff)))
    assert "Il vous reste 1 essai" in first
    assert "vous devrez patienter" in first
    last = code_step(client, wrong_code_for(staff))
    assert last.status_code == 429
    assert "patientez 24 heures avant de saisir un nouveau code" in text(last)
    assert 86_000 < int(last["Retry-After"]) <= 86_400


def test_a_code_already_used_says_so_and_the_next_one_signs_in(staff):
    first, second = Client(), Client()
    password_step(first, staff)
    password_step(second, staff)
    assert code_step(first, code_for(staff)).status_code == 302
    reused = code_step(second, code_for(staff))
    assert reused.status_code == 400
    page = text(reused)
    assert "Ce code a déjà été utilisé" in page and "code suivant" in page
    assert "Code incorrect" not in page
    assert "Il vous reste 4 essais" in page
    following = code_step(second, code_for(staff, 1))
    assert following.status_code == 302, text(following)
    assert signed_in(second)


def test_step_1_says_why_when_the_pending_sign_in_ran_out_of_time(client, staff, settings):
    password_step(client, staff)
    settings.BACKOFFICE_SIGN_IN_PENDING_SECONDS = 0
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "since": 0}
    session.save()
    page = text(client.get(LOGIN, follow=True))
    assert "Étape 1 sur 2" in page
    assert "Votre connexion a expiré : saisissez à nouveau votre identifiant" in page
