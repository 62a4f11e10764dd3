"""« Ajouter des enfants depuis un autre compte » (issue 11 §1, seeds FAQ §12): a guardian with
two accounts ends with one account listing all the children; the other account is closed and
signs in no more; both numbers and addresses are told; the helpdesk sees it in both files."""

import datetime
from html import unescape

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_access_token_model, get_application_model

from accounts.forms import INVALID_LOGIN_MESSAGE
from accounts.models import AccountState
from core.journal import EventKind
from core.models import JournalEvent
from notifications.models import OutboundMessage
from pupils.models import GuardianRecord
from pupils.selectors import pupils_of_guardian_account
from tests import html as h
from tests.factories import (
    DEFAULT_PASSWORD,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

MERGE_URL = "/mes-enfants/regrouper/"
SIGN_IN_URL = "/connexion/representant-legal/"


def child_of(account, *, first_names, school, phone, birth_date=datetime.date(2015, 4, 2),
             guardian=("Karim", "Haddad")):
    record = GuardianRecordFactory(establishment=school, first_name=guardian[0],
                                   last_name=guardian[1], mobile_phone=phone, account=account)
    pupil = PupilFactory(establishment=school, first_names=first_names, last_name="HADDAD",
                         birth_date=birth_date)
    ResponsibilityFactory(guardian_record=record, pupil=pupil)
    return record, pupil


@pytest.fixture
def family(db):
    """Karim Haddad gave one number to the école (Sami) and another to the collège (Lina,
    Adam): he activated twice and has two accounts."""
    ecole = EstablishmentFactory(name="École Jean-Jaurès", kind="ecole")
    college = EstablishmentFactory(name="Collège Pablo-Picasso")
    kept = AccountFactory(identifier="k.haddad1", first_name="Karim", last_name="HADDAD",
                          phone="+33611111111", phone_verified=True,
                          email="karim@example.org", email_verified=True)
    other = AccountFactory(identifier="k.haddad2", first_name="KARIM", last_name="Haddad",
                           phone="+33622222222", phone_verified=True,
                           email="k.haddad@example.net", email_verified=True)
    sami_record, sami = child_of(kept, first_names="Sami", school=ecole, phone="+33611111111")
    lina_record, lina = child_of(other, first_names="Lina", school=college, phone="+33622222222")
    adam = PupilFactory(establishment=college, first_names="Adam", last_name="HADDAD")
    ResponsibilityFactory(guardian_record=lina_record, pupil=adam)
    return {"kept": kept, "other": other, "pupils": [sami, lina, adam],
            "records": [sami_record, lina_record]}


def signed_in(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def merge(client, identifier="K.HADDAD2", password=DEFAULT_PASSWORD):
    return client.post(MERGE_URL, {"identifier": identifier, "password": password})


def test_the_kept_account_lists_every_child_and_the_other_is_closed(
        family, django_capture_on_commit_callbacks):
    client = signed_in(family["kept"])
    page = unescape(client.get(MERGE_URL).content.decode())
    assert "vérifié auprès des établissements" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = merge(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("services_portal:my_children")
    page = unescape(client.get(response["Location"]).content.decode())
    assert "Les enfants du compte K.HADDAD2 ont été ajoutés à votre compte" in page
    assert "3 enfants rattachés à mon compte" in page
    assert set(pupils_of_guardian_account(family["kept"])) == set(family["pupils"])

    other = family["other"]
    other.refresh_from_db()
    assert other.state == AccountState.CLOSED
    assert not GuardianRecord.objects.filter(account=other).exists()
    # The closed account's identifier gets the sign-in's generic refusal.
    response = Client().post(SIGN_IN_URL, {"identifier": "k.haddad2",
                                           "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert INVALID_LOGIN_MESSAGE in unescape(response.content.decode())


def test_both_numbers_and_both_addresses_are_told(family, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        merge(signed_in(family["kept"]))
    notices = OutboundMessage.objects.filter(purpose="accounts_merged_notice")
    assert sorted(m.recipient for m in notices) == sorted([
        "+33611111111", "+33622222222", "karim@example.org", "k.haddad@example.net"])
    assert sorted(message.to[0] for message in mail.outbox) == [
        "k.haddad@example.net", "karim@example.org"]
    assert all("K.HADDAD1" in message.body for message in mail.outbox)


def test_both_helpdesk_files_show_the_merge(family):
    merge(signed_in(family["kept"]))
    kept, other = family["kept"], family["other"]
    merged = JournalEvent.objects.get(kind=EventKind.ACCOUNTS_MERGED, account=kept)
    closed = JournalEvent.objects.get(kind=EventKind.ACCOUNT_CLOSED_BY_MERGE, account=other)
    assert merged.data["other_account_id"] == other.pk
    assert closed.data["kept_account_id"] == kept.pk
    assert merged.data["guardian_record_ids"] == [family["records"][1].pk]
    assert "password" not in str(merged.data) and DEFAULT_PASSWORD not in str(merged.data)


def test_names_that_differ_are_refused_and_nothing_moves(family):
    other = family["other"]
    other.first_name = "Karima"
    other.save()
    response = merge(signed_in(family["kept"]))
    assert response.status_code == 400
    page = unescape(response.content.decode())
    assert "Les deux comptes ne sont pas au même nom" in page
    assert "Vérifiez auprès des établissements" in page
    other.refresh_from_db()
    assert other.state == AccountState.ACTIVE
    assert GuardianRecord.objects.get(pk=family["records"][1].pk).account_id == other.pk


@pytest.mark.parametrize("identifier, password", [
    ("k.haddad2", "Mauvais-Mot-2!"),      # wrong password
    ("k.haddad99", DEFAULT_PASSWORD),     # no such account
])
def test_a_wrong_pair_gets_the_sign_in_refusal_naming_the_password(family, identifier, password):
    response = merge(signed_in(family["kept"]), identifier, password)
    assert response.status_code == 400
    parsed = h.parse(response.content.decode())
    [messages] = h.described_by(parsed, "id_password")
    assert INVALID_LOGIN_MESSAGE in h.text(messages)
    assert family["other"].__class__.objects.get(pk=family["other"].pk).state == \
        AccountState.ACTIVE


def test_its_own_identifier_is_refused_with_the_fix(family):
    response = merge(signed_in(family["kept"]), "k.haddad1")
    assert response.status_code == 400
    assert "celui du compte avec lequel vous êtes connecté(e)" in unescape(
        response.content.decode())


def test_a_pupil_account_cannot_be_merged(family):
    pupil_account = AccountFactory(identifier="l.haddad3", kind="pupil", first_name="Karim",
                                   last_name="Haddad")
    response = merge(signed_in(family["kept"]), pupil_account.identifier)
    assert response.status_code == 400
    assert INVALID_LOGIN_MESSAGE in unescape(response.content.decode())
    pupil_account.refresh_from_db()
    assert pupil_account.state == AccountState.ACTIVE


def test_password_guesses_meet_the_sign_in_limits(family, settings):
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP = 3
    client = signed_in(family["kept"])
    for _ in range(3):
        assert merge(client, password="Mauvais-Mot-2!").status_code == 400
    response = merge(client)  # even the right password waits now
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "réessayez dans" in unescape(response.content.decode())
    assert family["other"].__class__.objects.get(pk=family["other"].pk).state == \
        AccountState.ACTIVE


def test_the_closed_accounts_oidc_tokens_end(family):
    application = get_application_model().objects.create(
        name="ENT", client_type="confidential", authorization_grant_type="authorization-code",
        redirect_uris="https://ent.example.org/cb", algorithm="RS256")
    tokens = get_access_token_model()
    tokens.objects.create(user=family["other"], application=application, token="a" * 30,
                          expires=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))
    kept_token = tokens.objects.create(user=family["kept"], application=application,
                                       token="b" * 30,
                                       expires=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))
    merge(signed_in(family["kept"]))
    assert list(tokens.objects.all()) == [kept_token]


def test_pupils_and_staff_do_not_see_the_page(family):
    pupil_account = AccountFactory(kind="pupil")
    assert signed_in(pupil_account).get(MERGE_URL)["Location"] == reverse(
        "accounts:my_account:information")
    assert Client().get(MERGE_URL).status_code == 302


def test_the_closed_accounts_open_sessions_end(family):
    """A session the other account opened before the merge (on another device) ends at its
    next request: a closed account is not active for Django's auth."""
    other_session = signed_in(family["other"])
    assert other_session.get("/services/").status_code == 200
    merge(signed_in(family["kept"]))
    response = other_session.get("/services/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:profile_choice')}?next=/services/"


@pytest.mark.parametrize("kept_has_a_link", [False, True])
def test_the_closed_accounts_franceconnect_link_moves_or_ends(family, kept_has_a_link):
    """franceconnect/merge.py: the other account's FranceConnect identity now signs the
    family into the kept account, unless the kept one has an identity of its own."""
    from franceconnect.models import FranceConnectLink

    FranceConnectLink.objects.create(account=family["other"], sub="a" * 64 + "v1")
    if kept_has_a_link:
        FranceConnectLink.objects.create(account=family["kept"], sub="b" * 64 + "v1")
    assert merge(signed_in(family["kept"])).status_code == 302
    links = dict(FranceConnectLink.objects.values_list("account_id", "sub"))
    assert links == {family["kept"].pk: ("b" if kept_has_a_link else "a") * 64 + "v1"}
    unlinked = JournalEvent.objects.filter(kind=EventKind.FRANCECONNECT_UNLINKED)
    assert [e.account_id for e in unlinked] == [family["other"].pk]
