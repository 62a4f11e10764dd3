"""Fixtures of the FranceConnect tests: the loopback FranceConnect, configured for the test
client's site, and a guardian known to a school whose FranceConnect identity is « testfc1 »
(DUPONT Stéphane Louis Perceval, FranceConnect's demo identity)."""

import datetime

import pytest
from django.urls import reverse

from notifications import sms
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

from .peer import franceconnect_peer

SITE = "http://testserver"


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def fc(settings):
    settings.SITE_URL = SITE
    with franceconnect_peer(site=SITE) as peer:
        peer.configure(settings)
        yield peer


@pytest.fixture
def family(db):
    """Stéphane Dupont (the school writes « DUPONT Stéphane »), mobile 06 71 23 45 89,
    father of Léa at the collège Jean-Moulin (born 2012-04-17)."""
    college = EstablishmentFactory(uai="0691234K", name="Collège Jean-Moulin")
    record = GuardianRecordFactory(establishment=college, last_name="DUPONT",
                                   first_name="Stéphane", mobile_phone="+33671234589")
    lea = PupilFactory(establishment=college, first_names="Léa", last_name="DUPONT",
                       birth_date=datetime.date(2012, 4, 17))
    ResponsibilityFactory(guardian_record=record, pupil=lea)
    return {"record": record, "pupil": lea, "phone_typed": "06 71 23 45 89"}


def fc_answer(client, fc, **post):
    """« S'identifier avec FranceConnect » in the test client, then FranceConnect (requests);
    returns the callback URL (path and query) FranceConnect sent the browser back to."""
    response = client.post(reverse("franceconnect:authorize"), post)
    assert response.status_code == 302
    assert response["Location"].startswith(fc.issuer + "/authorize?")
    return fc.answer_for(response["Location"], site=SITE)
