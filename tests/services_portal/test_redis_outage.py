"""« Mes services » while Redis cannot be reached: built from the database as if nothing
were kept, never a 5xx, never stale; and after a network cut during which a school's write
could not bump its version, the page kept before the cut is not served once Redis answers
again. A redis-server of the test's own (`outage_redis`, tests/conftest.py): really
stopped, or cut off while it keeps its data."""

import logging
from html import unescape

import pytest
from django.test import Client

from accounts.models import AccountKind
from pupils.services import pupil_update
from services_portal import page_cache
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.services_portal.test_my_services import child_names

pytestmark = pytest.mark.django_db

URL = "/services/"


def page(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return unescape(response.content.decode())


@pytest.fixture
def helene(outage_redis):
    """Hélène, signed in (her session in the test's own Redis and in PostgreSQL), Lucas at
    the collège."""
    account = AccountFactory(identifier="h.martin7", first_name="Hélène", last_name="Martin")
    college = EstablishmentFactory(name="Collège Victor-Hugo")
    record = GuardianRecordFactory(establishment=college, account=account,
                                   first_name="Hélène", last_name="MARTIN")
    lucas = PupilFactory(first_names="Lucas", last_name="MARTIN", establishment=college,
                         level="5EME")
    ResponsibilityFactory(guardian_record=record, pupil=lucas)
    client = Client()
    client.force_login(account)
    return {"account": account, "lucas": lucas, "client": client}


def test_my_services_is_built_while_redis_is_down(helene, outage_redis, caplog):
    client = helene["client"]
    page(client)
    page(client)  # kept in Redis
    assert outage_redis.client().keys("*mes-services*")
    outage_redis.stop()
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            html = page(client)
            assert child_names(html) == ["Lucas MARTIN"]
            assert "Bonjour Hélène MARTIN" in html
            assert page_cache.CSRF_PLACEHOLDER not in html
    assert any("Redis unreachable" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    outage_redis.start()  # back, empty: the page is built and kept again
    assert child_names(page(helene["client"])) == ["Lucas MARTIN"]


def test_a_bump_lost_in_a_cut_never_lets_the_page_kept_before_it_be_served(helene,
                                                                         outage_redis):
    client = helene["client"]
    for _ in range(3):
        assert child_names(page(client)) == ["Lucas MARTIN"]  # kept, then served from Redis
    outage_redis.cut()  # Redis keeps the page and the old tokens
    lucas = helene["lucas"]
    pupil_update(pupil=lucas, last_name="MARTIN-DURAND", first_names="Lucas",
                 birth_date=lucas.birth_date, actor=AccountFactory(kind=AccountKind.STAFF))
    assert child_names(page(client)) == ["Lucas MARTIN-DURAND"]  # built from the database
    outage_redis.mend()
    # The kept page's tokens are still in Redis, but the lost bump is written first.
    assert child_names(page(client)) == ["Lucas MARTIN-DURAND"]
    assert child_names(page(client)) == ["Lucas MARTIN-DURAND"]
