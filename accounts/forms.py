"""Sign-in form: one generic refusal, equal cost, attempt limits shared through Redis.

Like Django's AuthenticationForm, the checks run in `clean()`; the view only logs the
account in and gives the browser its device cookie (accounts.limits). What an attacker can
observe is the same whether the identifier exists or not: the same message, the same status,
the same rate-limit work (one Redis round trip, accounts.limits), the same Argon2 work (the
backend verifies against a dummy hash for an unknown identifier, accounts.hashers), no Argon2
computation at all once a limit is reached, and the same work after the response (one
lookup, one journal row: see `_journal_failure`).
"""

import logging
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from core.forms import EduConnectForm
from core.http import client_ip
from core.journal import EventKind, journal_record
from core.models import JournalEvent
from core.normalization import strip_invisible
from core.ratelimit import wait_text

from .limits import sign_in_attempt_admit, sign_in_device, sign_in_success_forget
from .models import Account, AccountKind, AccountState
from .selectors import MERGE_CHAIN_MAX, account_merged_into, letter_replaced_by

logger = logging.getLogger(__name__)

# Marked here, translated where it is shown (gettext(INVALID_LOGIN_MESSAGE)).
INVALID_LOGIN_MESSAGE = gettext_noop("Identifiant ou mot de passe incorrect.")
IDENTIFIER_MAX_LENGTH = 100
# Argon2 accepts any length; the cap only stops megabyte-long bodies from being hashed.
PASSWORD_MAX_LENGTH = 1024


def throttled_message(retry_after: int) -> str:
    """The refusal once a limit is reached; `retry_after` in seconds (Decision.retry_after)."""
    return gettext(
        "Trop de tentatives de connexion ont échoué. Pour protéger les comptes, la connexion "
        "est suspendue : réessayez dans %(wait)s."
    ) % {"wait": wait_text(retry_after)}


def provisional_expired_message() -> str:
    """A school letter's provisional password past its validity (issue 9 §1, §2): said only
    to whoever typed the right password, so it tells nothing about unknown identifiers."""
    return gettext(
        "Le mot de passe provisoire de votre courrier a expiré : il n'est plus valable. "
        "Demandez un nouveau courrier à l'école ou à l'établissement, qui vous remettra un "
        "nouveau mot de passe provisoire."
    )


def wrong_profile_message(kind: str) -> str:
    """The right identifier and password typed under the other profile's tile (a pupil's
    letter on « Représentant légal », or the other way round). Said only to whoever typed
    the right password: it tells nothing about identifiers one does not hold."""
    return gettext(
        "Cet identifiant est celui d'un compte « %(profile)s » : revenez au choix du profil "
        "et choisissez « %(profile)s », puis saisissez à nouveau votre identifiant et votre "
        "mot de passe."
    ) % {"profile": AccountKind(kind).label}


# The journal events that close an account and name the account that replaces it: the kind,
# and the key of its data that names the other account.
_CLOSED_FOR = {
    EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION.value: "new_account_id",
    EventKind.ACCOUNT_CLOSED_BY_MERGE.value: "kept_account_id",
}


def _closing_event(account: Account) -> JournalEvent | None:
    """The latest journal event that closed `account` for another account, or None."""
    return (JournalEvent.objects.filter(account=account, kind__in=list(_CLOSED_FOR))
            .order_by("-at").first())


def letter_replaced_text() -> str:
    """What happened to a school letter whose provisional account was closed because the
    family activated its account by SMS or FranceConnect meanwhile
    (activation.services.provisional_accounts_close; accounts.selectors.letter_replaced_by):
    the first sentence of the sign-in's advice (`closed_account_message`) and of the merge
    form's (families.messages). Said only to whoever typed the letter's right password."""
    return gettext(
        "Ce courrier n'est plus valable : le compte ÉduConnect de votre famille a déjà été "
        "activé (par SMS ou avec FranceConnect)."
    )


