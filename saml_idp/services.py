"""The SAML IdP's work: registering providers from their metadata, reading an AuthnRequest
(or an IdP-initiated request) into a checked `PendingSso`, and answering it with a signed
(and, when the provider gives a key, encrypted) Response for the signed-in account.

Every refusal raises `SamlRefused` with a journal reason and a French message; the views show
the message on an error page (400) and journal it. Nothing here answers 500 on bad input.
Rules: SAML 2.0 Core §3.4 (AuthnRequest), Bindings §3.4.4.1 (Redirect signature over the
octets as received), Profiles §4.1.4.1 (ACS must be registered), §4.1.4.5 (replay).
"""

from __future__ import annotations

import base64
import calendar
import datetime
import hashlib
import hmac
import logging
import zlib
from dataclasses import asdict, dataclass
from urllib.parse import unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import load_der_x509_certificate
from defusedxml import ElementTree
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.response import IncorrectlySigned
from saml2.saml import AUTHN_PASSWORD_PROTECTED, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.time_util import str_to_time

from accounts.models import AccountKind
from core.cache import REDIS_UNREACHABLE, unreachable_log
from core.journal import EventKind, journal_record
from pupils.models import EstablishmentKind
from pupils.selectors import pupil_of_account, pupils_of_guardian_account

from .attributes import Attribute
from .idp import endpoint, idp_server_for
from .models import ServiceProvider

logger = logging.getLogger(__name__)
_OUTAGE = "SAML requests (refused as unavailable)"

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
MAX_MESSAGE_BYTES = 64 * 1024
REDIRECT_SIG_HASHES = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
}

# Journal reason → what the person reads.
REFUSALS = {
    "malformed": gettext_lazy("La demande de connexion reçue du service est illisible."),
    "unknown_provider": gettext_lazy(
        "Ce service n'est pas reconnu par ÉduConnect : il ne peut pas vous connecter."),
    "missing_signature": gettext_lazy(
        "La demande de connexion du service n'est pas signée, alors qu'elle doit l'être."),
    "bad_signature": gettext_lazy(
        "La signature de la demande de connexion du service n'est pas valide."),
    "unregistered_acs": gettext_lazy(
        "Le service demande une réponse à une adresse qu'il n'a pas déclarée à ÉduConnect."),
    "replayed": gettext_lazy("Cette demande de connexion a déjà été utilisée."),
    "expired": gettext_lazy("Cette demande de connexion a expiré."),
    "staff": gettext_lazy(
        "Les comptes du personnel ne se connectent pas aux services des familles."),
    "lost": gettext_lazy("Cette demande de connexion n'est plus en cours."),
    # Redis (the shared cache of the replay check and of parked requests) unreachable.
    "unavailable": gettext_lazy(
        "La connexion au service est momentanément indisponible. Réessayez dans quelques "
        "minutes."),
}
# Refusals that say « try again later » (503 with Retry-After), not « this request is bad ».
UNAVAILABLE_RETRY_AFTER_SECONDS = 60


