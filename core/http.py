"""HTTP helpers shared by the apps."""

from django.conf import settings


def client_ip(request) -> str:
    """The client's address, trusting X-Forwarded-For only as deep as our own proxies.

    With TRUSTED_PROXY_COUNT=n, the n-th address from the right of X-Forwarded-For is the one
    our outermost proxy saw; anything further left was written by the client and is ignored.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "")
