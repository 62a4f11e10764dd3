"""The sign-in's attempt limits, on core.ratelimit (moving windows in Redis), and the device
cookies that keep an attack on an identifier from locking its owner out: the portal's
sign-in, and the back-office's password step (backoffice.limits, with the same windows for
the same identifier; its browser gets the device cookie once the code is right too).

## The design: device cookies

Identifiers (p.nomNN) are easy to guess, so a hard limit per identifier lets anyone lock any
family out (issue 8 §5: « the per-identifier limit across all IPs only slows down […], it
never makes the right password fail from the owner's own device »). We follow OWASP's « Slow
Down Online Guessing Attacks with Device Cookies » (A. Dedov), the design the OWASP
Authentication Cheat Sheet points to for account lockout without denial of service:

- A successful sign-in gives the browser a **device cookie**: signed (django.core.signing,
  HMAC with SECRET_KEY), HttpOnly, Secure, naming the identifier by a keyed hash (the cookie
  of a shared family computer does not spell who signed in) with a random nonce and its
  date. One cookie holds the entries of up to DEVICE_COOKIE_ENTRIES accounts (two parents on
  one computer: OWASP's « device cookies per account »). Each success replaces the entry
  with a new nonce, as the design recommends.
- An attempt whose browser carries a valid entry for the identifier typed is **trusted**: it
  counts in that device's own window only (LOGIN_MAX_FAILURES_PER_DEVICE attempts per
  LOGIN_FAILURE_WINDOW_SECONDS), which nobody else can fill. Failures elsewhere never refuse
  the owner's own browser. Trusted attempts skip the per-address windows too: one carrier-
  grade NAT or school network shares an address between thousands of people, and the device
  is a better handle on a client than its address (the article's point); a device cookie
  only ever trusts the one account that signed in with it.
- Every other attempt is **untrusted** and counts, in order, in three windows:
  1. per client IP (an IPv4 address, or an IPv6 /64, see core.http.ip_rate_subject):
     LOGIN_MAX_FAILURES_PER_IP attempts across identifiers (password spraying). A success
     does not clear it: else one valid account of their own would let an attacker reset
     their address's counter between guesses; so it counts every attempt, successes too;
  2. per (identifier, client IP): LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP — a guesser at
     one address stops here, and adds no more to the identifier's shared window;
  3. per identifier, shared by every untrusted browser: LOGIN_MAX_FAILURES_PER_IDENTIFIER.
     When it is full, untrusted browsers are refused and told how long to wait (a place
     frees up as each old attempt leaves the moving window, so guessing is slowed down to
     that rate, never stopped for the owner's own devices). The owner on a new device during
     an attack waits, or sets a new password with « Mot de passe oublié ? ».
  A success from an untrusted browser clears windows 2 and 3 (the failures since the last
  success). A new password set through « Mot de passe oublié ? » (the SMS code or the e-mail
  link) proves the owner as well as a password: it clears window 3 and the window 2 of the
  browser that set it (`sign_in_owner_proven`), and that browser gets the device cookie, so
  the new password signs in at once there, from that address without the cookie too. The
  helpdesk's « unlock » clears window 3 and the windows 2 of the addresses of the account's
  recent failed sign-ins (`sign_in_failures_clear`): Redis cannot list windows 2, their keys
  being keyed hashes, but the journal (LOGIN_FAILED, `ip_address`) names the addresses, and
  the helpdesk's file reads those windows the same way (`sign_in_suspensions`). None of them
  clears window 1, for the reason given there.

A device cookie left on a shared computer (a library, a cybercafé) gives whoever uses it next
the device's window for that account: LOGIN_MAX_FAILURES_PER_DEVICE guesses per window, the
rate every untrusted browser shares anyway; it never holds or reveals the password. It is
strictly necessary to the security of the service, so it needs no consent (CNIL guidelines on
cookies, art. 82 of the loi Informatique et Libertés), and it lives
LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS (a year by default; the CNIL's maximum is 13 months).

Issue 8 also offers « a growing delay, or a code by SMS to the owner » for untrusted clients:
a refusal with a wait, within a moving window, costs the owner nothing on their devices and
needs no SMS budget an attacker could spend; we chose it.

## Rules kept

- Counted *before* the password is checked, in one atomic Redis script that refuses without
  counting once a window is full (core.ratelimit.hit_in_order; OWASP ASVS 4.0.3 V2.2.1
  anti-automation, V11.1.6 no time-of-check to time-of-use race): N parallel attempts can
  never get more than a limit through to a password check.
- No enumeration: an identifier that exists and one that does not do the same work — one
  cookie read, one Redis round trip of three windows for an untrusted attempt, the same
  refusal. A trusted attempt needs a cookie that only a successful sign-in gives.
- Redis round trips per sign-in (issue 14 measures them): a failure or a refusal 1; a
  success 1 from a trusted device, 2 from an untrusted one (the clearing). They were 4 and 5.
  The helpdesk's file reads windows 3 and 2 of up to 20 addresses in 1 (a pipeline); its
  « unlock » clears them in 1; a completed recovery clears in 1.

The setting names keep the word « failures » they had when they counted failures only.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

from core import ratelimit
from core.http import ip_rate_subject

logger = logging.getLogger(__name__)

SIGN_IN_PER_IP = ratelimit.Rule(
    "sign-in:ip", "LOGIN_MAX_FAILURES_PER_IP", "LOGIN_FAILURE_WINDOW_SECONDS"
)
SIGN_IN_PER_IDENTIFIER_AND_IP = ratelimit.Rule(
    "sign-in:identifier-ip", "LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP",
    "LOGIN_FAILURE_WINDOW_SECONDS",
)
# Untrusted browsers only: the identifier's window shared by every browser without its
# device cookie (the helpdesk reads and clears it).
SIGN_IN_PER_IDENTIFIER = ratelimit.Rule(
    "sign-in:identifier", "LOGIN_MAX_FAILURES_PER_IDENTIFIER", "LOGIN_FAILURE_WINDOW_SECONDS"
)
SIGN_IN_PER_DEVICE = ratelimit.Rule(
    "sign-in:device", "LOGIN_MAX_FAILURES_PER_DEVICE", "LOGIN_FAILURE_WINDOW_SECONDS"
)

DEVICE_COOKIE_NAME = "educonnect_appareil"
DEVICE_COOKIE_ENTRIES = 5  # accounts remembered by one browser
_DEVICE_COOKIE_SALT = "accounts.limits.device-cookie"
_DEVICE_IDENTIFIER_SALT = "accounts.limits.device-identifier"


@dataclass(frozen=True)
class SignInAdmission:
    """What the limits said about one attempt: `allowed`, else `retry_after` seconds; and
    `device`, the nonce of the browser's device cookie for this identifier ("" when the
    attempt is untrusted), to pass back to `sign_in_success_forget`."""

    allowed: bool
    retry_after: int
    device: str

    @property
    def trusted(self) -> bool:
        return bool(self.device)


def _identifier_tag(identifier: str) -> str:
    # The identifier as the cookie names it: keyed, so the cookie does not spell it.
    return salted_hmac(_DEVICE_IDENTIFIER_SALT, identifier, algorithm="sha256").hexdigest()[:20]


def _device_entries(request) -> list[list]:
    """The valid entries of the request's device cookie: [identifier tag, nonce, issued at
    (Unix seconds)], newest first; [] for a missing, forged, expired or malformed cookie."""
    value = request.COOKIES.get(DEVICE_COOKIE_NAME) if request is not None else None
    if not value:
        return []
    max_age = settings.LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS
    try:
        entries = signing.loads(value, salt=_DEVICE_COOKIE_SALT, max_age=max_age)
    except signing.BadSignature:  # also SignatureExpired
        return []
    if not isinstance(entries, list):
        return []
    oldest = time.time() - max_age
    return [
        entry for entry in entries[:DEVICE_COOKIE_ENTRIES]
        if isinstance(entry, list) and len(entry) == 3
        and all(isinstance(part, str) for part in entry[:2])
        and isinstance(entry[2], int) and entry[2] >= oldest
    ]


def sign_in_device(request, *, identifier: str) -> str:
    """The nonce of `request`'s device cookie entry for `identifier` (normalised), or "" when
    the browser has none: the same work (one signature check, one HMAC) whatever the
    identifier."""
    tag = _identifier_tag(identifier)
    for entry_tag, nonce, _issued in _device_entries(request):
        if secrets.compare_digest(entry_tag, tag):
            return nonce
    return ""


def device_cookie_set(response, request, *, identifier: str) -> None:
    """Give the browser a device cookie entry for `identifier` (normalised), with a fresh
    nonce, keeping its entries for other accounts (the newest DEVICE_COOKIE_ENTRIES).

    Call it after a successful sign-in, and after anything that proves the owner as well as
    a password does (a new password set through « Mot de passe oublié ? », as OWASP's design
    suggests). The cookie lives LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS; HttpOnly, SameSite=Lax,
    Secure as the session cookie."""
    tag = _identifier_tag(identifier)
    kept = [entry for entry in _device_entries(request) if entry[0] != tag]
    entries = [[tag, secrets.token_urlsafe(12), int(time.time())], *kept]
    response.set_cookie(
        DEVICE_COOKIE_NAME,
        signing.dumps(entries[:DEVICE_COOKIE_ENTRIES], salt=_DEVICE_COOKIE_SALT, compress=True),
        max_age=settings.LOGIN_DEVICE_COOKIE_MAX_AGE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _device_subject(identifier: str, device: str) -> str:
    return f"{identifier}\n{device}"


def _pair_subject(identifier: str, ip: str) -> str:
    return f"{identifier}\n{ip_rate_subject(ip)}"


def sign_in_attempt_admit(*, identifier: str, ip: str, device: str = "") -> SignInAdmission:
    """Count one sign-in attempt of `identifier` (normalised) from `ip` (core.http.client_ip,
    "" when unknown) and the browser's `device` (sign_in_device), before its password is
    checked.

    Trusted (`device` set): the device's own window. Untrusted: the address's, then the
    (identifier, address) pair's, then the identifier's shared window, stopping at the first
    full one. When a window is full the attempt must stop before any password check and show
    the wait (`retry_after` seconds). One Redis round trip; the same for an identifier that
    exists and one that does not.
    """
    if device:
        steps = [(SIGN_IN_PER_DEVICE, _device_subject(identifier, device))]
    else:
        steps = [(SIGN_IN_PER_IP, ip_rate_subject(ip)),
                 (SIGN_IN_PER_IDENTIFIER_AND_IP, _pair_subject(identifier, ip)),
                 (SIGN_IN_PER_IDENTIFIER, identifier)]
    decisions = ratelimit.hit_in_order(*steps)
    for (rule, _subject), decision in zip(steps, decisions, strict=False):
        if decision.allowed and decision.remaining == 0:
            # The identifier is not logged: it is personal data, and maybe a typo of a password.
            logger.warning("Sign-in attempts limit reached (%s, ip=%s)", rule.scope, ip)
    verdict = decisions[-1]
    return SignInAdmission(allowed=verdict.allowed, retry_after=verdict.retry_after,
                           device=device)


def sign_in_success_forget(*, identifier: str, ip: str, device: str = "") -> None:
    """After a right password: forget the failures since the last success. Untrusted, the
    (identifier, address) and the identifier's windows (one Redis round trip); trusted,
    nothing (the device gets a new nonce, so a new window, from device_cookie_set). The
    address's window is never cleared (see the module docstring)."""
    if not device:
        ratelimit.clear_many((SIGN_IN_PER_IDENTIFIER_AND_IP, _pair_subject(identifier, ip)),
                             (SIGN_IN_PER_IDENTIFIER, identifier))


