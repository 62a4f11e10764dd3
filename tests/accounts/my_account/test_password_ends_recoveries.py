"""A new password, by any path, ends the account's pending « Mot de passe oublié ? »: the
reset link still in the mailbox no longer opens « Choisir un nouveau mot de passe » and says
why, and an open recovery (its SMS code) stops and says why (tryout: a link asked for before
a change in « Mon compte » still let its reader choose the password)."""

from urllib.parse import urlsplit

import pytest
from django.test import Client

from core.models import Flow, FlowStatus
from tests import html
from tests.accounts.recovery.conftest import Recovery
from tests.accounts.recovery.conftest import last_code as recovery_code
from tests.mailbox import link_from

from .conftest import sign_in
from .test_password_change import change

pytestmark = pytest.mark.django_db

OUTDATED = ("Le mot de passe de ce compte a été modifié depuis l'envoi de ce mail, dans « Mon "
            "compte » ou par une autre demande « Mot de passe oublié ? ».")
STOPPED = ("Le mot de passe de ce compte a été modifié depuis le début de cette demande")


def _reset_link(smtp_server, django_capture_on_commit_callbacks, *, sent_before=0):
    recovery = Recovery(Client(), django_capture_on_commit_callbacks)
    recovery.start("a.benali14")
    recovery.choose("email")
    reset = smtp_server.wait_for(sent_before + 1)[sent_before]
    return recovery, urlsplit(link_from(reset)).path


def _assert_the_link_says_the_password_changed(path):
    reader = Client()  # the mail read later, in a browser not signed in
    for response in (reader.get(path), reader.post(path)):
        assert response.status_code == 410
        page = html.main(html.parse(response))
        text = html.text(page)
        assert "Ce lien n'est plus valable" in text
        assert OUTDATED in text
        assert "Connectez-vous avec le nouveau mot de passe" in text
        assert page.find("form") is None  # no button that would lead to a new password
        assert "Je choisis un nouveau mot de passe" not in text


def test_a_link_asked_for_before_a_change_in_my_account_no_longer_sets_the_password(
        guardian, commit, smtp_server, django_capture_on_commit_callbacks):
    recovery, path = _reset_link(smtp_server, django_capture_on_commit_callbacks)
    assert change(sign_in(Client()), commit).status_code == 302
    _assert_the_link_says_the_password_changed(path)
    flow = Flow.objects.get(pk=recovery.flow_id)
    assert flow.status == FlowStatus.REPLACED
    # The browser that asked for the link is told too.
    page = recovery.client.get(recovery.url("link_sent"), follow=True)
    assert STOPPED in html.text(html.main(html.parse(page)))


def test_an_sms_recovery_open_when_the_password_changes_stops(
        guardian, commit, django_capture_on_commit_callbacks):
    recovery = Recovery(Client(), django_capture_on_commit_callbacks)
    recovery.start("a.benali14")
    recovery.choose("sms")
    code = recovery_code()
    assert change(sign_in(Client()), commit).status_code == 302
    response = recovery.send_code(code)
    assert response.status_code == 302
    page = html.text(html.main(html.parse(recovery.client.get(response["Location"],
                                                              follow=True))))
    assert STOPPED in page
    assert recovery.get("password").status_code == 302  # never « Choisir un nouveau … »


def test_another_recovery_kills_the_link_of_the_first(
        guardian, commit, smtp_server, django_capture_on_commit_callbacks):
    _first, path = _reset_link(smtp_server, django_capture_on_commit_callbacks)
    second = Recovery(Client(), django_capture_on_commit_callbacks)
    second.start("a.benali14")
    second.choose("sms")
    second.send_code(recovery_code())
    assert second.new_password()["Location"] == second.url("done")
    _assert_the_link_says_the_password_changed(path)
