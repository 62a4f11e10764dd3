"""A real pysaml2 service provider for the tests: its own key pair, its metadata, signed
AuthnRequests (Redirect binding) or plain ones (POST binding), and the parsing of the IdP's
Responses (signatures checked against the IdP's metadata, assertions decrypted)."""

import datetime
import re
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from saml_idp.idp import idp_metadata_xml

_KEYS: dict[str, tuple[str, str]] = {}


def key_pair(name: str) -> tuple[str, str]:
    if name not in _KEYS:
        folder = Path(tempfile.mkdtemp(prefix="sp-keys-"))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
        (folder / "key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _KEYS[name] = (str(folder / "key.pem"), str(folder / "cert.pem"))
    return _KEYS[name]


class TestSP:
    """One service provider. `sign_requests`: AuthnRequestsSigned in its metadata and a
    signature on every request; `encrypt`: an encryption key in its metadata."""

    __test__ = False

    def __init__(self, base_url: str = "http://127.0.0.1:8123", *, sign_requests=True,
                 encrypt=True, name="sp"):
        self.base_url = base_url.rstrip("/")
        self.entity_id = f"{self.base_url}/{name}/metadata"
        self.acs_url = f"{self.base_url}/{name}/acs"
        self.slo_url = f"{self.base_url}/{name}/slo"
        key_file, cert_file = key_pair(name)
        conf = {
            "entityid": self.entity_id,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "key_file": key_file,
            "cert_file": cert_file,
            "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "allow_unknown_attributes": True,
            "service": {"sp": {
                "endpoints": {
                    "assertion_consumer_service": [(self.acs_url, BINDING_HTTP_POST)],
                    "single_logout_service": [(self.slo_url, BINDING_HTTP_POST)],
                },
                "authn_requests_signed": sign_requests,
                "want_response_signed": True,
                "want_assertions_signed": True,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "allow_unsolicited": True,
                "name_form": NAME_FORMAT_URI,
            }},
            "metadata": {"inline": [idp_metadata_xml()]},
        }
        self.config = SPConfig()
        self.config.load(conf)
        if not encrypt:
            self.config.encryption_keypairs = None
        self.client = Saml2Client(config=self.config)
        self.encrypt = encrypt
        self.sign_requests = sign_requests

    def metadata_xml(self) -> str:
        xml = str(entity_descriptor(self.config))
        if not self.encrypt:
            # Only a signing key: no encryption key in the metadata.
            xml = xml.replace('use="encryption"', 'use="signing"')
        return xml

    def redirect_url(self, relay_state: str = "", *, sign: bool | None = None) -> tuple[str, str]:
        """(URL of the IdP's Redirect SSO with the AuthnRequest, the request id)."""
        sign = self.sign_requests if sign is None else sign
        request_id, info = self.client.prepare_for_authenticate(
            binding=BINDING_HTTP_REDIRECT, relay_state=relay_state, sign=sign,
            sigalg=SIG_RSA_SHA256 if sign else None,
        )
        location = dict(info["headers"])["Location"]
        return location, request_id

    def post_request(self, relay_state: str = "") -> tuple[str, dict, str]:
        """(IdP POST SSO address, form fields, request id)."""
        request_id, info = self.client.prepare_for_authenticate(
            binding=BINDING_HTTP_POST, relay_state=relay_state, sign=self.sign_requests,
        )
        html = info["data"]
        action = re.search(r'action="([^"]+)"', html).group(1)
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))
        return action, fields, request_id

    def parse_response(self, saml_response: str, request_id: str | None = None,
                       outstanding_ids=()):
        outstanding = {rid: "/" for rid in [*outstanding_ids, request_id] if rid}
        response = self.client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding=outstanding)
        if response is None:
            raise AssertionError("the SP rejected the response")
        return response
