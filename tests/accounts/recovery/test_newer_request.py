"""A newer « Mot de passe oublié ? » request replaces the older ones of the same account
(tryout: two mails for j.ndiaye14, and the older link still led to « Étape 4 sur 5 : Je
choisis mon nouveau mot de passe »): the older link says « Une demande plus récente l'a
remplacé », with the way on, as « Mon compte »'s e-mail links do; the older recovery's code
no longer works and its page says why. A request for an identifier that reaches no one
ends nothing (and does the same work: test_enumeration)."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from core.models import Flow, FlowStatus
from tests import html
from tests.mailbox import link_from

from .conftest import NEW_PASSWORD, Recovery, decoy_identifier, last_code

pytestmark = pytest.mark.django_db(transaction=True)

REPLACED = "Une demande plus récente l'a remplacé"


@pytest.fixture(autouse=True)
def _no_wait(settings):
    settings.PASSWORD_RESET_RESEND_COOLDOWN_SECONDS = 0


def _request(capture, channel, identifier="s.nguyen21"):
    recovery = Recovery(Client(), capture)
    recovery.start(identifier)
    assert recovery.choose(channel).status_code == 302
    return recovery


def _link(smtp_server, count):
    return urlsplit(link_from(smtp_server.wait_for(count)[count - 1])).path


def _assert_replaced(path):
    reader = Client()
    for response in (reader.get(path), reader.post(path)):
        assert response.status_code == 410
        main = html.main(html.parse(response))
        text = html.text(main)
        assert "Ce lien n'est plus valable" in text
        assert REPLACED in text
        assert "Ouvrez le lien du mail le plus récent" in text
        assert "Je choisis mon nouveau mot de passe" not in text
        assert main.find("form") is None
        assert "Faire une nouvelle demande" in text


@pytest.mark.parametrize("newer", ["email", "sms"])
def test_a_newer_request_ends_the_older_link(guardian, smtp_server, newer,
                                             django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first = _request(capture, "email")
    older = _link(smtp_server, 1)
    second = _request(capture, newer)
    _assert_replaced(older)
    # The browser that asked for the older link is told too.
    page = html.text(html.main(html.parse(first.client.get(first.url("link_sent"),
                                                           follow=True))))
    assert "Une demande plus récente l'a remplacée" in page
    assert "Votre mot de passe n'a pas été modifié" in page
    assert Flow.objects.get(pk=first.flow_id).status == FlowStatus.REPLACED
    # The newer request goes on to the new password.
    if newer == "email":
        second.client.post(_link(smtp_server, 2))
    else:
        second.send_code(last_code())
    assert second.get("password").status_code == 200
    assert second.new_password()["Location"] == second.url("done")
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)


def test_a_newer_request_ends_the_older_sms_code(guardian, smtp_server,
                                                 django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    first = _request(capture, "sms")
    code = last_code()
    _request(capture, "email")
    response = first.send_code(code)
    page = html.text(html.main(html.parse(first.client.get(response["Location"],
                                                           follow=True))))
    assert "Une demande plus récente l'a remplacée" in page
    assert first.get("password").status_code == 302  # never « Je choisis … »
    guardian.refresh_from_db()
    assert not guardian.check_password(NEW_PASSWORD)


def test_an_opened_older_link_no_longer_sets_the_password(guardian, smtp_server,
                                                          django_capture_on_commit_callbacks):
    """The older link opened (« Étape 4 sur 5 »), then a newer request: the older page's
    password is refused, the flow says it was replaced."""
    capture = django_capture_on_commit_callbacks
    first = _request(capture, "email")
    reader = Client()
    assert reader.post(_link(smtp_server, 1))["Location"] == first.url("password")
    _request(capture, "sms")
    response = reader.post(first.url("password"), {"password": NEW_PASSWORD,
                                                   "password_confirm": NEW_PASSWORD})
    page = html.text(html.main(html.parse(reader.get(response["Location"], follow=True))))
    assert "Une demande plus récente l'a remplacée" in page
    guardian.refresh_from_db()
    assert not guardian.check_password(NEW_PASSWORD)


def test_a_request_that_reaches_no_one_ends_nothing(guardian, smtp_server,
                                                    django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    mine = _request(capture, "email")
    path = _link(smtp_server, 1)
    stranger = _request(capture, "sms", identifier=decoy_identifier())
    _request(capture, "email", identifier=decoy_identifier())
    assert Flow.objects.get(pk=mine.flow_id).status == FlowStatus.OPEN
    assert Flow.objects.get(pk=stranger.flow_id).status == FlowStatus.OPEN
    assert Client().get(path).status_code == 200
