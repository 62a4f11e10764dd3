"""How the helpdesk reads journal events: a French label per kind, and the details worth
showing (the journal never holds a code, a password or a token; see core.journal)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext_lazy as _

from core.journal import EventKind
from core.models import CodeNotSentReason

DETAIL_LABELS = {
    "reason": _("motif"),
    "state_before": _("état avant"),
    "state_after": _("état après"),
    "send": _("envoi n°"),
    "matched": _("fiche trouvée"),
    "records": _("fiches"),
    "step": _("étape"),
    "profile": _("profil"),
    "method": _("méthode"),
    "sent": _("envoyé"),
    "sign_in_suspended": _("connexion suspendue"),
    # The school's fixes (pupils.services).
    "guardian_record": _("fiche responsable n°"),
    "pupil": _("élève n°"),
    "link": _("lien n°"),
    "establishment": _("établissement (UAI)"),
    "changed": _("champs corrigés"),
    "status_before": _("état avant"),
    "status_after": _("état après"),
    "kept": _("lien maintenu"),
    "is_legal_representative": _("représentant légal"),
    # Recoveries (accounts.recovery).
    "channel": _("canal"),
    # « Mon compte » (accounts.my_account).
    "old_phone": _("ancien numéro"),
    "new_phone": _("nouveau numéro"),
    "old_email": _("ancienne adresse"),
    "new_email": _("nouvelle adresse"),
    "replaced": _("remplace une demande en cours"),
    "old_told": _("ancienne adresse prévenue"),
    # Single sign-on (saml_idp).
    "entity_id": _("service (entityID)"),
    "service": _("service"),
    "children": _("élèves transmis (n°)"),
    "attributes": _("attributs transmis"),
    "initiated_by": _("à l'initiative de"),
    "encrypted": _("assertion chiffrée"),
    "detail": _("détail"),
    "created": _("création"),
    # Single sign-on (oidc_idp).
    "client_id": _("identifiant du service"),
    "scopes": _("portées"),
    "via": _("transmis par"),
    "endpoint": _("point d'accès"),
    "error": _("erreur"),
    "methods": _("méthodes de connexion"),
    # Issue 16: counters cleared, the assistance form, an account closed.
    "numbers": _("numéros"),
    "released_guardian_records": _("fiches responsables libérées"),
    "assistance_request": _("demande d'assistance n°"),
    "category": _("objet"),
    "taken_over": _("reprise à un autre agent"),
    "replies": _("réponses envoyées"),
    "purpose": _("message"),
    # School letters (pupils.letters).
    "letter_run": _("lot de lettres n°"),
    "accounts_created": _("comptes créés"),
    "pupils": _("élèves choisis"),
    "delivery": _("remise"),
    "reissued": _("mot de passe renouvelé"),
    "skipped": _("sans lettre (compte actif)"),
    "emailed": _("envoyées par courriel"),
    "pages": _("pages"),
    # A provisional account closed by an SMS or FranceConnect activation (activation.services).
    "taken_guardian_records": _("fiches reprises par le compte activé"),
    "new_account_id": _("compte activé n°"),
    "new_identifier": _("identifiant du compte activé"),
    "provisional_closed": _("comptes provisoires fermés (n°)"),
}
# Values of « channel » (accounts.recovery), as the helpdesk reads them.
CHANNEL_LABELS = {"sms": _("SMS"), "email": _("courriel")}
# Why a password changed (accounts.services.account_password_set's `reason`).
PASSWORD_CHANGE_REASONS = {
    "my_account": _("modifié par son titulaire dans « Mon compte »"),
    "recovery_sms": _("mot de passe oublié, code reçu par SMS"),
    "recovery_email": _("mot de passe oublié, lien reçu par courriel"),
}
# Values written as codes, read in French (the reason a counter was cleared, the category of
# an assistance request, the purpose of a message).
VALUE_LABELS = {
    "birth_date_fixed": _("date de naissance corrigée par l'établissement"),
    "mobile_phone_fixed": _("numéro corrigé par l'établissement"),
    "roster_fixed": _("données corrigées par un import de l'annuaire"),
    "helpdesk": _("déblocage par l'assistance"),
    "birth_date": _("date de naissance incorrecte"),
    "phone_unknown": _("numéro de téléphone non reconnu"),
    "lost_credentials": _("identifiant ou mot de passe perdu"),
    "other": _("autre demande"),
    "activation_code": _("code d'activation"),
    "paper": _("lettre imprimée"),
    "email": _("courriel"),
    "provisional_letter": _("lettre de l'établissement (identifiant et mot de passe provisoire)"),
}
# Field names listed under « changed », as the back-office's forms label them.
FIELD_LABELS = {
    "mobile_phone": _("téléphone portable"),
    "email": _("adresse électronique"),
    "last_name": _("nom"),
    "first_names": _("prénoms"),
    "birth_date": _("date de naissance"),
    "division": _("classe"),
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
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(_("oui") if value else _("non"))
    if isinstance(value, str) and value in VALUE_LABELS:
        return str(VALUE_LABELS[value])
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _field_labels(value):
    if isinstance(value, list | tuple):
        return [FIELD_LABELS.get(name, name) for name in value]
    return value


def _kind_label(kind: str) -> str:
    try:
        return str(EventKind(kind).label)
    except ValueError:  # a kind retired since the event was written
        return kind


def _detail(key: str, value) -> str:
    # Why a code was not sent (core.codes) reads in French; an agent's typed reason as typed.
    if key == "reason" and value in CodeNotSentReason.values:
        return str(CodeNotSentReason(value).label)
    if key == "reason" and value in PASSWORD_CHANGE_REASONS:
        return str(PASSWORD_CHANGE_REASONS[value])
    if key == "channel" and value in CHANNEL_LABELS:
        return str(CHANNEL_LABELS[value])
    return _text(_field_labels(value) if key == "changed" else value)


def describe_event(event) -> EventLine:
    data = event.data if isinstance(event.data, dict) else {}
    return EventLine(
        at=event.at,
        kind=event.kind,
        label=_kind_label(event.kind),
        actor=event.actor.display_identifier if event.actor_id else "",
        details=[(DETAIL_LABELS.get(key, key), _detail(key, value))
                 for key, value in data.items()],
        ip_address=event.ip_address,
    )
