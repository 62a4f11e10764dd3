"""Writing to the append-only journal: one function per event kind family.

Callers pass facts, never secrets: no code, password or token may reach `data`.
"""

from uuid import UUID

from educonnect.http import client_ip

from .models import Account, JournalEvent

FORBIDDEN_KEYS = {"password", "code", "token", "secret", "otp"}


def journal_record(
    kind: str,
    *,
    request=None,
    account: Account | None = None,
    actor: Account | None = None,
    flow_id: UUID | None = None,
    **data,
) -> JournalEvent:
    leaked = FORBIDDEN_KEYS.intersection(k.lower() for k in data)
    if leaked:
        raise ValueError(f"Secrets must not be journaled: {sorted(leaked)}")
    return JournalEvent.objects.create(
        kind=kind,
        account=account,
        actor=actor,
        flow_id=flow_id,
        ip_address=(client_ip(request) or None) if request is not None else None,
        data=data,
    )
