"""Issue 11 §2: the SMS activation of a guardian whose matched records are partly covered by
an account attaches the uncovered ones to that account after the proofs (code, birth dates),
instead of the dead end « vous avez déjà un compte »."""

from html import unescape

from django.urls import reverse

from accounts.models import Account, AccountState
from core.journal import EventKind
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from pupils.models import GuardianRecord
from pupils.selectors import pupils_of_guardian_account
from tests.factories import (
    AccountFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)


def partly_covered(family, *, state=AccountState.ACTIVE):
    """Nadia's account covers the école's record (Inès); the collège's (Yanis) is new."""
    existing = AccountFactory(identifier="n.bensaid10", first_name="Nadia",
                              last_name="Ben Saïd", state=state, phone="+262692123456",
                              phone_verified=True)
    GuardianRecord.objects.filter(pk=family["records"][0].pk).update(account=existing)
    return existing


def test_the_new_child_is_attached_after_the_code_and_its_birth_date(driver, family):
    existing = partly_covered(family)
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    ines, yanis = family["pupils"]
    # Only the child the account does not cover yet is asked for.
    assert set(driver.pupil_prefixes()) == {"Yanis"}
    response = driver.confirm_pupils({yanis: ("oui", yanis.birth_date)})
    page = unescape(driver.client.get(response["Location"], follow=True).content.decode())

    # One child attached: in the singular.
    assert "Votre enfant a été rattaché à votre compte" in page
    assert "N.BENSAID10" in page  # as letters print it
    assert reverse("accounts:login", args=["representant-legal"]) in page
    assert Account.objects.count() == 1  # no second account
    assert set(pupils_of_guardian_account(existing)) == {ines, yanis}
    flow = Flow.objects.get()
    assert flow.status == FlowStatus.COMPLETED and flow.account == existing
    assert JournalEvent.objects.filter(kind=EventKind.CHILDREN_ATTACHED, account=existing,
                                       data__method="sms_activation").exists()
    # The account's owner is told on its verified number.
    assert "un nouvel enfant a été rattaché à votre compte" in sms.outbox[-1].body
    # No session was opened: the person signs in with the account's password.
    assert "_auth_user_id" not in driver.client.session


def test_a_wrong_birth_date_attaches_nothing(driver, family):
    existing = partly_covered(family)
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    yanis = family["pupils"][1]
    page = driver.page(driver.confirm_pupils({yanis: ("oui", yanis.birth_date.replace(
        year=2013))}))
    assert "date de naissance" in page
    assert list(pupils_of_guardian_account(existing)) == [family["pupils"][0]]


def test_a_locked_account_still_ends_on_already_active(driver, family):
    partly_covered(family, state=AccountState.LOCKED)
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    response = driver.send_code(driver.last_code())
    page = unescape(driver.client.get(response["Location"]).content.decode())
    assert "Vous avez déjà un compte ÉduConnect" in page
    assert Flow.objects.get().status == FlowStatus.ALREADY_ACTIVE


def test_records_covered_by_two_accounts_still_end_on_already_active(driver, family):
    partly_covered(family)
    school = family["records"][0].establishment
    second = AccountFactory(identifier="n.bensaid11", first_name="Nadia", last_name="Ben Saïd")
    record = GuardianRecordFactory(establishment=school, last_name="BEN SAÏD",
                                   first_name="Nadia", mobile_phone="+262692123456",
                                   account=second)
    ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(establishment=school))
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    response = driver.send_code(driver.last_code())
    page = unescape(driver.client.get(response["Location"]).content.decode())
    assert "Vous avez déjà un compte ÉduConnect" in page  # which one to attach to is unknown
    assert GuardianRecord.objects.get(pk=family["records"][1].pk).account is None


def test_an_account_closed_before_the_birth_dates_attaches_nothing(driver, family):
    existing = partly_covered(family)
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    Account.objects.filter(pk=existing.pk).update(state=AccountState.CLOSED)  # merged away
    yanis = family["pupils"][1]
    driver.confirm_pupils({yanis: ("oui", yanis.birth_date)})
    assert Flow.objects.get().status == FlowStatus.ALREADY_ACTIVE
    assert GuardianRecord.objects.get(pk=family["records"][1].pk).account is None


def test_the_birth_date_is_asked_with_the_words_for_a_girl_or_a_boy(driver, family):
    """The seeds' form « né(e) le »: a mother confirming her daughter does not read « Né le »."""
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    page = driver.page_text(driver.client.get(driver.url("pupils")))
    assert "Né(e) le" in page
    assert "Né le" not in page
