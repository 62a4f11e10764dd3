"""Sign-in throttling that never locks the owner out (issue 8 §5): device cookies, the
per-(identifier, address) window, the identifier's shared window for untrusted browsers, the
same Redis work for unknown identifiers, and the number of Redis round trips."""

import datetime
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client, override_settings
from freezegun import freeze_time

from accounts.forms import INVALID_LOGIN_MESSAGE
from accounts.limits import DEVICE_COOKIE_NAME, SIGN_IN_PER_IDENTIFIER
from core import ratelimit
from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = [pytest.mark.needs_redis, pytest.mark.django_db]

GUARDIAN_URL = "/connexion/representant-legal/"
WRONG = "Mauvais-1!"


def post_sign_in(client, *, identifier="m.dupont12", password=WRONG):
    return client.post(GUARDIAN_URL, {"identifier": identifier, "password": password})


def from_address(address: str) -> Client:
    """A browser behind our one trusted proxy, which writes the client's address last."""
    return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.77, {address}")


@pytest.fixture
def owner_device():
    """The owner's phone: it signed in once, so it holds a device cookie, then signed out."""
    AccountFactory(identifier="m.dupont12")
    phone = from_address("203.0.113.5")
    response = post_sign_in(phone, password=DEFAULT_PASSWORD)
    assert response.status_code == 302
    phone.post("/deconnexion/")
    return phone


@pytest.fixture
def redis_commands():
    """Counts the commands sent to the rate-limit storage's Redis connection (each is one
    round trip: the scripts run in one EVALSHA)."""
    connection = ratelimit._limiter_for(settings.RATELIMIT_STORAGE_URL)[0].get_connection()
    sent = []
    real = connection.execute_command

    def counting(*args, **kwargs):
        sent.append(args[0])
        return real(*args, **kwargs)

    with mock.patch.object(connection, "execute_command", counting):
        yield sent


