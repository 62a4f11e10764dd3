"""Writing to the append-only journal (core.models.JournalEvent).

Every event kind is a member of `EventKind`, with its French label: nothing writes a free
string, and the helpdesk reads the same label everywhere. Callers pass facts, never secrets:
no code, password, token or TOTP value may reach `data`, at any depth (ASVS 7.1.1: logs hold
no credentials).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import connections, models, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .http import client_ip
from .models import JournalEvent

if TYPE_CHECKING:  # pragma: no cover
    from django.contrib.auth.base_user import AbstractBaseUser


class EventKind(models.TextChoices):
    """Every kind of journal event, with the label the helpdesk reads."""

    # Sign-in and sessions.
    LOGIN_SUCCEEDED = "login_succeeded", _("Connexion réussie")
    LOGIN_FAILED = "login_failed", _("Échec de connexion")
    LOGOUT = "logout", _("Déconnexion")
    PASSWORD_CHANGED = "password_changed", _("Mot de passe modifié")
    # SMS activation.
    ACTIVATION_STARTED = "activation_started", _("Activation par SMS commencée")
    ACTIVATION_CODE_SENT = "activation_code_sent", _("Code d'activation envoyé par SMS")
    ACTIVATION_CODE_NOT_SENT = "activation_code_not_sent", _(
        "Activation : aucun SMS envoyé (aucune fiche trouvée, ou envoi trop rapproché)"
    )
    ACTIVATION_CODE_REJECTED = "activation_code_rejected", _("Activation : code de sécurité erroné")
    ACTIVATION_TOO_MANY_CODES = "activation_too_many_codes", _(
        "Activation : trop de codes erronés"
    )
    ACTIVATION_CODE_VERIFIED = "activation_code_verified", _(
        "Activation : code de sécurité vérifié"
    )
    ACTIVATION_BIRTHDATE_REJECTED = "activation_birthdate_rejected", _(
        "Activation : date de naissance incorrecte"
    )
    ACTIVATION_LINK_DISPUTED = "activation_link_disputed", _(
        "Activation : lien avec un élève contesté"
    )
    ACTIVATION_PUPILS_CONFIRMED = "activation_pupils_confirmed", _("Activation : élèves confirmés")
    ACTIVATION_BLOCKED = "activation_blocked", _("Activation bloquée (dates de naissance)")
    ACTIVATION_ALREADY_ACTIVE = "activation_already_active", _(
        "Activation : un compte existe déjà"
    )
    ACCOUNT_ACTIVATED = "account_activated", _("Compte activé")
    # First sign-in with a school letter's provisional password (issue 9 §2) and the check of
    # an address not validated yet (issue 9 §3).
    PROVISIONAL_FLOW_STARTED = "provisional.flow_started", _(
        "Première connexion avec un courrier : activation commencée"
    )
    PROVISIONAL_FLOW_RESUMED = "provisional.flow_resumed", _(
        "Première connexion avec un courrier : activation reprise"
    )
    PROVISIONAL_PASSWORD_CHOSEN = "provisional.password_chosen", _(
        "Première connexion avec un courrier : nouveau mot de passe choisi"
    )
    PROVISIONAL_IDENTITY_CONFIRMED = "provisional.identity_confirmed", _(
        "Première connexion d'un élève : date de naissance confirmée"
    )
    PROVISIONAL_EMAIL_LINK_SENT = "provisional.email_link_sent", _(
        "Activation : lien de validation de l'adresse mail envoyé"
    )
    PROVISIONAL_EXPIRED_SIGN_IN = "provisional.expired_sign_in", _(
        "Connexion refusée : mot de passe provisoire expiré"
    )
    # A family activated by SMS (or FranceConnect) records a school letter's account covered
    # while it was not activated yet: the new account takes them, the letter's account closes.
    PROVISIONAL_CLOSED_BY_ACTIVATION = "provisional.closed_by_activation", _(
        "Compte provisoire fermé : la famille a activé un compte par SMS ou FranceConnect"
    )
    EMAIL_CHECK_ASKED = "email_check.asked", _(
        "Connexion : vérification de l'adresse mail non validée proposée"
    )
    # School data.
    ROSTER_IMPORTED = "roster_imported", _("Import de l'annuaire d'un établissement")
    GUARDIAN_RECORD_CONTACT_UPDATED = "pupils.guardian_contact_updated", _(
        "Coordonnées d'une fiche responsable corrigées par l'établissement"
    )
    PUPIL_UPDATED = "pupils.pupil_updated", _("État civil d'un élève corrigé par l'établissement")
    PUPIL_DIVISION_UPDATED = "pupils.pupil_division_updated", _(
        "Classe d'un élève corrigée par l'établissement"
    )
    RESPONSIBILITY_ADDED = "pupils.link_added", _(
        "Lien responsable–élève ajouté par l'établissement"
    )
    RESPONSIBILITY_REMOVED = "pupils.link_removed", _(
        "Lien responsable–élève retiré par l'établissement"
    )
    RESPONSIBILITY_RESTORED = "pupils.link_restored", _(
        "Lien responsable–élève rétabli par l'établissement"
    )
    RESPONSIBILITY_DISPUTE_RESOLVED = "pupils.link_dispute_resolved", _(
        "Lien contesté examiné par l'établissement"
    )
    RESPONSIBILITY_LEGAL_CHANGED = "pupils.link_legal_changed", _(
        "« Représentant légal » modifié par l'établissement"
    )
    # « Mes enfants » (issue 11): accounts merged, children attached to an account.
    ACCOUNTS_MERGED = "families.accounts_merged", _(
        "Comptes regroupés : les enfants d'un autre compte ont été ajoutés à ce compte"
    )
    ACCOUNT_CLOSED_BY_MERGE = "families.account_closed_by_merge", _(
        "Compte fermé : ses enfants ont été ajoutés à un autre compte (regroupement)"
    )
    ACCOUNTS_MERGE_REFUSED = "families.accounts_merge_refused", _(
        "Regroupement de comptes refusé"
    )
    CHILDREN_ATTACHED = "families.children_attached", _(
        "Nouvel enfant rattaché au compte"
    )
    CHILD_ATTACH_DISPUTE_WITHDRAWN = "families.link_dispute_withdrawn", _(
        "Ajout d'un enfant : lien contesté rétabli par le responsable"
    )
    CHILD_ATTACH_CODE_SENT = "families.child_attach_code_sent", _(
        "Ajout d'un enfant : code envoyé par SMS"
    )
    CHILD_ATTACH_CODE_NOT_SENT = "families.child_attach_code_not_sent", _(
        "Ajout d'un enfant : aucun SMS envoyé (aucune fiche trouvée, ou envoi trop rapproché)"
    )
    CHILD_ATTACH_CODE_REJECTED = "families.child_attach_code_rejected", _(
        "Ajout d'un enfant : code de sécurité erroné"
    )
    CHILD_ATTACH_TOO_MANY_CODES = "families.child_attach_too_many_codes", _(
        "Ajout d'un enfant : trop de codes erronés"
    )
    CHILD_ATTACH_CODE_VERIFIED = "families.child_attach_code_verified", _(
        "Ajout d'un enfant : code de sécurité vérifié"
    )
    # Back-office.
    BACKOFFICE_SIGNED_IN = "backoffice.signed_in", _("Connexion au back-office")
    BACKOFFICE_SIGN_IN_FAILED = "backoffice.sign_in_failed", _(
        "Échec de connexion au back-office"
    )
    BACKOFFICE_SECOND_FACTOR_ENROLLED = "backoffice.second_factor_enrolled", _(
        "Second facteur enregistré"
    )
    BACKOFFICE_SECOND_FACTOR_RESET = "backoffice.second_factor_reset", _(
        "Second facteur réinitialisé"
    )
    BACKOFFICE_STAFF_CREATED = "backoffice.staff_created", _("Personnel créé")
    BACKOFFICE_STAFF_UPDATED = "backoffice.staff_updated", _("Personnel modifié")
    BACKOFFICE_PASSWORD_CHANGED = "backoffice.password_changed", _(
        "Mot de passe du back-office changé par son titulaire"
    )
    HELPDESK_ACCOUNT_VIEWED = "helpdesk.account_viewed", _("Consultation par l'assistance")
    HELPDESK_RECORD_VIEWED = "helpdesk.record_viewed", _(
        "Consultation d'une fiche par l'assistance"
    )
    HELPDESK_ACCOUNT_UNLOCKED = "helpdesk.account_unlocked", _(
        "Compte déverrouillé par l'assistance"
    )
    HELPDESK_ACCOUNT_CLOSED = "helpdesk.account_closed", _("Compte fermé par l'assistance")
    # « Fermer le compte » on an account that also covers another academy's records: the
    # agent's academy's records are released, the account stays open for the others.
    HELPDESK_RECORDS_RELEASED = "helpdesk.records_released", _(
        "Fiches d'une académie libérées par son assistance (le compte reste ouvert pour les "
        "fiches d'une autre académie)"
    )
    HELPDESK_ACTIVATION_SMS_RESENT = "helpdesk.activation_sms_resent", _(
        "SMS d'activation renvoyé par l'assistance"
    )
    # Recovery: « Identifiant oublié ? » and « Mot de passe oublié ? » (accounts.recovery).
    IDENTIFIER_REMINDER_SENT = "recovery.identifier_sent", _(
        "Identifiant oublié : identifiant envoyé"
    )
    IDENTIFIER_REMINDER_NOT_SENT = "recovery.identifier_not_sent", _(
        "Identifiant oublié : rien envoyé (aucun compte trouvé, ou envois trop nombreux)"
    )
    PASSWORD_RECOVERY_STARTED = "recovery.password_started", _(
        "Mot de passe oublié : demande commencée"
    )
    PASSWORD_RECOVERY_CHANNEL_CHOSEN = "recovery.password_channel_chosen", _(
        "Mot de passe oublié : canal choisi"
    )
    PASSWORD_RESET_CODE_SENT = "recovery.password_code_sent", _(
        "Mot de passe oublié : code envoyé par SMS"
    )
    PASSWORD_RESET_CODE_NOT_SENT = "recovery.password_code_not_sent", _(
        "Mot de passe oublié : aucun SMS envoyé (pas de numéro connu, ou envoi trop rapproché)"
    )
    PASSWORD_RESET_CODE_REJECTED = "recovery.password_code_rejected", _(
        "Mot de passe oublié : code erroné"
    )
    PASSWORD_RESET_TOO_MANY_CODES = "recovery.password_too_many_codes", _(
        "Mot de passe oublié : trop de codes erronés"
    )
    PASSWORD_RESET_CODE_VERIFIED = "recovery.password_code_verified", _(
        "Mot de passe oublié : code vérifié"
    )
    PASSWORD_RESET_LINK_SENT = "recovery.password_link_sent", _(
        "Mot de passe oublié : lien envoyé par mail"
    )
    PASSWORD_RESET_LINK_NOT_SENT = "recovery.password_link_not_sent", _(
        "Mot de passe oublié : aucun mail envoyé (pas d'adresse validée, ou envois trop "
        "nombreux)"
    )
    PASSWORD_RESET_LINK_USED = "recovery.password_link_used", _(
        "Mot de passe oublié : lien du mail utilisé"
    )
    PASSWORD_RECOVERY_COMPLETED = "recovery.password_completed", _(
        "Mot de passe oublié : nouveau mot de passe choisi"
    )
    PASSWORD_CHANGE_NOTIFIED = "recovery.password_change_notified", _(
        "Avis de modification du mot de passe envoyé"
    )
    # « Mon compte » (accounts/my_account).
    MY_ACCOUNT_PASSWORD_REJECTED = "my_account.password_rejected", _(
        "Mon compte : mot de passe actuel erroné"
    )
    MY_ACCOUNT_REAUTHENTICATED = "my_account.reauthenticated", _(
        "Mon compte : mot de passe confirmé avant une modification"
    )
    PHONE_CHANGE_STARTED = "my_account.phone_change_started", _(
        "Changement de numéro de téléphone demandé"
    )
    PHONE_CHANGE_CODE_SENT = "my_account.phone_change_code_sent", _(
        "Changement de numéro : code envoyé par SMS au nouveau numéro"
    )
    PHONE_CHANGE_CODE_NOT_SENT = "my_account.phone_change_code_not_sent", _(
        "Changement de numéro : aucun SMS envoyé (envoi trop rapproché)"
    )
    PHONE_CHANGE_CODE_REJECTED = "my_account.phone_change_code_rejected", _(
        "Changement de numéro : code de sécurité erroné"
    )
    PHONE_CHANGE_TOO_MANY_CODES = "my_account.phone_change_too_many_codes", _(
        "Changement de numéro : trop de codes erronés"
    )
    PHONE_CHANGE_CODE_VERIFIED = "my_account.phone_change_code_verified", _(
        "Changement de numéro : code de sécurité vérifié"
    )
    PHONE_CHANGED = "my_account.phone_changed", _("Numéro de téléphone modifié")
    EMAIL_CHANGE_REQUESTED = "my_account.email_change_requested", _(
        "Changement d'adresse mail demandé (lien de validation envoyé)"
    )
    EMAIL_CHANGE_LINK_RESENT = "my_account.email_change_link_resent", _(
        "Changement d'adresse mail : lien de validation renvoyé"
    )
    EMAIL_CHANGE_CANCELLED = "my_account.email_change_cancelled", _(
        "Changement d'adresse mail annulé"
    )
    EMAIL_CHANGED = "my_account.email_changed", _("Adresse mail modifiée et validée")
    # Single sign-on to services (saml_idp).
    SAML_SSO = "saml.sso", _("Connexion à un service (SAML)")
    SAML_REFUSED = "saml.refused", _("Demande de connexion SAML refusée")
    SAML_LOGOUT = "saml.logout", _("Déconnexion demandée par un service (SAML)")
    SAML_PROVIDER_SAVED = "saml.provider_saved", _("Fournisseur de services SAML enregistré")
    # Issue 16: counters of a number cleared (the school fixed its data; the helpdesk).
    ACTIVATION_COUNTERS_CLEARED = "activation_counters_cleared", _(
        "Activation : compteurs d'un numéro remis à zéro après une correction"
    )
    HELPDESK_ACTIVATION_UNBLOCKED = "helpdesk.activation_unblocked", _(
        "Activation débloquée par l'assistance"
    )
    HELPDESK_IDENTIFIER_SENT = "helpdesk.identifier_sent", _(
        "Identifiant renvoyé par SMS par l'assistance"
    )
    # Issue 16 §6: the academic assistance form.
    ASSISTANCE_REQUEST_SUBMITTED = "assistance.request_submitted", _(
        "Demande d'assistance envoyée par une famille"
    )
    ASSISTANCE_REQUEST_TAKEN = "assistance.request_taken", _(
        "Demande d'assistance prise en charge"
    )
    ASSISTANCE_REQUEST_ANSWERED = "assistance.request_answered", _(
        "Réponse envoyée à une demande d'assistance"
    )
    ASSISTANCE_REQUEST_CLOSED = "assistance.request_closed", _("Demande d'assistance close")
    # The outbox (issue 12 §2): a message retried until it was no longer worth sending.
    MESSAGE_EXPIRED = "notifications.message_expired", _(
        "SMS ou mail non envoyé à temps (expiré)"
    )
    # Demo data (DEBUG only).
    DEMO_ACCOUNT_CREATED = "demo_account_created", _("Compte de démonstration créé")
    DEMO_ACCOUNT_RESET = "demo_account_reset", _("Compte de démonstration réinitialisé")
    # OpenID Connect provider (oidc_idp): which service, which account, which children.
    OIDC_AUTHORIZED = "oidc.authorized", _("Connexion à un service (OpenID Connect)")
    OIDC_CLAIMS_RELEASED = "oidc.claims_released", _(
        "Informations transmises à un service (OpenID Connect)"
    )
    OIDC_REFUSED = "oidc.refused", _("Demande d'un service refusée (OpenID Connect)")
    OIDC_LOGOUT = "oidc.logout", _("Déconnexion demandée par un service (OpenID Connect)")
    # Issue 9 §1: school letters (pupils.letters): the run, each account's letter, the file.
    LETTER_RUN_REQUESTED = "letters.run_requested", _("Lettres demandées par l'établissement")
    LETTER_RUN_DONE = "letters.run_done", _("Lettres de l'établissement produites")
    LETTER_RUN_FAILED = "letters.run_failed", _("Échec de la production des lettres")
    LETTER_ISSUED = "letters.issued", _(
        "Lettre émise : identifiant et mot de passe provisoire"
    )
    LETTER_FILE_DOWNLOADED = "letters.file_downloaded", _("PDF des lettres téléchargé")
    LETTER_FILE_DELETED = "letters.file_deleted", _("PDF des lettres supprimé")
    # FranceConnect (franceconnect app, and its first link in activation).
    FRANCECONNECT_REFUSED = "franceconnect.refused", _(
        "Connexion avec FranceConnect refusée"
    )
    FRANCECONNECT_LINK_STARTED = "franceconnect.link_started", _(
        "Première connexion avec FranceConnect commencée"
    )
    FRANCECONNECT_LINKED = "franceconnect.linked", _("Identité FranceConnect associée au compte")
    FRANCECONNECT_UNLINKED = "franceconnect.unlinked", _(
        "Identité FranceConnect dissociée du compte"
    )


# A key named so, at any depth of `data`, is refused (facts about them, such as
# `password_changed`, are fine).
FORBIDDEN_KEYS = frozenset({"password", "code", "token", "secret", "otp"})


def _leaked_keys(value, path: str = "") -> list[str]:
    """Paths of the keys of `value` (dicts and lists, at any depth) that name a secret."""
    leaked = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower() in FORBIDDEN_KEYS:
                leaked.append(where)
            leaked.extend(_leaked_keys(item, where))
    elif isinstance(value, list | tuple | set):
        for index, item in enumerate(value):
            leaked.extend(_leaked_keys(item, f"{path}[{index}]"))
    return leaked


def journal_event_build(
    kind: EventKind,
    *,
    request=None,
    account: AbstractBaseUser | None = None,
    actor: AbstractBaseUser | None = None,
    flow_id: UUID | None = None,
    **data,
) -> JournalEvent:
    """One event, checked and not yet written (`journal_record` writes one,
    `journal_record_many` several in one INSERT).

    `kind` must be an `EventKind` member (TypeError otherwise); `data` holds JSON-able facts
    (counts, ids, reasons). A key naming a secret (see FORBIDDEN_KEYS), at any depth,
    raises ValueError: the journal is read by the helpdesk and kept for a year.
    The client IP is read from `request` through core.http.client_ip.
    """
    if not isinstance(kind, EventKind):
        raise TypeError(f"Journal kinds are EventKind members, not {kind!r}")
    leaked = _leaked_keys(data)
    if leaked:
        raise ValueError(f"Secrets must not be journaled: {sorted(leaked)}")
    return JournalEvent(
        at=timezone.now(),
        kind=kind.value,
        account=account,
        actor=actor,
        flow_id=flow_id,
        ip_address=(client_ip(request) or None) if request is not None else None,
        data=data,
    )


def journal_record(kind: EventKind, **arguments) -> JournalEvent:
    """Append one event and return it. `arguments` (request, account, actor, flow_id and
    the facts) and the errors: `journal_event_build`."""
    event = journal_event_build(kind, **arguments)
    _insert(event)
    return event


def journal_record_many(events: Sequence[JournalEvent]) -> None:
    """Append `events` (from `journal_event_build`) in one INSERT: a batch's events, such as
    a letter run's hundred LETTER_ISSUED at a time (pupils.letters)."""
    JournalEvent.objects.bulk_create(events)


@functools.cache
def _insert_sql(vendor: str) -> tuple[str, tuple]:
    """The INSERT of one journal row, written once per process from the model's columns
    (so a new column is written without touching it): (sql, fields). `vendor` keys the
    cache by database (RETURNING is PostgreSQL's and SQLite's, which both have it)."""
    fields = tuple(f for f in JournalEvent._meta.concrete_fields if not f.primary_key)
    quote = connections[router.db_for_write(JournalEvent)].ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (f"INSERT INTO {quote(JournalEvent._meta.db_table)} ({columns}) "  # noqa: S608
           f"VALUES ({placeholders}) RETURNING {quote(JournalEvent._meta.pk.column)}")
    return sql, fields


def _insert(event: JournalEvent) -> None:
    """Write `event` with one prepared statement: what `JournalEvent.objects.create` does
    (each field's own conversion to the database's value), without building the ORM's
    INSERT at each call — about a third of a millisecond of CPU per event, paid by every
    sign-in (issue 14). The journal has no save signals to skip."""
    db = router.db_for_write(JournalEvent)
    connection = connections[db]
    sql, fields = _insert_sql(connection.vendor)
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = db