class SamlRefused(Exception):
    """A request the IdP will not answer: `reason` for the journal, `message` for people."""

    def __init__(self, reason: str, *, provider: ServiceProvider | None = None,
                 entity_id: str = "", detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.entity_id = (provider.entity_id if provider else entity_id)[:200]
        self.detail = detail[:200]

    @property
    def message(self) -> str:
        return str(REFUSALS[self.reason])


# --- Providers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpMetadata:
    entity_id: str
    authn_requests_signed: bool
    has_encryption_key: bool
    acs_urls: tuple[str, ...]


def metadata_read(xml: str) -> SpMetadata:
    """What the IdP needs from a provider's metadata (an EntityDescriptor with an
    SPSSODescriptor). Raises ValidationError (French, names the fix) otherwise."""
    try:
        root = ElementTree.fromstring(xml.encode("utf-8"))
    except Exception as exc:
        raise ValidationError(_("Les métadonnées ne sont pas un document XML lisible : "
                                "collez le fichier XML publié par le service, en entier.")) from exc
    if root.tag != f"{MD}EntityDescriptor" or not root.get("entityID"):
        raise ValidationError(_("Les métadonnées doivent être un élément EntityDescriptor avec "
                                "un attribut entityID."))
    sp = root.find(f"{MD}SPSSODescriptor")
    if sp is None:
        raise ValidationError(_("Les métadonnées ne décrivent pas un fournisseur de services "
                                "(élément SPSSODescriptor absent)."))
    acs = tuple(
        element.get("Location", "") for element in sp.findall(f"{MD}AssertionConsumerService")
        if element.get("Binding") == BINDING_HTTP_POST and element.get("Location")
    )
    if not acs:
        raise ValidationError(_("Les métadonnées ne donnent aucune adresse "
                                "AssertionConsumerService en HTTP-POST : ÉduConnect ne saurait "
                                "pas où renvoyer l'usager."))
    has_encryption = any(
        key.get("use") in (None, "encryption") and key.find(f".//{DS}X509Certificate") is not None
        for key in sp.findall(f"{MD}KeyDescriptor")
    )
    return SpMetadata(
        entity_id=root.get("entityID"),
        authn_requests_signed=sp.get("AuthnRequestsSigned") in ("true", "1"),
        has_encryption_key=has_encryption,
        acs_urls=acs,
    )


@transaction.atomic
def service_provider_save(*, provider: ServiceProvider, metadata: SpMetadata, actor,
                          request=None) -> ServiceProvider:
    """Save a provider from its (already read) metadata: its entity id, whether it encrypts,
    and signed requests required when the metadata says AuthnRequestsSigned or the
    administrator ticked it. Journaled. Every node uses it from its next request."""
    created = provider.pk is None
    provider.entity_id = metadata.entity_id
    provider.encrypts_assertions = metadata.has_encryption_key
    provider.authn_requests_signed = provider.authn_requests_signed or (
        metadata.authn_requests_signed)
    provider.save()
    journal_record(EventKind.SAML_PROVIDER_SAVED, request=request, actor=actor,
                   entity_id=provider.entity_id, created=created,
                   attributes=list(provider.released_attributes))
    return provider


# --- Requests -----------------------------------------------------------------------------


@dataclass
class PendingSso:
    """A checked request waiting for (or given) its answer; JSON-able for the session."""

    provider_id: int
    entity_id: str
    request_id: str  # "" for IdP-initiated SSO
    acs_url: str
    relay_state: str

    def as_dict(self) -> dict:
        return asdict(self)


def _decode(saml_request: str, *, deflated: bool) -> bytes:
    try:
        raw = base64.b64decode(saml_request, validate=False)
        if deflated:
            raw = zlib.decompressobj(-15).decompress(raw, MAX_MESSAGE_BYTES)
    except (ValueError, zlib.error) as exc:
        raise SamlRefused("malformed", detail="base64/deflate") from exc
    if not raw or len(raw) >= MAX_MESSAGE_BYTES:
        raise SamlRefused("malformed", detail="size")
    return raw


def _issuer(xml: bytes, expected_tag: str) -> tuple[str, ElementTree.Element]:
    try:
        root = ElementTree.fromstring(xml)
    except Exception as exc:
        raise SamlRefused("malformed", detail="xml") from exc
    if root.tag != expected_tag:
        raise SamlRefused("malformed", detail=f"root {root.tag}")
    issuer = (root.findtext(f"{SAML}Issuer") or "").strip()
    if not issuer:
        raise SamlRefused("malformed", detail="no issuer")
    return issuer, root


def _provider(entity_id: str) -> ServiceProvider:
    provider = ServiceProvider.objects.filter(entity_id=entity_id, is_active=True).first()
    if provider is None:
        raise SamlRefused("unknown_provider", entity_id=entity_id)
    return provider


def _raw_query_part(raw_query: str, name: str) -> str | None:
    for part in raw_query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return f"{key}={value}"
    return None


def _redirect_signature_check(provider: ServiceProvider, raw_query: str) -> bool:
    """Checks the Redirect binding's signature over the query as received (Bindings
    §3.4.4.1: SAMLRequest, RelayState if present, SigAlg, in that order, still URL-encoded).
    Returns whether the request was signed; raises when a signature is wrong, or missing
    where the provider must sign. A parameter given twice is refused: the signature would
    cover one value and the request be read from the other."""
    names = [part.partition("=")[0] for part in raw_query.split("&")]
    for name in ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"):
        if names.count(name) > 1:
            raise SamlRefused("malformed", provider=provider, detail=f"{name} twice")
    signature_part = _raw_query_part(raw_query, "Signature")
    sigalg_part = _raw_query_part(raw_query, "SigAlg")
    if not signature_part or not sigalg_part:
        if provider.authn_requests_signed:
            raise SamlRefused("missing_signature", provider=provider)
        return False
    algorithm = REDIRECT_SIG_HASHES.get(unquote_plus(sigalg_part.partition("=")[2]))
    if algorithm is None:
        raise SamlRefused("bad_signature", provider=provider, detail="algorithm")
    signed = "&".join(part for part in (
        _raw_query_part(raw_query, "SAMLRequest"), _raw_query_part(raw_query, "RelayState"),
        sigalg_part) if part)
    try:
        signature = base64.b64decode(unquote_plus(signature_part.partition("=")[2]))
    except ValueError as exc:
        raise SamlRefused("bad_signature", provider=provider) from exc
    server = idp_server_for(provider)
    for _name, cert in server.metadata.certs(provider.entity_id, "any", "signing"):
        try:
            public_key = load_der_x509_certificate(base64.b64decode(cert)).public_key()
            public_key.verify(signature, signed.encode("ascii"), padding.PKCS1v15(),
                              algorithm())
            return True
        except (InvalidSignature, ValueError, TypeError):
            continue
    raise SamlRefused("bad_signature", provider=provider)


def _registered_acs(provider: ServiceProvider, requested: str | None, index: str | None) -> str:
    server = idp_server_for(provider)
    registered = [
        acs["location"]
        for acs in server.metadata.assertion_consumer_service(provider.entity_id,
                                                               BINDING_HTTP_POST)
    ]
    if requested:
        if requested not in registered:
            raise SamlRefused("unregistered_acs", provider=provider, detail=requested)
        return requested
    if index is not None:
        for acs in server.metadata.assertion_consumer_service(provider.entity_id,
                                                               BINDING_HTTP_POST):
            if str(acs.get("index")) == str(index):
                return acs["location"]
        raise SamlRefused("unregistered_acs", provider=provider, detail=f"index {index}")
    if not registered:
        raise SamlRefused("unregistered_acs", provider=provider)
    return registered[0]


def authn_request_read(*, binding: str, saml_request: str, relay_state: str = "",
                       raw_query: str = "") -> PendingSso:
    """Check an AuthnRequest received on the Redirect (raw_query: the query string as
    received) or POST binding. Returns the PendingSso; raises SamlRefused.

    Checks: well-formed, known active provider, signature (required when the provider's
    metadata or row says so; always checked when present), issued within
    SAML_REQUEST_MAX_AGE_SECONDS (± SAML_CLOCK_SKEW_SECONDS), ACS registered in the
    metadata, request id never seen before (a key per provider and id in the shared cache,
    Redis in production, kept as long as the request could be valid; while Redis cannot be
    reached the request is refused as "unavailable", never answered unchecked).
    """
    redirect = binding == BINDING_HTTP_REDIRECT
    xml = _decode(saml_request, deflated=redirect)
    issuer, _root = _issuer(xml, f"{SAMLP}AuthnRequest")
    provider = _provider(issuer)
    if redirect:
        _redirect_signature_check(provider, raw_query)
        server = idp_server_for(provider, post_signature_required=False)
    else:
        server = idp_server_for(provider)
    try:
        parsed = server.parse_authn_request(saml_request, binding)
    except IncorrectlySigned as exc:
        reason = "missing_signature" if b"Signature" not in xml else "bad_signature"
        raise SamlRefused(reason, provider=provider) from exc
    except Exception as exc:  # pysaml2 raises many kinds on a bad document
        raise SamlRefused("malformed", provider=provider, detail=type(exc).__name__) from exc
    if parsed is None:
        raise SamlRefused("malformed", provider=provider)
    message = parsed.message
    _check_instant(provider, message.issue_instant)
    acs_url = _registered_acs(provider, message.assertion_consumer_service_url,
                              message.assertion_consumer_service_index)
    _remember_once(provider, message.id)
    return PendingSso(provider_id=provider.pk, entity_id=provider.entity_id,
                      request_id=message.id, acs_url=acs_url, relay_state=relay_state or "")


def _check_instant(provider: ServiceProvider, issue_instant: str) -> None:
    try:
        issued = datetime.datetime.fromtimestamp(calendar.timegm(str_to_time(issue_instant)),
                                                 datetime.UTC)
    except Exception as exc:
        raise SamlRefused("malformed", provider=provider, detail="IssueInstant") from exc
    now = timezone.now()
    skew = datetime.timedelta(seconds=settings.SAML_CLOCK_SKEW_SECONDS)
    max_age = datetime.timedelta(seconds=settings.SAML_REQUEST_MAX_AGE_SECONDS)
    if issued > now + skew or issued < now - max_age - skew:
        raise SamlRefused("expired", provider=provider, detail=issue_instant)


def _remember_once(provider: ServiceProvider, request_id: str) -> None:
    key = "saml:authnrequest:" + hashlib.sha256(
        f"{provider.entity_id}\0{request_id}".encode()).hexdigest()
    ttl = settings.SAML_REQUEST_MAX_AGE_SECONDS + 2 * settings.SAML_CLOCK_SKEW_SECONDS
    try:
        first = cache.add(key, 1, timeout=ttl)
    except REDIS_UNREACHABLE as error:
        # Refused rather than answered unchecked: a replay could not be told apart.
        unreachable_log(logger, logging.WARNING, _OUTAGE, error)
        raise SamlRefused("unavailable", provider=provider) from error
    if not first:
        raise SamlRefused("replayed", provider=provider, detail=request_id[:80])


def unsolicited_request_read(*, provider_id: str, shire: str = "", target: str = "") -> PendingSso:
    """Shibboleth's IdP-initiated SSO (`providerId`, optional `shire` = ACS, `target` =
    RelayState): the provider must be registered and active, the ACS one of its own."""
    if not provider_id:
        raise SamlRefused("malformed", detail="providerId")
    provider = _provider(provider_id)
    acs_url = _registered_acs(provider, shire or None, None)
    return PendingSso(provider_id=provider.pk, entity_id=provider.entity_id, request_id="",
                      acs_url=acs_url, relay_state=target[:1000])


# --- Responses ----------------------------------------------------------------------------


def persistent_name_id(account, entity_id: str) -> str:
    """The account's opaque, stable identifier at one service: HMAC-SHA256 of the account's
    id and the service's entityID (key SAML_PERSISTENT_ID_KEY, else derived from
    SECRET_KEY), base64. Two services cannot link their users by it."""
    key = (settings.SAML_PERSISTENT_ID_KEY or f"saml-persistent-id:{settings.SECRET_KEY}")
    digest = hmac.new(key.encode(), f"{entity_id}\0{account.pk}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode("ascii")


def ref_id(pupil) -> str:
    """FrEduCtRefId of one pupil: `{AAF}<academy code>|<UAI>|<national id>` (the form ENT
    Core's EduConnect connector parses: academy code first, the join key last); "" when the
    roster gave no national identifier."""
    if not pupil.national_id:
        return ""
    return f"{{AAF}}{pupil.academy_code}|{pupil.establishment.uai}|{pupil.national_id}"


def identity_for(account, provider: ServiceProvider) -> tuple[dict[str, list[str]], list[int]]:
    """The attributes released to `provider` for `account` (its allow-list only) and the ids
    of the children whose data they carry. Formats: docs/saml.md."""
    allowed = set(provider.released_attributes)
    name_id = persistent_name_id(account, provider.entity_id)
    values: dict[str, list[str]] = {
        Attribute.ID: [name_id],
        Attribute.SN: [account.last_name],
        Attribute.GIVEN_NAME: [account.first_name],
        Attribute.URL_RETOUR: [endpoint("logout")],
    }
    if account.kind == AccountKind.GUARDIAN:
        children = list(pupils_of_guardian_account(account))
        values[Attribute.AFFILIATION] = sorted({
            "resp1d" if child.establishment.kind == EstablishmentKind.ECOLE else "resp2d"
            for child in children
        }) or ["resp2d"]
        values[Attribute.REF_ID] = [v for v in (ref_id(child) for child in children) if v]
        values[Attribute.VECTEUR] = [
            f"2|{account.last_name}|{account.first_name}|{child.national_id}|"
            f"{child.establishment.uai}" for child in children if child.national_id
        ]
    else:
        pupil = pupil_of_account(account)
        children = [pupil] if pupil else []
        if pupil:
            first_degree = pupil.establishment.kind == EstablishmentKind.ECOLE
            values[Attribute.AFFILIATION] = ["eleve1d" if first_degree else "eleve2d"]
            values[Attribute.ELEVE_UAI] = [pupil.establishment.uai]
            values[Attribute.BIRTH_DATE] = [pupil.birth_date.isoformat()]
            values[Attribute.REF_ID] = [v for v in [ref_id(pupil)] if v]
            if pupil.national_id:
                values[Attribute.VECTEUR] = [
                    f"4|{account.last_name}|{account.first_name}|{pupil.national_id}|"
                    f"{pupil.establishment.uai}"]
    released = {name: vals for name, vals in values.items() if name in allowed and vals}
    carries_children = {Attribute.REF_ID, Attribute.VECTEUR, Attribute.ELEVE_UAI,
                        Attribute.BIRTH_DATE} & set(released)
    return released, ([c.pk for c in children] if carries_children else [])


def sso_response(*, account, pending: PendingSso, request=None) -> tuple[str, str]:
    """The signed Response (base64, for the POST binding) and the ACS address, for the
    signed-in `account`; journals the SSO (service, account, children released).
    Raises SamlRefused when the provider was removed meanwhile."""
    if account.kind == AccountKind.STAFF:
        raise SamlRefused("staff", entity_id=pending.entity_id)
    provider = ServiceProvider.objects.filter(pk=pending.provider_id, is_active=True).first()
    if provider is None:
        raise SamlRefused("unknown_provider", entity_id=pending.entity_id)
    server = idp_server_for(provider)
    identity, children = identity_for(account, provider)
    name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text=persistent_name_id(
        account, provider.entity_id), sp_name_qualifier=provider.entity_id,
        name_qualifier=settings.SAML_IDP_ENTITY_ID)
    xml = server.create_authn_response(
        identity=identity,
        in_response_to=pending.request_id or None,
        destination=pending.acs_url,
        sp_entity_id=provider.entity_id,
        name_id=name_id,
        authn={"class_ref": AUTHN_PASSWORD_PROTECTED,
               "authn_auth": settings.SAML_IDP_ENTITY_ID},
        sign_response=True,
        sign_assertion=True,
        encrypt_assertion=provider.encrypts_assertions,
        encrypt_assertion_self_contained=True,
        sign_alg=server.config.signing_algorithm,
        digest_alg=server.config.digest_algorithm,
    )
    journal_record(EventKind.SAML_SSO, request=request, account=account,
                   entity_id=provider.entity_id, service=provider.name,
                   initiated_by="idp" if not pending.request_id else "sp",
                   attributes=sorted(identity), children=children,
                   encrypted=provider.encrypts_assertions)
    return base64.b64encode(str(xml).encode("utf-8")).decode("ascii"), pending.acs_url


def logout_request_answer(*, binding: str, saml_request: str, relay_state: str = "",
                          raw_query: str = "", account=None, request=None) -> dict:
    """Single logout started by a service: check its LogoutRequest (known provider,
    signature as for AuthnRequests), journal it, and return what the POST form sends back
    to the provider's SingleLogoutService: {"acs_url", "saml_response", "relay_state"}.
    The caller ends the ÉduConnect session."""
    redirect = binding == BINDING_HTTP_REDIRECT
    xml = _decode(saml_request, deflated=redirect)
    issuer, _root = _issuer(xml, f"{SAMLP}LogoutRequest")
    provider = _provider(issuer)
    if redirect:
        _redirect_signature_check(provider, raw_query)
        server = idp_server_for(provider, post_signature_required=False)
    else:
        server = idp_server_for(provider)
    try:
        parsed = server.parse_logout_request(saml_request, binding)
    except IncorrectlySigned as exc:
        raise SamlRefused("bad_signature", provider=provider) from exc
    except Exception as exc:
        raise SamlRefused("malformed", provider=provider, detail=type(exc).__name__) from exc
    if parsed is None:
        raise SamlRefused("malformed", provider=provider)
    _check_instant(provider, parsed.message.issue_instant)
    destinations = server.metadata.single_logout_service(provider.entity_id, BINDING_HTTP_POST,
                                                         "spsso")
    if not destinations:
        raise SamlRefused("unregistered_acs", provider=provider, detail="SingleLogoutService")
    location = destinations[0].get("response_location") or destinations[0]["location"]
    response = server.create_logout_response(
        parsed.message, [BINDING_HTTP_POST], sign=True,
        sign_alg=server.config.signing_algorithm, digest_alg=server.config.digest_algorithm,
    )
    journal_record(EventKind.SAML_LOGOUT, request=request, account=account,
                   entity_id=provider.entity_id)
    return {
        "acs_url": location,
        "saml_response": base64.b64encode(str(response).encode("utf-8")).decode("ascii"),
        "relay_state": relay_state,
    }