class ClosedAccountAdvice(NamedTuple):
    """What the sign-in says to the right password of a closed account (closed_account_message)."""

    message: str
    code: str  # « letter_replaced », « account_merged »
    # The profile whose sign-in page the advice sends the person to (AccountKind): the page's
    # own, or the other one when the account to use is of the other kind.
    profile: str


_FORGOTTEN_HERE = {
    "password": gettext_noop("Mot de passe oublié ? Utilisez « Mot de passe oublié ? » "
                             "ci-dessous."),
    "identifier": gettext_noop("Identifiant oublié ? Utilisez « Identifiant oublié ? » "
                               "ci-dessous."),
}
_FORGOTTEN_THERE = {
    "password": gettext_noop("Mot de passe oublié ? Utilisez « Mot de passe oublié ? » sur "
                             "cette page-là."),
    "identifier": gettext_noop("Identifiant oublié ? Utilisez « Identifiant oublié ? » sur "
                               "cette page-là."),
}


def _advice(body: str, forgotten: str, kind: str, profile: str | None) -> str:
    """`body` (what happened, which identifier to use), then where to find « Mot de passe
    oublié ? » or « Identifiant oublié ? » (`forgotten`). When the account to use (`kind`)
    is not of the page's `profile` (a représentant légal's account typed on « Élève », where
    « Connectez-vous avec l'identifiant … » fails), the profile to choose comes between, and
    the recovery link is the one of that page, not this one's « ci-dessous »."""
    if profile is None or kind == profile:
        return f"{body} {gettext(_FORGOTTEN_HERE[forgotten])}"
    other = gettext(
        "C'est un compte « %(profile)s » : connectez-vous depuis la page « %(profile)s » "
        "(revenez au choix du profil et choisissez « %(profile)s »)."
    ) % {"profile": AccountKind(kind).label}
    return f"{body} {other} {gettext(_FORGOTTEN_THERE[forgotten])}"


def closed_account_message(account: Account,
                           profile: str | None = None) -> ClosedAccountAdvice | None:
    """For the right password of a CLOSED account whose closing named another account: the
    message that says why and what to do, its code (« letter_replaced »,
    « account_merged ») and the profile (AccountKind) to sign in with; else None. Said only
    to whoever typed the closed account's right password (the backend sets
    `request.refused_account` only then): it tells nothing about identifiers one does not
    hold.

    - a school letter whose provisional account was closed because the family activated its
      account by SMS or FranceConnect (activation.services.provisional_accounts_close,
      journaled PROVISIONAL_CLOSED_BY_ACTIVATION): names the active account's identifier;
    - an account merged into another one by « Ajouter des enfants depuis un autre compte »
      (families.services.accounts_merge_confirm, journaled ACCOUNT_CLOSED_BY_MERGE): names
      the kept account's identifier (the same person proved both passwords), following up to
      MERGE_CHAIN_MAX merges in a row (accounts.selectors.account_merged_into); when the
      kept account is itself closed, says so without an identifier and points to
      « Identifiant oublié ? ».

    `profile`: the kind of the sign-in page typed on (AccountKind; None: not said). When the
    account to use is of the other kind (a représentant légal's account typed on « Élève »),
    the message says so and names the profile to choose (seeds: the profile choice, then its
    page)."""
    if account.state != AccountState.CLOSED:
        return None
    event = _closing_event(account)
    if event is None:
        return None
    if event.kind == EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION.value:
        target = letter_replaced_by(account)
        if target is None or target.state != AccountState.ACTIVE:
            return None
        return ClosedAccountAdvice(_advice(letter_replaced_text() + " " + gettext(
            "Connectez-vous avec l'identifiant %(identifier)s et le mot de passe choisi à "
            "l'activation."
        ) % {"identifier": target.display_identifier}, "password", target.kind, profile),
            "letter_replaced", target.kind)
    target = Account.objects.filter(pk=event.data.get(_CLOSED_FOR[event.kind])).first() \
        if event.data.get(_CLOSED_FOR[event.kind]) else None
    if target is not None and target.state == AccountState.CLOSED:
        target = account_merged_into(target, follow=MERGE_CHAIN_MAX - 1) or target
    if target is not None and target.is_active:
        return ClosedAccountAdvice(_advice(gettext(
            "Ce compte a été regroupé avec un autre de vos comptes ÉduConnect et il est "
            "fermé : ses enfants sont désormais sur le compte %(identifier)s. Connectez-vous "
            "avec l'identifiant %(identifier)s et le mot de passe de ce compte."
        ) % {"identifier": target.display_identifier}, "password", target.kind, profile),
            "account_merged", target.kind)
    return ClosedAccountAdvice(_advice(gettext(
        "Ce compte a été regroupé avec un autre de vos comptes ÉduConnect et il est fermé. "
        "Connectez-vous avec l'identifiant du compte conservé."
    ), "identifier", account.kind, profile), "account_merged", account.kind)


