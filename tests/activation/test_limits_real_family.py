"""Issue 16 §4: limits that must not block the real family — attempts that match nothing do
not spend the parent's SMS quota, and a fix by the school clears the counters that the wrong
data caused."""

import datetime

import pytest
from django.test import Client

from activation.flows import WRONG_DATES_PER_PHONE
from core import ratelimit
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from pupils.roster import HEADER
from pupils.roster_import import roster_import
from pupils.services import guardian_record_contact_update, pupil_update
from tests.factories import AccountFactory

from .conftest import Driver

pytestmark = pytest.mark.django_db


def start(driver, family, **overrides):
    values = {"last_name": family["last_name"], "first_name": family["first_name"],
              "phone": family["phone_typed"], **overrides}
    return driver.start(**values)


def blocked_family(family, capture):
    """The parent typed ten wrong birth dates in two flows (the school has Inès born on the
    9th, she was born on the 10th, and tried the days after it too: the same wrong date typed
    again counts once per flow): both flows are blocked and the number's counter is full,
    for 24 hours."""
    ines, yanis = family["pupils"]
    tried = (datetime.date(2016, 3, 10) + datetime.timedelta(days=n) for n in range(20))
    while ratelimit.peek(WRONG_DATES_PER_PHONE, family["phone"]):
        driver = Driver(Client(), capture)
        start(driver, family)
        driver.send_code(driver.last_code())
        while Flow.objects.get(pk=driver.flow_id).status == FlowStatus.OPEN:
            driver.confirm_pupils({ines: ("oui", next(tried)),
                                   yanis: ("oui", yanis.birth_date)})
    assert Flow.objects.filter(status=FlowStatus.BLOCKED).count() == 2
    assert not activates(family, capture, datetime.date(2016, 3, 10))  # still blocked


def activates(family, capture, ines_birth_date) -> bool:
    ines, yanis = family["pupils"]
    driver = Driver(Client(), capture)
    start(driver, family)
    driver.send_code(driver.last_code())
    response = driver.confirm_pupils({ines: ("oui", ines_birth_date),
                                      yanis: ("oui", yanis.birth_date)})
    assert response.status_code == 302
    return Flow.objects.get(pk=driver.flow_id).step == "password"


def test_wrong_names_with_a_parents_number_do_not_spend_that_parents_sms(
    family, settings, django_capture_on_commit_callbacks
):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    for index in range(settings.ACTIVATION_MAX_SENDS_PER_PHONE + 2):
        stranger = Driver(Client(REMOTE_ADDR=f"203.0.113.{index + 1}"),
                          django_capture_on_commit_callbacks)
        name = f"Inconnu {chr(ord('a') + index)}"  # letters only: a name has no digit
        assert start(stranger, family, last_name=name).status_code == 302
    assert sms.outbox == []
    parent = Driver(Client(), django_capture_on_commit_callbacks)
    start(parent, family)
    assert len(sms.outbox) == 1 and sms.outbox[0].to == family["phone"]
    assert parent.client.get(parent.url("code")).status_code == 200


def test_a_birth_date_fixed_in_the_back_office_unblocks_the_parent_at_once(
    family, django_capture_on_commit_callbacks, settings
):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    blocked_family(family, django_capture_on_commit_callbacks)
    ines = family["pupils"][0]
    with django_capture_on_commit_callbacks(execute=True):
        pupil_update(pupil=ines, last_name=ines.last_name, first_names=ines.first_names,
                     birth_date=datetime.date(2016, 3, 10), actor=AccountFactory())

    assert ratelimit.peek(WRONG_DATES_PER_PHONE, family["phone"])
    event = JournalEvent.objects.get(kind="activation_counters_cleared")
    assert event.data == {"numbers": 1, "reason": "birth_date_fixed"}
    assert activates(family, django_capture_on_commit_callbacks, datetime.date(2016, 3, 10))


def test_a_birth_date_fixed_by_a_roster_import_unblocks_the_parent(
    family, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    blocked_family(family, django_capture_on_commit_callbacks)
    ines = family["pupils"][0]
    record = family["records"][0]
    school = ines.establishment
    values = {"uai": school.uai, "etablissement": school.name,
              "type_etablissement": school.kind, "academie": school.academy.name,
              "ine": ines.ine, "eleve_nom": ines.last_name, "eleve_prenoms": ines.first_names,
              "eleve_date_naissance": "2016-03-10", "niveau": ines.level,
              "responsable_civilite": "Mme", "responsable_nom": record.last_name,
              "responsable_prenom": record.first_name,
              "responsable_telephone_portable": "0692 12 34 56", "responsable_email": "",
              "representant_legal": "oui"}
    path = tmp_path / "fix.csv"
    path.write_text(HEADER + "\n" + ";".join(values[c] for c in HEADER.split(";")) + "\n",
                    encoding="utf-8")

    with django_capture_on_commit_callbacks(execute=True):
        dry = roster_import(path=path, dry_run=True)
    assert dry.rows_imported == 1
    assert not ratelimit.peek(WRONG_DATES_PER_PHONE, family["phone"])  # a dry run clears nothing

    with django_capture_on_commit_callbacks(execute=True):
        report = roster_import(path=path)
    assert report.pupils.counts()["updated"] == 1
    assert ratelimit.peek(WRONG_DATES_PER_PHONE, family["phone"])
    assert activates(family, django_capture_on_commit_callbacks, datetime.date(2016, 3, 10))


def test_a_mobile_number_fixed_clears_the_counters_of_the_old_and_the_new_number(
    family, django_capture_on_commit_callbacks, settings
):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    blocked_family(family, django_capture_on_commit_callbacks)
    ratelimit.hit(WRONG_DATES_PER_PHONE, "+262692999999")
    with django_capture_on_commit_callbacks(execute=True):
        guardian_record_contact_update(guardian_record=family["records"][0],
                                       mobile_phone="+262 692 99 99 99", email="",
                                       actor=AccountFactory())
    assert ratelimit.used(WRONG_DATES_PER_PHONE, family["phone"]) == 0
    assert ratelimit.used(WRONG_DATES_PER_PHONE, "+262692999999") == 0
    assert JournalEvent.objects.get(kind="activation_counters_cleared").data == {
        "numbers": 2, "reason": "mobile_phone_fixed"}


def test_an_overseas_mobile_typed_behind_plus_33_at_step_1_finds_the_family(
    family, django_capture_on_commit_callbacks
):
    driver = Driver(Client(), django_capture_on_commit_callbacks)
    assert start(driver, family, phone="+33 6 92 12 34 56").status_code == 302
    assert len(sms.outbox) == 1 and sms.outbox[0].to == "+262692123456"


def test_a_name_with_a_dotless_i_matches_at_step_1_as_the_parent_types_it(
    family, django_capture_on_commit_callbacks
):
    record = family["records"][0]
    record.last_name, record.last_name_key = "Halıcı", "halici"
    record.save()
    driver = Driver(Client(), django_capture_on_commit_callbacks)
    start(driver, family, last_name="HALICI")
    assert len(sms.outbox) == 1
