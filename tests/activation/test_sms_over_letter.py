"""Issue 9: an SMS activation on records a school letter covers, not activated yet.

The seeds give families two ways in (the school's letter, the SMS self-activation: 002 §2.2,
004); a parent who lost the letter activates by SMS. The SMS activation still works, the new
active account takes the records, and the letter's provisional account is closed: its letter
no longer signs in, its open first sign-in ends, the journal says so, and the school's
follow-up counts the guardian as active. What the activation shows before the code does not
change (no enumeration: a letter makes no difference there)."""

from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountKind, AccountState
from activation.provisional.services import provisional_flow_resume
from backoffice.journal_labels import describe_event
from core.journal import EventKind
from core.models import Flow, FlowStatus, JournalEvent
from pupils import letters
from pupils.models import GuardianRecord
from pupils.selectors import follow_up_counts, pupils_of_guardian_account
from tests import html
from tests.factories import AccountFactory

GUARDIAN_LOGIN = reverse("accounts:login", args=["representant-legal"])


def letter_for(record, actor):
    """The collège's letter for Nadia's record: (provisional account, its password)."""
    made, _counts = letters.letters_issue(establishment=record.establishment, actor=actor,
                                          guardian_record_ids=[record.pk])
    (letter,) = made
    account = GuardianRecord.objects.get(pk=record.pk).account
    assert account.state == AccountState.PROVISIONAL
    return account, letter.password


def secretary():
    return AccountFactory(identifier="s.secretaire1", kind=AccountKind.STAFF,
                          first_name="Sophie", last_name="Secrétaire")


def sign_in_refused(identifier, password) -> str:
    response = Client().post(GUARDIAN_LOGIN, {"identifier": identifier, "password": password})
    assert response.status_code == 200
    return html.text(html.error_summary(html.parse(response)))


def activate_by_sms(driver, family, answers):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    driver.confirm_pupils(answers)
    return driver.choose_password()


def test_the_sms_activation_takes_the_records_and_closes_the_pending_letter(driver, family):
    ines, yanis = family["pupils"]
    college_record = family["records"][1]
    pending, letter_password = letter_for(college_record, secretary())
    # Nadia had signed in with the letter once and stopped halfway.
    flow, _secret = provisional_flow_resume(account=pending)
    assert sign_in_refused("x.inconnu99", letter_password)  # a stranger's refusal, for words
    before = follow_up_counts(establishment=college_record.establishment)
    assert before[0]["guardians"]["provisional"] == 1

    response = activate_by_sms(driver, family, {ines: ("oui", ines.birth_date),
                                                yanis: ("oui", yanis.birth_date)})
    assert response.status_code == 302
    account = Account.objects.get(state=AccountState.ACTIVE, kind=AccountKind.GUARDIAN)
    assert set(pupils_of_guardian_account(account)) == {ines, yanis}
    pending.refresh_from_db()
    assert pending.state == AccountState.CLOSED
    assert not GuardianRecord.objects.filter(account=pending).exists()
    flow.refresh_from_db()
    assert flow.status == FlowStatus.ALREADY_ACTIVE

    # The letter no longer signs in. Its right password says why and gives the identifier
    # to use (the tryout: the family was left with « incorrect »); a wrong one gets the
    # sign-in's usual words, as a stranger does.
    summary = sign_in_refused(pending.identifier, letter_password)
    assert summary.startswith("Ce courrier n'est plus valable")
    assert account.display_identifier in summary
    assert "provisoire" not in summary
    assert (sign_in_refused(pending.identifier, letter_password + "X")
            == sign_in_refused("x.inconnu99", letter_password))

    event = JournalEvent.objects.get(kind=EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION)
    assert event.account == pending
    assert event.data["method"] == "sms" and event.data["new_account_id"] == account.pk
    assert event.data["taken_guardian_records"] == [college_record.pk]
    assert event.data["released_guardian_records"] == []
    assert letter_password not in str(event.data)
    line = describe_event(event)  # the helpdesk reads it in French
    assert line.label == ("Compte provisoire fermé : la famille a activé un compte par SMS ou "
                          "FranceConnect")
    assert ("fiches reprises par le compte activé", str(college_record.pk)) in line.details
    assert ("identifiant du compte activé", account.identifier) in line.details
    activated = JournalEvent.objects.get(kind=EventKind.ACCOUNT_ACTIVATED, account=account)
    assert activated.data["provisional_closed"] == [pending.pk]

    # The school's follow-up: Nadia is active, no letter waits, nothing counted as closed.
    (row,) = follow_up_counts(establishment=college_record.establishment)
    assert row["guardians"] == {"active": 1, "provisional": 0, "expired": 0, "none": 0,
                                "other": 0}


