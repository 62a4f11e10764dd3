"""« Mot de passe oublié ? » by SMS while Redis cannot be reached: identifier, channel, code
and new password all answer normally (the flow, the session and the codes in PostgreSQL,
the limits in the process's memory), never a 5xx. A redis-server of the test's own, really
stopped (`outage_redis`, tests/conftest.py)."""

import pytest

from notifications import sms
from tests.factories import DEFAULT_PASSWORD

from .conftest import NEW_PASSWORD, last_code

pytestmark = pytest.mark.django_db


def test_a_password_is_reset_by_sms_while_redis_is_down(recovery, guardian, outage_redis,
                                                        client):
    outage_redis.stop()
    assert recovery.start("s.nguyen21").status_code == 302
    assert recovery.get("channel").status_code == 200
    code_page = recovery.page(recovery.choose("sms"))
    assert "un code de sécurité (valable 30 min) vient d'être envoyé par SMS" in code_page
    assert [m.to for m in sms.outbox] == ["+33612345678"]
    assert recovery.send_code(last_code()).status_code == 302
    assert recovery.get("password").status_code == 200
    assert recovery.new_password().status_code == 302
    guardian.refresh_from_db()
    assert guardian.check_password(NEW_PASSWORD)
    assert not guardian.check_password(DEFAULT_PASSWORD)
