"""core.http.client_ip: X-Forwarded-For trusted only as deep as our own proxies; anything
that is not an IP address falls back to the peer address; never a 500, never a non-IP in the
journal."""

import pytest
from django.test import RequestFactory, override_settings

from accounts.models import StaffRole
from core.http import client_ip, ip_normalize, ip_rate_subject
from core.models import JournalEvent
from tests.backoffice.conftest import STAFF_PASSWORD, make_staff
from tests.factories import AccountFactory

PEER = "192.0.2.10"


def ip_of(forwarded=None, *, remote=PEER, proxies=1):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_the_header_is_ignored():
    assert ip_of("203.0.113.7", proxies=0) == PEER


@pytest.mark.parametrize(
    ("forwarded", "proxies", "expected"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        # What the client wrote left of our proxies' entries is not believed.
        ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7, 10.0.0.2", 2, "203.0.113.7"),
        (" 203.0.113.7 ,10.0.0.2", 2, "203.0.113.7"),
    ],
)
def test_the_address_our_outermost_proxy_saw_is_used(forwarded, proxies, expected):
    assert ip_of(forwarded, proxies=proxies) == expected


@pytest.mark.parametrize(
    "forwarded",
    [
        "not-an-ip",
        "6.6.6.6, not-an-ip",
        "unknown",
        "203.0.113.7:443",  # a port
        "[2001:db8::1]",  # brackets
        "fe80::1%eth0",  # a zone index
        "999.1.1.1",
        "",
        " , ",
        "<script>",
    ],
)
def test_what_is_not_an_address_falls_back_to_the_peer(forwarded):
    assert ip_of(forwarded) == PEER


def test_too_few_hops_falls_back_to_the_peer():
    # Two proxies configured, one entry: the request did not cross both.
    assert ip_of("203.0.113.7", proxies=2) == PEER


def test_addresses_are_normalised():
    assert ip_of("2001:DB8:0:0::1") == "2001:db8::1"
    assert ip_of("::ffff:203.0.113.7") == "203.0.113.7"
    assert ip_of(None, remote="::FFFF:192.0.2.1", proxies=0) == "192.0.2.1"


def test_a_peer_address_that_is_not_one_gives_nothing():
    assert ip_of(None, remote="", proxies=0) == ""
    assert ip_of("not-an-ip", remote="unix:/run/gunicorn.sock") == ""
    assert ip_normalize("  ") == ""


def test_ipv6_clients_are_counted_by_their_64_network():
    one = ip_rate_subject("2001:db8:1:2:aaaa::1")
    assert one == ip_rate_subject("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert one != ip_rate_subject("2001:db8:1:3::1")
    assert ip_rate_subject("203.0.113.7") == "203.0.113.7"
    assert ip_rate_subject("") == ""


# --- Over HTTP: the pages answer normally, the journal holds the peer address -------------

FORGED = {"HTTP_X_FORWARDED_FOR": "not-an-ip", "REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def journal_addresses(after=0):
    events = JournalEvent.objects.filter(pk__gt=after)
    assert events.exists()
    return set(events.values_list("ip_address", flat=True))


@pytest.mark.django_db
def test_portal_sign_in_with_a_forged_header(client, behind_one_proxy):
    AccountFactory(identifier="m.dupont12")
    response = client.post("/connexion/representant-legal/",
                           {"identifier": "m.dupont12", "password": "Mauvais-1!"}, **FORGED)
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in response.content.decode()
    # (The test client closes the response, which journals the refusal.)
    assert journal_addresses() == {"127.0.0.1"}


@pytest.mark.django_db
def test_activation_start_with_a_forged_header(client, behind_one_proxy):
    response = client.post(
        "/activation/",
        {"last_name": "Personne", "first_name": "Inconnue", "phone": "06 12 34 56 78"},
        **FORGED,
    )
    assert response.status_code == 302  # on to the code step, as for anybody
    assert journal_addresses() == {"127.0.0.1"}


@pytest.mark.django_db
def test_back_office_sign_in_with_a_forged_header(client, behind_one_proxy):
    staff = make_staff(StaffRole.NATIONAL, last_name="National")
    before = JournalEvent.objects.latest("pk").pk  # staff_create's own event has no request
    response = client.post("/gestion/login/", {"step": "password", "identifier": "x.inconnu99",
                                               "password": STAFF_PASSWORD}, **FORGED)
    assert response.status_code == 400
    assert "Identifiant ou mot de passe incorrect" in response.content.decode()
    response = client.post("/gestion/login/", {"step": "password", "identifier": staff.identifier,
                                               "password": STAFF_PASSWORD}, **FORGED)
    assert response.status_code == 302
    response = client.post("/gestion/login/", {"step": "code", "code": "000000"}, **FORGED)
    assert response.status_code == 400
    assert journal_addresses(before) == {"127.0.0.1"}