def sign_in_owner_proven(*, identifier: str, ip: str) -> None:
    """After a path that proves the owner as well as a password does (a new password set
    through « Mot de passe oublié ? », by the SMS code or the e-mail link): forget the
    untrusted failures that would refuse the new password from the browser that proved it —
    the (identifier, `ip`) window (2) and the identifier's shared window (3), one Redis round
    trip. The caller also gives that browser the device cookie (device_cookie_set).

    The rule is OWASP's « Slow Down Online Guessing Attacks with Device Cookies »: a lockout
    may stop untrusted guessing, never the owner once proven (the module docstring, « The
    design »). The address's own window (1) is kept, as after a right password: proving one
    account of one's own must not reset an address's count of attempts across identifiers.
    """
    ratelimit.clear_many((SIGN_IN_PER_IDENTIFIER_AND_IP, _pair_subject(identifier, ip)),
                         (SIGN_IN_PER_IDENTIFIER, identifier))


@dataclass(frozen=True)
class SignInSuspensions:
    """Where sign-in of one identifier is suspended for browsers without its device cookie
    (for the helpdesk): `shared_retry_after`, the seconds its shared window (3) still refuses
    every such browser (0: not full); `addresses`, the client IPs (as given) whose
    (identifier, address) window (2) is full, with the seconds each still refuses, longest
    wait first."""

    shared_retry_after: int
    addresses: tuple[tuple[str, int], ...]

    @property
    def suspended(self) -> bool:
        return bool(self.shared_retry_after or self.addresses)


