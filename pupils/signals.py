"""What the school's data tells the apps built on it, without importing them (they import
pupils, never the other way round: docs/architecture.md).

`activation_data_fixed` is sent after the commit of a fix by the school — in the back-office
(pupils.services) or by a roster import (pupils.roster_import) — that may unblock a family's
activation: a pupil's birth date changed, or a guardian's mobile number changed. The
activation app listens (activation.apps) and clears the wrong-date and send counters of
those numbers, so that a parent blocked by the wrong date the school just fixed can activate
at once, as the blocked page promises (issue 16 §4).

Arguments: `numbers`, a frozenset of E.164 strings (the mobile numbers concerned: the
guardians' of the pupil whose date changed, the old and new number of a record); `reason`,
"birth_date_fixed" or "mobile_phone_fixed".

`provisional_credentials_renewed` is sent by the school letters (pupils.letters.letters_issue)
inside their transaction, once provisional accounts got a new provisional password (a
reissued letter). Argument: `account_ids`, a list of ints. The activation app listens and
starts those accounts' first sign-in over: the family's validation links die and what the
family had chosen (its new password above all) is forgotten, so that the new letter's
password never becomes the password of an activated account and the old link never
activates an account the school has just given a new letter. A receiver returns the ids of
the accounts it started over (journaled with the letter).
"""

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

activation_data_fixed = Signal()
provisional_credentials_renewed = Signal()


def activation_data_fixed_send(*, numbers: Iterable[str], reason: str) -> None:
    """Send activation_data_fixed once the current transaction commits (never for a fix
    that is rolled back, such as a dry-run import); nothing when `numbers` is empty."""
    numbers = frozenset(n for n in numbers if n)
    if not numbers:
        return
    transaction.on_commit(lambda: activation_data_fixed.send(
        sender=activation_data_fixed, numbers=numbers, reason=reason))