def window_counts() -> dict[str, int]:
    """How many events each sign-in window holds, by scope (what Redis shows of them)."""
    import redis

    store = redis.Redis.from_url(settings.RATELIMIT_STORAGE_URL)
    counts: dict[str, int] = {}
    for key in store.keys("*sign-in*"):
        scope = key.decode().split("/")[1]
        counts[scope] = counts.get(scope, 0) + store.llen(key)
    return counts


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_ten_wrong_passwords_from_elsewhere_do_not_stop_the_owner_on_their_device(owner_device):
    for n in range(10):
        refused = post_sign_in(from_address(f"198.51.100.{n + 1}"))
        assert refused.status_code == 200  # each attacker address is under every limit
    # The identifier's shared window is full: a new browser waits, even with the password.
    new_laptop = from_address("203.0.113.5")  # even at the owner's own address
    refused = post_sign_in(new_laptop, password=DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert "réessayez dans 15 minutes" in refused.content.decode()
    # The owner's phone signs in at once.
    response = post_sign_in(owner_device, password=DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/services/"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_an_attacker_at_one_address_is_refused_after_the_pair_limit(owner_device):
    attacker = from_address("198.51.100.9")
    statuses = [post_sign_in(attacker).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]  # LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP
    # Their refusals did not fill the identifier's shared window: another address still
    # tries, and the owner's new browser elsewhere signs in.
    assert window_counts()["sign-in:identifier"] == 5
    assert post_sign_in(from_address("198.51.100.10")).status_code == 200
    assert post_sign_in(from_address("203.0.113.80"), password=DEFAULT_PASSWORD
                        ).status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1, LOGIN_MAX_FAILURES_PER_IDENTIFIER=3,
                   LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_untrusted_browsers_are_slowed_down_to_the_window_and_told_how_long(owner_device):
    with freeze_time(datetime.datetime.now(datetime.UTC).replace(microsecond=0)) as clock:
        post_sign_in(from_address("198.51.100.1"))
        clock.tick(120)
        post_sign_in(from_address("198.51.100.2"))
        post_sign_in(from_address("198.51.100.3"))
        clock.tick(60)
        refused = post_sign_in(from_address("198.51.100.4"))
        assert refused.status_code == 429
        assert refused["Retry-After"] == "420"  # the first attempt leaves the window then
        page = h.parse(refused)
        assert h.summary_title(page) == "Connexion momentanément suspendue"
        assert "réessayez dans 7 minutes" in h.text(h.alerts(page)[0])
        assert "Depuis un navigateur où vous vous êtes déjà connecté(e) à ce compte" in h.text(
            h.alerts(page)[0])
        # The owner's device is not slowed down at all.
        assert post_sign_in(owner_device, password=DEFAULT_PASSWORD).status_code == 302
        clock.tick(421)
        # One place freed: one more guess, then the wait again.
        assert post_sign_in(from_address("198.51.100.5")).status_code == 200
        assert post_sign_in(from_address("198.51.100.6")).status_code == 429


@override_settings(LOGIN_MAX_FAILURES_PER_DEVICE=3)
def test_the_owner_s_own_device_has_its_own_limit(owner_device):
    statuses = [post_sign_in(owner_device).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    page = h.parse(post_sign_in(owner_device, password=DEFAULT_PASSWORD))
    # This browser is the account's device: no advice to use it.
    assert "Depuis un navigateur" not in h.text(h.alerts(page)[0])
    # Other browsers are not concerned by the device's window.
    assert post_sign_in(Client(REMOTE_ADDR="203.0.113.7"), password=DEFAULT_PASSWORD
                        ).status_code == 302


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=2)
def test_a_forged_or_foreign_device_cookie_is_untrusted(owner_device):
    other = AccountFactory(identifier="a.autre10")
    assert other
    browser = Client(REMOTE_ADDR="203.0.113.9")
    assert post_sign_in(browser, identifier="a.autre10", password=DEFAULT_PASSWORD
                        ).status_code == 302
    for n in range(2):
        post_sign_in(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"))
    # A cookie for another account does not trust this one; neither does a copy whose
    # signature was tampered with.
    assert post_sign_in(browser, password=DEFAULT_PASSWORD).status_code == 429
    forged = Client(REMOTE_ADDR="203.0.113.10")
    value = owner_device.cookies[DEVICE_COOKIE_NAME].value
    forged.cookies[DEVICE_COOKIE_NAME] = value[:-3] + ("AAA" if value[-3:] != "AAA" else "BBB")
    assert post_sign_in(forged, password=DEFAULT_PASSWORD).status_code == 429
    # The genuine one still works, from any address.
    owner_device.defaults["REMOTE_ADDR"] = "198.51.100.200"
    assert post_sign_in(owner_device, password=DEFAULT_PASSWORD).status_code == 302


def test_the_device_cookie_is_secret_to_scripts_and_does_not_spell_the_identifier(client):
    AccountFactory(identifier="m.dupont12")
    response = post_sign_in(client, password=DEFAULT_PASSWORD)
    cookie = response.cookies[DEVICE_COOKIE_NAME]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == settings.LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS
    assert "dupont" not in cookie.value.lower()
    # A second account on the same browser keeps the first one's entry.
    client.post("/deconnexion/")
    AccountFactory(identifier="p.dupont13")
    post_sign_in(client, identifier="p.dupont13", password=DEFAULT_PASSWORD)
    client.post("/deconnexion/")
    with override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=1):
        post_sign_in(Client(REMOTE_ADDR="198.51.100.1"))
        post_sign_in(Client(REMOTE_ADDR="198.51.100.1"), identifier="p.dupont13")
        assert post_sign_in(client, password=DEFAULT_PASSWORD).status_code == 302
        client.post("/deconnexion/")
        assert post_sign_in(client, identifier="p.dupont13", password=DEFAULT_PASSWORD
                            ).status_code == 302


def test_an_unknown_identifier_does_the_same_redis_work_and_gets_the_same_page(redis_commands):
    AccountFactory(identifier="m.dupont12")
    known = post_sign_in(Client(REMOTE_ADDR="198.51.100.1"), identifier="m.dupont12")
    known_commands, known_counts = list(redis_commands), window_counts()
    ratelimit.reset_all()
    redis_commands.clear()
    unknown = post_sign_in(Client(REMOTE_ADDR="198.51.100.1"), identifier="x.dupont12")
    assert redis_commands == known_commands == ["EVALSHA"]  # one round trip
    assert window_counts() == known_counts == {
        "sign-in:ip": 1, "sign-in:identifier-ip": 1, "sign-in:identifier": 1,
    }
    assert known.status_code == unknown.status_code == 200
    assert INVALID_LOGIN_MESSAGE in unknown.content.decode()
    assert known.content.decode().replace("m.dupont12", "ID").split("csrfmiddlewaretoken")[0] \
        == unknown.content.decode().replace("x.dupont12", "ID").split("csrfmiddlewaretoken")[0]
    # Refused alike once the windows are full (a new limit is a new window in `limits`).
    with override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=1):
        for identifier in ("x.dupont12", "m.dupont12"):
            assert post_sign_in(Client(), identifier=identifier).status_code == 200
            assert post_sign_in(Client(), identifier=identifier).status_code == 429


def test_redis_round_trips_per_sign_in(redis_commands):
    """Issue 14 measures them: they were 4 for a failure and 5 for a success."""
    AccountFactory(identifier="m.dupont12")
    browser = Client()
    post_sign_in(browser)
    assert len(redis_commands) == 1  # failure
    redis_commands.clear()
    post_sign_in(browser, password=DEFAULT_PASSWORD)
    assert redis_commands == ["EVALSHA", "DEL"]  # untrusted success: count, then forget
    browser.post("/deconnexion/")
    redis_commands.clear()
    post_sign_in(browser, password=DEFAULT_PASSWORD)
    assert redis_commands == ["EVALSHA"]  # trusted success


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=2)
def test_a_success_from_a_new_browser_forgets_the_failures_and_the_helpdesk_can_unlock():
    AccountFactory(identifier="m.dupont12")
    post_sign_in(Client())
    assert post_sign_in(Client(), password=DEFAULT_PASSWORD).status_code == 302
    assert ratelimit.used(SIGN_IN_PER_IDENTIFIER, "m.dupont12") == 0
    post_sign_in(Client(REMOTE_ADDR="198.51.100.1"))
    post_sign_in(Client(REMOTE_ADDR="198.51.100.2"))
    assert post_sign_in(Client(), password=DEFAULT_PASSWORD).status_code == 429
    from accounts.limits import sign_in_failures_clear

    sign_in_failures_clear(identifier="m.dupont12")
    assert post_sign_in(Client(), password=DEFAULT_PASSWORD).status_code == 302


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=1)
def test_the_refusal_points_to_the_forgotten_password(owner_device):
    """« Mot de passe oublié ? » exists (accounts.recovery): both refusals point to it."""
    post_sign_in(Client(REMOTE_ADDR="198.51.100.1"))
    refused = post_sign_in(Client(REMOTE_ADDR="203.0.113.99"), password=DEFAULT_PASSWORD)
    with override_settings(LOGIN_MAX_FAILURES_PER_DEVICE=1):
        post_sign_in(owner_device)
        own = post_sign_in(owner_device)
    assert refused.status_code == own.status_code == 429
    untrusted, trusted = (h.text(h.alerts(h.parse(r))[0]) for r in (refused, own))
    assert "Depuis un navigateur où vous vous êtes déjà connecté(e)" in untrusted
    assert "Depuis un navigateur" not in trusted
    advice = "choisissez « Mot de passe oublié ? » sur cette page pour en définir un nouveau"
    assert advice in untrusted and advice in trusted


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_helpdesk_reads_and_clears_the_windows_of_named_addresses_in_one_round_trip(
    redis_commands,
):
    """sign_in_suspensions: the shared window and the pair windows of the addresses the
    journal names, one pipeline (one round trip); sign_in_failures_clear: one DEL."""
    import redis

    from accounts.limits import sign_in_failures_clear, sign_in_suspensions

    AccountFactory(identifier="m.dupont12")
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP):
        post_sign_in(from_address("198.51.100.1"))
    post_sign_in(from_address("198.51.100.2"))
    ips = ["198.51.100.1", "198.51.100.2", "2001:db8::1", "2001:db8::2"]
    redis_commands.clear()
    pipelines = []
    real = redis.client.Pipeline.execute

    def counting(self, *args, **kwargs):
        pipelines.append(len(self.command_stack))
        return real(self, *args, **kwargs)

    with mock.patch.object(redis.client.Pipeline, "execute", counting):
        found = sign_in_suspensions(identifier="m.dupont12", ips=ips)
    # One pipeline of the shared window and three pair windows (one IPv6 /64: one window).
    assert pipelines == [4] and redis_commands == []
    assert found.shared_retry_after == 0 and found.suspended
    assert [ip for ip, _wait in found.addresses] == ["198.51.100.1"]
    assert 0 < found.addresses[0][1] <= settings.LOGIN_FAILURE_WINDOW_SECONDS

    sign_in_failures_clear(identifier="m.dupont12", ips=ips)
    assert redis_commands == ["DEL"]
    assert not sign_in_suspensions(identifier="m.dupont12", ips=ips).suspended
    assert window_counts().get("sign-in:identifier-ip", 0) == 0
    assert window_counts()["sign-in:ip"] == settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP + 1
