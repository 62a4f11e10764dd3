"""The SAML IdP against a real pysaml2 service provider: signed Redirect and POST bindings,
IdP-initiated SSO, encrypted assertions, attributes of the allow-list, persistent NameID, and
every refusal as a French error page with a journal event."""

import base64
import calendar
import re
import zlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from bs4 import BeautifulSoup
from saml2 import BINDING_HTTP_POST
from saml2.time_util import str_to_time

from core.models import JournalEvent
from saml_idp import services
from saml_idp.attributes import DEFAULT_RELEASE, OIDS
from saml_idp.models import ServiceProvider
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)
from tests.saml_idp.sp import TestSP

pytestmark = pytest.mark.django_db


def register(sp: TestSP, *, attributes=DEFAULT_RELEASE, name="ENT de test") -> ServiceProvider:
    xml = sp.metadata_xml()
    return services.service_provider_save(
        provider=ServiceProvider(name=name, metadata_xml=xml,
                                 released_attributes=list(attributes)),
        metadata=services.metadata_read(xml), actor=None)


@pytest.fixture
def guardian():
    account = AccountFactory(first_name="Hélène", last_name="Martin")
    college = EstablishmentFactory(uai="0750001A", kind="college")
    ecole = EstablishmentFactory(uai="0750002B", kind="ecole")
    for school, first, national_id in [(college, "Lucas", "1234567"), (ecole, "Inès", "")]:
        record = GuardianRecordFactory(establishment=school, account=account)
        ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(
            first_names=first, establishment=school, national_id=national_id,
            academy_code="01"))
    return account


def form_of(response):
    assert response.status_code == 200, response.content.decode()[:2000]
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    form = soup.find("form", id="saml-post")
    return form["action"], {i["name"]: i["value"] for i in form.find_all("input")}


def refusal(response) -> str:
    assert response.status_code == 400
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    assert soup.h1.get_text(strip=True) == "Connexion au service impossible"
    # The refusal's alert, not the hidden time-limit warning of a signed-in page.
    titles = [t for t in soup.find_all(class_="fr-alert__title") if not t.find_parent(hidden=True)]
    return titles[0].get_text(strip=True)


def attributes(parsed) -> dict:
    by_oid = {oid: name for name, oid in OIDS.items()}
    return {by_oid.get(k, k): v for k, v in parsed.ava.items()}


def test_metadata_advertises_sha256_and_both_bindings(client):
    response = client.get("/idp/shibboleth")
    xml = response.content.decode()
    assert response.status_code == 200
    assert "IDPSSODescriptor" in xml
    assert "/idp/profile/SAML2/Redirect/SSO" in xml and "/idp/profile/SAML2/POST/SSO" in xml
    assert "rsa-sha1" not in xml and "#sha1" not in xml


def test_signed_redirect_binding_gives_an_encrypted_signed_assertion(client, guardian):
    sp = TestSP(sign_requests=True, encrypt=True)
    provider = register(sp)
    assert provider.authn_requests_signed and provider.encrypts_assertions
    client.force_login(guardian)
    url, request_id = sp.redirect_url("https://ent.example.test/accueil")
    action, fields = form_of(client.get(url))
    assert action == sp.acs_url
    assert fields["RelayState"] == "https://ent.example.test/accueil"
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "EncryptedAssertion" in xml and "xmlenc11#aes256-gcm" in xml
    assert "rsa-sha256" in xml
    parsed = sp.parse_response(fields["SAMLResponse"], request_id)
    ava = attributes(parsed)
    assert ava["FrEduCtPersonAffiliation"] == ["resp1d", "resp2d"]
    assert ava["sn"] == ["Martin"] and ava["givenName"] == ["Hélène"]
    # One vector per child the roster identified (Inès has no national id yet).
    assert ava["FrEduCtRefId"] == ["{AAF}01|0750001A|1234567"]
    name_id = parsed.assertion.subject.name_id
    assert name_id.format.endswith("persistent")
    assert name_id.text == services.persistent_name_id(guardian, sp.entity_id)
    assert ava["FrEduCtId"] == [name_id.text]
    event = JournalEvent.objects.filter(kind="saml.sso").get()
    assert event.account == guardian
    assert event.data["entity_id"] == sp.entity_id and len(event.data["children"]) == 2


