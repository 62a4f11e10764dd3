"""How the helpdesk reads journal events: a French label per kind, and the details worth
showing (the journal never holds a code, a password or a token; see core.journal)."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, AccountKind, StaffRole
from core.journal import EventKind
from core.models import CodeNotSentReason
from core.ratelimit import wait_text
from pupils.models import Establishment, GuardianRecord, LetterRun, Pupil

from .selectors import accounts_scope_q

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
    "phone_told": _("numéro du compte prévenu"),
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
    "emailed": _("envoyées par mail"),
    "pages": _("pages"),
    # A provisional account closed by an SMS or FranceConnect activation (activation.services).
    "taken_guardian_records": _("fiches reprises par le compte activé"),
    "new_account_id": _("compte activé n°"),
    "new_identifier": _("identifiant du compte activé"),
    "provisional_closed": _("comptes provisoires fermés (n°)"),
    # Sign-in, activation and « Ajouter un enfant » (accounts, activation, families).
    "pupil_id": _("élève n°"),
    "attempt": _("tentative n°"),
    "attempts": _("tentatives d'envoi"),
    "wrong_dates": _("dates de naissance incorrectes"),
    # Which limit of wrong birth dates blocked an activation (activation.services._block);
    # shown as one « règle » sentence (_blocked_rule), these names for the admin's raw view.
    "block": _("limite atteinte"),
    "journey_limit": _("limite d'un parcours"),
    "window_limit": _("limite sur plusieurs parcours"),
    "window_seconds": _("durée de cette limite (secondes)"),
    "counted_on": _("compté sur"),
    "wait_seconds": _("attente avant une nouvelle date (secondes)"),
    "sms_sent": _("SMS d'activation comptés"),
    "letter_wrong_dates": _("dates de naissance incorrectes (courrier de l'établissement)"),
    "sends": _("envois"),
    "pupils_alone": _("élèves sans autre responsable"),
    "released_pupils": _("élèves libérés (n°)"),
    "first_sign_in_restarted": _("première connexion à reprendre"),
    "password_changed": _("mot de passe modifié"),
    "email": _("adresse"),
    "guardian_records": _("fiches responsables"),
    "guardian_record_id": _("fiche responsable n°"),
    "responsibility_id": _("lien n°"),
    "disputed": _("liens contestés"),
    "fields": _("champs modifiés"),
    # Merging two accounts (families) and its effects (franceconnect, oidc_idp).
    "other_account_id": _("autre compte n°"),
    "other_identifier": _("identifiant de l'autre compte"),
    "kept_account_id": _("compte conservé n°"),
    "kept_identifier": _("identifiant du compte conservé"),
    "closed_account_id": _("compte fermé n°"),
    "guardian_record_ids": _("fiches responsables (n°)"),
    # Whether the sign-out ended the FranceConnect session too (accounts.views.logout_view).
    "provider": _("déconnexion de FranceConnect aussi"),
    # The outbox (notifications).
    "message_id": _("message n°"),
    "age_seconds": _("âge (secondes)"),
    "last_error": _("dernière erreur"),
    # Staff accounts (backoffice.services).
    "before": _("avant"),
    "after": _("après"),
    "role": _("rôle"),
    "academy": _("académie"),
    "establishments": _("établissements (UAI)"),
    # A roster import (pupils.roster_import).
    "file": _("fichier"),
    "completed": _("terminé"),
    "rows": _("lignes"),
    "warnings": _("avertissements"),
    "establishments_created": _("établissements créés"),
    "updated": _("mis à jour"),
    "unchanged": _("inchangés"),
    "rejected": _("refusés"),
    "seconds": _("durée (secondes)"),
    "read": _("lues"),
    "imported": _("importées"),
    "guardians": _("responsables"),
    "links": _("liens responsable–élève"),
    # A FranceConnect answer refused (franceconnect.services).
    "known": _("demande connue"),
    "this_browser": _("même navigateur"),
}


def detail_name(key: str) -> str:
    """The French name of a journal fact; a key with no label (an event written before it
    was labelled) reads as words rather than as a code: « some_key » → « some key »."""
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


# What each message of the outbox is for (the `purpose` given to
# notifications.services.sms_enqueue / email_enqueue and notifications.emails.email_send, and
# the names of core.codes' code purposes), as the helpdesk reads it.
MESSAGE_PURPOSE_LABELS = {
    "activation_code": _("code d'activation"),
    "child_attach_code": _("code pour ajouter un enfant"),
    "phone_change_code": _("code de changement de numéro"),
    "password_reset_sms": _("code de mot de passe oublié"),
    "password_reset_link": _("lien de mot de passe oublié"),
    "password_changed": _("avis de mot de passe modifié (mot de passe oublié)"),
    "password_changed_notice": _("avis de mot de passe modifié (Mon compte)"),
    "phone_changed_notice": _("avis de changement de numéro"),
    "email_change": _("lien de validation de la nouvelle adresse"),
    "email_change_notice": _("avis de changement d'adresse"),
    "email_changed_notice": _("avis d'adresse remplacée (SMS au numéro du compte)"),
    "identifier_reminder": _("rappel de l'identifiant"),
    "children_attached_notice": _("avis d'enfant rattaché au compte"),
    "accounts_merged_notice": _("avis de regroupement de comptes"),
    "account_activation_email": _("lien d'activation du compte (courrier de l'établissement)"),
    "provisional_letter": _("lettre de l'établissement (identifiant et mot de passe provisoire)"),
    "assistance_acknowledgement": _("accusé de réception d'une demande d'assistance"),
    "assistance_reply": _("réponse de l'assistance"),
    "django_mail": _("mail technique du portail"),
}


def message_purpose_label(purpose: str) -> str:
    """What a message of the outbox is for, in French; an unlabelled purpose as words."""
    label = MESSAGE_PURPOSE_LABELS.get(purpose)
    return str(label) if label is not None else purpose.replace("_", " ")


# Values of « reason »: why a sign-in, a merge, a code, a single sign-on… was refused or
# happened (accounts.forms, families.services, franceconnect, saml_idp, oidc_idp, core.codes).
REASON_LABELS = {
    # The portal sign-in (accounts.forms._journal_failure).
    "unknown_identifier": _("identifiant inconnu"),
    "wrong_password": _("mot de passe erroné"),
    "wrong_profile": _("profil choisi différent de celui du compte"),
    "staff_account": _("compte du personnel"),
    "account_provisional": _("compte provisoire"),
    "account_active": _("compte actif"),
    "account_locked": _("compte verrouillé"),
    "account_closed": _("compte fermé"),
    # « Ajouter des enfants depuis un autre compte » (families.services).
    "wrong_pair": _("identifiant ou mot de passe de l'autre compte erroné"),
    "names_differ": _("noms différents sur les deux comptes"),
    "already_merged": _("autre compte déjà regroupé (fermé)"),
    "letter_replaced": _("courrier dont le compte a déjà été activé (par SMS ou FranceConnect)"),
    "pupil_account": _("l'autre compte est un compte élève"),
    # FranceConnect (franceconnect).
    "logout_state": _("déconnexion FranceConnect inattendue"),
    "account_unavailable": _("compte indisponible"),
    "merged_into_account_with_link": _("regroupé avec un compte déjà lié à FranceConnect"),
    "moved_by_merge": _("déplacé par un regroupement de comptes"),
    "access_denied": _("annulé par la personne sur FranceConnect"),
    "provider_unavailable": _("FranceConnect indisponible"),
    "provider_error": _("erreur de FranceConnect"),
    "state": _("demande inconnue, déjà utilisée ou expirée"),
    "malformed": _("réponse ou demande illisible"),
    "token_exchange": _("échange du code refusé"),
    "signature": _("signature invalide"),
    "unknown_key": _("clé de signature inconnue"),
    "algorithm": _("algorithme de signature refusé"),
    "expired": _("expiré"),
    "claims": _("informations d'identité incorrectes"),
    "nonce": _("nonce incorrect"),
    "acr": _("niveau de sécurité insuffisant"),
    "userinfo": _("informations d'identité illisibles"),
    # SAML (saml_idp.services.REFUSALS).
    "unknown_provider": _("service inconnu"),
    "missing_signature": _("demande non signée"),
    "bad_signature": _("signature de la demande invalide"),
    "unregistered_acs": _("adresse de retour non déclarée"),
    "replayed": _("demande déjà utilisée"),
    "staff": _("compte du personnel"),
    "lost": _("demande plus en cours"),
    "unavailable": _("service momentanément indisponible"),
    # OpenID Connect (oidc_idp.views).
    "invalid_request": _("demande invalide"),
    "unknown_client": _("service non enregistré"),
    # Recoveries (accounts.recovery).
    "recovery_sms": _("mot de passe oublié, code reçu par SMS"),
    "recovery_email": _("mot de passe oublié, lien reçu par mail"),
}
# Profiles, account states, channels, methods, steps: the enumerations a fact may hold,
# by the key that holds them.
PROFILE_LABELS = {
    "guardian": _("représentant légal"),
    "pupil": _("élève"),
    "staff": _("personnel"),
}
STATE_LABELS = {
    "provisional": _("provisoire"),
    "active": _("actif"),
    "locked": _("verrouillé"),
    "closed": _("fermé"),
}
METHOD_LABELS = {
    "sms": _("SMS"),
    "sms_activation": _("activation par SMS"),
    "franceconnect": _("FranceConnect"),
    "letter": _("courrier de l'établissement"),
    "roster_import": _("import de l'annuaire de l'établissement"),
    "child_attach": _("ajout d'un enfant par SMS"),
    "email": _("mail"),
}
STEP_LABELS = {
    "password": _("mot de passe"),
    "second_factor": _("code de l'application d'authentification"),
    "identity": _("identité"),
    "identifier": _("identifiant"),
    "number": _("numéro de téléphone"),
    "phone": _("numéro de téléphone"),
    "channel": _("choix du canal"),
    "code": _("code de sécurité"),
    "link": _("lien reçu par mail"),
    "pupils": _("dates de naissance des enfants"),
    "email": _("adresse mail"),
    "sent": _("mail envoyé"),
    "done": _("terminé"),
}
# Values of « block » and « counted_on » (activation.services.BLOCK_*, COUNTED_ON_*).
BLOCK_LABELS = {
    "journey": _("celle d'un parcours"),
    "window": _("celle de plusieurs parcours"),
}
COUNTED_ON_LABELS = {
    "phone": _("le numéro de téléphone"),
    "account": _("le compte"),
}
INITIATED_BY_LABELS = {
    "idp": _("ÉduConnect"),
    "sp": _("le service"),
}
# Values of « channel » (accounts.recovery, the outbox), as the helpdesk reads them.
CHANNEL_LABELS = {"sms": _("SMS"), "email": _("mail")}
# Why a password changed (accounts.services.account_password_set's `reason`).
PASSWORD_CHANGE_REASONS = {
    "my_account": _("modifié par son titulaire dans « Mon compte »"),
    "recovery_sms": _("mot de passe oublié, code reçu par SMS"),
    "recovery_email": _("mot de passe oublié, lien reçu par mail"),
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
    "email": _("mail"),
    "provisional_letter": _("lettre de l'établissement (identifiant et mot de passe provisoire)"),
}
# Field names listed under « changed », as the back-office's forms label them.
FIELD_LABELS = {
    "mobile_phone": _("téléphone portable"),
    "email": _("adresse mail"),
    "last_name": _("nom"),
    "first_names": _("prénoms"),
    "birth_date": _("date de naissance"),
    "division": _("classe"),
}


# The labels of a fact's value, by the fact's key (« reason » has its own rules: _detail).
VALUE_LABELS_BY_KEY = {
    "profile": PROFILE_LABELS,
    "state_before": STATE_LABELS,
    "state_after": STATE_LABELS,
    "channel": CHANNEL_LABELS,
    "method": METHOD_LABELS,
    "step": STEP_LABELS,
    "initiated_by": INITIATED_BY_LABELS,
    "purpose": MESSAGE_PURPOSE_LABELS,
    "role": dict(StaffRole.choices),
    "block": BLOCK_LABELS,
    "counted_on": COUNTED_ON_LABELS,
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
    if key == "reason" and isinstance(value, str) and value in REASON_LABELS:
        return str(REASON_LABELS[value])
    labels = VALUE_LABELS_BY_KEY.get(key)
    if labels is not None and isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, dict):
        # A nested count (a roster import's rows): its keys named too.
        return ", ".join(f"{detail_name(k)} {_text(v)}" for k, v in value.items()) or "—"
    return _text(_field_labels(value) if key == "changed" else value)


# --- An activation blocked by wrong birth dates: which limit, what it was, how long --------

# The facts of ACTIVATION_BLOCKED said together in one « règle » sentence (_blocked_rule).
BLOCK_FACTS = ("block", "journey_limit", "window_limit", "window_seconds", "counted_on",
               "wait_seconds")


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _blocked_label(data: dict) -> str:
    """The label of an ACTIVATION_BLOCKED event, by the limit it records (`block`, written
    by activation.services._block): the journey's own limit (a new journey may start at
    once) or the limit shared by every journey of the number or the account, which holds
    until a place frees. An event written before `block` was recorded says that it does
    not know which, rather than guess."""
    window = _count(data.get("window_seconds"))
    if data.get("block") == "journey":
        return gettext("Activation bloquée : limite d'un parcours atteinte (dates de "
                       "naissance), nouvel essai possible aussitôt")
    if data.get("block") == "window" and window:
        return gettext("Activation bloquée %(window)s : limite sur %(window)s atteinte (dates "
                       "de naissance)") % {"window": wait_text(window)}
    return gettext("Activation bloquée (dates de naissance) : limite atteinte non enregistrée "
                   "dans cet événement (celle d'un parcours ou celle de plusieurs parcours)")


def _blocked_rule(event, data: dict) -> str | None:
    """The rule an ACTIVATION_BLOCKED event applied, in one French sentence, from its own
    facts (`journey_limit`, `window_limit`, `window_seconds`, `counted_on`, `wait_seconds`):
    for the journey's limit, how many wrong dates a journey allows and how many the window
    still bounds; for the window's, how many it allows, over how long, on what, and until
    when the block holds (`event.at` + `wait_seconds`, local time). None when the event
    does not record them (written before; its label says so)."""
    block = data.get("block")
    journey_limit, window_limit = _count(data.get("journey_limit")), _count(
        data.get("window_limit"))
    window, wait = _count(data.get("window_seconds")), _count(data.get("wait_seconds"))
    on = (gettext("sur ce compte") if data.get("counted_on") == "account"
          else gettext("sur ce numéro"))
    if block == "journey" and journey_limit and window_limit and window:
        return ngettext(
            "%(count)d date de naissance incorrecte au plus dans un même parcours : ce parcours "
            "est arrêté, une nouvelle activation peut commencer aussitôt, dans la limite de "
            "%(window_limit)d dates incorrectes en %(window)s %(on)s",
            "%(count)d dates de naissance incorrectes au plus dans un même parcours : ce parcours "
            "est arrêté, une nouvelle activation peut commencer aussitôt, dans la limite de "
            "%(window_limit)d dates incorrectes en %(window)s %(on)s",
            journey_limit,
        ) % {"count": journey_limit, "window_limit": window_limit,
             "window": wait_text(window), "on": on}
    if block == "window" and window_limit and window and wait is not None:
        until = timezone.localtime(event.at + timedelta(seconds=wait))
        return ngettext(
            "%(count)d date de naissance incorrecte au plus en %(window)s %(on)s, tous parcours "
            "confondus : aucune nouvelle date avant le %(date)s à %(time)s, sauf déblocage "
            "par l'assistance",
            "%(count)d dates de naissance incorrectes au plus en %(window)s %(on)s, tous parcours "
            "confondus : aucune nouvelle date avant le %(date)s à %(time)s, sauf déblocage "
            "par l'assistance",
            window_limit,
        ) % {"count": window_limit, "window": wait_text(window), "on": on,
             "date": formats.date_format(until, "d/m/Y"),
             "time": formats.time_format(until, "H:i")}
    return None


def _detail_items(event) -> list[tuple[str | None, str, object]]:
    """(fact key, French name, French value) of each fact shown; key None for a sentence
    made of several facts (an activation block's « règle », whose facts are then left out)."""
    data = event.data if isinstance(event.data, dict) else {}
    rule = (_blocked_rule(event, data) if event.kind == EventKind.ACTIVATION_BLOCKED.value
            else None)
    items = [(key, detail_name(key), _detail(key, value)) for key, value in data.items()
             if rule is None or key not in BLOCK_FACTS]
    if rule is not None:
        items.append((None, gettext("règle"), rule))
    return items


def _event_label(event) -> str:
    if event.kind == EventKind.ACTIVATION_BLOCKED.value:
        return _blocked_label(event.data if isinstance(event.data, dict) else {})
    return _kind_label(event.kind)


def describe_event(event) -> EventLine:
    """`event` (core.models.JournalEvent, or anything with its attributes) as the helpdesk
    reads it: its kind's French label (an activation block's says which limit it was,
    _blocked_label), its author, and each fact by its French name and value."""
    return EventLine(
        at=event.at,
        kind=event.kind,
        label=_event_label(event),
        actor=event.actor.display_identifier if event.actor_id else "",
        details=[(name, value) for _key, name, value in _detail_items(event)],
        ip_address=event.ip_address,
    )


@dataclass(frozen=True)
class MessageLine:
    """A message of the outbox as the helpdesk's « Messages envoyés » shows it: no code, no
    text, its purpose and state in French."""

    created_at: datetime
    channel: str
    purpose: str
    recipient: str
    status: str


def describe_message(message) -> MessageLine:
    """`message` (notifications.models.OutboundMessage) in French: its channel, what it is
    for (MESSAGE_PURPOSE_LABELS), its state's label alone (the provider's own word, « sent »,
    « delivered », stays in the admin of the outbox)."""
    return MessageLine(created_at=message.created_at, channel=message.get_channel_display(),
                       purpose=message_purpose_label(message.purpose),
                       recipient=message.recipient, status=message.get_status_display())


# --- Ids read as names (the helpdesk's pages) ----------------------------------------------


class Named(str):
    """A fact's value read as a name (« Zoé LEFÈVRE, Collège Jules-Ferry »), with the page
    of the helpdesk it opens (`url`, "" when none): a str, so it compares and prints as its
    text."""

    url: str = ""

    def __new__(cls, text: str, url: str = ""):
        named = super().__new__(cls, text)
        named.url = url
        return named


class NamedList(str):
    """A fact holding several ids read as names (« fiches responsables : LEFÈVRE Hélène,
    Collège Jules-Ferry / … »): a str of the names joined, `parts` the Named of each, so
    that the page links each one."""

    parts: tuple = ()
    url: str = ""

    def __new__(cls, parts):
        named = super().__new__(cls, " / ".join(parts))
        named.parts = tuple(parts)
        return named


# Facts holding the id of a pupil, a guardian record, a letter run or an account, and the
# name they are read under once the id is replaced by what it names.
NAMED_FACTS = {
    "pupil": ("pupil", _("élève")),
    "pupil_id": ("pupil", _("élève")),
    "guardian_record": ("record", _("fiche responsable")),
    "guardian_record_id": ("record", _("fiche responsable")),
    "letter_run": ("run", _("lot de lettres")),
    # Merging two accounts (families.services): the other account, by its identifier.
    "other_account_id": ("account", _("autre compte")),
    "kept_account_id": ("account", _("compte conservé")),
    "closed_account_id": ("account", _("compte fermé")),
}
# Facts named only in some kinds of event: an account another account was merged with is
# the same person (both passwords proven), while the other account of a refused merge
# (« noms différents ») may be someone else's, of another academy: it stays an id.
NAMED_ONLY_IN = {
    "other_account_id": {EventKind.ACCOUNTS_MERGED.value},
}
# Facts holding a list of such ids.
NAMED_LIST_FACTS = {
    "guardian_record_ids": ("record", _("fiches responsables")),
}
# Facts that only repeat the identifier of an account a NAMED_FACTS id names: left out once
# that account is named (by the same identifier).
IDENTIFIER_OF = {
    "other_identifier": "other_account_id",
    "kept_identifier": "kept_account_id",
}


def _named_in(key: str, kind: str) -> bool:
    return key not in NAMED_ONLY_IN or kind in NAMED_ONLY_IN[key]


def _ids(value) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list | tuple) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return []


