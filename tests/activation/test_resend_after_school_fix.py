"""« Renvoyer le SMS » in an activation whose name and number matched no school record: the
resend runs step 1's matching again, so once the school has fixed the number the code is
sent (its limits as for a first send), and the page reads the same either way."""

import pytest

from core.models import Flow, JournalEvent
from notifications import sms

pytestmark = pytest.mark.django_db

TYPED = "06 99 11 22 33"
NUMBER = "+33699112233"


@pytest.fixture(autouse=True)
def _no_waits(settings):
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0


def start(driver, family):
    return driver.start(last_name=family["last_name"], first_name=family["first_name"],
                        phone=TYPED)


def test_the_resend_sends_the_code_once_the_school_has_the_number(driver, family):
    start(driver, family)
    assert not sms.outbox  # the school does not have this number yet
    record = family["records"][0]
    record.mobile_phone = NUMBER  # the secretary fixes the guardian record
    record.save()
    page = driver.page(driver.resend())
    assert "un nouveau code de sécurité est envoyé au 06 •• •• •• 33" in page
    assert len(sms.outbox) == 1 and sms.outbox[0].to == NUMBER
    assert JournalEvent.objects.filter(kind="activation_code_sent").count() == 1
    response = driver.send_code(driver.last_code())
    assert response.status_code == 302
    assert Flow.objects.get().step == "pupils"


def test_the_resend_still_sends_nothing_while_nothing_matches(driver, family):
    start(driver, family)
    page = driver.page(driver.resend())
    assert "un nouveau code de sécurité est envoyé au 06 •• •• •• 33" in page
    assert not sms.outbox
    assert JournalEvent.objects.filter(kind="activation_code_not_sent").count() == 2