def provisional_password_expired(account: Account) -> bool:
    """Whether `account` is provisional and its letter's password has passed
    `provisional_expires_at` (accounts.models.Account)."""
    return (account.state == AccountState.PROVISIONAL
            and account.provisional_expires_at is not None
            and account.provisional_expires_at <= timezone.now())


# The hint under every field where an identifier is typed (sign-in, « Mot de passe oublié ? »,
# the merge): the seed's format, and that capitals work as well as small letters (letters and
# pages print P.NOM12, the sign-in reads either; identifiers are stored in lowercase).
IDENTIFIER_HINT = gettext_lazy(
    "Identifiant au format p.nomXX. Majuscules et minuscules sont acceptées (P.NOM12 ou "
    "p.nom12).")


class SignInForm(EduConnectForm):
    identifier = forms.CharField(
        label=gettext_lazy("Identifiant"),
        help_text=IDENTIFIER_HINT,
        max_length=IDENTIFIER_MAX_LENGTH,
        widget=forms.TextInput(attrs={
            "autocomplete": "username", "autocapitalize": "none", "autocorrect": "off",
            "spellcheck": "false",
        }),
        error_messages={
            "required": gettext_lazy("Saisissez votre identifiant, au format p.nomXX."),
            "max_length": gettext_lazy(
                "Un identifiant ÉduConnect comporte moins de 40 caractères, au format p.nomXX : "
                "vérifiez votre saisie."
            ),
        },
    )
    # Rendered by components/password_field.html: DSFR's password component (show/hide box),
    # which django-dsfr has no snippet for.
    password = forms.CharField(
        label=gettext_lazy("Mot de passe"),
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={
            "class": "fr-password__input fr-input", "autocomplete": "current-password",
            "autocapitalize": "off", "autocorrect": "off", "spellcheck": "false",
        }),
        error_messages={
            "required": gettext_lazy("Saisissez votre mot de passe."),
            "max_length": gettext_lazy("Ce mot de passe est trop long : vérifiez votre saisie."),
        },
    )

    def __init__(self, request=None, *, profile: AccountKind, **kwargs):
        self.request = request
        self.profile = profile
        self.account: Account | None = None
        self.throttled = False
        self.retry_after = 0  # seconds, when throttled
        # Whether the browser carried a device cookie for the identifier typed (see
        # accounts.limits): the refusal page words its advice accordingly.
        self.trusted_device = False
        # A refusal whose message says why and what to do (the right password under the
        # other profile, a letter replaced by an activation): no generic advice beside it.
        self.refusal_explained = False
        # The profile (AccountKind) whose sign-in page the refusal sends the person to, when
        # it is not this page's (a merged représentant légal's account typed on « Élève »):
        # the page links to it.
        self.other_profile: str | None = None
        # Work to run once the response has been sent (see SignInView): a refusal must take
        # the same time whether the account exists or not, and journaling it means a commit.
        self.after_response: list[Callable[[], None]] = []
        super().__init__(**kwargs)

    def non_field_errors_concern_fields(self) -> bool:
        # A refusal is about the pair typed; too many attempts is about no field.
        return self.has_error(NON_FIELD_ERRORS, "invalid_login")

    def clean_identifier(self) -> str:
        # Letters print identifiers in capitals (P.NOM12); they are stored in lowercase.
        # Copied from an SMS or a PDF, they may carry a zero-width space or a soft hyphen.
        return strip_invisible(self.cleaned_data["identifier"]).strip().lower()

    def clean(self):
        cleaned = super().clean()
        identifier = cleaned.get("identifier")
        password = cleaned.get("password")
        if not identifier or password is None:
            return cleaned  # field errors already say what is missing

        ip = client_ip(self.request) if self.request is not None else ""
        device = sign_in_device(self.request, identifier=identifier)
        self.trusted_device = bool(device)
        # Counted before the password is checked, atomically: parallel requests cannot all
        # slip under the limit. A successful sign-in clears the identifier's windows.
        admission = sign_in_attempt_admit(identifier=identifier, ip=ip, device=device)
        if not admission.allowed:
            self.throttled = True
            self.retry_after = admission.retry_after
            raise ValidationError(throttled_message(admission.retry_after), code="throttled")

        account = authenticate(self.request, identifier=identifier, password=password)
        if account is not None and account.kind == self.profile:
            if provisional_password_expired(account):
                # The right password of a letter too old: the family asks the school for a
                # new one. Counted like a refusal (no device cookie, no session).
                self.after_response.append(partial(
                    journal_record, EventKind.PROVISIONAL_EXPIRED_SIGN_IN,
                    request=self.request, account=account, profile=str(self.profile),
                ))
                raise ValidationError(provisional_expired_message(),
                                      code="provisional_expired")
            sign_in_success_forget(identifier=identifier, ip=ip, device=device)
            self.account = account
            return cleaned

        self.after_response.append(
            partial(self._journal_failure, identifier, authenticated=account)
        )
        if account is not None and account.kind in (AccountKind.GUARDIAN, AccountKind.PUPIL):
            self.refusal_explained = True
            raise ValidationError(wrong_profile_message(account.kind), code="wrong_profile")
        refused = getattr(self.request, "refused_account", None)
        explained = (closed_account_message(refused, profile=str(self.profile))
                     if refused is not None else None)
        if explained is not None:
            self.refusal_explained = True
            if explained.profile != self.profile:
                self.other_profile = explained.profile
            raise ValidationError(explained.message, code=explained.code)
        raise ValidationError(gettext(INVALID_LOGIN_MESSAGE), code="invalid_login")

    def _journal_failure(self, identifier: str, *, authenticated: Account | None) -> None:
        """Journal a refusal; never the password, nor what was typed for no account.

        Runs after the response is sent, and does the same work whatever the identifier:
        one lookup by identifier (its unique index) and one journal row (one commit). The
        row of an identifier that matches no account names no account and keeps nothing
        typed (it could be a password typed in the wrong field): its reason
        « unknown_identifier », the profile and the address, which the per-address
        monitoring of password spraying reads. Before, only existing accounts were
        journaled, and the commit delayed the connection close by about 4 ms for them only
        (issue 8 §6)."""
        account = authenticated or Account.objects.filter(identifier=identifier).first()
        if account is None:
            reason = "unknown_identifier"
        elif authenticated is not None:
            reason = "staff_account" if account.kind == AccountKind.STAFF else "wrong_profile"
        elif not account.is_active:
            # The backend refuses locked and closed accounts without saying whether the
            # password was right; checking it again would cost a second hash for them only.
            reason = f"account_{account.state}"
        else:
            reason = "wrong_password"
        journal_record(
            EventKind.LOGIN_FAILED, request=self.request, account=account, reason=reason,
            profile=str(self.profile),
        )

    def get_user(self) -> Account | None:
        return self.account
