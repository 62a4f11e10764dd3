"""HTTP helpers shared by the apps: the client's IP address, read safely.

The address feeds the per-IP rate limits (core.ratelimit) and the journal's
`GenericIPAddressField` (an `inet` column on PostgreSQL, which rejects anything else): it is
therefore always either a valid IP address in its normalised text form, or "" when none is
known. It never comes from a header the client controls beyond our own proxies.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def ip_normalize(value: str) -> str:
    """`value` as an IP address in canonical text form, or "" when it is not one.

    IPv6 is compressed and lowercased (`2001:DB8:0::1` -> `2001:db8::1`); an IPv4-mapped
    IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports) is its IPv4 address,
    so that one client has one spelling in the counters and the journal. A zone index
    (`fe80::1%eth0`), ports, brackets and anything else make it "not an address".
    """
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return ""
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
    return str(address)


def client_ip(request) -> str:
    """The client's address, trusting X-Forwarded-For only as deep as our own proxies.

    With TRUSTED_PROXY_COUNT=n (our reverse proxies in front of the web nodes, each appending
    the address it received the request from), the n-th address from the right of
    X-Forwarded-For is the one our outermost proxy saw; anything further left was written by
    the client and is ignored. With n=0, or when the header holds fewer than n addresses (a
    request that reached us without crossing every proxy), or when the entry at that depth is
    not an IP address, the peer address (REMOTE_ADDR) is used instead: a forged or broken
    header never becomes a rate-limit subject or a journal value (RFC 7239 §8.1: only the
    entries written by trusted proxies can be relied upon).

    Returns the normalised address (see `ip_normalize`), or "" when even the peer address
    is missing or not an address (a Unix-socket server may leave it empty).
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= count:
            address = ip_normalize(forwarded[-count])
            if address:
                return address
    return ip_normalize(request.META.get("REMOTE_ADDR", ""))


def ip_rate_subject(address: str) -> str:
    """The subject under which per-IP rate limits count `address` (from `client_ip`).

    An IPv4 address counts alone. An IPv6 address counts with its whole /64 network: one
    subscriber line or phone receives at least a /64 (RFC 6177, RFC 7934) and can pick any
    address in it, so counting single IPv6 addresses would give each client 2^64 fresh
    counters. "" (no address known) stays "", one shared subject.
    """
    if not address:
        return ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)