def _pair_steps(identifier: str, ips: Iterable[str]) -> dict[str, tuple[ratelimit.Rule, str]]:
    """The (identifier, address) windows of `ips`, by the first address naming each: one
    window per ip_rate_subject (the addresses of one IPv6 /64 share it)."""
    seen: dict[str, str] = {}
    for ip in ips:
        seen.setdefault(ip_rate_subject(ip), ip)
    return {ip: (SIGN_IN_PER_IDENTIFIER_AND_IP, _pair_subject(identifier, ip))
            for ip in seen.values()}


def sign_in_suspensions(*, identifier: str, ips: Iterable[str] = ()) -> SignInSuspensions:
    """Read, without counting, the windows that refuse untrusted sign-ins of `identifier`
    (normalised): its shared window (3) and its (identifier, address) windows (2) of `ips`,
    the client IPs to look at (strings of core.http.client_ip). The pair windows cannot be
    listed from Redis (their keys are keyed hashes): the caller names the addresses, the
    helpdesk from the journal's recent failed sign-ins. One Redis round trip
    (core.ratelimit.peek_many)."""
    pairs = _pair_steps(identifier, ips)
    shared, *pair_decisions = ratelimit.peek_many((SIGN_IN_PER_IDENTIFIER, identifier),
                                                  *pairs.values())
    addresses = [(ip, decision.retry_after)
                 for ip, decision in zip(pairs, pair_decisions, strict=True)
                 if not decision.allowed]
    return SignInSuspensions(
        shared_retry_after=0 if shared.allowed else shared.retry_after,
        addresses=tuple(sorted(addresses, key=lambda pair: -pair[1])),
    )


def sign_in_suspension(*, identifier: str) -> ratelimit.Decision:
    """Whether `identifier` may try to sign in now from a browser without its device cookie,
    without counting, as far as its shared window (3) says: a refusing Decision tells how
    long its sign-in stays suspended for every such browser. sign_in_suspensions reads the
    (identifier, address) windows too."""
    return ratelimit.peek(SIGN_IN_PER_IDENTIFIER, identifier)


def sign_in_failures_clear(*, identifier: str, ips: Iterable[str] = ()) -> None:
    """Forget the failed attempts of `identifier` in its shared window (3) and in its
    (identifier, address) windows (2) of `ips` (client IPs), one Redis round trip: the
    helpdesk's « unlock », which names the addresses of the account's recent failed sign-ins
    (the pair windows cannot be listed). The windows of one device end with their window;
    the address's own window (1) is never cleared (module docstring)."""
    ratelimit.clear_many((SIGN_IN_PER_IDENTIFIER, identifier),
                         *_pair_steps(identifier, ips).values())
