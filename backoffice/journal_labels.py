"""How the helpdesk reads journal events: a French label per kind, and the details worth
showing (the journal never holds a code, a password or a token; see core.journal)."""

from dataclasses import dataclass
from datetime import datetime

from core.journal import EventKind

DETAIL_LABELS = {
    "reason": "motif",
    "state_before": "état avant",
    "state_after": "état après",
    "send": "envoi n°",
    "matched": "fiche trouvée",
    "records": "fiches",
    "step": "étape",
    "profile": "profil",
    "method": "méthode",
    "sign_in_suspended": "connexion suspendue",
}


@dataclass(frozen=True)
class EventLine:
    at: datetime
    kind: str
    label: str
    actor: str
    details: list[tuple[str, str]]
    ip_address: str | None


def _text(value) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _kind_label(kind: str) -> str:
    try:
        return str(EventKind(kind).label)
    except ValueError:  # a kind retired since the event was written
        return kind


def describe_event(event) -> EventLine:
    data = event.data if isinstance(event.data, dict) else {}
    return EventLine(
        at=event.at,
        kind=event.kind,
        label=_kind_label(event.kind),
        actor=event.actor.display_identifier if event.actor_id else "",
        details=[(DETAIL_LABELS.get(key, key), _text(value)) for key, value in data.items()],
        ip_address=event.ip_address,
    )
