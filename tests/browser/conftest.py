"""Fixtures shared by the browser tests."""

import pytest


@pytest.fixture
def sms_folder(settings, tmp_path):
    """The folder where the SMS of the test are written, one file each
    (notifications.sms.FileSMSBackend): the browser tests read the codes from there, as a
    parent reads their phone, while the live server runs in another thread."""
    settings.SMS_BACKEND = "notifications.sms.FileSMSBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    return settings.SMS_FILE_PATH