# A pupil or a guardian record outside the reader's scope (another academy's, named by an
# event of an account that spans academies): neither its name nor its school is shown.
OTHER_ACADEMY_PUPIL = _("élève d'une autre académie")
OTHER_ACADEMY_RECORD = _("fiche d'une autre académie")
OTHER_ACADEMY_SCHOOL = _("établissement d'une autre académie")


def _schools_outside(events, scope) -> set[str]:
    """The UAIs of the events' « establishment » facts that are outside `scope` (None or
    everything: none). One query when an event holds one."""
    if scope is None or scope.everything:
        return set()
    uais = {event.data["establishment"] for event in events
            if isinstance(event.data, dict) and isinstance(event.data.get("establishment"), str)}
    if not uais:
        return set()
    inside = set(Establishment.objects.filter(scope.establishment_q("pk"), uai__in=uais)
                 .values_list("uai", flat=True))
    return uais - inside


def _names(events, scope=None) -> dict[tuple[str, int], Named]:
    """{(what, id): Named} for the ids the events' NAMED_FACTS hold: one query per kind of
    row named (none when no event holds one). With `scope`, an account outside it is named
    without its link; a guardian record or a pupil outside it is not named at all
    (OTHER_ACADEMY_RECORD, OTHER_ACADEMY_PUPIL: « fiche d'une autre académie »), its name
    and school being another academy's data."""
    wanted: dict[str, set[int]] = {"pupil": set(), "record": set(), "run": set(),
                                   "account": set()}
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        for key, (what, _label) in NAMED_FACTS.items():
            if isinstance(data.get(key), int) and _named_in(key, event.kind):
                wanted[what].add(data[key])
        for key, (what, _label) in NAMED_LIST_FACTS.items():
            if isinstance(data.get(key), list):
                wanted[what].update(_ids(data[key]))
    names = {}
    if wanted["pupil"]:
        pupils = Pupil.objects.filter(pk__in=wanted["pupil"]).select_related(
            "establishment").only("last_name", "first_names", "establishment__name")
        if scope is not None:
            pupils = pupils.annotate(in_scope=Exists(Pupil.objects.filter(
                scope.establishment_q("establishment"), pk=OuterRef("pk"))))
        for pupil in pupils:
            names["pupil", pupil.pk] = (
                Named(f"{pupil.last_name.upper()} {pupil.first_names}, "
                      f"{pupil.establishment.name}")
                if getattr(pupil, "in_scope", True) else Named(str(OTHER_ACADEMY_PUPIL)))
    if wanted["record"]:
        records = GuardianRecord.objects.filter(pk__in=wanted["record"]).select_related(
            "establishment").only("last_name", "first_name", "establishment__name")
        if scope is not None:
            records = records.annotate(in_scope=Exists(GuardianRecord.objects.filter(
                scope.establishment_q("establishment"), pk=OuterRef("pk"))))
        for record in records:
            names["record", record.pk] = (
                Named(f"{record.last_name.upper()} {record.first_name}, "
                      f"{record.establishment.name}",
                      reverse("admin:helpdesk_record", args=[record.pk]))
                if getattr(record, "in_scope", True) else Named(str(OTHER_ACADEMY_RECORD)))
    if wanted["run"]:
        for run in LetterRun.objects.filter(pk__in=wanted["run"]).select_related(
                "establishment").only("created_at", "establishment__name"):
            when = formats.date_format(timezone.localtime(run.created_at), "d/m/Y H:i")
            names["run", run.pk] = Named(str(_("lettres du %(when)s, %(school)s")) % {
                "when": when, "school": run.establishment.name})
    if wanted["account"]:
        accounts = Account.objects.filter(pk__in=wanted["account"]).only("identifier")
        if scope is not None:
            accounts = accounts.annotate(in_scope=Exists(Account.objects.filter(
                accounts_scope_q(scope), pk=OuterRef("pk")).exclude(kind=AccountKind.STAFF)))
        for account in accounts:
            names["account", account.pk] = Named(
                account.display_identifier,
                reverse("admin:helpdesk_account", args=[account.pk])
                if getattr(account, "in_scope", True) else "")
    return names


