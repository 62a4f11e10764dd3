"""The back-office's limits, on core.ratelimit (moving windows in Redis): staff sign-in
(password step, then TOTP code step) and helpdesk searches.

Every limit is counted *before* the work it protects (the password check, the code check,
the search), in one atomic Redis step that refuses without counting once the window is full:
parallel requests can never get more attempts through than the limit (OWASP ASVS 4.0.3
V2.2.1 anti-automation, V11.1.6 no time-of-check to time-of-use race).

Password step: the portal's windows and device cookies (accounts.limits, its module
docstring): staff identifiers are as easy to guess as the families' (initial, name, two
digits) and show in journals, so a hard limit per identifier would let anyone lock any staff
member out. A browser that completed a sign-in (password and code) of the identifier carries
its device cookie and counts in its own window only; every other browser counts per address,
per (identifier, address), then in the identifier's window shared by all of them. The
windows are the portal's own for the same identifier: one account, one count. The
(identifier, address) and identifier windows are cleared when the whole sign-in succeeds.

Code step: one model, every code counted (right or wrong) before it is checked, in Redis so
that every web node shares it (django-otp's own slow-down per device, which grew 1 s, 2 s,
4 s… across sign-ins, stored in the database and told nothing in advance, is off:
OTP_TOTP_THROTTLE_FACTOR = 0 in settings):
- per pending sign-in (the few minutes between the password and the code):
  BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES codes, then the password is due again (the
  throttling of RFC 4226 §7.3, which RFC 6238 applies to TOTP) — no wait;
- per staff account: BACKOFFICE_SIGN_IN_MAX_CODE_FAILURES_PER_ACCOUNT codes per
  BACKOFFICE_SIGN_IN_ACCOUNT_CODE_WINDOW_SECONDS, cleared by a right code; someone holding
  the password cannot restart pending sign-ins to try codes for ever; once full, a wait
  until its oldest code leaves the moving window (never for good);
- per client IP: BACKOFFICE_SIGN_IN_MAX_CODES_PER_IP codes per
  BACKOFFICE_SIGN_IN_IP_CODE_WINDOW_SECONDS, never cleared (a right code on one's own account
  must not reset an address's counter); once full, a wait likewise.
After each wrong code the user is told how many codes are left before whichever comes first:
the password again, or a wait (CodeAdmission.codes_left, .then_wait).

Helpdesk: BACKOFFICE_SEARCHES_PER_HOUR searches per agent in a moving hour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from accounts.limits import (
    SignInAdmission,
    sign_in_attempt_admit,
    sign_in_failures_clear,
    sign_in_success_forget,
)
from core import ratelimit
from core.http import ip_rate_subject

logger = logging.getLogger(__name__)

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


def password_attempt_admit(*, identifier: str, ip: str, device: str) -> SignInAdmission:
    """Count one password attempt of `identifier` (normalised: accounts.backends) from `ip`
    (core.http.client_ip) and the browser's `device` (accounts.limits.sign_in_device, ""
    without its cookie), before the password is checked. Refused (`allowed` False,
    `retry_after` seconds): stop, check nothing. Same hits whether the identifier exists, is
    staff, or not; one Redis round trip."""
    return sign_in_attempt_admit(identifier=identifier, ip=ip, device=device)


@dataclass(frozen=True)
class CodeAdmission:
    """What the limits say of one code attempt.

    `allowed`: the code may be checked. `codes_left`: how many more codes may be tried
    after this one before the first limit is reached (0: if this one is wrong, that limit
    applies now); `then_wait`: that limit is a wait (the account's or the address's
    window), not the password again (the pending sign-in's). When refused: `start_over` if
    the pending sign-in has used all its codes, else `retry_after` seconds to wait (account
    or address window; the moving window's own count-down, shared by every web node).
    """

    allowed: bool
    codes_left: int = 0
    then_wait: bool = False
    start_over: bool = False
    retry_after: int = 0

    @property
    def last_try(self) -> bool:
        """Allowed, and the pending sign-in's last code: a wrong one means step 1 again."""
        return self.allowed and self.codes_left == 0 and not self.then_wait


def code_attempt_admit(*, sign_in_id: str, account_id: int, ip: str) -> CodeAdmission:
    """Count one TOTP code attempt, before the code is checked: in the pending sign-in
    `sign_in_id` (a random id kept in the session), of staff account `account_id`, from
    `ip`. One atomic Redis step (core.ratelimit.hit_in_order) over the three windows, in
    that order, stopping at the first full one (the windows before it keep their count)."""
    decisions = ratelimit.hit_in_order(
        (CODE_PER_SIGN_IN, sign_in_id),
        (CODE_PER_ACCOUNT, str(account_id)),
        (CODE_PER_IP, ip_rate_subject(ip)),
    )
    verdict = decisions[-1]
    if not verdict.allowed:
        if len(decisions) == 1:
            return CodeAdmission(allowed=False, start_over=True)
        scope = (CODE_PER_ACCOUNT if len(decisions) == 2 else CODE_PER_IP).scope
        logger.warning("Back-office code attempts refused by %s (account=%s, ip=%s)",
                       scope, account_id, ip)
        return CodeAdmission(allowed=False, retry_after=verdict.retry_after)
    per_sign_in, *waits = (decision.remaining for decision in decisions)
    nearest_wait = min(waits)
    # A wait that comes with the sign-in's last code is said: it outlasts the sign-in.
    if nearest_wait <= per_sign_in:
        return CodeAdmission(allowed=True, codes_left=nearest_wait, then_wait=True)
    return CodeAdmission(allowed=True, codes_left=per_sign_in)


def code_wait(*, account_id: int, ip: str) -> int:
    """Seconds until staff account `account_id` may try a code again from `ip` (the longer
    of its account and address windows' waits; at least 1: called once one of them is
    full). Counts nothing."""
    decisions = ratelimit.peek_many((CODE_PER_ACCOUNT, str(account_id)),
                                    (CODE_PER_IP, ip_rate_subject(ip)))
    return max([1, *(decision.retry_after for decision in decisions)])


def sign_in_completed(*, identifier: str, account_id: int, ip: str, device: str) -> None:
    """Password and code both right, from `ip` and the browser's `device` (as given to
    password_attempt_admit): the account's failed codes are forgotten, and from a browser
    without the device cookie its (identifier, address) and identifier windows (not its
    address's). The caller gives the browser the device cookie (device_cookie_set)."""
    sign_in_success_forget(identifier=identifier, ip=ip, device=device)
    ratelimit.clear(CODE_PER_ACCOUNT, str(account_id))


def staff_sign_in_failures_clear(*, identifier: str, account_id: int) -> None:
    """Forget a staff account's failed codes and its identifier's shared window: its second
    factor was reset by an administrator, who checked who they are; they must be able to
    enrol at once (the (identifier, address) windows end with their own window)."""
    sign_in_failures_clear(identifier=identifier)
    ratelimit.clear(CODE_PER_ACCOUNT, str(account_id))


def search_admit(*, agent_id: int) -> ratelimit.Decision:
    """Count one helpdesk search by agent `agent_id`, before it runs."""
    return ratelimit.hit(SEARCHES_PER_AGENT, str(agent_id))
