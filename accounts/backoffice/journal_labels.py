"""How the helpdesk reads journal events: a French label per kind, and the details worth
showing (the journal never holds a code, a password or a token; see accounts.journal)."""

from dataclasses import dataclass
from datetime import datetime

LABELS = {
    "activation_started": "Activation par SMS commencée",
    "activation_code_sent": "Code d'activation envoyé par SMS",
    "activation_code_not_sent": "Activation : aucune fiche trouvée, aucun SMS envoyé",
    "activation_code_rejected": "Activation : code de sécurité erroné",
    "activation_too_many_codes": "Activation : trop de codes erronés",
    "activation_code_verified": "Activation : code de sécurité vérifié",
    "activation_birthdate_rejected": "Activation : date de naissance erronée",
    "activation_link_disputed": "Activation : lien avec un élève contesté",
    "activation_pupils_confirmed": "Activation : élèves confirmés",
    "activation_blocked": "Activation bloquée (dates de naissance)",
    "activation_already_active": "Activation : un compte existe déjà",
    "account_activated": "Compte activé",
    "login_succeeded": "Connexion réussie",
    "login_failed": "Échec de connexion",
    "logout": "Déconnexion",
    "backoffice.signed_in": "Connexion au back-office",
    "backoffice.sign_in_failed": "Échec de connexion au back-office",
    "backoffice.second_factor_enrolled": "Second facteur enregistré",
    "backoffice.second_factor_reset": "Second facteur réinitialisé",
    "backoffice.staff_created": "Personnel créé",
    "backoffice.staff_updated": "Personnel modifié",
    "helpdesk.account_viewed": "Consultation par l'assistance",
    "helpdesk.record_viewed": "Consultation d'une fiche par l'assistance",
    "helpdesk.account_unlocked": "Compte déverrouillé par l'assistance",
    "helpdesk.account_closed": "Compte fermé par l'assistance",
    "helpdesk.activation_sms_resent": "SMS d'activation renvoyé par l'assistance",
}

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


def describe_event(event) -> EventLine:
    data = event.data if isinstance(event.data, dict) else {}
    return EventLine(
        at=event.at,
        kind=event.kind,
        label=LABELS.get(event.kind, event.kind),
        actor=event.actor.display_identifier if event.actor_id else "",
        details=[(DETAIL_LABELS.get(key, key), _text(value)) for key, value in data.items()],
        ip_address=event.ip_address,
    )
