"""Limits of the assistance form against spam: per client IP (its /64 for IPv6) and per
e-mail address, counted before the request is written (core.ratelimit: hit, never
check-then-count). Settings: ASSISTANCE_MAX_REQUESTS_PER_IP / _PER_EMAIL and their windows.
"""

from core import ratelimit
from core.http import ip_rate_subject
from core.ratelimit import Decision, Rule

REQUESTS_PER_IP = Rule("assistance:ip", "ASSISTANCE_MAX_REQUESTS_PER_IP",
                       "ASSISTANCE_IP_WINDOW_SECONDS")
REQUESTS_PER_EMAIL = Rule("assistance:email", "ASSISTANCE_MAX_REQUESTS_PER_EMAIL",
                          "ASSISTANCE_EMAIL_WINDOW_SECONDS")


def assistance_request_admit(*, ip: str, email: str) -> Decision:
    """Count one request for this IP and this address; the first refusal is returned
    (retry_after in seconds). The address is compared in lowercase."""
    decision = ratelimit.hit(REQUESTS_PER_IP, ip_rate_subject(ip))
    if not decision:
        return decision
    return ratelimit.hit(REQUESTS_PER_EMAIL, (email or "").strip().lower())
