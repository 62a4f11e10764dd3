"""Sign-in limits on core.ratelimit: counted atomically before the password check, so that
parallel attempts never pass the limit; the refusal says how long to wait; the same Redis
work whatever the identifier; nothing in clear in Redis."""

import datetime
import re
import threading
from unittest import mock

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client, override_settings
from freezegun import freeze_time

from accounts.forms import INVALID_LOGIN_MESSAGE
from accounts.hashers import EduConnectArgon2Hasher
from tests.factories import DEFAULT_PASSWORD, AccountFactory

GUARDIAN_URL = "/connexion/representant-legal/"
WRONG_PASSWORD = "Mauvais-1!"


def post_sign_in(client, *, identifier, password=WRONG_PASSWORD):
    return client.post(GUARDIAN_URL, {"identifier": identifier, "password": password})


def in_parallel(count, attempt):
    """Run attempt(n) in `count` threads released at once; return their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(n):
        try:
            barrier.wait()
            results[n] = attempt(n)
        finally:
            connections.close_all()  # each thread's own database connection

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def hashes():
    """Counts the Argon2 computations (hash or verify) of our hasher, thread-safe."""
    runs = []
    encode, verify = EduConnectArgon2Hasher.encode, EduConnectArgon2Hasher.verify
    with mock.patch.object(EduConnectArgon2Hasher, "encode",
                           lambda self, *a: runs.append(1) or encode(self, *a)), \
            mock.patch.object(EduConnectArgon2Hasher, "verify",
                              lambda self, *a: runs.append(1) or verify(self, *a)):
        yield runs


@pytest.mark.django_db
@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=2, LOGIN_FAILURE_WINDOW_SECONDS=600)
def test_the_refusal_says_how_long_to_wait_and_the_window_moves(client):
    AccountFactory(identifier="m.dupont12")
    # Frozen at the real now and moved forward only: the memory storage's expiry thread reads
    # the real clock, which must not see the frozen events as expired. A whole second, as
    # Redis keeps timestamps to 14 digits.
    with freeze_time(datetime.datetime.now(datetime.UTC).replace(microsecond=0)) as clock:
        post_sign_in(client, identifier="m.dupont12")
        clock.tick(240)
        post_sign_in(client, identifier="m.dupont12")
        clock.tick(60)
        refused = post_sign_in(client, identifier="m.dupont12", password=DEFAULT_PASSWORD)
        assert refused.status_code == 429
        # The first failure leaves the window in 300 s: that is the wait announced.
        assert "réessayez dans 5 minutes" in refused.content.decode()
        assert refused["Retry-After"] == "300"
        clock.tick(301)
        # A moving window: one place is free again, not all of them.
        assert post_sign_in(client, identifier="m.dupont12", password=DEFAULT_PASSWORD
                            ).status_code == 302
        client.logout()


@pytest.mark.django_db
@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=100, LOGIN_MAX_FAILURES_PER_IP=3)
def test_a_success_does_not_give_the_address_its_places_back(client):
    """Else an attacker would sign in to their own account between guesses."""
    AccountFactory(identifier="a.attaquant10")
    post_sign_in(client, identifier="m.victime12")
    post_sign_in(client, identifier="a.attaquant10", password=DEFAULT_PASSWORD)
    client.logout()
    post_sign_in(client, identifier="m.victime13")
    assert post_sign_in(client, identifier="m.victime14").status_code == 429


@pytest.mark.django_db
@override_settings(LOGIN_MAX_FAILURES_PER_IP=3)
def test_ipv6_clients_share_their_64_network_window():
    for host in ("1", "2", "3"):
        post_sign_in(Client(REMOTE_ADDR=f"2001:db8:1:2::{host}"), identifier=f"x.essai1{host}")
    neighbour = Client(REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert post_sign_in(neighbour, identifier="x.essai19").status_code == 429
    elsewhere = Client(REMOTE_ADDR="2001:db8:1:3::1")
    assert post_sign_in(elsewhere, identifier="x.essai19").status_code == 200


# --- On Redis -------------------------------------------------------------------------------


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=3)
def test_on_redis_parallel_wrong_passwords_never_pass_the_identifier_limit(hashes):
    AccountFactory(identifier="m.dupont12")
    hashes.clear()  # the factory's own hash
    responses = in_parallel(
        12, lambda n: post_sign_in(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"),
                                   identifier="m.dupont12"))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 3 + [429] * 9
    assert sum(INVALID_LOGIN_MESSAGE in r.content.decode() for r in responses) == 3
    assert len(hashes) == 3  # only the admitted attempts reached a password check
    # Even the right password now waits for the window.
    assert post_sign_in(Client(), identifier="m.dupont12",
                        password=DEFAULT_PASSWORD).status_code == 429


@pytest.mark.needs_redis
@pytest.mark.django_db(transaction=True)
@override_settings(LOGIN_MAX_FAILURES_PER_IP=4)
def test_on_redis_parallel_attempts_from_one_address_never_pass_its_limit(hashes):
    responses = in_parallel(
        12, lambda n: post_sign_in(Client(REMOTE_ADDR="203.0.113.9"),
                                   identifier=f"x.essai{10 + n}"))
    assert sorted(r.status_code for r in responses) == [200] * 4 + [429] * 8
    assert len(hashes) == 4


@pytest.mark.needs_redis
@pytest.mark.django_db
def test_on_redis_keys_hold_no_identifier_and_no_address_in_clear(client):
    import redis

    AccountFactory(identifier="m.dupont12")
    post_sign_in(Client(REMOTE_ADDR="203.0.113.77"), identifier="m.dupont12")
    post_sign_in(Client(REMOTE_ADDR="2001:db8:77::1"), identifier="x.inconnu77")
    store = redis.Redis.from_url(settings.RATELIMIT_STORAGE_URL)
    keys = [key.decode() for key in store.keys("*")]
    # Three windows (address, identifier from the address, identifier), two clients.
    assert len([key for key in keys if "sign-in" in key]) == 6
    leaks = re.compile(r"dupont|inconnu|203\.0\.113|2001:db8", re.IGNORECASE)
    assert not [key for key in keys if leaks.search(key)]
    # The values are timestamps only.
    for key in keys:
        if store.type(key) == b"list":
            assert all(re.fullmatch(rb"[\d.]+", v) for v in store.lrange(key, 0, -1))
