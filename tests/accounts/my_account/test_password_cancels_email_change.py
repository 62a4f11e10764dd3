"""A new password cancels a pending change of e-mail address (the old address's notice
says « modifiez votre mot de passe » to someone who did not ask for it): by « Mon compte »,
and by « Mot de passe oublié ? » with the SMS code or the e-mail link. The validation link
then opens « Ce lien n'est plus valable », as an expired one, validates nothing, and the
account's journal says the change was cancelled and why."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from core.models import JournalEvent
from tests import html
from tests.accounts.recovery.conftest import Recovery
from tests.accounts.recovery.conftest import last_code as recovery_code
from tests.mailbox import link_from, text_of

from .conftest import sign_in
from .test_email_change import NEW, OLD, URL, ask, by_recipient
from .test_password_change import change
from .test_phone_change import code_url, flow_of, last_code, start

pytestmark = pytest.mark.django_db

CANCELLED = "my_account.email_change_cancelled"


def _pending_link(client, commit, smtp_server) -> str:
    """Ask for NEW in « Mon compte »; returns the path of its validation link, after checking
    that the old address is told how to stop a change it did not ask for."""
    ask(client, commit)
    mails = by_recipient(smtp_server.wait_for(2))
    advice = " ".join(text_of(mails[OLD]).split())
    assert ("modifiez votre mot de passe dans « Mon compte » (ou, si vous ne pouvez plus vous "
            "connecter, utilisez « Mot de passe oublié ? ») : la demande sera annulée et le "
            "lien envoyé à la nouvelle adresse ne fonctionnera plus.") in advice
    return urlsplit(link_from(mails[NEW])).path


def _assert_the_link_is_dead(path, guardian, *, reason):
    stranger = Client()  # the link opened later, in a browser not signed in
    expired_page = html.text(html.main(html.parse(
        stranger.get(reverse("accounts:my_account:email_validate", args=["x" * 43])))))
    for response in (stranger.get(path), stranger.post(path)):
        assert response.status_code == 410
        page = html.text(html.main(html.parse(response)))
        assert "Ce lien n'est plus valable" in page
        assert "la demande a été annulée (un changement du mot de passe du compte l'annule " \
            "aussi)" in page
        assert page == expired_page  # the same page as an expired or unknown link
    guardian.refresh_from_db()
    assert guardian.email == OLD and guardian.email_verified
    event = JournalEvent.objects.get(kind=CANCELLED, account=guardian)
    assert event.data == {"password_changed": True, "reason": reason}


def test_a_password_changed_in_my_account_cancels_the_pending_address(
        signed_in, guardian, commit, smtp_server):
    path = _pending_link(signed_in, commit, smtp_server)
    assert change(signed_in, commit).status_code == 302
    _assert_the_link_is_dead(path, guardian, reason="my_account")
    # The owner's page no longer shows a pending change.
    assert html.parse(signed_in.get(URL)).find(id="pending") is None


EMAIL_CHANGE_CANCELLED_NOTICE = ("la modification de votre adresse mail qui attendait sa "
                                 "validation a été annulée")


def test_the_password_page_says_the_pending_address_was_cancelled(
        signed_in, guardian, commit, smtp_server):
    """The cancellation is deliberate (accounts.my_account.pending) but was silent: the
    person who asked for a new address saw it vanish and its link answer 410. The success
    page now says it, and where to ask for it again."""
    _pending_link(signed_in, commit, smtp_server)
    response = change(signed_in, commit)
    shown = html.messages(html.parse(signed_in.get(response["Location"])))
    assert any("Votre mot de passe a été modifié" in m for m in shown), shown
    assert any(EMAIL_CHANGE_CANCELLED_NOTICE in m and "demandez-le à nouveau dans « Modifier "
               "mon adresse mail »" in m for m in shown), shown


def test_the_password_page_says_nothing_of_an_address_when_none_was_pending(
        signed_in, guardian, commit):
    response = change(signed_in, commit)
    shown = html.messages(html.parse(signed_in.get(response["Location"])))
    assert any("Votre mot de passe a été modifié" in m for m in shown), shown
    assert not any(EMAIL_CHANGE_CANCELLED_NOTICE in m for m in shown), shown


def test_a_password_reset_by_sms_cancels_the_pending_address(
        signed_in, guardian, commit, smtp_server, django_capture_on_commit_callbacks):
    path = _pending_link(signed_in, commit, smtp_server)
    recovery = Recovery(Client(), django_capture_on_commit_callbacks)
    recovery.start("a.benali14")
    recovery.choose("sms")
    recovery.send_code(recovery_code())
    assert recovery.new_password()["Location"] == recovery.url("done")
    _assert_the_link_is_dead(path, guardian, reason="recovery_sms")


def test_a_password_reset_by_email_link_cancels_the_pending_address(
        signed_in, guardian, commit, smtp_server, django_capture_on_commit_callbacks):
    path = _pending_link(signed_in, commit, smtp_server)
    recovery = Recovery(Client(), django_capture_on_commit_callbacks)
    recovery.start("a.benali14")
    recovery.choose("email")
    reset = smtp_server.wait_for(3)[2]
    assert reset["To"] == OLD  # the address still the account's
    phone = Client()
    reset_path = urlsplit(link_from(reset)).path
    assert phone.post(reset_path)["Location"] == recovery.url("password")
    response = commit(phone.post, recovery.url("password"), {
        "password": "Goyave-Piment-2031!", "password_confirm": "Goyave-Piment-2031!"})
    assert response["Location"] == recovery.url("done")
    _assert_the_link_is_dead(path, guardian, reason="recovery_email")


def test_a_password_change_with_nothing_pending_journals_no_cancellation(
        signed_in, guardian, commit):
    assert change(signed_in, commit).status_code == 302
    assert not JournalEvent.objects.filter(kind=CANCELLED).exists()


def test_a_phone_change_started_with_the_old_password_cannot_be_finished_after_a_new_one(
        guardian, commit):
    """The phone change has no link: its code is checked only in the session that started
    it, and a new password ends every other session (accounts.services.account_password_set).
    So the number typed by someone who knew the old password never becomes the account's."""
    attacker = sign_in(Client())
    flow = flow_of(start(attacker, commit))
    code = last_code()
    owner = sign_in(Client())
    assert change(owner, commit).status_code == 302
    response = commit(attacker.post, code_url(flow), {"code": code})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:profile_choice"))
    guardian.refresh_from_db()
    assert str(guardian.phone) == "+33612345678"
    assert not JournalEvent.objects.filter(kind="my_account.phone_changed").exists()
