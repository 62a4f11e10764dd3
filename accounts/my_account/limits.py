"""The limit on wrong current passwords in « Mon compte » (password change and
re-authentication before a change of e-mail address or phone number), on core.ratelimit.

Someone holding a signed-in session (a shared computer, a stolen cookie) must not be able to
guess the password from it; the owner must never be locked out by that someone. So:

- attempts are counted per account before the check, in a moving window
  (MY_ACCOUNT_MAX_WRONG_PASSWORDS per MY_ACCOUNT_WRONG_PASSWORD_WINDOW_SECONDS), and a right
  password clears the count: what the window holds are the wrong ones;
- under that count every attempt is checked at once; past it, attempts are slowed down, not
  refused for good: one attempt per MY_ACCOUNT_PASSWORD_SLOWDOWN_SECONDS is admitted (an
  atomic one-per-window hit *before* the password check, so parallel requests cannot pass
  more), and the admitted attempt with the right password succeeds.

At the defaults (5 free, then 1 a minute) a guesser gets at most about 1,500 tries a day
against a password of the published policy, and the owner waits at most a minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import ratelimit

WRONG_PASSWORDS = ratelimit.Rule(
    "my-account:wrong-password", "MY_ACCOUNT_MAX_WRONG_PASSWORDS",
    "MY_ACCOUNT_WRONG_PASSWORD_WINDOW_SECONDS",
)


@dataclass(frozen=True)
class _OneAttemptPerSlowdown(ratelimit.Rule):
    """One attempt per window: the pace once the free wrong passwords are spent."""

    @property
    def limit(self) -> int:
        return 1


SLOWDOWN = _OneAttemptPerSlowdown("my-account:password-slowdown", "",
                                  "MY_ACCOUNT_PASSWORD_SLOWDOWN_SECONDS")


def _subject(account_id: int) -> str:
    return f"account:{account_id}"


def current_password_attempt_admit(*, account_id: int) -> ratelimit.Decision:
    """Count one current-password check of the account, before it runs, and say whether it
    may run.

    Counted first, atomically (core.ratelimit.hit), so that parallel requests can never get
    more checks through than the rule allows; the right password then clears the count
    (`current_password_failures_clear`), so what stays counted are the wrong ones. Once the
    free ones are spent, one attempt per slowdown window is admitted.

    An allowed Decision: check the password. A refusing one: do not check it; its
    `retry_after` (seconds) says when the next attempt will be admitted.
    """
    subject = _subject(account_id)
    decision = ratelimit.hit(WRONG_PASSWORDS, subject)
    if decision:
        return decision
    return ratelimit.hit(SLOWDOWN, subject)


def current_password_failures_clear(*, account_id: int) -> None:
    """The right password was typed: forget the wrong ones (and the pace)."""
    subject = _subject(account_id)
    ratelimit.clear(WRONG_PASSWORDS, subject)
    ratelimit.clear(SLOWDOWN, subject)


EMAIL_LINKS = ratelimit.Rule(
    "my-account:email-links", "EMAIL_CHANGE_MAX_LINKS_PER_ACCOUNT",
    "EMAIL_CHANGE_LINK_WINDOW_SECONDS",
)


def email_link_send_admit(*, account_id: int) -> ratelimit.Decision:
    """Count one validation e-mail of the account (a new address, or a resend) before it is
    written; a refusing Decision (`retry_after` seconds) means: send nothing. Counted
    atomically, so parallel requests cannot send more than the limit."""
    return ratelimit.hit(EMAIL_LINKS, _subject(account_id))


PHONE_CHANGES = ratelimit.Rule(
    "my-account:phone-changes", "PHONE_CHANGE_MAX_STARTS_PER_ACCOUNT",
    "PHONE_CHANGE_ACCOUNT_WINDOW_SECONDS",
)


def phone_change_start_admit(*, account_id: int) -> ratelimit.Decision:
    """Count one phone change started by the account, before its flow and its first SMS;
    a refusing Decision (`retry_after` seconds) means: start nothing."""
    return ratelimit.hit(PHONE_CHANGES, _subject(account_id))
