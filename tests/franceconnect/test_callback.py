"""The relying party against the loopback FranceConnect: a linked identity signs in; every
answer that fails a check is refused with a French message and a journal event, and nobody
is signed in."""

import time
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from core.journal import EventKind
from core.models import JournalEvent
from franceconnect.models import FranceConnectLink, FranceConnectState
from tests.factories import AccountFactory

from .conftest import fc_answer

SIGN_IN = reverse("accounts:login", args=["representant-legal"])


@pytest.fixture
def linked(fc, family):
    account = AccountFactory(identifier="s.dupont12", first_name="Stéphane", last_name="DUPONT")
    family["record"].account = account
    family["record"].save(update_fields=["account"])
    FranceConnectLink.objects.create(account=account, sub=fc.subs["testfc1"])
    return account


def signed_in_as(client):
    return client.session.get("_auth_user_id")


def test_the_authorization_request_follows_franceconnect_v2(client, fc, db):
    response = client.post(reverse("franceconnect:authorize"))
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["acr_values"] == ["eidas1"]
    assert query["scope"] == ["openid given_name family_name birthdate gender email"]
    assert query["redirect_uri"] == ["http://testserver/franceconnect/retour/"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    row = FranceConnectState.objects.get()
    # Only digests are stored.
    assert query["state"][0] not in (row.state_hash, row.nonce_hash)
    assert row.used_at is None and row.expires_at > row.created_at


def test_a_get_does_not_open_a_request(client, fc, db):
    assert client.get(reverse("franceconnect:authorize")).status_code == 405
    assert not FranceConnectState.objects.exists()


def test_a_linked_identity_signs_in_to_my_services(client, fc, linked):
    response = client.get(fc_answer(client, fc))
    assert response.status_code == 302
    assert response["Location"] == reverse("services_portal:my_services")
    assert signed_in_as(client) == str(linked.pk)
    event = JournalEvent.objects.get(kind=EventKind.LOGIN_SUCCEEDED)
    assert event.account == linked and event.data["method"] == "franceconnect"
    assert FranceConnectLink.objects.get().last_sign_in_at is not None
    assert client.session["educonnect_sign_in_methods"] == ["fc"]


def test_signing_out_goes_through_franceconnect_end_session(client, fc, linked):
    client.get(fc_answer(client, fc))
    response = client.post(reverse("accounts:logout"))
    assert signed_in_as(client) is None
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == fc.issuer + "/session/end"
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/franceconnect/deconnexion/"]
    assert len(query["state"][0]) >= 32
    assert query["id_token_hint"][0].count(".") == 2  # the ID token of this sign-in
    # FranceConnect comes back with the state: the person reads that both sessions ended.
    back = client.get(reverse("franceconnect:logout_callback"), {"state": query["state"][0]})
    page = unescape(client.get(back["Location"]).content.decode())
    assert "Vous êtes déconnecté(e) d'ÉduConnect et de FranceConnect." in page
    # The state is single use.
    client.get(reverse("franceconnect:logout_callback"), {"state": query["state"][0]})
    assert JournalEvent.objects.filter(kind=EventKind.FRANCECONNECT_REFUSED,
                                       data__reason="logout_state").count() == 1


def refused(client, response, reason):
    """The refusal: back to the guardian sign-in page with the message, journaled with its
    reason, nobody signed in."""
    assert response.status_code == 302 and response["Location"] == SIGN_IN
    assert signed_in_as(client) is None
    event = JournalEvent.objects.filter(kind=EventKind.FRANCECONNECT_REFUSED).get()
    assert event.data["reason"] == reason
    assert not any(key in str(event.data) for key in ("eyJ", "id_token"))
    return unescape(client.get(SIGN_IN).content.decode())


FORGED = "La réponse de FranceConnect n'a pas pu être vérifiée : pour votre sécurité"


@pytest.mark.parametrize(("tamper", "reason", "message"), [
    ({"id_token": {"key": "foreign"}}, "signature", FORGED),
    ({"id_token": {"claims": {"nonce": "n" * 43}}}, "nonce", FORGED),
    ({"id_token": {"claims": {"exp": int(time.time()) - 600}}}, "expired",
     "La réponse de FranceConnect a expiré avant d'arriver."),
    ({"id_token": {"claims": {"acr": "eidas0"}}}, "acr",
     "Le niveau de garantie de l'identité transmis par FranceConnect est insuffisant"),
    ({"id_token": {"claims": {"aud": "another-service"}}}, "claims", FORGED),
    ({"id_token": {"claims": {"iss": "https://franceconnect.example/api/v2"}}}, "claims",
     FORGED),
    ({"userinfo": {"key": "foreign"}}, "signature", FORGED),
    ({"userinfo": {"claims": {"sub": "0" * 64 + "v1"}}}, "userinfo", FORGED),
])
def test_a_token_that_fails_a_check_is_refused(client, fc, linked, tamper, reason, message):
    fc.control(tamper=tamper)
    response = client.get(fc_answer(client, fc))
    page = refused(client, response, reason)
    assert message in page
    assert not JournalEvent.objects.filter(kind=EventKind.LOGIN_SUCCEEDED).exists()


def test_an_unknown_key_id_fetches_the_keys_once_more_then_is_refused(client, fc, linked):
    client.get(fc_answer(client, fc))  # the keys are fetched and cached
    client.logout()
    assert fc.counters()["jwks_hits"] == 1
    fc.control(tamper={"id_token": {"key": "unknown"}})
    response = client.get(fc_answer(client, fc))
    assert fc.counters()["jwks_hits"] == 2
    assert FORGED in refused(client, response, "unknown_key")


def test_a_rotated_key_is_fetched_once_and_accepted(client, fc, linked):
    client.get(fc_answer(client, fc))
    client.logout()
    fc.control(tamper={"id_token": {"key": "rotated"}})
    response = client.get(fc_answer(client, fc))
    assert response["Location"] == reverse("services_portal:my_services")
    assert signed_in_as(client) == str(linked.pk)
    assert fc.counters()["jwks_hits"] == 2


def test_a_replayed_state_is_refused(client, fc, linked):
    answer = fc_answer(client, fc)
    client.get(answer)
    client.logout()
    response = client.get(answer)
    page = refused(client, response, "state")
    assert "Cette connexion avec FranceConnect a expiré ou a déjà été utilisée." in page


def test_an_answer_meant_for_another_browser_is_refused(client, fc, linked):
    from django.test import Client

    answer = fc_answer(Client(), fc)  # the attacker's own answer, fed to the victim
    response = client.get(answer)
    refused(client, response, "state")


def test_access_denied_says_the_person_cancelled(client, fc, linked):
    fc.control(deny=True)
    answer = fc_answer(client, fc)
    assert "error=access_denied" in answer
    page = refused(client, client.get(answer), "access_denied")
    assert "Vous avez annulé la connexion avec FranceConnect." in page
    # The state of a cancelled request is spent too.
    assert FranceConnectState.objects.get().used_at is not None


def test_server_error_says_franceconnect_is_unavailable(client, fc, linked):
    client.post(reverse("franceconnect:authorize"))
    state = client.session["franceconnect_states"]
    assert state  # the digest only: the raw state travels in the URL
    response = client.get(reverse("franceconnect:callback"),
                          {"error": "server_error", "state": "x" * 43})
    page = refused(client, response, "provider_unavailable")
    assert "FranceConnect n'a pas pu être joint" in page


def test_a_locked_account_does_not_sign_in(client, fc, linked):
    linked.state = "locked"
    linked.save(update_fields=["state"])
    response = client.get(fc_answer(client, fc))
    assert response["Location"] == SIGN_IN
    assert signed_in_as(client) is None
    assert "bloqué ou fermé" in unescape(client.get(SIGN_IN).content.decode())


def test_without_configuration_no_button_and_no_franceconnect_url(client, settings, db):
    settings.FRANCECONNECT_ISSUER = ""
    page = client.get(SIGN_IN).content.decode()
    assert "fr-connect" not in page and "FranceConnect" not in page
    assert client.post(reverse("franceconnect:authorize")).status_code == 404
    assert client.get(reverse("franceconnect:callback")).status_code == 404


def test_the_button_on_the_guardian_page_only(client, fc, db):
    page = unescape(client.get(SIGN_IN).content.decode())
    assert "S'identifier avec" in page and "Qu'est-ce que FranceConnect ?" in page
    assert "nouvelle fenêtre" in page
    pupil_page = client.get(reverse("accounts:login", args=["eleve"])).content.decode()
    assert "fr-connect" not in pupil_page


def test_an_expired_state_is_refused(client, fc, linked, settings):
    settings.FRANCECONNECT_STATE_TTL_SECONDS = 0  # dead as soon as made
    response = client.get(fc_answer(client, fc))
    refused(client, response, "state")


def test_expired_states_are_purged(client, fc, db, settings):
    import datetime

    from django.utils import timezone

    from franceconnect.services import franceconnect_states_purge

    client.post(reverse("franceconnect:authorize"))
    assert franceconnect_states_purge() == 0  # alive
    ttl = settings.FRANCECONNECT_STATE_TTL_SECONDS
    later = timezone.now() + datetime.timedelta(seconds=ttl + 1)
    assert franceconnect_states_purge(now=later) == 1
    assert not FranceConnectState.objects.exists()
