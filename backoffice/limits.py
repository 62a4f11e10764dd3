"""The back-office's limits, on core.ratelimit (moving windows in Redis): staff sign-in
(password step, then TOTP code step) and helpdesk searches.

Every limit is counted *before* the work it protects (the password check, the code check,
the search), in one atomic Redis step that refuses without counting once the window is full:
parallel requests can never get more attempts through than the limit (OWASP ASVS 4.0.3
V2.2.1 anti-automation, V11.1.6 no time-of-check to time-of-use race).

Password step, the portal's settings, apart counters:
- per identifier: LOGIN_MAX_FAILURES_PER_IDENTIFIER per LOGIN_FAILURE_WINDOW_SECONDS, cleared
  when the whole sign-in (password and code) succeeds;
- per client IP (IPv4 address or IPv6 /64): LOGIN_MAX_FAILURES_PER_IP per the same window.

Code step, the attempt rules of the product's code process (a code has a few tries; a
subject has a window; see activation.services):
- per pending sign-in (the few minutes between the password and the code):
  BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES codes, then the password is due again (the
  throttling of RFC 4226 §7.3, which RFC 6238 applies to TOTP);
- per staff account: BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT codes per
  BACKOFFICE_SIGN_IN_ACCOUNT_CODE_WINDOW_SECONDS, cleared by a right code; someone holding
  the password cannot restart pending sign-ins to try codes for ever;
- per client IP: BACKOFFICE_SIGN_IN_MAX_CODES_PER_IP codes per
  BACKOFFICE_SIGN_IN_IP_CODE_WINDOW_SECONDS, never cleared (a right code on one's own account
  must not reset an address's counter).

Helpdesk: BACKOFFICE_SEARCHES_PER_HOUR searches per agent in a moving hour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core import ratelimit
from core.http import ip_rate_subject

logger = logging.getLogger(__name__)

PASSWORD_PER_IDENTIFIER = ratelimit.Rule(
    "backoffice:password:identifier", "LOGIN_MAX_FAILURES_PER_IDENTIFIER",
    "LOGIN_FAILURE_WINDOW_SECONDS",
)
PASSWORD_PER_IP = ratelimit.Rule(
    "backoffice:password:ip", "LOGIN_MAX_FAILURES_PER_IP", "LOGIN_FAILURE_WINDOW_SECONDS"
)
CODE_PER_SIGN_IN = ratelimit.Rule(
    "backoffice:code:sign-in", "BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES",
    "BACKOFFICE_SIGN_IN_PENDING_SECONDS",
)
CODE_PER_ACCOUNT = ratelimit.Rule(
    "backoffice:code:account", "BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT",
    "BACKOFFICE_SIGN_IN_ACCOUNT_CODE_WINDOW_SECONDS",
)
CODE_PER_IP = ratelimit.Rule(
    "backoffice:code:ip", "BACKOFFICE_SIGN_IN_MAX_CODES_PER_IP",
    "BACKOFFICE_SIGN_IN_IP_CODE_WINDOW_SECONDS",
)
SEARCHES_PER_AGENT = ratelimit.Rule(
    "helpdesk:search:agent", "BACKOFFICE_SEARCHES_PER_HOUR", "BACKOFFICE_SEARCH_WINDOW_SECONDS"
)


def password_attempt_admit(*, identifier: str, ip: str) -> ratelimit.Decision:
    """Count one password attempt of `identifier` (normalised) from `ip` (core.http.client_ip),
    before the password is checked. A refusing Decision (`retry_after` seconds) means: stop,
    check nothing. Same hits whether the identifier exists, is staff, or not."""
    by_ip = ratelimit.hit(PASSWORD_PER_IP, ip_rate_subject(ip))
    if not by_ip.allowed:
        return by_ip
    by_identifier = ratelimit.hit(PASSWORD_PER_IDENTIFIER, identifier)
    if by_identifier.allowed and by_identifier.remaining == 0:
        logger.warning("Back-office password attempts limit reached for one identifier "
                       "(ip=%s)", ip)
    return by_identifier


@dataclass(frozen=True)
class CodeAdmission:
    """What the limits say of one code attempt.

    `allowed`: the code may be checked; `codes_left`: how many more the pending sign-in
    may try after this one (0: if this one is wrong, the password is due again). When
    refused: `start_over` if the pending sign-in has used all its codes, else `retry_after`
    seconds to wait (account or address window).
    """

    allowed: bool
    codes_left: int = 0
    start_over: bool = False
    retry_after: int = 0

    @property
    def last_try(self) -> bool:
        return self.allowed and self.codes_left == 0


def code_attempt_admit(*, sign_in_id: str, account_id: int, ip: str) -> CodeAdmission:
    """Count one TOTP code attempt, before the code is checked: in the pending sign-in
    `sign_in_id` (a random id kept in the session), of staff account `account_id`, from
    `ip`. Three hits at most, stopping at the first refusal."""
    per_sign_in = ratelimit.hit(CODE_PER_SIGN_IN, sign_in_id)
    if not per_sign_in.allowed:
        return CodeAdmission(allowed=False, start_over=True)
    for rule, subject in ((CODE_PER_ACCOUNT, str(account_id)),
                          (CODE_PER_IP, ip_rate_subject(ip))):
        decision = ratelimit.hit(rule, subject)
        if not decision.allowed:
            logger.warning("Back-office code attempts refused by %s (account=%s, ip=%s)",
                           rule.scope, account_id, ip)
            return CodeAdmission(allowed=False, retry_after=decision.retry_after)
    return CodeAdmission(allowed=True, codes_left=per_sign_in.remaining)


def sign_in_completed(*, identifier: str, account_id: int) -> None:
    """Password and code both right: the account's failures are forgotten (not its
    address's)."""
    ratelimit.clear(PASSWORD_PER_IDENTIFIER, identifier)
    ratelimit.clear(CODE_PER_ACCOUNT, str(account_id))


def staff_sign_in_failures_clear(*, identifier: str, account_id: int) -> None:
    """Forget a staff account's failed passwords and codes: its second factor was reset by
    an administrator, who checked who they are; they must be able to enrol at once."""
    sign_in_completed(identifier=identifier, account_id=account_id)


def search_admit(*, agent_id: int) -> ratelimit.Decision:
    """Count one helpdesk search by agent `agent_id`, before it runs."""
    return ratelimit.hit(SEARCHES_PER_AGENT, str(agent_id))