def test_the_persistent_name_id_is_stable_and_differs_per_service(guardian, settings):
    one = services.persistent_name_id(guardian, "https://a.example.test/sp")
    assert one == services.persistent_name_id(guardian, "https://a.example.test/sp")
    assert one != services.persistent_name_id(guardian, "https://b.example.test/sp")
    assert len(base64.b64decode(one)) == 32  # an HMAC-SHA256, nothing readable
    settings.SAML_PERSISTENT_ID_KEY = "une-autre-clé"
    assert one != services.persistent_name_id(guardian, "https://a.example.test/sp")


def test_post_binding_and_the_allow_list(client, guardian):
    sp = TestSP(sign_requests=False, encrypt=False, name="poster")
    register(sp, attributes=["sn", "FrEduCtPersonAffiliation"])
    client.force_login(guardian)
    action, fields, request_id = sp.post_request("retour")
    assert urlsplit(action).path == "/idp/profile/SAML2/POST/SSO"
    _acs, answer = form_of(client.post(urlsplit(action).path, fields))
    xml = base64.b64decode(answer["SAMLResponse"]).decode()
    assert "EncryptedAssertion" not in xml
    ava = attributes(sp.parse_response(answer["SAMLResponse"], request_id))
    assert set(ava) == {"sn", "FrEduCtPersonAffiliation"}


def test_a_signed_in_person_is_sent_to_sign_in_then_back_to_the_service(client, guardian):
    sp = TestSP(name="later")
    register(sp)
    url, request_id = sp.redirect_url()
    response = client.get(url)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/?next=")
    next_url = parse_qs(urlsplit(location).query)["next"][0]
    client.force_login(guardian)
    _, fields = form_of(client.get(next_url))
    assert sp.parse_response(fields["SAMLResponse"], request_id)
    # The ticket is single use.
    assert refusal(client.get(next_url)) == "Cette demande de connexion n'est plus en cours."


def test_unsolicited_sso_for_the_tiles(client, guardian):
    sp = TestSP(name="tile")
    register(sp)
    client.force_login(guardian)
    query = urlencode({"providerId": sp.entity_id, "target": "https://ent.example.test/"})
    _, fields = form_of(client.get(f"/idp/profile/SAML2/Unsolicited/SSO?{query}"))
    assert fields["RelayState"] == "https://ent.example.test/"
    parsed = sp.parse_response(fields["SAMLResponse"])
    assert parsed.assertion.subject.name_id.text == services.persistent_name_id(
        guardian, sp.entity_id)


def _refusal_journaled(reason):
    return JournalEvent.objects.filter(kind="saml.refused", data__reason=reason).exists()


def test_unknown_provider(client, guardian):
    sp = TestSP(name="stranger")
    client.force_login(guardian)
    url, _ = sp.redirect_url()
    assert "n'est pas reconnu" in refusal(client.get(url))
    assert _refusal_journaled("unknown_provider")
    assert "n'est pas reconnu" in refusal(client.get(
        "/idp/profile/SAML2/Unsolicited/SSO?providerId=https://nobody.example.test/"))


def test_missing_and_bad_signatures(client, guardian):
    sp = TestSP(name="signer")
    register(sp)
    client.force_login(guardian)
    url, _ = sp.redirect_url(sign=False)
    assert "n'est pas signée" in refusal(client.get(url))
    assert _refusal_journaled("missing_signature")
    url, _ = sp.redirect_url()
    tampered = re.sub(r"Signature=[^&]+", "Signature=AAAA" + "B" * 340, url)
    assert "signature" in refusal(client.get(tampered))
    assert _refusal_journaled("bad_signature")


def test_replayed_request(client, guardian):
    sp = TestSP(name="replay")
    register(sp)
    client.force_login(guardian)
    url, _ = sp.redirect_url()
    form_of(client.get(url))
    assert refusal(client.get(url)) == "Cette demande de connexion a déjà été utilisée."
    assert _refusal_journaled("replayed")


