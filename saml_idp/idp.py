"""pysaml2's IdP server, built from the settings and one service provider's metadata.

A `Server` is built per provider from its database row and cached in this process under
(provider id, updated_at): a provider added or changed in the back-office is read afresh by
every worker at its next request, with no restart and no message between nodes.

Algorithms: responses and assertions are signed with RSA-SHA256 and SHA-256 digests;
assertions are encrypted (when the provider's metadata gives an encryption key) with
AES-256-GCM, the session key wrapped with RSA-OAEP.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from threading import Lock

from django.conf import settings
from django.urls import reverse
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, element_to_extension_element, md
from saml2.assertion import Policy
from saml2.attribute_converter import AttributeConverter
from saml2.config import IdPConfig
from saml2.entity import make_temp
from saml2.extension.algsupport import DigestMethod, SigningMethod
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT
from saml2.server import Server
from saml2.sigver import get_pem_wrapped_unwrapped, pre_encryption_part
from saml2.time_util import instant
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from .attributes import OIDS
from .keys import idp_key_pair

AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
RSA_OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
SIGN_ALG = SIG_RSA_SHA256
DIGEST_ALG = DIGEST_SHA256
_CACHE_SIZE = 256


def endpoint(name: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(f"saml_idp:{name}")


class EduConnectServer(Server):
    """pysaml2's Server, encrypting assertions with AES-256-GCM (pysaml2's default is
    triple DES)."""

    def _encrypt_assertion(self, encrypt_cert, sp_entity_id, response, node_xpath=None):
        certs = ([(None, encrypt_cert)] if encrypt_cert
                 else self.metadata.certs(sp_entity_id, "any", "encryption"))
        error = None
        for cert_name, cert in certs:
            wrapped, unwrapped = get_pem_wrapped_unwrapped(cert)
            try:
                tmp = make_temp(wrapped.encode("ascii"), decode=False,
                                delete_tmpfiles=self.config.delete_tmpfiles)
                template = pre_encryption_part(msg_enc=AES256_GCM, key_enc=RSA_OAEP,
                                               key_name=cert_name, encrypt_cert=unwrapped)
                return self.sec.encrypt_assertion(response, tmp.name, template,
                                                  key_type="aes-256", node_xpath=node_xpath)
            except Exception as exc:  # try the next certificate of the metadata
                error = exc
        if error:
            raise error
        return response


class SkewTolerantPolicy(Policy):
    """pysaml2's policy, with NotBefore set SAML_CLOCK_SKEW_SECONDS in the past so that a
    service whose clock is a little behind accepts the assertion."""

    def conditions(self, sp_entity_id):
        conditions = super().conditions(sp_entity_id)
        conditions.not_before = instant(
            time_stamp=time.time() - settings.SAML_CLOCK_SKEW_SECONDS)
        return conditions


def _attribute_converter() -> AttributeConverter:
    converter = AttributeConverter(NAME_FORMAT_URI)
    converter.from_dict({
        "identifier": NAME_FORMAT_URI,
        "to": dict(OIDS.items()),
        "fro": {oid: name for name, oid in OIDS.items()},
    })
    return converter


def idp_config(*, metadata_xml: str | None = None, want_signed_requests: bool = False) -> IdPConfig:
    keys = idp_key_pair()
    sso = [(endpoint("redirect_sso"), BINDING_HTTP_REDIRECT),
           (endpoint("post_sso"), BINDING_HTTP_POST)]
    slo = [(endpoint("redirect_slo"), BINDING_HTTP_REDIRECT),
           (endpoint("post_slo"), BINDING_HTTP_POST)]
    conf = {
        "entityid": settings.SAML_IDP_ENTITY_ID,
        "xmlsec_binary": settings.SAML_XMLSEC_BINARY,
        "key_file": keys.key_file,
        "cert_file": keys.cert_file,
        "encryption_keypairs": [{"key_file": keys.key_file, "cert_file": keys.cert_file}],
        "accepted_time_diff": settings.SAML_CLOCK_SKEW_SECONDS,
        "signing_algorithm": SIGN_ALG,
        "digest_algorithm": DIGEST_ALG,
        "service": {
            "idp": {
                "name": "ÉduConnect",
                "endpoints": {"single_sign_on_service": sso, "single_logout_service": slo},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": want_signed_requests,
                "sign_response": True,
                "sign_assertion": True,
                "policy": {
                    "default": {
                        "lifetime": {"seconds": settings.SAML_ASSERTION_LIFETIME_SECONDS},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    },
                },
            },
        },
        "metadata": {"inline": [metadata_xml]} if metadata_xml else {},
    }
    config = IdPConfig()
    config.load(conf)
    config.attribute_converters = [_attribute_converter()]
    config.setattr("idp", "policy", SkewTolerantPolicy(conf["service"]["idp"]["policy"],
                                                       config.metadata))
    return config


_servers: OrderedDict[tuple, EduConnectServer] = OrderedDict()
_lock = Lock()


def idp_server_for(provider, *, post_signature_required: bool | None = None) -> EduConnectServer:
    """The pysaml2 server that knows `provider` (a saml_idp.ServiceProvider row) only; it
    requires signed AuthnRequests when the row says so (the Redirect binding's signature is
    checked over the raw query by saml_idp.services, which asks for a server that does not
    require an embedded one). Cached per (id, updated_at, requirement)."""
    required = (provider.authn_requests_signed if post_signature_required is None
                else post_signature_required)
    key = (provider.pk, provider.updated_at, required, settings.SITE_URL,
           settings.SAML_IDP_ENTITY_ID)
    with _lock:
        server = _servers.get(key)
        if server is not None:
            _servers.move_to_end(key)
            return server
    server = EduConnectServer(config=idp_config(
        metadata_xml=provider.metadata_xml,
        want_signed_requests=required,
    ))
    with _lock:
        _servers[key] = server
        while len(_servers) > _CACHE_SIZE:
            _servers.popitem(last=False)
    return server


def idp_metadata_xml() -> str:
    """The IdP's own metadata (EntityDescriptor with IDPSSODescriptor, signing and
    encryption certificate, SSO and SLO endpoints for both bindings)."""
    descriptor = entity_descriptor(idp_config())
    # pysaml2 lists every algorithm it knows (SHA-1 included): advertise only ours.
    descriptor.extensions = md.Extensions(extension_elements=[
        element_to_extension_element(DigestMethod(algorithm=DIGEST_ALG)),
        element_to_extension_element(SigningMethod(algorithm=SIGN_ALG)),
    ])
    return str(descriptor)