def _named_list(names, what: str, value) -> NamedList | None:
    """The ids of a NAMED_LIST_FACTS fact read as names, or None when one of them is not
    (a row gone: the fact stays ids, « fiches responsables (n°) : 17, 18 »)."""
    ids = _ids(value) if isinstance(value, list) else []
    parts = [names.get((what, pk)) for pk in ids]
    if not parts or any(part is None for part in parts):
        return None
    return NamedList(parts)


def describe_events(events, *, scope=None) -> list[EventLine]:
    """describe_event for each of `events`, the ids of pupils, guardian records, letter runs
    and accounts (NAMED_FACTS, NAMED_LIST_FACTS) read as names — a guardian record or an
    account (its identifier as letters print it) with the link to its helpdesk page; an id
    whose row is gone stays an id (« élève n° : 8 »). One query per kind of row named.

    `scope` (backoffice.selectors.StaffScope, the reader's): an account outside
    it is named without its link, whose page would be a 404 for this reader (an account
    merged into one of another academy); a guardian record, a pupil or a school (the
    « establishment » fact, a UAI) outside it is not named (« fiche d'une autre académie »):
    an account may cover records of two academies, and the other one's are its own."""
    events = list(events)
    names = _names(events, scope)
    foreign_schools = _schools_outside(events, scope)
    lines = []
    for event in events:
        line = describe_event(event)
        data = event.data if isinstance(event.data, dict) else {}
        details = []
        for key, name, value in _detail_items(event):
            if key is None:
                details.append((name, value))
                continue
            if key == "establishment" and data[key] in foreign_schools:
                details.append((name, str(OTHER_ACADEMY_SCHOOL)))
                continue
            if key in IDENTIFIER_OF:
                account = names.get(("account", data.get(IDENTIFIER_OF[key])))
                if account is not None and str(data[key]).upper() == account:
                    continue  # the account is named above, by this identifier
            if key in NAMED_LIST_FACTS:
                what, label = NAMED_LIST_FACTS[key]
                named = _named_list(names, what, data[key])
            else:
                what, label = (NAMED_FACTS.get(key, (None, None)) if _named_in(key, event.kind)
                               else (None, None))
                named = (names.get((what, data[key]))
                         if what and isinstance(data[key], int) else None)
            details.append((str(label), named) if named is not None else (name, value))
        lines.append(replace(line, details=details))
    return lines