def test_unregistered_acs(client, guardian):
    sp = TestSP(name="acs")
    register(sp)
    client.force_login(guardian)
    _request_id, info = sp.client.prepare_for_authenticate(
        binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", sign=True,
        assertion_consumer_service_url="https://evil.example.test/acs",
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    url = dict(info["headers"])["Location"]
    assert "adresse qu'il n'a pas déclarée" in refusal(client.get(url))
    assert _refusal_journaled("unregistered_acs")
    assert "adresse qu'il n'a pas déclarée" in refusal(client.get(
        "/idp/profile/SAML2/Unsolicited/SSO?" + urlencode(
            {"providerId": sp.entity_id, "shire": "https://evil.example.test/acs"})))


def test_expired_request(client, guardian, settings):
    sp = TestSP(name="late")
    register(sp)
    client.force_login(guardian)
    url, _ = sp.redirect_url()
    settings.SAML_REQUEST_MAX_AGE_SECONDS = -1000
    assert refusal(client.get(url)) == "Cette demande de connexion a expiré."


@pytest.mark.parametrize("saml_request", [
    "", "pas du base64 !", base64.b64encode(b"<html/>").decode(),
    base64.b64encode(zlib.compress(b"<x>")[2:-4]).decode(),
])
def test_malformed_requests(client, guardian, saml_request):
    client.force_login(guardian)
    response = client.get("/idp/profile/SAML2/Redirect/SSO?" + urlencode(
        {"SAMLRequest": saml_request}))
    assert refusal(response)
    response = client.post("/idp/profile/SAML2/POST/SSO", {"SAMLRequest": saml_request})
    assert refusal(response)


def test_a_provider_registered_later_works_at_once(client, guardian):
    sp = TestSP(name="newcomer")
    client.force_login(guardian)
    url, _ = sp.redirect_url()
    refusal(client.get(url))
    register(sp)
    url, request_id = sp.redirect_url()
    _, fields = form_of(client.get(url))
    assert sp.parse_response(fields["SAMLResponse"], request_id)


def test_single_logout_from_the_service(client, guardian, settings):
    sp = TestSP(name="slo")
    register(sp)
    client.force_login(guardian)
    url, request_id = sp.redirect_url()
    _, fields = form_of(client.get(url))
    parsed = sp.parse_response(fields["SAMLResponse"], request_id)
    logout_request = sp.client.create_logout_request(
        f"{settings.SITE_URL}/idp/profile/SAML2/POST/SLO", settings.SAML_IDP_ENTITY_ID,
        name_id=parsed.assertion.subject.name_id, sign=True,
        sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_alg="http://www.w3.org/2001/04/xmlenc#sha256")
    saml_request = base64.b64encode(str(logout_request[1]).encode()).decode()
    action, answer = form_of(client.post("/idp/profile/SAML2/POST/SLO",
                                         {"SAMLRequest": saml_request, "RelayState": "bye"}))
    assert action == sp.slo_url and answer["RelayState"] == "bye"
    response = sp.client.parse_logout_request_response(answer["SAMLResponse"], BINDING_HTTP_POST)
    assert response.status_ok()
    # Signed out of ÉduConnect too.
    assert client.get("/services/").status_code == 302
    assert JournalEvent.objects.filter(kind="saml.logout").count() == 1


def test_post_binding_refuses_an_unsigned_request_where_signatures_are_required(
    client, guardian
):
    sp = TestSP(name="strict-post", sign_requests=True)
    register(sp)
    unsigned = TestSP(name="strict-post", sign_requests=False)  # same entity, no signature
    client.force_login(guardian)
    action, fields, _ = unsigned.post_request()
    assert "n'est pas signée" in refusal(client.post(urlsplit(action).path, fields))
    assert _refusal_journaled("missing_signature")


def test_assertion_validity_starts_a_clock_skew_margin_in_the_past(client, guardian, settings):
    sp = TestSP(name="skew", encrypt=False)
    register(sp)
    client.force_login(guardian)
    url, request_id = sp.redirect_url()
    _, fields = form_of(client.get(url))
    parsed = sp.parse_response(fields["SAMLResponse"], request_id)
    conditions = parsed.assertion.conditions
    not_before = calendar.timegm(str_to_time(conditions.not_before))
    not_after = calendar.timegm(str_to_time(conditions.not_on_or_after))
    assert not_after - not_before == (settings.SAML_CLOCK_SKEW_SECONDS
                                      + settings.SAML_ASSERTION_LIFETIME_SECONDS)


def test_a_second_saml_request_appended_to_a_signed_query_is_refused(client, guardian):
    """The signature covers the first SAMLRequest; Django would read the last one."""
    signer = TestSP(name="polluted")
    register(signer)
    client.force_login(guardian)
    url, _ = signer.redirect_url()
    other, _ = signer.redirect_url(sign=False)
    second = parse_qs(urlsplit(other).query)["SAMLRequest"][0]
    response = client.get(url + "&" + urlencode({"SAMLRequest": second}))
    assert refusal(response) == "La demande de connexion reçue du service est illisible."
    assert not JournalEvent.objects.filter(kind="saml.sso").exists()
