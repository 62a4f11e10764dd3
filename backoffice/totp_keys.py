"""Staff TOTP seeds encrypted at rest (issue 12 §3).

django-otp keeps each TOTPDevice's seed in `key` as hex: a database backup would hold every
staff member's second factor in clear. Here the column holds

    "enc1:" + urlsafe-base64(nonce 12 bytes ‖ AES-256-GCM(seed) ‖ tag 16 bytes)

(69 characters for django-otp's 20-byte seeds; the column takes 80), under a key derived from
OTP_TOTP_ENCRYPTION_KEY (environment; `check --deploy` requires it, educonnect.E016) — or,
without it (demo, tests), from DJANGO_SECRET_KEY. The key never lives in the database.

`install()` (BackofficeConfig.ready) makes every TOTPDevice encrypt its seed before it is
saved (pre_save) and read it through `bin_key`, which django-otp uses for codes and for the
enrolment's QR code. Rows written before are encrypted by backoffice migration 0001.

Changing the key makes every enrolled device unreadable: staff enrol again (docs/deployment.md).
"""

from __future__ import annotations

import base64
import hashlib
import os
from binascii import unhexlify

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db.models.signals import pre_save
from django_otp.plugins.otp_totp.models import TOTPDevice

PREFIX = "enc1:"
# Binds the ciphertext to its use: a value copied from another encrypted column fails.
_AAD = b"educonnect:otp_totp.key"


def _key() -> bytes:
    secret = settings.OTP_TOTP_ENCRYPTION_KEY or f"secret-key:{settings.SECRET_KEY}"
    return hashlib.sha256(b"educonnect-totp-seed-v1:" + secret.encode()).digest()


def is_encrypted(value: str) -> bool:
    return value.startswith(PREFIX)


def seed_encrypt(hex_seed: str) -> str:
    """The column's value for a hex seed (django-otp's form); an encrypted value unchanged."""
    if is_encrypted(hex_seed):
        return hex_seed
    nonce = os.urandom(12)
    sealed = AESGCM(_key()).encrypt(nonce, unhexlify(hex_seed.encode()), _AAD)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def seed_decrypt(value: str) -> bytes:
    """The seed's bytes from the column's value (a hex value from before: read as is).

    Raises cryptography's InvalidTag when the value was encrypted under another key.
    """
    if not is_encrypted(value):
        return unhexlify(value.encode())
    raw = value[len(PREFIX):]
    blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    return AESGCM(_key()).decrypt(blob[:12], blob[12:], _AAD)


def seed_decrypt_hex(value: str) -> str:
    return seed_decrypt(value).hex()


def _encrypt_before_save(sender, instance, **kwargs) -> None:
    if instance.key and not is_encrypted(instance.key):
        instance.key = seed_encrypt(instance.key)


def install() -> None:
    """Encrypt TOTPDevice seeds on save, decrypt them in `bin_key` (idempotent)."""
    TOTPDevice.bin_key = property(lambda device: seed_decrypt(device.key),
                                  doc="The seed as bytes, decrypted (backoffice.totp_keys).")
    pre_save.connect(_encrypt_before_save, sender=TOTPDevice,
                     dispatch_uid="backoffice.totp_keys.encrypt")
