"""« Mot de passe oublié ? » with an identifier closed by a merge (« Regrouper mes comptes »,
families.services): the recovery leads to the account it was merged into — its own channels
and masks, the code to its proven number — and, once the code or the link is accepted, the
pages name the identifier whose password is chosen and say the old one was merged into it
(tryout: t.martin72 was offered a decoy « 07 •• •• •• 63 » and no SMS ever came, a dead
end for a parent who only remembers the identifier of his old letter). Chains are followed
(a into b, then b into c). An account closed otherwise keeps its decoy; the start does the
same database work whatever was typed (issue 8 §6)."""

import re

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccountState
from families.services import _merge_locked
from notifications import sms
from notifications.models import OutboundMessage
from tests import html
from tests.factories import AccountFactory

from .conftest import NEW_PASSWORD, decoy_identifier, last_code
from .test_enumeration import _shapes

pytestmark = pytest.mark.django_db

KEPT_MASK = re.compile(r"06[ \u00a0]••[ \u00a0]••[ \u00a0]••[ \u00a0]78")


def _merge(kept, closed):
    """The writes of « Regrouper mes comptes » (closed merged into kept), then the
    messages it sends forgotten."""
    with transaction.atomic():
        _merge_locked(kept, closed, [], [], request=None)
    sms.outbox.clear()


@pytest.fixture
def merged(db):
    kept = AccountFactory(identifier="t.martin52", first_name="Thomas", last_name="Martin",
                          phone="+33612345678", phone_verified=True,
                          email="thomas.martin@free.fr", email_verified=True)
    closed = AccountFactory(identifier="t.martin72", first_name="Thomas", last_name="Martin",
                            phone="+33698765463", phone_verified=True)
    _merge(kept, closed)
    closed.refresh_from_db()
    assert closed.state == AccountState.CLOSED
    return kept, closed


def _text(response) -> str:
    return html.text(html.main(html.parse(response)))


def test_a_merged_identifier_resets_the_password_of_the_account_it_was_merged_into(
        merged, recovery):
    kept, closed = merged
    recovery.start("T.MARTIN72")
    channel = _text(recovery.get("channel"))
    assert KEPT_MASK.search(channel), channel  # the kept account's real number
    assert "t•••@f•••.fr" in channel
    assert "T.MARTIN52" not in channel  # nothing named before the code
    code_page = recovery.page(recovery.choose("sms"))
    assert "T.MARTIN52" not in code_page
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    recovery.send_code(last_code())
    page = _text(recovery.get("password"))
    assert ("L'identifiant T.MARTIN72 a été regroupé avec le compte T.MARTIN52" in page), page
    assert "Vous choisissez le mot de passe du compte T.MARTIN52" in page
    done = html.text(html.main(html.parse(recovery.client.get(
        recovery.new_password()["Location"], follow=True))))
    assert ("Connectez-vous maintenant avec l'identifiant T.MARTIN52 et votre nouveau mot de "
            "passe : l'identifiant T.MARTIN72 a été regroupé avec ce compte") in done
    kept.refresh_from_db()
    closed.refresh_from_db()
    assert kept.check_password(NEW_PASSWORD)
    assert not closed.check_password(NEW_PASSWORD)


def test_a_merged_identifier_gets_the_link_at_the_kept_address(merged, recovery):
    recovery.start("t.martin72")
    recovery.choose("email")
    [row] = OutboundMessage.objects.filter(purpose="password_reset_link")
    assert row.recipient == "thomas.martin@free.fr"
    [message] = mail.outbox
    assert "Vous avez demandé à changer le mot de passe du compte ÉduConnect T.MARTIN52" in (
        message.body)
    assert "L'identifiant T.MARTIN72 a été regroupé avec ce compte" in message.body


def test_a_chain_of_merges_is_followed(merged, recovery):
    kept, _closed = merged
    last = AccountFactory(identifier="t.martin90", first_name="Thomas", last_name="Martin",
                          phone="+33611223399", phone_verified=True,
                          email="t.martin@orange.fr", email_verified=True)
    _merge(last, kept)  # t.martin72 into t.martin52, then t.martin52 into t.martin90
    recovery.start("t.martin72")
    channel = _text(recovery.get("channel"))
    assert "t•••@o•••.fr" in channel
    assert re.search(r"06[ \u00a0]••[ \u00a0]••[ \u00a0]••[ \u00a0]99", channel)
    assert not KEPT_MASK.search(channel)  # not the middle account's (closed) number


def test_an_account_closed_otherwise_keeps_its_decoy(db, recovery):
    identifier = decoy_identifier(with_phone=True, with_email=False)
    AccountFactory(identifier=identifier, state=AccountState.CLOSED,
                   phone="+33612345678", phone_verified=True)
    recovery.start(identifier)
    assert not KEPT_MASK.search(_text(recovery.get("channel")))
    recovery.choose("sms")
    assert sms.outbox == []


def test_the_start_does_the_same_database_work_for_a_merged_identifier(merged):
    def work(identifier):
        client = Client()
        with CaptureQueriesContext(connection) as start:
            client.post(reverse("accounts:password_forgotten"), {"identifier": identifier})
        return _shapes(start)

    assert work("t.martin72") == work(decoy_identifier()) == work("t.martin52")
