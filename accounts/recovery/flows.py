"""« Mot de passe oublié ? » as the flow engine reads it (core.flowkinds, core.codes), and the
limits of « Identifiant oublié ? ».

The password recovery (kind `password_recovery`), from the sign-in page of either profile:

    identifier ──► channel ──► code (SMS) ──► password ──► done
                          └──► link (e-mail) ─┘

- identifier: the form that starts the flow. The account is looked up and never named: an
  unknown identifier, an account of the other profile, a closed one go on exactly like a known
  one, with nothing behind them (`deliver=False` everywhere).
- channel: the masked mobile number and e-mail address of the account — for an identifier
  closed by a merge, of the account it was merged into (services._account_for_recovery) —
  for the channels that reach it only (a guardian: SMS, e-mail or both; a pupil: the
  e-mail only). An identifier that is no account — or an account nothing reaches — is
  shown a decoy derived from the identifier with a keyed hash (masking.channel_masks):
  stable across attempts, its channels and shapes drawn like real accounts', so that the
  page never tells whether the identifier exists.
- code: a code by SMS (purpose PASSWORD_RESET_SMS, the code process of core.codes, the
  activation's limits under settings PASSWORD_RESET_…).
- link: an e-mail whose link carries a single-use token (core.tokens); the link opens a page
  with a button, and only its POST spends the token. It may be opened in another browser
  than the one that started: spending the token moves the flow to « password » and binds it
  to *that* browser (a new flow secret; the first browser's copy no longer opens it).
- password: the published policy with the live checklist; accounts.services
  .account_password_set ends every other session of the account; the other channel is told.
- done: the person signs in with the new password (see views.done for why not signed in).

The row's JSON data is `RecoveryData`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.utils.translation import gettext_lazy as _

from core.codes import CodeEvents, CodePurpose
from core.flowkinds import FlowKind, Stage, register
from core.journal import EventKind
from core.models import CodeChannel, Flow
from core.ratelimit import Rule
from notifications.services import sms_enqueue

PASSWORD_RECOVERY = register(FlowKind(
    name="password_recovery",
    label=_("Mot de passe oublié"),
    title=_("Mot de passe oublié"),
    stages=(
        Stage("identifier", "accounts:password_forgotten", _("Je saisis mon identifiant")),
        Stage("channel", "accounts:password_recovery_channel",
              _("Je choisis comment recevoir mon code ou mon lien")),
        Stage("code", "accounts:password_recovery_code", _("Je saisis le code reçu par SMS")),
        Stage("link", "accounts:password_recovery_link_sent",
              _("J'ouvre le lien reçu par mail")),
        Stage("password", "accounts:password_recovery_password",
              _("Je choisis mon nouveau mot de passe"),
              finished_elsewhere=_(
                  "Votre mot de passe a déjà été modifié dans un autre onglet ou une autre "
                  "fenêtre : c'est le mot de passe choisi là-bas qui est enregistré. Le mot "
                  "de passe saisi dans cette page n'a pas été enregistré. Connectez-vous avec "
                  "votre identifiant et le mot de passe choisi dans l'autre onglet. Pour en "
                  "changer : « Mon compte » une fois connecté, ou de nouveau « Mot de passe "
                  "oublié ? ».")),
        Stage("done", "accounts:password_recovery_done", _("Mon mot de passe est modifié")),
    ),
    home_url_name="accounts:password_recovery_flow",
    idle_setting="PASSWORD_RECOVERY_FLOW_IDLE_SECONDS",
    max_age_setting="PASSWORD_RECOVERY_FLOW_MAX_AGE_SECONDS",
    retention_setting="PASSWORD_RECOVERY_FLOW_RETENTION_DAYS",
    not_found_template="accounts/recovery/not_found.html",
))

PASSWORD_RESET_SMS = CodePurpose(
    name="password_reset_sms",
    channel=CodeChannel.SMS,
    template="sms/password_reset_code.txt",
    send=sms_enqueue,
    events=CodeEvents(
        sent=EventKind.PASSWORD_RESET_CODE_SENT,
        not_sent=EventKind.PASSWORD_RESET_CODE_NOT_SENT,
        rejected=EventKind.PASSWORD_RESET_CODE_REJECTED,
        too_many=EventKind.PASSWORD_RESET_TOO_MANY_CODES,
        verified=EventKind.PASSWORD_RESET_CODE_VERIFIED,
    ),
    ttl_setting="PASSWORD_RESET_CODE_TTL_SECONDS",
    max_wrong_setting="PASSWORD_RESET_MAX_WRONG_CODES",
    resend_cooldown_setting="PASSWORD_RESET_RESEND_COOLDOWN_SECONDS",
    max_sends_per_flow_setting="PASSWORD_RESET_MAX_SENDS_PER_FLOW",
    recipient_rule=Rule("codes:password-reset:phone", "PASSWORD_RESET_MAX_SENDS_PER_PHONE",
                        "PASSWORD_RESET_PHONE_WINDOW_SECONDS"),
    ip_rule=Rule("codes:password-reset:ip", "PASSWORD_RESET_MAX_SENDS_PER_IP",
                 "PASSWORD_RESET_IP_WINDOW_SECONDS"),
)

# The purpose of the reset link's token (core.tokens).
LINK_PURPOSE = "password_reset"

# Recoveries started per client IP (an IPv6 /64): shown, whatever the identifier.
RECOVERY_STARTS_PER_IP = Rule("recovery:password:ip", "PASSWORD_RECOVERY_MAX_STARTS_PER_IP",
                              "PASSWORD_RESET_IP_WINDOW_SECONDS")
# E-mails with a link per flow, and per address across flows (silent, like core.codes).
LINKS_PER_RECIPIENT = Rule("recovery:password:email", "PASSWORD_RESET_MAX_SENDS_PER_EMAIL",
                           "PASSWORD_RESET_PHONE_WINDOW_SECONDS")

# « Identifiant oublié ? »: requests per client IP (shown), messages per recipient (silent).
IDENTIFIER_REMINDERS_PER_IP = Rule("recovery:identifier:ip", "IDENTIFIER_REMINDER_MAX_PER_IP",
                                   "IDENTIFIER_REMINDER_IP_WINDOW_SECONDS")
IDENTIFIER_REMINDERS_PER_RECIPIENT = Rule(
    "recovery:identifier:recipient", "IDENTIFIER_REMINDER_MAX_PER_RECIPIENT",
    "IDENTIFIER_REMINDER_RECIPIENT_WINDOW_SECONDS",
)


class Channel:
    SMS = "sms"
    EMAIL = "email"


@dataclass
class RecoveryData:
    """The JSON data of a password recovery flow (never a code, a token or a password).

    `profile` is the account kind of the sign-in page the person came from; `identifier` as
    typed (lowercased). `phone_known`/`email_known`: whether a message on that channel
    reaches the account (deliver); `phone_mask`/`email_mask`: what the channel page shows,
    real or a decoy, "" for a channel not offered (masking.channel_masks). `channel`: the
    one chosen. `links_sent`, `last_link_at`: the e-mails of the flow (sent or held back),
    for their limits. `same_checks`: how many new passwords of this flow were compared with
    the current one (at most SAME_PASSWORD_CHECKS, see password_recovery_password_set).
    `merged_identifier`: the identifier typed when it was closed by a merge and the flow
    resets the account it was merged into, named by the pages after the code or the link.
    """

    profile: str
    identifier: str
    phone_known: bool = False
    email_known: bool = False
    phone_mask: str = ""
    email_mask: str = ""
    channel: str = ""
    links_sent: int = 0
    last_link_at: str = ""  # ISO 8601, for the resend wait
    same_checks: int = 0
    # The identifier typed when it was closed by a merge and the flow resets the password of
    # the account it was merged into (services._account_for_recovery); "" otherwise.
    merged_identifier: str = ""

    @classmethod
    def of(cls, flow: Flow) -> RecoveryData:
        data = flow.data or {}
        return cls(
            profile=data.get("profile", ""),
            identifier=data.get("identifier", ""),
            phone_known=bool(data.get("phone_known", False)),
            email_known=bool(data.get("email_known", False)),
            phone_mask=data.get("phone_mask", ""),
            email_mask=data.get("email_mask", ""),
            channel=data.get("channel", ""),
            links_sent=int(data.get("links_sent", 0)),
            last_link_at=data.get("last_link_at", ""),
            same_checks=int(data.get("same_checks", 0)),
            merged_identifier=data.get("merged_identifier", ""),
        )

    def store(self, flow: Flow) -> None:
        flow.data = asdict(self)
