"""The OpenID Connect provider's signing key, read once by educonnect/settings.py.

No Django import here: settings.py calls `signing_key_pem()` while it is being read.

- `OIDC_RSA_PRIVATE_KEY` in the environment: a PEM text (« -----BEGIN … ») or the path of a
  PEM file. Production sets it (the same key on every web node, mounted from a secret store);
  `manage.py check --deploy` refuses the development key (educonnect.E010).
- Unset: the development key `var/oidc-dev-signing-key.pem`, generated on first use (RSA 2048,
  mode 0600, never committed: var/ is ignored by git), shared by every process of the machine
  so that gunicorn workers and the test live server sign with one key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_KEY_FILENAME = "oidc-dev-signing-key.pem"
RSA_KEY_BITS = 2048  # RS256 as RFC 7518 §3.3 requires: 2048 bits or more


def _generate_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def dev_key_pem(var_dir: Path) -> str:
    """The development key of this machine, created at the first call.

    Two processes starting together both generate a key; the first to link its file wins and
    the other reads it (os.link fails when the name exists), so every process signs with one.
    """
    path = var_dir / DEV_KEY_FILENAME
    if not path.exists():
        temporary = var_dir / f".{DEV_KEY_FILENAME}.{os.getpid()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_generate_pem())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text(encoding="ascii")


def signing_key_pem(value: str, *, var_dir: Path) -> tuple[str, bool]:
    """(PEM text, is the development key) from the `OIDC_RSA_PRIVATE_KEY` value.

    `value` is a PEM text, the path of a PEM file, or "" for the development key. Raises
    ValueError when the text or the file holds no RSA private key of at least 2048 bits.
    """
    value = value.strip()
    if not value:
        return dev_key_pem(var_dir), True
    if value.startswith("-----BEGIN"):
        pem = f"{value}\n"
    else:
        pem = Path(value).read_text(encoding="ascii")
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < RSA_KEY_BITS:
        raise ValueError("OIDC_RSA_PRIVATE_KEY must be an RSA private key of 2048 bits or more")
    return pem, False
