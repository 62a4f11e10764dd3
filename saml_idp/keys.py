"""The IdP's signing and encryption key pair.

Production: SAML_IDP_KEY and SAML_IDP_CERT name PEM files, or hold the PEM text itself
(a secret manager's variable); `manage.py check --deploy` fails without them. Elsewhere
(demo, tests) a development pair is generated once into VAR_DIR/saml_idp/ (never committed:
var/ is ignored). pysaml2 and xmlsec1 read files: PEM text is written to a file readable by
this process's user only.
"""

import datetime
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

DEV_KEY_BITS = 2048


@dataclass(frozen=True)
class KeyPair:
    key_file: str
    cert_file: str

    @property
    def cert_pem(self) -> str:
        return Path(self.cert_file).read_text()

    @property
    def cert_base64(self) -> str:
        """The certificate as metadata carries it: base64 DER, no PEM armour."""
        lines = self.cert_pem.strip().splitlines()
        return "".join(line for line in lines if not line.startswith("-----"))


def _private_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "saml_idp"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _file_for(value: str, name: str) -> str:
    """A path for a setting that holds a path or PEM text."""
    if value.lstrip().startswith("-----BEGIN"):
        path = _private_dir() / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value.strip() + "\n")
        return str(path)
    return value


def _development_pair() -> KeyPair:
    folder = _private_dir()
    key_path, cert_path = folder / "dev-key.pem", folder / "dev-cert.pem"
    if not (key_path.exists() and cert_path.exists()):
        key = rsa.generate_private_key(public_exponent=65537, key_size=DEV_KEY_BITS)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ÉduConnect IdP (dév.)")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return KeyPair(str(key_path), str(cert_path))


@cache
def idp_key_pair() -> KeyPair:
    """The IdP's key pair (files), from the settings or, when they are empty, the
    development pair."""
    if settings.SAML_IDP_KEY and settings.SAML_IDP_CERT:
        return KeyPair(_file_for(settings.SAML_IDP_KEY, "key.pem"),
                       _file_for(settings.SAML_IDP_CERT, "cert.pem"))
    return _development_pair()
