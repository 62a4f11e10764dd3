"""The IdP against a second, independent SAML stack: a service provider on
@node-saml/node-saml (tests/peers/saml/, installed by `npm ci` there), registered by the metadata
it generates, sending a signed Redirect-binding AuthnRequest and checking our signed,
AES-256-GCM encrypted Response with its own XML signature and encryption code."""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from django.conf import settings

from saml_idp import services
from saml_idp.attributes import DEFAULT_RELEASE, OIDS
from saml_idp.keys import idp_key_pair
from saml_idp.models import ServiceProvider
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.saml_idp.sp import key_pair

PEERS = Path(__file__).resolve().parent.parent / "peers" / "saml"
SCRIPT = PEERS / "node_saml_sp.js"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not shutil.which("node") or not (PEERS / "node_modules" / "@node-saml").exists(),
        reason="needs node and `npm ci` in tests/peers/saml (make test does it when npm exists)",
    ),
]


class NodeSamlSP:
    def __init__(self, tmp_path: Path):
        key_file, cert_file = key_pair("node-saml")
        self.entity_id = "https://node-sp.example.test/metadata"
        self.acs_url = "https://node-sp.example.test/acs"
        self.config = tmp_path / "node-sp.json"
        self.config.write_text(json.dumps({
            "entityId": self.entity_id,
            "acsUrl": self.acs_url,
            "idpSsoUrl": f"{settings.SITE_URL}/idp/profile/SAML2/Redirect/SSO",
            "idpEntityId": settings.SAML_IDP_ENTITY_ID,
            "idpCert": idp_key_pair().cert_pem,
            "keyFile": key_file,
            "certFile": cert_file,
        }))

    def run(self, *args, stdin: str = "") -> str:
        result = subprocess.run(
            ["node", str(SCRIPT), str(self.config), *args], input=stdin, capture_output=True,
            text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture
def guardian():
    account = AccountFactory(first_name="Hélène", last_name="Martin")
    school = EstablishmentFactory(uai="0750001A", kind="college")
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=school, account=account),
        pupil=PupilFactory(establishment=school, national_id="1234567", academy_code="01"))
    return account


def test_node_saml_sp_signs_in_through_the_signed_redirect_binding(client, guardian, tmp_path):
    node = NodeSamlSP(tmp_path)
    xml = node.run("metadata")
    metadata = services.metadata_read(xml)
    assert metadata.authn_requests_signed and metadata.has_encryption_key
    services.service_provider_save(
        provider=ServiceProvider(name="ENT node-saml", metadata_xml=xml,
                                 released_attributes=list(DEFAULT_RELEASE)),
        metadata=metadata, actor=None)

    url = node.run("authorize", "https://node-sp.example.test/après")
    assert "Signature=" in url and "SigAlg=" in url
    client.force_login(guardian)
    response = client.get(url.removeprefix(settings.SITE_URL))
    assert response.status_code == 200, response.content.decode()[:1500]
    form = BeautifulSoup(response.content.decode(), "html.parser").find("form", id="saml-post")
    assert form["action"] == node.acs_url
    fields = {i["name"]: i["value"] for i in form.find_all("input")}
    assert fields["RelayState"] == "https://node-sp.example.test/après"
    assert b"aes256-gcm" in base64.b64decode(fields["SAMLResponse"])

    answer = json.loads(node.run("validate", stdin=fields["SAMLResponse"]))
    assert "error" not in answer, answer
    profile = answer["profile"]
    assert profile["nameID"] == services.persistent_name_id(guardian, node.entity_id)
    assert profile["nameIDFormat"].endswith("persistent")
    assert profile[OIDS["sn"]] == "Martin"
    assert profile[OIDS["FrEduCtRefId"]] == "{AAF}01|0750001A|1234567"
    assert profile[OIDS["FrEduCtPersonAffiliation"]] == "resp2d"


def test_node_saml_rejects_a_tampered_response(client, guardian, tmp_path):
    node = NodeSamlSP(tmp_path)
    xml = node.run("metadata")
    services.service_provider_save(
        provider=ServiceProvider(name="ENT node-saml", metadata_xml=xml,
                                 released_attributes=["sn"]),
        metadata=services.metadata_read(xml), actor=None)
    client.force_login(guardian)
    response = client.get(node.run("authorize").removeprefix(settings.SITE_URL))
    form = BeautifulSoup(response.content.decode(), "html.parser").find("form", id="saml-post")
    saml_response = base64.b64decode(form.find("input", attrs={"name": "SAMLResponse"})["value"])
    tampered = saml_response.replace(b"Destination=\"https://node-sp",
                                     b"Destination=\"https://evil-sp")
    answer = json.loads(node.run("validate", stdin=base64.b64encode(tampered).decode()))
    assert "error" in answer
