import pytest

from notifications import sms


@pytest.fixture(autouse=True)
def _sms_locmem(settings):
    """Every notifications test sends through the in-memory backend unless it says otherwise."""
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()
