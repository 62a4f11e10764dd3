"""The SMS self-activation, as the flow engine reads it (core.flowkinds, core.codes).

A guardian proves what the school knows: name and mobile number (identity), the code sent to
that number (code), the children's birth dates (pupils); then chooses a password and gets an
account covering every record that matched (password, done). Wording: the official help
documents (Auto-inscription par SMS).

    identity ──► code ──► pupils ──► password ──► done
                  │          │  ▲        │
                  │          │  └────────┘ « Précédent »
                  │          └─► ended: blocked (too many wrong birth dates)
                  └─► ended: already_active (the records are covered by an account)

When the records matched are partly covered by one active account, the uncovered ones go
through the same proofs (code, birth dates) and are then attached to that account: the flow
completes at « done » without a password step (issue 11 §2).

The row starts at « code » (« identity » is the form that starts it); its JSON data is
`ActivationData`. One code purpose: ACTIVATION_CODE, by SMS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext_lazy as _

from core.codes import CodeEvents, CodePurpose
from core.flowkinds import FlowKind, Stage, register
from core.journal import EventKind
from core.models import CodeChannel, Flow
from core.ratelimit import Rule
from notifications.services import sms_enqueue

SMS_ACTIVATION = register(FlowKind(
    name="sms_activation",
    label=_("Auto-inscription par SMS"),
    title=_("Activation du compte"),
    stages=(
        Stage("identity", "activation:start", _("Je confirme mon identité")),
        Stage("code", "activation:code", _("Je saisis le code de sécurité")),
        Stage("pupils", "activation:pupils", _("Je confirme mon lien avec les élèves")),
        Stage("password", "activation:password", _("Je choisis mon mot de passe"),
              finished_elsewhere=_(
                  "Votre compte a déjà été activé dans un autre onglet ou une autre fenêtre, "
                  "avec le mot de passe choisi là-bas. Le mot de passe saisi dans cette page "
                  "n'a pas été enregistré. Pour vous connecter, utilisez l'identifiant "
                  "affiché ci-dessous et le mot de passe choisi dans l'autre onglet. Pour en "
                  "changer : « Mot de passe oublié ? » sur la page de connexion, ou « Mon "
                  "compte » une fois connecté.")),
        Stage("done", "activation:done", _("Mon compte est activé")),
    ),
    home_url_name="activation:flow",
    idle_setting="ACTIVATION_FLOW_IDLE_SECONDS",
    max_age_setting="ACTIVATION_FLOW_MAX_AGE_SECONDS",
    retention_setting="ACTIVATION_FLOW_RETENTION_DAYS",
    not_found_template="activation/not_found.html",
))

ACTIVATION_CODE = CodePurpose(
    # Also the outbox row's purpose, as before the flow engine.
    name="activation_code",
    channel=CodeChannel.SMS,
    template="sms/activation_code.txt",
    send=sms_enqueue,
    events=CodeEvents(
        sent=EventKind.ACTIVATION_CODE_SENT,
        not_sent=EventKind.ACTIVATION_CODE_NOT_SENT,
        rejected=EventKind.ACTIVATION_CODE_REJECTED,
        too_many=EventKind.ACTIVATION_TOO_MANY_CODES,
        verified=EventKind.ACTIVATION_CODE_VERIFIED,
    ),
    ttl_setting="ACTIVATION_CODE_TTL_SECONDS",
    max_wrong_setting="ACTIVATION_MAX_WRONG_CODES",
    resend_cooldown_setting="ACTIVATION_RESEND_COOLDOWN_SECONDS",
    max_sends_per_flow_setting="ACTIVATION_MAX_SENDS_PER_FLOW",
    recipient_rule=Rule("codes:activation:phone", "ACTIVATION_MAX_SENDS_PER_PHONE",
                        "ACTIVATION_PHONE_WINDOW_SECONDS"),
    ip_rule=Rule("codes:activation:ip", "ACTIVATION_MAX_SENDS_PER_IP",
                 "ACTIVATION_IP_WINDOW_SECONDS"),
)

# Wrong birth dates per phone number, across flows: starting again gives no more guesses.
WRONG_DATES_PER_PHONE = Rule("activation:wrong-dates:phone",
                             "ACTIVATION_MAX_WRONG_DATES_PER_PHONE",
                             "ACTIVATION_PHONE_WINDOW_SECONDS")


@dataclass
class ActivationData:
    """The JSON data of an SMS activation flow.

    What the person typed at step 1 (names as typed, cleaned), the guardian records it
    matched (empty: nothing matched, no SMS is sent and no code accepted), and what step 3
    confirmed; `wrong_dates` counts wrong birth dates in this flow, `wrong_date_digests`
    holds the keyed hash of each (pupil, date) pair it counted (activation.services
    .wrong_dates_count: the same wrong date typed again counts once; never a date in clear).
    """

    last_name: str
    first_name: str
    matched_record_ids: list[int] = field(default_factory=list)
    confirmed_pupil_ids: list[int] = field(default_factory=list)
    confirmed_record_ids: list[int] = field(default_factory=list)
    wrong_dates: int = 0
    wrong_date_digests: list[str] = field(default_factory=list)
    # Set when the records matched are partly covered by one active account (issue 11 §2):
    # `matched_record_ids` then holds the uncovered ones only, and the proofs attach them to
    # this account instead of creating one (no password step). Also the id of the account
    # a « Ajouter un enfant » flow (families.flows) attaches to.
    attach_account_id: int | None = None
    # The links (responsibility ids) answered « Je ne suis pas le représentant légal de cet
    # élève » at step 3 of an activation that creates an account: marked disputed only when
    # the account is created (activation_account_create), so that « Précédent » on the
    # password step lets the person correct a mis-tap (seed 000: a wrong « non » otherwise
    # means « l'ajout d'un enfant »), and a journey given up leaves nothing for the school.
    disputed_link_ids: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, flow: Flow) -> ActivationData:
        data = flow.data or {}
        return cls(
            last_name=data.get("last_name", ""),
            first_name=data.get("first_name", ""),
            matched_record_ids=list(data.get("matched_record_ids", [])),
            confirmed_pupil_ids=list(data.get("confirmed_pupil_ids", [])),
            confirmed_record_ids=list(data.get("confirmed_record_ids", [])),
            wrong_dates=int(data.get("wrong_dates", 0)),
            wrong_date_digests=list(data.get("wrong_date_digests", [])),
            attach_account_id=data.get("attach_account_id"),
            disputed_link_ids=list(data.get("disputed_link_ids", [])),
        )

    def store(self, flow: Flow) -> None:
        """Write back into the flow's row (saved by the caller)."""
        flow.data = asdict(self)

    @property
    def matched(self) -> bool:
        return bool(self.matched_record_ids)


