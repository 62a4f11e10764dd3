"""« Ajouter des enfants depuis un autre compte » (issue 11 §1, seeds FAQ §12): a guardian with
two accounts ends with one account listing all the children; the other account is closed and
signs in no more; both numbers and addresses are told; the helpdesk sees it in both files."""

import datetime
import time
from html import unescape
from unittest import mock

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
CONFIRM_URL = "/mes-enfants/regrouper/confirmer/"
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


def prove(client, identifier="K.HADDAD2", password=DEFAULT_PASSWORD):
    """The form's step: the other account's identifier and password."""
    return client.post(MERGE_URL, {"identifier": identifier, "password": password})


def proof_id(client) -> str:
    """The id the confirmation page's form carries back."""
    parsed = h.parse(client.get(CONFIRM_URL))
    [field] = parsed.select('input[name="proof"]')
    return field["value"]


def confirm(client, *, action="confirm", proof=None):
    """The confirmation page's form, sent by its button `action` (« confirm » or
    « cancel »)."""
    return client.post(CONFIRM_URL, {action: "",
                                     "proof": proof if proof is not None else proof_id(client)})


def merge(client, identifier="K.HADDAD2", password=DEFAULT_PASSWORD):
    """The whole path: the pair proven, then « Confirmer le regroupement »; returns the
    refusal of the form's step, else the confirmation's response."""
    response = prove(client, identifier, password)
    if response.status_code != 302:
        return response
    assert response["Location"] == CONFIRM_URL
    return confirm(client)


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
    # The closed account's identifier signs in no more: a wrong password gets the sign-in's
    # generic refusal; the right one is told the account was merged, and into which one.
    response = Client().post(SIGN_IN_URL, {"identifier": "k.haddad2",
                                           "password": "Mauvais-Mot-2!"})
    assert response.status_code == 200
    assert INVALID_LOGIN_MESSAGE in unescape(response.content.decode())
    response = Client().post(SIGN_IN_URL, {"identifier": "k.haddad2",
                                           "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert INVALID_LOGIN_MESSAGE not in page
    assert "Ce compte a été regroupé avec un autre de vos comptes" in page
    assert "Connectez-vous avec l'identifiant K.HADDAD1" in page


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


PUPIL_ACCOUNT_REFUSAL = (
    "Cet identifiant est celui d'un compte élève : seuls deux comptes de représentant légal "
    "peuvent être regroupés. Pour ajouter cet enfant à votre compte, utilisez « Ajouter un "
    "enfant » dans « Mes enfants », avec le numéro de téléphone portable que vous avez donné "
    "à son établissement.")


def test_a_pupil_account_with_its_right_password_is_told_it_is_a_pupils(family):
    """Its password proven, « Identifiant ou mot de passe incorrect » would be false: the
    page says only two accounts of représentant légal are merged, on the identifier."""
    pupil_account = AccountFactory(identifier="l.haddad3", kind="pupil", first_name="Karim",
                                   last_name="Haddad")
    response = merge(signed_in(family["kept"]), pupil_account.identifier)
    assert response.status_code == 400
    parsed = h.parse(response.content.decode())
    assert [" ".join(e.split()) for e in h.field_errors(parsed, "id_identifier")] == [
        PUPIL_ACCOUNT_REFUSAL]
    assert INVALID_LOGIN_MESSAGE not in _refusal_text(response)
    pupil_account.refresh_from_db()
    assert pupil_account.state == AccountState.ACTIVE
    assert JournalEvent.objects.filter(kind=EventKind.ACCOUNTS_MERGE_REFUSED,
                                       account=family["kept"]).get().data["reason"] == \
        "pupil_account"


def test_a_wrong_password_of_a_pupil_account_reads_exactly_as_today(family):
    """No enumeration: only the right password learns the account is a pupil's."""
    pupil_account = AccountFactory(identifier="l.haddad3", kind="pupil", first_name="Karim",
                                   last_name="Haddad")
    response = merge(signed_in(family["kept"]), pupil_account.identifier, "Mauvais-Mot-2!")
    stranger = merge(signed_in(family["kept"]), "l.haddad99", "Mauvais-Mot-2!")
    assert response.status_code == stranger.status_code == 400
    parsed = h.parse(response.content.decode())
    [messages] = h.described_by(parsed, "id_password")
    assert INVALID_LOGIN_MESSAGE in h.text(messages)
    assert "élève" not in h.text(messages)
    assert h.summary_links(h.parse(response.content.decode())) == h.summary_links(
        h.parse(stranger.content.decode()))


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


# --- The confirmation step ------------------------------------------------------------------


def assert_nothing_moved(family):
    other = family["other"].__class__.objects.get(pk=family["other"].pk)
    assert other.state == AccountState.ACTIVE
    assert GuardianRecord.objects.get(pk=family["records"][1].pk).account_id == other.pk
    assert set(pupils_of_guardian_account(family["kept"])) == {family["pupils"][0]}
    assert not JournalEvent.objects.filter(kind=EventKind.ACCOUNTS_MERGED).exists()
    assert not OutboundMessage.objects.filter(purpose="accounts_merged_notice").exists()


def test_the_page_names_the_paper_as_everywhere_else(family):
    """The school's paper with the provisional password is the « courrier » (sign-in,
    activation), never a « notification »."""
    page = " ".join(unescape(signed_in(family["kept"]).get(MERGE_URL).content.decode()).split())
    assert "(ou le mot de passe provisoire de son courrier)" in page
    assert "notification" not in page


def test_the_right_pair_changes_nothing_before_the_confirmation(family):
    client = signed_in(family["kept"])
    response = prove(client)
    assert response.status_code == 302
    assert response["Location"] == CONFIRM_URL
    assert_nothing_moved(family)
    client.get(CONFIRM_URL)
    assert_nothing_moved(family)


def test_the_confirmation_lists_the_other_accounts_children_and_what_the_merge_does(family):
    """First names and schools of the other account's children only (not the kept
    account's Sami), the closing of the other account, that it is final, both buttons."""
    client = signed_in(family["kept"])
    prove(client)
    response = client.get(CONFIRM_URL)
    assert response.status_code == 200
    parsed = h.parse(response)
    rows = [[h.text(cell) for cell in row.find_all(["th", "td"])]
            for row in parsed.select("#merge-children-table tbody tr")]
    assert rows == [["Adam", "Collège Pablo-Picasso"], ["Lina", "Collège Pablo-Picasso"]]
    assert "2 enfants seront ajoutés à votre compte" in h.text(parsed.find("caption"))
    page = h.text(h.main(parsed))
    assert "Le compte K.HADDAD2 sera fermé" in page
    assert "son identifiant et son mot de passe ne permettront plus de se connecter" in page
    assert "ne peut pas être annulé" in page
    assert "Sami" not in page and "HADDAD2" not in page.replace("K.HADDAD2", "")
    buttons = [h.text(b) for b in parsed.select("main form button")]
    assert buttons == ["Confirmer le regroupement", "Annuler"]


def test_cancel_drops_the_proof_and_changes_nothing(family):
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    response = confirm(client, action="cancel", proof=proof)
    assert response["Location"] == reverse("services_portal:my_children")
    assert "Le regroupement est annulé" in h.messages(h.parse(client.get(response["Location"])))[0]
    assert_nothing_moved(family)
    # The dropped proof confirms nothing afterwards.
    response = confirm(client, proof=proof)
    assert response["Location"] == MERGE_URL
    assert_nothing_moved(family)


ALREADY_DONE = "Cette démarche est déjà terminée"
EXPIRED = "Le délai pour confirmer le regroupement est dépassé"


def assert_told_done_once(client, response):
    """The answer to a confirmation posted again (or its page opened again) after the merge:
    « Mes enfants » says the démarche is done and its result, never « délai dépassé »; the
    list shows every child; nothing more happened (one merge in the journal, no new
    message in the outbox)."""
    assert response.status_code == 302
    assert response["Location"] == reverse("services_portal:my_children")
    page = h.parse(client.get(response["Location"]))
    shown = h.messages(page)
    assert any(ALREADY_DONE in m and "voici son résultat" in m for m in shown), shown
    assert any("Les enfants du compte K.HADDAD2 ont été ajoutés à votre compte" in m
               and "connectez-vous désormais avec l'identifiant K.HADDAD1" in m
               for m in shown), shown
    assert not any(EXPIRED in m or "annulé" in m for m in shown), shown
    assert "Lina" in h.text(h.main(page)) and "Adam" in h.text(h.main(page))
    assert JournalEvent.objects.filter(kind=EventKind.ACCOUNTS_MERGED).count() == 1


def test_a_confirmation_is_used_once_and_cannot_be_replayed(family):
    """The same POST again (a second tab showing the same confirmation, or Back to it):
    the merge is not replayed and the page says it is done, with its result — not that
    the time to confirm ran out, which would invite the person to start again."""
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    assert confirm(client, proof=proof)["Location"] == reverse("services_portal:my_children")
    client.get(reverse("services_portal:my_children"))  # the success message, read
    assert JournalEvent.objects.filter(kind=EventKind.ACCOUNTS_MERGED).count() == 1
    sent = OutboundMessage.objects.count()
    assert_told_done_once(client, confirm(client, proof=proof))
    assert_told_done_once(client, confirm(client, action="cancel", proof=proof))
    assert OutboundMessage.objects.count() == sent


def test_the_confirmation_page_opened_again_after_the_merge_shows_its_result(family):
    """Back to /mes-enfants/regrouper/confirmer/ (the browser asks for it again: the page
    is never cached): the result, not « délai dépassé »."""
    client = signed_in(family["kept"])
    prove(client)
    confirm(client)
    client.get(reverse("services_portal:my_children"))
    assert_told_done_once(client, client.get(CONFIRM_URL))


def test_a_tab_left_on_an_earlier_merge_is_told_it_is_done_after_a_new_proof(family):
    """A first merge confirmed, then another proof started (a third account): the tab
    left on the first confirmation is told that merge is done; the new proof stays live."""
    client = signed_in(family["kept"])
    prove(client)
    first = proof_id(client)
    confirm(client, proof=first)
    third = AccountFactory(identifier="k.haddad3", first_name="Karim", last_name="Haddad")
    assert prove(client, identifier="K.HADDAD3")["Location"] == CONFIRM_URL
    second = proof_id(client)
    assert_told_done_once(client, confirm(client, proof=first))
    assert confirm(client, proof=second)["Location"] == reverse("services_portal:my_children")
    third.refresh_from_db()
    assert third.state == AccountState.CLOSED


def test_an_expired_proof_after_a_merge_still_says_expired(family, settings):
    """The result is told for the merge that was confirmed only: a later proof left to
    expire is refused as expired."""
    settings.FAMILIES_MERGE_CONFIRM_SECONDS = 300
    client = signed_in(family["kept"])
    prove(client)
    confirm(client)
    AccountFactory(identifier="k.haddad3", first_name="Karim", last_name="Haddad")
    prove(client, identifier="K.HADDAD3")
    later = proof_id(client)
    with mock.patch("families.views.time.time", return_value=time.time() + 301):
        response = confirm(client, proof=later)
    assert response["Location"] == MERGE_URL
    assert any(EXPIRED in m for m in h.messages(h.parse(client.get(MERGE_URL))))


def test_the_result_is_told_to_the_account_that_merged_only(family):
    """Another account signed in on the same browser is not told about the merge."""
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    confirm(client, proof=proof)
    done = client.session["families_merges_done"]
    stranger = AccountFactory(identifier="k.haddad5", first_name="Karim", last_name="Haddad")
    client.force_login(stranger)
    session = client.session
    session["families_merges_done"] = done
    session["families_merge_pending"] = {"done": proof}
    session.save()
    assert confirm(client, proof=proof)["Location"] == MERGE_URL
    assert client.get(CONFIRM_URL)["Location"] == MERGE_URL


def test_a_confirmation_needs_the_proof_its_page_showed(family):
    """Another id (a page opened for an earlier proof, a forged form) confirms nothing and
    leaves the live proof alone."""
    client = signed_in(family["kept"])
    prove(client)
    assert confirm(client, proof="autre-chose")["Location"] == MERGE_URL
    assert_nothing_moved(family)
    assert confirm(client)["Location"] == reverse("services_portal:my_children")


def test_the_proof_expires(family, settings):
    settings.FAMILIES_MERGE_CONFIRM_SECONDS = 300
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    with mock.patch("families.views.time.time", return_value=time.time() + 301):
        response = confirm(client, proof=proof)
    assert response["Location"] == MERGE_URL
    assert_nothing_moved(family)
    # Dropped: even in time again, it is gone.
    assert confirm(client, proof=proof)["Location"] == MERGE_URL
    assert_nothing_moved(family)


def test_the_proof_is_bound_to_the_signed_in_account(family):
    """A proof kept in a session serves the account that proved it only (the session of
    someone else on the same browser, after a sign-out and sign-in, cannot use it)."""
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    session = client.session
    pending = session["families_merge_pending"]
    stranger = AccountFactory(identifier="k.haddad5", first_name="Karim", last_name="Haddad")
    client.force_login(stranger)
    session = client.session
    session["families_merge_pending"] = pending
    session.save()
    assert confirm(client, proof=proof)["Location"] == MERGE_URL
    assert_nothing_moved(family)


@pytest.mark.parametrize("change", ["password", "names", "new_child", "closed"])
def test_the_accounts_are_checked_again_at_the_confirmation(family, change):
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    other = family["other"]
    if change == "password":
        other.set_password("Un-Autre-Mot-2!")
        other.save()
    elif change == "names":
        other.first_name = "Karima"
        other.save()
    elif change == "new_child":
        child_of(other, first_names="Yanis", school=EstablishmentFactory(), phone="+33622222222")
    else:
        other.state = AccountState.CLOSED
        other.save()
    response = confirm(client, proof=proof)
    assert response["Location"] == MERGE_URL
    shown = h.messages(h.parse(client.get(MERGE_URL)))[0]
    assert ("a changé" in shown) or ("vient d'être fermé" in shown)
    assert GuardianRecord.objects.get(pk=family["records"][1].pk).account_id == other.pk
    assert not JournalEvent.objects.filter(kind=EventKind.ACCOUNTS_MERGED).exists()


def test_the_merged_accounts_sign_in_names_the_kept_account_to_the_right_password_only(family):
    merge(signed_in(family["kept"]))
    wrong = Client().post(SIGN_IN_URL, {"identifier": "k.haddad2", "password": "Faux-Mot-9!"})
    right = Client().post(SIGN_IN_URL, {"identifier": "k.haddad2",
                                        "password": DEFAULT_PASSWORD})
    assert [h.text(a) for a in h.alerts(h.parse(wrong))] != []
    wrong_page, right_page = unescape(wrong.content.decode()), unescape(right.content.decode())
    assert "K.HADDAD1" not in wrong_page and "regroupé" not in wrong_page
    assert "Ce compte a été regroupé avec un autre de vos comptes ÉduConnect" in right_page
    assert "Connectez-vous avec l'identifiant K.HADDAD1" in right_page
    failed = JournalEvent.objects.filter(kind=EventKind.LOGIN_FAILED, account=family["other"])
    assert {e.data["reason"] for e in failed} == {"account_closed"}


def test_a_merged_account_typed_on_the_pupil_page_is_sent_to_the_guardian_page(family):
    """Tryout of the demo: a merged représentant légal's account typed with its right
    password on « Élève » was told « Connectez-vous avec l'identifiant T.MARTIN70 », which
    fails on that page. It is told the account is a représentant légal's and given a link to
    that page; a wrong password still gets the generic refusal, nothing more."""
    merge(signed_in(family["kept"]))
    pupil_page = "/connexion/eleve/"
    wrong = Client().post(pupil_page, {"identifier": "k.haddad2", "password": "Faux-Mot-9!"})
    right = Client().post(pupil_page, {"identifier": "k.haddad2",
                                       "password": DEFAULT_PASSWORD})
    assert right.status_code == wrong.status_code == 200
    wrong_page = h.parse(wrong)
    assert "Représentant légal" not in h.text(h.main(wrong_page)).split("Changer de profil")[1]
    assert not h.main(wrong_page).find("a", href=SIGN_IN_URL)
    page = h.parse(right)
    alert = " ".join(h.text(a) for a in h.alerts(page))
    assert "Connectez-vous avec l'identifiant K.HADDAD1" in alert
    assert ("C'est un compte « Représentant légal » : connectez-vous depuis la page "
            "« Représentant légal » (revenez au choix du profil et choisissez « Représentant "
            "légal »). Mot de passe oublié ? Utilisez « Mot de passe oublié ? » sur cette "
            "page-là.") in alert
    assert "ci-dessous" not in alert  # this page's own links are the pupils'
    link = h.main(page).find("a", href=SIGN_IN_URL)
    assert h.text(link) == "Se connecter avec le profil « Représentant légal »"
    # On its own page the advice is unchanged: no detour through the profile choice.
    same = h.parse(Client().post(SIGN_IN_URL, {"identifier": "k.haddad2",
                                               "password": DEFAULT_PASSWORD}))
    assert "C'est un compte" not in h.text(h.main(same))
    assert not h.main(same).find("a", string=lambda s: s and "Se connecter avec" in s)


def test_a_chain_of_merges_names_the_account_still_open(family):
    """k.haddad2 merged into k.haddad1, then k.haddad1 into k.haddad6: k.haddad2's right
    password names k.haddad6."""
    merge(signed_in(family["kept"]))
    newest = AccountFactory(identifier="k.haddad6", first_name="Karim", last_name="Haddad")
    merge(signed_in(newest), "k.haddad1")
    assert family["kept"].__class__.objects.get(pk=family["kept"].pk).state == \
        AccountState.CLOSED
    right = Client().post(SIGN_IN_URL, {"identifier": "k.haddad2",
                                        "password": DEFAULT_PASSWORD})
    assert "Connectez-vous avec l'identifiant K.HADDAD6" in unescape(right.content.decode())


def _refusal_text(response) -> str:
    return " ".join(unescape(response.content.decode()).split())


def test_an_account_already_merged_into_this_one_says_its_children_are_here(family):
    """The right pair of the account closed by an earlier merge into this one: not
    « Identifiant ou mot de passe incorrect. », but what happened (as the sign-in says)."""
    client = signed_in(family["kept"])
    merge(client)
    response = prove(client)
    assert response.status_code == 400
    text = _refusal_text(response)
    assert "Ce compte a déjà été regroupé avec le vôtre et il est fermé : ses enfants sont " \
           "déjà sur votre compte." in text
    assert INVALID_LOGIN_MESSAGE not in text
    refused = JournalEvent.objects.get(kind=EventKind.ACCOUNTS_MERGE_REFUSED)
    assert refused.data == {"reason": "already_merged", "other_account_id": family["other"].pk}


def test_an_account_already_merged_into_another_one_names_it(family):
    """K.HADDAD2 was merged into a third account of Karim's (k.haddad3): from k.haddad1,
    its right pair is told where its children are now, and with which identifier."""
    third = AccountFactory(identifier="k.haddad3", first_name="Karim", last_name="Haddad")
    merge(signed_in(third), identifier="K.HADDAD2")
    response = prove(signed_in(family["kept"]))
    assert response.status_code == 400
    text = _refusal_text(response)
    assert "Ce compte a déjà été regroupé avec le compte K.HADDAD3 et il est fermé" in text
    assert "saisissez l'identifiant K.HADDAD3 et le mot de passe de ce compte" in text
    # Following it brings the children.
    assert merge(signed_in(family["kept"]), identifier="K.HADDAD3").status_code == 302
    assert set(pupils_of_guardian_account(family["kept"])) == set(family["pupils"])


def test_a_wrong_password_of_a_merged_account_reads_exactly_as_today(family):
    """No enumeration: only the right password learns the account was merged."""
    client = signed_in(family["kept"])
    merge(client)
    response = prove(client, password="Mauvais-Mot-2!")
    assert response.status_code == 400
    parsed = h.parse(response.content.decode())
    [messages] = h.described_by(parsed, "id_password")
    assert INVALID_LOGIN_MESSAGE in h.text(messages)
    assert "regroupé" not in _refusal_text(response)


def test_an_account_closed_by_the_helpdesk_keeps_the_generic_refusal(family):
    other = family["other"]
    other.state = AccountState.CLOSED
    other.save(update_fields=["state"])
    response = prove(signed_in(family["kept"]))
    assert response.status_code == 400
    assert INVALID_LOGIN_MESSAGE in _refusal_text(response)


def test_the_loser_of_two_confirmations_sent_at_once_is_told_the_merge_is_done(family):
    """« Confirmer le regroupement » sent twice at once (a double click, two tabs): both
    requests read the session before either wrote it, so both take the proof; the first
    merges, the second finds the other account closed — by this very merge. It is told what
    a confirmation sent again afterwards is told (the démarche is done, its result, the
    list of children), not that the other account « vient d'être fermé ou regroupé »."""
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    read_by_both = dict(client.session.items())
    assert confirm(client, proof=proof)["Location"] == reverse("services_portal:my_children")
    client.get(reverse("services_portal:my_children"))  # the winner's message, read
    session = client.session  # the loser writes the session it read before the merge
    session.clear()
    session.update(read_by_both)
    session.save()
    assert_told_done_once(client, confirm(client, proof=proof))
    assert_told_done_once(client, confirm(client, proof=proof))  # and again, sequentially


def test_a_confirmation_after_the_other_account_was_merged_elsewhere_says_where_to_look(
        family):
    """The other account merged into a third one between the proof and the confirmation:
    refused, and the words point to « Mes enfants » (the form's page has no list)."""
    client = signed_in(family["kept"])
    prove(client)
    proof = proof_id(client)
    third = AccountFactory(identifier="k.haddad3", first_name="Karim", last_name="Haddad")
    assert merge(signed_in(third))["Location"] == reverse("services_portal:my_children")
    response = confirm(client, proof=proof)
    assert response["Location"] == MERGE_URL
    shown = h.messages(h.parse(client.get(MERGE_URL)))
    assert any("vient d'être fermé ou regroupé" in m and "dans « Mes enfants »" in m
               and "ci-dessous" not in m for m in shown), shown


def test_a_pending_address_link_of_the_closed_account_says_it_was_regrouped(family):
    """K.HADDAD2 asked for a new address, then was merged into K.HADDAD1 (closed). Its
    validation link said « Cliquez sur le bouton … pour valider » and its POST « connectez-
    vous et demandez un nouveau mail », which the closed account can no longer do. The GET
    already says the account was regrouped with another one and what to do — without naming
    the kept account to whoever holds the link; nothing is validated."""
    from accounts.my_account.selectors import EMAIL_CHANGE_PURPOSE
    from core.tokens import link_token_issue

    token = link_token_issue(purpose=EMAIL_CHANGE_PURPOSE, account=family["other"],
                             ttl_seconds=3600, payload={"email": "karim.new@exemple.fr"})
    merge(signed_in(family["kept"]))
    path = reverse("accounts:my_account:email_validate", args=[token])
    for client in (Client(), signed_in(family["kept"])):
        for response in (client.get(path), client.post(path)):
            assert response.status_code == 410
            main = h.main(h.parse(response))
            words = h.text(main)
            assert "Ce lien ne fonctionne plus" in words
            assert "a été regroupé avec un autre compte" in words
            assert ("Connectez-vous avec l'identifiant du compte que vous avez gardé, puis "
                    "indiquez cette adresse dans « Mon compte », rubrique « Modifier mon "
                    "adresse mail »") in words
            assert "haddad1" not in words.lower()
            assert main.find("button", type="submit") is None
    other = family["other"]
    other.refresh_from_db()
    assert other.email == "k.haddad@example.net"


def _letter_replaced_by(taking, *, identifier="k.haddad9"):
    """A school letter (provisional account `identifier`, Lina's record) whose family then
    activated `taking` by SMS: the activation took the record and closed the letter's
    account (activation.services.provisional_accounts_close), as in the demo's
    N.BENSAID92 / N.BENSAID56."""
    from django.db import transaction

    from activation.services import provisional_accounts_close

    college = EstablishmentFactory(name="Collège Jules-Ferry")
    letter = AccountFactory(identifier=identifier, first_name="Karim", last_name="Haddad",
                            state=AccountState.PROVISIONAL)
    record, pupil = child_of(letter, first_names="Nora", school=college, phone="+33633333333")
    with transaction.atomic():
        provisional_accounts_close(accounts=[letter], records=[record], taking=taking,
                                   method="sms")
        record.account = taking
        record.save(update_fields=["account"])
    return letter, pupil


def test_a_letter_whose_children_came_here_by_sms_says_there_is_nothing_to_merge(family):
    """The tryout: signed in with the account activated by SMS, the parent types her
    letter's identifier and provisional password, as the page invites. Not « Identifiant ou
    mot de passe incorrect. »: the letter is no longer valid, its children are here."""
    letter, nora = _letter_replaced_by(family["kept"])
    response = prove(signed_in(family["kept"]), identifier="K.HADDAD9")
    assert response.status_code == 400
    text = _refusal_text(response)
    assert INVALID_LOGIN_MESSAGE not in text
    assert ("Ce courrier n'est plus valable : le compte ÉduConnect de votre famille a déjà "
            "été activé (par SMS ou avec FranceConnect). C'est le compte avec lequel vous "
            "êtes connecté(e) : les enfants de ce courrier sont déjà sur votre compte, il "
            "n'y a rien à regrouper.") in text
    assert nora in pupils_of_guardian_account(family["kept"])
    refused = JournalEvent.objects.get(kind=EventKind.ACCOUNTS_MERGE_REFUSED)
    assert refused.data == {"reason": "letter_replaced", "other_account_id": letter.pk}


def test_a_letter_activated_by_sms_on_another_account_names_it(family):
    """The letter's children went to k.haddad2 by SMS: from k.haddad1, the letter's right
    password is told to use K.HADDAD2, as the sign-in page tells it; following it works."""
    _letter_replaced_by(family["other"])
    response = prove(signed_in(family["kept"]), identifier="k.haddad9")
    assert response.status_code == 400
    text = _refusal_text(response)
    assert text.count("Ce courrier n'est plus valable") == 1
    assert ("Les enfants de ce courrier sont sur le compte K.HADDAD2. Pour les ajouter ici, "
            "saisissez l'identifiant K.HADDAD2 et le mot de passe choisi à l'activation de "
            "ce compte.") in text
    sign_in = Client().post(SIGN_IN_URL, {"identifier": "k.haddad9",
                                          "password": DEFAULT_PASSWORD})
    assert "Connectez-vous avec l'identifiant K.HADDAD2" in _refusal_text(sign_in)
    assert merge(signed_in(family["kept"]), identifier="K.HADDAD2").status_code == 302


def test_a_letter_whose_account_was_then_merged_here_says_its_children_are_here(family):
    """The letter went to k.haddad2 by SMS, then k.haddad2 was merged into k.haddad1."""
    _letter_replaced_by(family["other"])
    merge(signed_in(family["kept"]))
    response = prove(signed_in(family["kept"]), identifier="k.haddad9")
    assert "les enfants de ce courrier sont déjà sur votre compte" in _refusal_text(response)


def test_a_wrong_password_of_a_replaced_letter_reads_exactly_as_today(family):
    """No enumeration: only the letter's right password learns what became of it."""
    _letter_replaced_by(family["kept"])
    response = prove(signed_in(family["kept"]), identifier="k.haddad9",
                     password="Mauvais-Mot-2!")
    assert response.status_code == 400
    text = _refusal_text(response)
    assert INVALID_LOGIN_MESSAGE in text
    assert "n'est plus valable" not in text
    refused = JournalEvent.objects.get(kind=EventKind.ACCOUNTS_MERGE_REFUSED)
    assert refused.data == {"reason": "wrong_pair"}
