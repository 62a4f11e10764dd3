"""Encrypt the TOTP seeds written before backoffice.totp_keys (issue 12 §3); reversible."""

from django.db import migrations

from backoffice.totp_keys import is_encrypted, seed_decrypt_hex, seed_encrypt


def encrypt_seeds(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    for device in TOTPDevice.objects.only("pk", "key").iterator():
        if not is_encrypted(device.key):
            TOTPDevice.objects.filter(pk=device.pk).update(key=seed_encrypt(device.key))


def decrypt_seeds(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    for device in TOTPDevice.objects.only("pk", "key").iterator():
        if is_encrypted(device.key):
            TOTPDevice.objects.filter(pk=device.pk).update(key=seed_decrypt_hex(device.key))


class Migration(migrations.Migration):
    dependencies = [("otp_totp", "0003_add_timestamps")]

    operations = [migrations.RunPython(encrypt_seeds, decrypt_seeds)]
