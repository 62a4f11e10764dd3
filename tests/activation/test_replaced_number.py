"""A mobile number the guardian replaced in « Mon compte » proves nothing any more for the
records of that account (tryout): the SMS activation's step 1 with the roster's old number
reads as a combination no school knows — same page, no SMS, no code accepted, the
identifier never told — while the new number, once the school has it, matches as usual. An
account without a verified number (the school's letter, e-mail only) keeps the roster's
number as its proof."""

import datetime
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Account
from core.models import Flow
from notifications import sms
from pupils.models import GuardianRecord
from pupils.services import guardian_record_contact_update
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

from .conftest import Driver
from .test_enumeration import normalized

pytestmark = pytest.mark.django_db

OLD_TYPED, OLD = "0692 12 34 56", "+262692123456"
NEW_TYPED, NEW = "0693 44 55 66", "+262693445566"
# The code of « Modifier mon numéro de téléphone », as its SMS gives it.
PHONE_CHANGE_CODE = re.compile(r"saisissez le code ([A-Z0-9]{6})")


@pytest.fixture
def ndiaye(db):
    """Jean-Éric N'DIAYE, roster mobile 0692 12 34 56 (La Réunion), father of Awa."""
    school = EstablishmentFactory(uai="9740003C", name="École primaire Les Filaos",
                                  kind="ecole")
    record = GuardianRecordFactory(establishment=school, last_name="N'DIAYE",
                                   first_name="Jean-Éric", mobile_phone=OLD)
    awa = PupilFactory(establishment=school, first_names="Awa", last_name="N'DIAYE",
                       birth_date=datetime.date(2015, 6, 14))
    ResponsibilityFactory(guardian_record=record, pupil=awa)
    return {"record": record, "pupil": awa}


def _driver(capture):
    return Driver(Client(), capture)


def _activate_by_sms(capture, ndiaye) -> tuple[Driver, Account]:
    driver = _driver(capture)
    assert driver.start(last_name="N'Diaye", first_name="Jean-Éric",
                        phone=OLD_TYPED).status_code == 302
    driver.send_code(driver.last_code())
    awa = ndiaye["pupil"]
    driver.page(driver.confirm_pupils({awa: ("oui", awa.birth_date)}))
    driver.page(driver.choose_password())
    account = Account.objects.get(kind="guardian")
    assert str(account.phone) == OLD and account.phone_verified
    return driver, account


def _change_number(driver: Driver, capture) -> None:
    """« Mon compte » › « Modifier mon numéro de téléphone », signed in by the activation."""
    with capture(execute=True):
        response = driver.client.post(reverse("accounts:my_account:phone"),
                                      {"phone": NEW_TYPED})
    assert response.status_code == 302, response.status_code
    code = PHONE_CHANGE_CODE.search(sms.outbox[-1].body).group(1)
    with capture(execute=True):
        response = driver.client.post(response["Location"], {"code": code})
    assert response.status_code == 302, response.status_code


def _code_page(driver: Driver) -> str:
    return driver.client.get(driver.url("code")).content.decode()


def test_the_number_replaced_in_my_account_gets_no_sms_and_learns_no_identifier(
        ndiaye, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    driver, account = _activate_by_sms(capture, ndiaye)
    _change_number(driver, capture)
    account.refresh_from_db()
    assert str(account.phone) == NEW
    assert "Ce numéro ne recevra plus les messages d'ÉduConnect" in sms.outbox[-1].body
    assert sms.outbox[-1].to == OLD
    sent = len(sms.outbox)
    # The school's roster still has the old number (« Mon compte » does not change it).
    ndiaye["record"].refresh_from_db()
    assert str(ndiaye["record"].mobile_phone) == OLD

    # Signed out, someone types his name and the old number.
    stranger = _driver(capture)
    assert stranger.start(last_name="N'DIAYE", first_name="Jean-Éric",
                          phone=OLD_TYPED).status_code == 302
    # No SMS to the old number…
    assert len(sms.outbox) == sent
    # …and the page reads as for a name no school knows with the same number.
    nobody = _driver(capture)
    nobody.start(last_name="N'DIAYE", first_name="Jean-Marc", phone=OLD_TYPED)
    assert len(sms.outbox) == sent
    page = _code_page(stranger)
    assert "Vérifiez vos SMS" in page
    assert normalized(page) == normalized(_code_page(nobody))
    flow = Flow.objects.get(pk=stranger.flow_id)
    assert flow.data["matched_record_ids"] == []
    assert [(c.sent, c.not_sent_reason) for c in flow.codes.all()] == [(False, "no_match")]

    # No code is accepted, and the identifier is never told.
    page = stranger.page(stranger.send_code("K7PMX4"))
    assert "Le code de sécurité saisi est incorrect" in page
    assert "Vous avez déjà un compte" not in page
    assert account.display_identifier not in page
    assert account.identifier not in page.lower()


def test_the_new_number_matches_once_the_school_has_it(ndiaye,
                                                       django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    driver, account = _activate_by_sms(capture, ndiaye)
    _change_number(driver, capture)
    staff = AccountFactory(kind="staff", identifier="secretariat01")
    guardian_record_contact_update(guardian_record=ndiaye["record"], mobile_phone=NEW,
                                   email="", actor=staff)

    parent = _driver(capture)
    parent.start(last_name="N'Diaye", first_name="Jean-Eric", phone=NEW_TYPED)
    assert sms.outbox[-1].to == NEW
    page = parent.page(parent.send_code(parent.last_code()))
    assert "Vous avez déjà un compte ÉduConnect" in page
    assert account.display_identifier in page


@pytest.mark.parametrize(("phone", "verified"), [
    ("", False),  # the school's letter, e-mail only: no number on the account
    (OLD, True),  # the account's verified number is the roster's
    (NEW, False),  # a number typed somewhere but never proven by a code
], ids=["letter-account", "same-number", "unverified-number"])
def test_an_account_without_another_verified_number_keeps_the_rosters_number_as_proof(
        ndiaye, django_capture_on_commit_callbacks, phone, verified):
    account = AccountFactory(identifier="j.ndiaye14", first_name="Jean-Éric",
                             last_name="N'DIAYE", email="je.ndiaye@example.org",
                             email_verified=True, phone=phone, phone_verified=verified)
    GuardianRecord.objects.filter(pk=ndiaye["record"].pk).update(account=account)

    driver = _driver(django_capture_on_commit_callbacks)
    driver.start(last_name="N'Diaye", first_name="Jean-Éric", phone=OLD_TYPED)
    assert [m.to for m in sms.outbox] == [OLD]
    page = unescape(driver.page(driver.send_code(driver.last_code())))
    assert "Vous avez déjà un compte ÉduConnect" in page
    assert "J.NDIAYE14" in page