# --- The first link of a FranceConnect identity -------------------------------------------
#
# A FranceConnect identity no account knows yet proves, once, that it is a guardian the
# schools know: the mobile number given to the school (phone), the code sent to it (code),
# the children's birth dates (pupils); then the identity is linked to the account covering
# those records, or to a new account whose identifier is shown (done). Seeds 001 and 003
# (« Par FranceConnect »), FAQ §2.3. The same code purpose, limits and birth-date rules as
# the SMS activation: a number and its children cannot be guessed faster through here.
#
#    phone ──► code ──► pupils ──► done
#                          └─► ended: blocked (too many wrong birth dates), already_active
#                              (the records' accounts cannot take this identity)
#
# The row starts at « code » (« phone » is the form that starts it); its JSON data is
# `FranceConnectLinkData`. The FranceConnect identity itself (and its ID token) stays in
# the browser's session (franceconnect.services.pending_identity): the row keeps its `sub`.

FRANCECONNECT_LINK = register(FlowKind(
    name="franceconnect_link",
    label=_("Première connexion avec FranceConnect"),
    title=_("Activation du compte"),
    stages=(
        Stage("phone", "activation:franceconnect", _("Je renseigne mon n° de téléphone portable")),
        Stage("code", "activation:fc_code", _("Je saisis le code de sécurité")),
        Stage("pupils", "activation:fc_pupils", _("Je confirme mon lien avec les élèves")),
        Stage("done", "activation:fc_done", _("Mon compte est activé")),
    ),
    home_url_name="activation:fc_flow",
    idle_setting="ACTIVATION_FLOW_IDLE_SECONDS",
    max_age_setting="ACTIVATION_FLOW_MAX_AGE_SECONDS",
    retention_setting="ACTIVATION_FLOW_RETENTION_DAYS",
    not_found_template="activation/not_found.html",
))


@dataclass
class FranceConnectLinkData(ActivationData):
    """ActivationData (the names are FranceConnect's, for the record only: matching is on
    the number, then on the birth dates) and the FranceConnect `sub` to link."""

    sub: str = ""

    @classmethod
    def of(cls, flow: Flow) -> FranceConnectLinkData:
        return cls(**asdict(ActivationData.of(flow)), sub=str((flow.data or {}).get("sub", "")))


# --- First sign-in with a school letter (issue 9 §2) ------------------------------------------
#
# A provisional account (state PROVISIONAL: a school letter's identifier and provisional
# password, accounts.models) signs in, and reaches nothing but its kind's flow until it is
# done (activation.provisional.middleware). The row names its account from the start; it is
# started, or found again and bound to the new browser, by the sign-in that proves the
# password (activation.provisional.services.provisional_flow_resume).
#
# Guardian (seed 003 « Distribution d'un identifiant et d'un mot de passe provisoire »):
#
#     email ──► password ──► pupils ──► sent ─── the link of the e-mail (POST) ──► done
#       ▲          │ « Précédent »        │  « J'ai fait une erreur de saisie… »   (account
#       └──────────┴──────────────────────┘                                         ACTIVE)
#
# Pupil: password ──► identity (own birth date) ──► email (optional) ──► done (« Mes services »;
# the account is ACTIVE from the identity step on; an address typed goes through « Mon
# compte »'s validation link, accounts.my_account).
#
# The JSON data is `ProvisionalData` (never a password, never a token).

