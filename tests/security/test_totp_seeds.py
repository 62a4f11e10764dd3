"""Staff TOTP seeds are encrypted at rest (backoffice/totp_keys.py, issue 12 §3): a dump of
the database holds no seed in clear, and codes still verify."""

import importlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import StaffRole
from backoffice import totp_keys
from tests.backoffice.conftest import make_staff

pytestmark = pytest.mark.django_db


def _code(seed: bytes, device) -> str:
    return f"{totp(seed, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _raw_key(device) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_a_dump_holds_no_seed_in_clear_and_the_code_still_verifies(settings):
    settings.OTP_TOTP_ENCRYPTION_KEY = "k" * 43
    agent = make_staff(StaffRole.NATIONAL)
    device = TOTPDevice.objects.get(user=agent)
    seed = device.bin_key
    assert len(seed) == 20
    stored = _raw_key(device)
    assert stored.startswith("enc1:") and len(stored) <= 80
    assert seed.hex() not in stored

    dump = io.StringIO()
    call_command("dumpdata", "otp_totp", stdout=dump)
    [row] = json.loads(dump.getvalue())
    assert row["fields"]["key"] == stored
    assert seed.hex() not in dump.getvalue()

    fresh = TOTPDevice.objects.get(pk=device.pk)
    assert fresh.verify_token(_code(seed, fresh))


def test_another_key_cannot_read_the_seed(settings):
    from cryptography.exceptions import InvalidTag

    settings.OTP_TOTP_ENCRYPTION_KEY = "a" * 43
    device = TOTPDevice.objects.get(user=make_staff(StaffRole.NATIONAL))
    settings.OTP_TOTP_ENCRYPTION_KEY = "b" * 43
    with pytest.raises(InvalidTag):
        TOTPDevice.objects.get(pk=device.pk).bin_key  # noqa: B018


def test_the_migration_encrypts_the_seeds_written_before_and_back(settings):
    settings.OTP_TOTP_ENCRYPTION_KEY = "m" * 43
    device = TOTPDevice.objects.get(user=make_staff(StaffRole.NATIONAL))
    plain = "3132333435363738393031323334353637383930"
    TOTPDevice.objects.filter(pk=device.pk).update(key=plain)  # as django-otp wrote it
    migration = importlib.import_module("backoffice.migrations.0001_encrypt_totp_seeds")
    from django.apps import apps

    migration.encrypt_seeds(apps, None)
    stored = _raw_key(device)
    assert stored.startswith("enc1:") and plain not in stored
    assert TOTPDevice.objects.get(pk=device.pk).bin_key.hex() == plain
    migration.decrypt_seeds(apps, None)
    assert _raw_key(device) == plain


def test_a_seed_is_sealed_with_a_fresh_nonce_each_time(settings):
    settings.OTP_TOTP_ENCRYPTION_KEY = "n" * 43
    seed = "00" * 20
    first, second = totp_keys.seed_encrypt(seed), totp_keys.seed_encrypt(seed)
    assert first != second
    assert totp_keys.seed_decrypt(first) == totp_keys.seed_decrypt(second) == bytes(20)