def test_a_letter_for_records_the_sms_did_not_prove_is_left_alone(driver, family):
    """Nadia confirms Inès only (école): the collège's letter still covers Yanis's record."""
    ines, yanis = family["pupils"]
    college_record = family["records"][1]
    pending, letter_password = letter_for(college_record, secretary())
    activate_by_sms(driver, family, {ines: ("oui", ines.birth_date), yanis: ("non", None)})
    pending.refresh_from_db()
    assert pending.state == AccountState.PROVISIONAL
    assert GuardianRecord.objects.get(pk=college_record.pk).account == pending
    assert not JournalEvent.objects.filter(
        kind=EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION).exists()
    assert Client().post(GUARDIAN_LOGIN, {"identifier": pending.identifier,
                                          "password": letter_password}).status_code == 302


def test_an_attach_to_an_active_account_closes_the_pending_letter_too(driver, family):
    """Nadia's account covers the école's record; the collège made a letter for its record:
    the SMS proof attaches the collège's record to her account and closes the letter's."""
    ines, yanis = family["pupils"]
    school_record, college_record = family["records"]
    existing = AccountFactory(identifier="n.bensaid10", first_name="Nadia",
                              last_name="Ben Saïd", phone="+262692123456", phone_verified=True)
    GuardianRecord.objects.filter(pk=school_record.pk).update(account=existing)
    pending, letter_password = letter_for(college_record, secretary())
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    assert set(driver.pupil_prefixes()) == {"Yanis"}
    driver.confirm_pupils({yanis: ("oui", yanis.birth_date)})
    assert set(pupils_of_guardian_account(existing)) == {ines, yanis}
    pending.refresh_from_db()
    assert pending.state == AccountState.CLOSED
    event = JournalEvent.objects.get(kind=EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION)
    assert event.data["method"] == "sms_activation"
    assert event.data["new_identifier"] == "n.bensaid10"
    assert JournalEvent.objects.get(kind=EventKind.CHILDREN_ATTACHED).data[
        "provisional_closed"] == [pending.pk]
    assert Client().post(GUARDIAN_LOGIN, {"identifier": pending.identifier,
                                          "password": letter_password}).status_code == 200
    assert Flow.objects.filter(kind="sms_activation", status=FlowStatus.COMPLETED).exists()



def test_a_letter_activated_meanwhile_is_not_taken(family):
    """The race: the activation read the records while the letter's account was still
    provisional; the family's e-mail link activated it before the accounts were locked.
    Once locked, the account is seen ACTIVE: nothing is taken from it (None), and the SMS
    activation ends as when an active account covers a record."""
    from django.db import transaction

    from activation.services import provisional_accounts_lock

    college_record = family["records"][1]
    pending, _password = letter_for(college_record, secretary())
    with transaction.atomic():
        records = list(GuardianRecord.objects.select_for_update(of=("self",))
                       .filter(pk=college_record.pk).select_related("account"))
        assert provisional_accounts_lock(records=records) == [pending]
        Account.objects.filter(pk=pending.pk).update(state=AccountState.ACTIVE)
        assert provisional_accounts_lock(records=records) is None
    # Nothing closed, nothing moved.
    assert GuardianRecord.objects.get(pk=college_record.pk).account_id == pending.pk
    assert not JournalEvent.objects.filter(
        kind=EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION).exists()