# The first sign-in's password step posted after the account was activated elsewhere: the
# guardian's and the pupil's (core.flowkinds.Stage.finished_elsewhere).
PROVISIONAL_PASSWORD_FINISHED_ELSEWHERE = _(
    "Votre compte est déjà activé, avec le mot de passe choisi dans un autre onglet ou une "
    "autre fenêtre. Le mot de passe saisi dans cette page n'a pas été enregistré, et le mot "
    "de passe provisoire du courrier ne fonctionne plus. Pour vous connecter, utilisez "
    "l'identifiant du courrier et le mot de passe choisi dans l'autre onglet. Pour en "
    "changer : « Mot de passe oublié ? » sur la page de connexion, ou « Mon compte » une "
    "fois connecté.")

PROVISIONAL_GUARDIAN = register(FlowKind(
    name="provisional_guardian",
    label=_("Première connexion avec un courrier de l'établissement (représentant légal)"),
    title=_("Activation du compte"),
    stages=(
        Stage("email", "activation:provisional_email", _("Je renseigne mon adresse mail")),
        Stage("password", "activation:provisional_password",
              _("Je choisis mon nouveau mot de passe"),
              finished_elsewhere=PROVISIONAL_PASSWORD_FINISHED_ELSEWHERE),
        Stage("pupils", "activation:provisional_pupils",
              _("Je confirme mon lien avec les élèves")),
        Stage("sent", "activation:provisional_sent",
              _("Je confirme mon adresse mail en cliquant sur le lien reçu")),
        Stage("done", "activation:provisional_done", _("Mon compte est activé")),
    ),
    home_url_name="activation:provisional_flow",
    idle_setting="PROVISIONAL_FLOW_IDLE_SECONDS",
    max_age_setting="PROVISIONAL_FLOW_MAX_AGE_SECONDS",
    retention_setting="PROVISIONAL_FLOW_RETENTION_DAYS",
    not_found_template="activation/provisional/not_found.html",
))

PROVISIONAL_PUPIL = register(FlowKind(
    name="provisional_pupil",
    label=_("Première connexion avec un courrier de l'établissement (élève)"),
    title=_("Activation du compte"),
    stages=(
        Stage("password", "activation:provisional_password",
              _("Je choisis mon nouveau mot de passe"),
              finished_elsewhere=PROVISIONAL_PASSWORD_FINISHED_ELSEWHERE),
        Stage("identity", "activation:provisional_identity", _("Je confirme mon identité")),
        Stage("email", "activation:provisional_email",
              _("Je renseigne mon adresse mail (facultatif)")),
        Stage("done", "activation:provisional_done", _("Mon compte est activé")),
    ),
    home_url_name="activation:provisional_flow",
    idle_setting="PROVISIONAL_FLOW_IDLE_SECONDS",
    max_age_setting="PROVISIONAL_FLOW_MAX_AGE_SECONDS",
    retention_setting="PROVISIONAL_FLOW_RETENTION_DAYS",
    not_found_template="activation/provisional/not_found.html",
))

# The link that validates a guardian's address and activates the account (core.tokens); also
# the outbox row's purpose of the e-mail carrying it.
ACCOUNT_ACTIVATION_EMAIL_PURPOSE = "account_activation_email"

# Wrong birth dates per account, across flows (the SMS path counts them per phone number,
# WRONG_DATES_PER_PHONE, with the same settings): signing in again gives no more guesses.
WRONG_DATES_PER_ACCOUNT = Rule("activation:wrong-dates:account",
                               "ACTIVATION_MAX_WRONG_DATES_PER_PHONE",
                               "ACTIVATION_PHONE_WINDOW_SECONDS")


@dataclass
class ProvisionalData:
    """The JSON data of a first sign-in with a school letter (both kinds).

    `email`: the address typed (guardian: the one the link goes to; never the account's
    until validated). `password_set`, `pupils_confirmed`: the steps done, so that going back
    to correct the address skips nothing and repeats nothing. `confirmed_pupil_ids`,
    `confirmed_record_ids`, `wrong_dates`, `wrong_date_digests`: as in ActivationData (the
    guardian's pupils, or the pupil's own birth date).
    """

    email: str = ""
    password_set: bool = False
    pupils_confirmed: bool = False
    confirmed_pupil_ids: list[int] = field(default_factory=list)
    confirmed_record_ids: list[int] = field(default_factory=list)
    wrong_dates: int = 0
    wrong_date_digests: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, flow: Flow) -> ProvisionalData:
        data = flow.data or {}
        return cls(
            email=str(data.get("email", "")),
            password_set=bool(data.get("password_set", False)),
            pupils_confirmed=bool(data.get("pupils_confirmed", False)),
            confirmed_pupil_ids=list(data.get("confirmed_pupil_ids", [])),
            confirmed_record_ids=list(data.get("confirmed_record_ids", [])),
            wrong_dates=int(data.get("wrong_dates", 0)),
            wrong_date_digests=list(data.get("wrong_date_digests", [])),
        )

    def store(self, flow: Flow) -> None:
        """Write back into the flow's row (saved by the caller)."""
        flow.data = asdict(self)
