"""The portal sign-in's attempt limits, on core.ratelimit (moving windows in Redis).

Two windows of LOGIN_FAILURE_WINDOW_SECONDS seconds:

- per identifier (as typed, normalised to lowercase): LOGIN_MAX_FAILURES_PER_IDENTIFIER
  attempts; a successful sign-in clears it, so it counts the failures since the last success.
  It is the same for an identifier that exists and one that does not (no enumeration).
- per client IP (an IPv4 address, or an IPv6 /64, see core.http.ip_rate_subject):
  LOGIN_MAX_FAILURES_PER_IP attempts across identifiers (password spraying). A success does
  not clear it: else one valid account of their own would let an attacker reset their
  address's counter between guesses; so this window counts every attempt, successes too.

Both are counted *before* the password is checked, each in one atomic Redis step that refuses
without counting once the window is full (OWASP ASVS 4.0.3 V2.2.1 anti-automation, V11.1.6
no time-of-check to time-of-use race): N parallel attempts can never get more than the limit
through to a password check. The setting names keep the word « failures » they had when
they counted failures only.
"""

from __future__ import annotations

import logging

from core import ratelimit
from core.http import ip_rate_subject

logger = logging.getLogger(__name__)

SIGN_IN_PER_IDENTIFIER = ratelimit.Rule(
    "sign-in:identifier", "LOGIN_MAX_FAILURES_PER_IDENTIFIER", "LOGIN_FAILURE_WINDOW_SECONDS"
)
SIGN_IN_PER_IP = ratelimit.Rule(
    "sign-in:ip", "LOGIN_MAX_FAILURES_PER_IP", "LOGIN_FAILURE_WINDOW_SECONDS"
)


def sign_in_attempt_admit(*, identifier: str, ip: str) -> ratelimit.Decision:
    """Count one sign-in attempt of `identifier` (normalised) from `ip` (core.http.client_ip,
    "" when unknown), before its password is checked.

    Returns the refusing Decision (`retry_after` seconds) when either window is full, and
    then the attempt must stop before any password check; otherwise an allowed Decision.
    Two Redis hits at most: the address first, so that an address already over its limit
    spends nothing on the identifier's window; the same hits whether the identifier exists
    or not.
    """
    by_ip = ratelimit.hit(SIGN_IN_PER_IP, ip_rate_subject(ip))
    if not by_ip.allowed:
        return by_ip
    if by_ip.remaining == 0:
        logger.warning("Sign-in attempts limit reached for one address (ip=%s)", ip)
    by_identifier = ratelimit.hit(SIGN_IN_PER_IDENTIFIER, identifier)
    if by_identifier.allowed and by_identifier.remaining == 0:
        # The identifier is not logged: it is personal data, and maybe a typo of a password.
        logger.warning("Sign-in attempts limit reached for one identifier (ip=%s)", ip)
    return by_identifier


def sign_in_suspension(*, identifier: str) -> ratelimit.Decision:
    """Whether `identifier` may try to sign in now, without counting (for the helpdesk):
    a refusing Decision tells how long its sign-in stays suspended."""
    return ratelimit.peek(SIGN_IN_PER_IDENTIFIER, identifier)


def sign_in_failures_clear(*, identifier: str) -> None:
    """Forget the failed attempts of `identifier` (its window only): after a right password,
    and at the helpdesk's « unlock »."""
    ratelimit.clear(SIGN_IN_PER_IDENTIFIER, identifier)
