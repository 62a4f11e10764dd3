"""The claims released to a service: who the person is, their children, how they signed in.

Released only under the scopes the client was given and asked for (oidc_idp.scopes):

- `sub`: pairwise (OpenID Connect Core §8.1): base64url(HMAC-SHA256(OIDC_PAIRWISE_SECRET,
  "account:" + sector + ":" + account id)), 43 characters; the sector is the client's
  `ClientPolicy.sector_identifier`, else its client_id. Stable for a service, opaque, and
  different for two services: they cannot match their users through it.
- `profile`: `given_name`, `family_name`, `identifier` (the ÉduConnect identifier, p.nomNN:
  the same for every service, hence only under this scope) and `affiliation`, the profiles
  of ÉduConnect's SAML attribute FrEduCtPersonAffiliation: `resp1d`/`resp2d` for a guardian
  of a child at an école / a collège or lycée, `eleve1d`/`eleve2d` for a pupil.
- `children`: a list, one object per child the guardian account sees (an ACTIVE link,
  pupils.selectors.pupils_of_guardian_account): `sub` (pairwise, as above with "pupil:"),
  `given_name`, `family_name`, `school_uai`, `school_name`, `level` (the school's code,
  e.g. « 5EME », « CE2 »). A pupil account gets an empty list.
- `acr`, `amr`, `auth_time` (ID token only): see `authentication_claims`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings

from accounts.models import AccountKind
from pupils.models import EstablishmentKind
from pupils.selectors import pupil_of_account, pupils_of_guardian_account

from .scopes import CHILDREN, PROFILE

# Claim -> the scope that releases it (django-oauth-toolkit's `oidc_claim_scope`).
CLAIM_SCOPES = {
    "sub": "openid",
    "given_name": PROFILE,
    "family_name": PROFILE,
    "identifier": PROFILE,
    "affiliation": PROFILE,
    "children": CHILDREN,
}
# `acr` values, from the strongest method used (single-factor here; FranceConnect's own
# sign-in is at eIDAS « faible », eidas1, which the franceconnect app requires).
ACR_SMS = "educonnect-sms"
ACR_PASSWORD = "educonnect-pwd"  # noqa: S105  (an acr value, not a password)
ACR_FRANCECONNECT = "educonnect-franceconnect"
ACR_VALUES = (ACR_PASSWORD, ACR_SMS, ACR_FRANCECONNECT)


@dataclass(frozen=True)
class Release:
    """What one response gives a service: the claims, and the children's pupil ids (for the
    journal: which children were released)."""

    claims: dict
    pupil_ids: list[int]


def sector_of(application) -> str:
    policy = getattr(application, "policy", None)
    return (policy.sector_identifier if policy is not None else "") or application.client_id


def pairwise_sub(*, sector: str, kind: str, pk: int) -> str:
    """The opaque identifier of a person (`kind` "account" or "pupil", `pk` its id) for one
    sector: 43 base64url characters."""
    mac = hmac.new(
        settings.OIDC_PAIRWISE_SECRET.encode(), f"{kind}:{sector}:{pk}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _degree(establishment) -> str:
    return "1d" if establishment.kind == EstablishmentKind.ECOLE else "2d"


def release_for(*, account, application, scopes: list[str]) -> Release:
    """The claims `scopes` release about `account` to `application`'s service.

    Queries: none for `openid` and a pupil's `profile` aside, one for a guardian's
    `profile` or `children` (both share it): the account's children with their schools
    (pupils_of_guardian_account, indexed from the account's records).
    """
    sector = sector_of(application)
    claims: dict = {"sub": pairwise_sub(sector=sector, kind="account", pk=account.pk)}
    want_profile, want_children = PROFILE in scopes, CHILDREN in scopes
    if not (want_profile or want_children):
        return Release(claims, [])

    pupils = []
    affiliation: list[str] = []
    if account.kind == AccountKind.GUARDIAN:
        pupils = list(pupils_of_guardian_account(account))
        affiliation = sorted({f"resp{_degree(p.establishment)}" for p in pupils})
    elif account.kind == AccountKind.PUPIL and want_profile:
        own = pupil_of_account(account)
        affiliation = [f"eleve{_degree(own.establishment)}"] if own is not None else []

    if want_profile:
        claims.update(
            given_name=account.first_name,
            family_name=account.last_name,
            identifier=account.identifier,
            affiliation=affiliation,
        )
    if not want_children:
        return Release(claims, [])
    claims["children"] = [
        {
            "sub": pairwise_sub(sector=sector, kind="pupil", pk=pupil.pk),
            "given_name": pupil.first_name,
            "family_name": pupil.last_name,
            "school_uai": pupil.establishment.uai,
            "school_name": pupil.establishment.name,
            "level": pupil.level,
        }
        for pupil in pupils
    ]
    return Release(claims, [pupil.pk for pupil in pupils])


def authentication_claims(*, methods: list[str], authenticated_at: int | None) -> dict:
    """`amr` (RFC 8176 values: "pwd", "sms"; and "fc" for FranceConnect), `acr`
    (ACR_FRANCECONNECT when FranceConnect signed the person in, ACR_SMS when an SMS code was
    part of the sign-in, else ACR_PASSWORD) and `auth_time` (Unix seconds) — {} when the
    sign-in is not known (a session older than this code)."""
    if not methods:
        return {}
    acr = (ACR_FRANCECONNECT if "fc" in methods
           else ACR_SMS if "sms" in methods else ACR_PASSWORD)
    claims = {"amr": list(methods), "acr": acr}
    if authenticated_at is not None:
        claims["auth_time"] = authenticated_at
    return claims
