"""Named reads of the back-office: who a staff user may see, and search by the query's shape.

A helpdesk query is ONE of: an identifier (p.nom12, any case), an e-mail address, a mobile
phone number in any written form, an INE, a UAI, or a last name (or part of it, accents and
case ignored). `search_query_parse()` tells which from its shape, so that each search uses the
one index made for it (see pupils/migrations/0002 and accounts/migrations/0002); nothing here
scans a whole table. A name finds guardians (accounts, records) and also the pupils of that
name with their guardians (`pupils_search`, indexes of pupils/migrations/0017): the parent
who calls may not bear the child's name. On a secretary's lists a name typed may also be a
first name alone (« Hélène »), looked for among her schools' rows only (`_person_name_q`).
"""

import datetime
import functools
import re
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.db import connections, router
from django.db.models import (
    BigIntegerField,
    CharField,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Lower
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import Account, AccountState, StaffProfile, StaffRole
from activation.flows import (
    FRANCECONNECT_LINK,
    PROVISIONAL_GUARDIAN,
    PROVISIONAL_PUPIL,
    SMS_ACTIVATION,
    WRONG_DATES_PER_ACCOUNT,
    WRONG_DATES_PER_PHONE,
    ActivationData,
)
from activation.selectors import letter_accounts_with_pending_email
from core import ratelimit
from core.journal import EventKind
from core.models import CodeNotSentReason, Flow, FlowStatus, JournalEvent
from core.normalization import mobile_phone_readings, name_key
from core.sql import Slot, model_rows_by_pk, quoted_column, related_rows_set, slotted_rows
from notifications.models import OutboundMessage
from pupils.letters import letter_run_selection
from pupils.models import (
    INE_PATTERN,
    UAI_PATTERN,
    Establishment,
    GuardianRecord,
    LetterRun,
    Pupil,
    Responsibility,
    ResponsibilityStatus,
)
from pupils.selectors import NameKey
from services_portal.levels import Level, level_code, level_in_words

SEARCH_LIMIT = 50
JOURNAL_LIMIT = 40
# Kept in the journal (who looked at whom) but left out of the file the helpdesk reads, where
# they would push the activation steps and sign-ins out of sight.
CONSULTATION_KINDS = ("helpdesk.account_viewed", "helpdesk.record_viewed")
# Below this many characters a trigram index cannot serve a LIKE '%…%': short names
# (Ba, Ly, Ng) are matched whole instead.
PARTIAL_NAME_MIN_LENGTH = 3
# « Prénom Nom » in either order is tried for up to this many words.
MAX_NAME_WORDS = 4


# --- Scope: what a staff user may see ----------------------------------------------------


@dataclass(frozen=True)
class StaffScope:
    """The establishments a staff user works on: all, one academy's, or a list."""

    everything: bool = False
    academy_id: int | None = None
    establishment_ids: frozenset[int] = frozenset()

    @property
    def is_empty(self) -> bool:
        return not self.everything and self.academy_id is None and not self.establishment_ids

    @property
    def schools(self) -> frozenset[int]:
        """The establishments of a scope that is a list of schools (a secretary's): the
        rows a search may filter without an index of its own (a first name alone,
        `guardian_records_matching`); empty for an academy's or the country's scope."""
        if self.everything or self.academy_id is not None:
            return frozenset()
        return self.establishment_ids

    def establishment_q(self, path: str) -> Q:
        """Rows whose establishment, reached through `path`, is in scope."""
        if self.everything:
            return Q()
        if self.academy_id is not None:
            # path "pk": the establishments themselves.
            prefix = "" if path == "pk" else f"{path}__"
            return Q(**{f"{prefix}academy_id": self.academy_id})
        if self.establishment_ids:
            return Q(**{f"{path}__in": sorted(self.establishment_ids)})
        return Q(pk__in=[])

    def guardian_records_q(self) -> Q:
        """Guardian records in scope. For an academy, on the records' own academy column
        (issue 14): the condition the index (academy_id, last_name_key gin_trgm_ops) starts
        from, where a join on the establishments would read the country's rows of a name."""
        if self.academy_id is not None and not self.everything:
            return Q(academy_id=self._academy_bigint())
        return self.establishment_q("establishment")

    def _academy_bigint(self) -> Cast:
        # A bigint, as the column: btree_gin has no operator for bigint = integer, and with
        # one PostgreSQL would leave the academy out of the index's condition. The academy
        # may be a core.sql Slot (a statement written once, `slotted_scope`).
        academy = self.academy_id if isinstance(self.academy_id, Slot) else Value(self.academy_id)
        return Cast(academy, output_field=BigIntegerField())

    def pupils_q(self) -> Q:
        """Pupils in scope. For an academy, on the pupils' own academy column (pupils 0017):
        the condition the indexes pupil_academy_name_trgm and pupil_academy_exact_idx start
        from, where a join on the establishments would read the country's pupils of a name.
        Compared as a bigint, as guardian_records_q does (btree_gin)."""
        if self.academy_id is not None and not self.everything:
            return Q(academy_id=self._academy_bigint())
        return self.establishment_q("establishment")

    def establishments(self) -> QuerySet:
        return Establishment.objects.filter(self.establishment_q("pk"))


NO_SCOPE = StaffScope()
_SCOPE_CACHE_ATTRIBUTE = "_backoffice_scope"


def staff_scope(user) -> StaffScope:
    """The scope of `user`, computed once per request (cached on the user object)."""
    cached = getattr(user, _SCOPE_CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    scope = _staff_scope(user)
    if getattr(user, "pk", None) is not None:
        setattr(user, _SCOPE_CACHE_ATTRIBUTE, scope)
    return scope


def _staff_scope(user) -> StaffScope:
    if not getattr(user, "is_authenticated", False) or not user.is_staff or not user.is_active:
        return NO_SCOPE
    if user.is_superuser:
        return StaffScope(everything=True)
    profile = StaffProfile.objects.filter(account_id=user.pk).first()
    if profile is None:
        return NO_SCOPE
    if profile.role == StaffRole.NATIONAL:
        return StaffScope(everything=True)
    if profile.role == StaffRole.HELPDESK:
        return StaffScope(academy_id=profile.academy_id) if profile.academy_id else NO_SCOPE
    ids = frozenset(profile.establishments.values_list("pk", flat=True))
    return StaffScope(establishment_ids=ids) if ids else NO_SCOPE


def _own_parts(scope: StaffScope, account_ref) -> list[Q]:
    """The ways the account `account_ref` (an OuterRef to its id) belongs to a scope by its
    own rows: a record it covers, its pupil record, or (closed) a record it once covered."""
    records = GuardianRecord.objects.filter(
        scope.establishment_q("establishment"), account_id=account_ref
    )
    pupils = Pupil.objects.filter(scope.establishment_q("establishment"), account_id=account_ref)
    # A closed account has released its records: it stays visible where it covered some
    # (the records' history remembers; indexed by account).
    covered = GuardianRecord.history.model.objects.filter(
        scope.establishment_q("establishment"), account_id=account_ref
    )
    return [Q(Exists(records)), Q(Exists(pupils)), Q(Exists(covered))]


def _scope_parts(scope: StaffScope) -> list[Q]:
    """The ways an account belongs to a scope, each a correlated EXISTS on an index.

    An account closed by a merge (« Ajouter des enfants depuis un autre compte ») belongs
    where the account it was merged into belongs: its ACCOUNT_CLOSED_BY_MERGE event (the
    merge's record, accounts.selectors.account_merged_into) names the kept account, which
    now covers the records — so the academy's helpdesk finds the old identifier the family
    calls with even when the records' history does not name the closed account (records
    written in bulk). Any other closed account needs its own rows in scope.
    """
    records, pupils, covered = _own_parts(scope, OuterRef("pk"))
    kept_id = Cast(KeyTextTransform("kept_account_id", "data"), BigIntegerField())
    kept_records, kept_pupils, kept_covered = _own_parts(scope, OuterRef("kept_id"))
    # A kept account merged in its turn (a into b, then b into c) is found by the records it
    # covered; an open one only by what it covers now.
    kept_closed = Account.objects.filter(pk=OuterRef("kept_id"), state=AccountState.CLOSED)
    kept_in_scope = kept_records | kept_pupils | (Q(Exists(kept_closed)) & kept_covered)
    merges = (
        JournalEvent.objects
        .filter(account_id=OuterRef("pk"), kind=EventKind.ACCOUNT_CLOSED_BY_MERGE.value)
        .annotate(kept_id=kept_id)
        .filter(kept_in_scope)
    )
    closed = Q(state=AccountState.CLOSED)
    parts = [records, pupils, closed & covered, closed & Q(Exists(merges))]
    assert len(parts) == SCOPE_PARTS  # the statements of accounts_search
    return parts


# The number of ways an account belongs to a scope (`_scope_parts`).
SCOPE_PARTS = 4


def accounts_scope_q(scope: StaffScope) -> Q:
    """Accounts that cover a guardian record, or belong to a pupil, of the scope."""
    if scope.everything:
        return Q()
    if scope.is_empty:
        return Q(pk__in=[])
    condition = Q(pk__in=[])
    for part in _scope_parts(scope):
        condition |= part
    return condition


# --- Query shapes ------------------------------------------------------------------------


class Shape(StrEnum):
    IDENTIFIER = "identifier", _("identifiant")
    EMAIL = "email", _("adresse mail")
    PHONE = "phone", _("numéro de téléphone")
    INE = "ine", _("INE")
    UAI = "uai", _("UAI")
    NAME = "name", _("nom")

    def __new__(cls, value, label):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


class InvalidSearch(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SearchQuery:
    raw: str
    shape: Shape
    value: str
    phones: tuple[str, ...] = field(default=())
    # NAME: the key of each word typed, for « Hélène Lefèvre » or « LEFEVRE Hélène ».
    words: tuple[str, ...] = field(default=())


# The field's name first (« Recherche : »), then the fix, as every form's errors read.
EMPTY_SEARCH = _(
    "Recherche : saisissez un identifiant, un nom, un numéro de téléphone portable, une "
    "adresse mail, un INE ou un UAI."
)
INVALID_PHONE_SEARCH = _(
    "Ce numéro n'est pas un numéro de téléphone portable valide. Saisissez ses 10 chiffres, "
    "par exemple 06 12 34 56 78, ou avec l'indicatif, par exemple +262 692 12 34 56."
)
QUERY_MAX_LENGTH = 100
# Digits and the separators people type in numbers, nothing else: a phone number (or a bad one).
_PHONE_LIKE = re.compile(r"\+?[\d\s.\-()/\u00a0\u202f]+")
_IDENTIFIER_LIKE = re.compile(r"[a-z]\.[a-z0-9]+")
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+")


def phone_candidates(raw: str) -> tuple[str, ...]:
    """Every E.164 mobile number `raw` can mean: a number typed in national form is read in
    metropolitan France and in each overseas region (0692… is +262 692…, not +33 692…). The
    rules of core.forms.FrenchMobileNumberField, without a school to prefer."""
    return mobile_phone_readings(raw)


def search_query_parse(raw: str) -> SearchQuery:
    """Tell the query's shape and normalise its value. Raises InvalidSearch (French)."""
    text = " ".join((raw or "").split())
    if not text:
        raise InvalidSearch(EMPTY_SEARCH)
    if len(text) > QUERY_MAX_LENGTH:
        raise InvalidSearch(
            gettext("Recherche : saisissez au plus %(limit)s caractères.")
            % {"limit": QUERY_MAX_LENGTH}
        )
    if _EMAIL_LIKE.fullmatch(text):
        return SearchQuery(raw=text, shape=Shape.EMAIL, value=text.lower())
    compact_upper = text.replace(" ", "").upper()
    if re.fullmatch(UAI_PATTERN, compact_upper):
        return SearchQuery(raw=text, shape=Shape.UAI, value=compact_upper)
    if re.fullmatch(INE_PATTERN, compact_upper):
        return SearchQuery(raw=text, shape=Shape.INE, value=compact_upper)
    if _PHONE_LIKE.fullmatch(text) and any(c.isdigit() for c in text):
        phones = phone_candidates(text)
        if not phones:
            raise InvalidSearch(INVALID_PHONE_SEARCH)
        return SearchQuery(raw=text, shape=Shape.PHONE, value=phones[0], phones=phones)
    lowered = text.lower()
    if _IDENTIFIER_LIKE.fullmatch(lowered):
        return SearchQuery(raw=text, shape=Shape.IDENTIFIER, value=lowered)
    key = name_key(text)
    if len(key) < 2:
        raise InvalidSearch(gettext("Saisissez au moins 2 lettres du nom."))
    words = tuple(w for w in (name_key(part) for part in text.split()) if w)
    return SearchQuery(raw=text, shape=Shape.NAME, value=key,
                       words=words if 1 < len(words) <= MAX_NAME_WORDS else ())


def name_texts(query: SearchQuery) -> dict[str, str]:
    """The name keys a search by name compares, by name: « value », all that was typed (one
    key), then for several words, at each cut, « headN » (the first N words) and « tailN »
    (the others). `{"value": "helenelefevre", "head1": "helene", "tail1": "lefevre"}`."""
    texts = {"value": query.value}
    for cut in range(1, len(query.words)):
        texts[f"head{cut}"] = "".join(query.words[:cut])
        texts[f"tail{cut}"] = "".join(query.words[cut:])
    return texts


def name_shape(query: SearchQuery) -> tuple[tuple[str, bool], ...]:
    """What the SQL of a search by name depends on besides the keys themselves: each text
    of `name_texts` and whether it is matched inside a name (at least
    PARTIAL_NAME_MIN_LENGTH letters) or whole — the key of a statement written once
    (core.sql.slotted_rows)."""
    return tuple((name, len(text) >= PARTIAL_NAME_MIN_LENGTH)
                 for name, text in name_texts(query).items())


def _name_q(lookup_base: str, key, partial: bool) -> Q:
    if partial:
        return Q(**{f"{lookup_base}__contains": key})
    return Q(**{lookup_base: key})


def _person_name_q(last: str, first: str, query: SearchQuery, *, slotted: bool = False,
                   schools: Q | None = None) -> Q:
    """The last name contains what was typed; or, for several words, some first words are
    in one name and the others in the other (« Hélène Lefèvre », « LEFEVRE Hélène »). Every
    alternative holds a condition on the last name, which its trigram index serves.
    `slotted`: each key a core.sql Slot named as in `name_texts`, for a statement written
    once per `name_shape`.

    `schools` (a condition on the rows' establishment, `_schools_q`): the first names also
    contain what was typed (« Hélène » alone, or « Marie Hélène »), among those schools'
    rows only. No index holds the first names alone — a first name anywhere would read the
    whole academy's or the country's table —, while the establishment's indexes find a few
    schools' rows (a secretary's lists: backoffice.scoping.ScopedAdminMixin), which are
    then filtered."""
    texts = name_texts(query)
    partial = dict(name_shape(query))

    def term(base: str, name: str) -> Q:
        key = Slot(name, CharField()) if slotted else texts[name]
        return _name_q(base, key, partial[name])

    condition = term(last, "value")
    for cut in range(1, len(query.words)):
        condition |= term(last, f"head{cut}") & term(first, f"tail{cut}")
        condition |= term(first, f"head{cut}") & term(last, f"tail{cut}")
    if schools is not None:
        condition |= schools & term(first, "value")
    return condition


def _schools_q(schools: frozenset[int], path: str = "establishment") -> Q | None:
    """The rows of the establishments `schools` (through `path`), or None when empty: the
    condition a first name alone is looked for under (`_person_name_q`)."""
    if not schools:
        return None
    return Q(**{f"{path}__in": sorted(schools)})


def _by_person_name(queryset: QuerySet, last: str, first: str, query: SearchQuery,
                    *, slotted: bool = False, schools: Q | None = None) -> QuerySet:
    """Rows whose names, read by educonnect_name_key(), match the query."""
    return queryset.alias(_last_key=NameKey(last), _first_key=NameKey(first)).filter(
        _person_name_q("_last_key", "_first_key", query, slotted=slotted, schools=schools)
    )


# --- Per-model filters (the admin's search box uses them too) ----------------------------


def _email_match(queryset: QuerySet, email: str) -> QuerySet:
    return queryset.alias(_email_ci=Lower("email")).filter(_email_ci=email)


def guardian_records_matching(queryset: QuerySet, query: SearchQuery, *,
                              schools: frozenset[int] = frozenset()) -> QuerySet:
    """The guardian records of `queryset` the query finds. `schools`: the establishments
    among whose records a name typed is also looked for in the first names (« Hélène »
    alone: `_person_name_q`); elsewhere a single name is a last name."""
    match query.shape:
        case Shape.PHONE:
            return queryset.filter(mobile_phone__in=query.phones)
        case Shape.EMAIL:
            return _email_match(queryset, query.value)
        case Shape.NAME:
            return queryset.filter(_person_name_q("last_name_key", "first_name_key", query,
                                                  schools=_schools_q(schools)))
        case Shape.UAI:
            return queryset.filter(establishment__uai=query.value)
        case Shape.INE:
            return queryset.filter(
                pk__in=Responsibility.objects.filter(pupil__ine=query.value).values(
                    "guardian_record_id"
                )
            )
        case Shape.IDENTIFIER:
            return queryset.filter(account__in=_identifier_accounts(query.value))
    return queryset.none()


def pupils_matching(queryset: QuerySet, query: SearchQuery, *,
                    schools: frozenset[int] = frozenset()) -> QuerySet:
    """The pupils of `queryset` the query finds; `schools` as in guardian_records_matching
    (« Zoé » alone finds the pupils of those schools whose first names hold it)."""
    match query.shape:
        case Shape.INE:
            return queryset.filter(ine=query.value)
        case Shape.UAI:
            return queryset.filter(establishment__uai=query.value)
        case Shape.NAME:
            return _by_person_name(queryset, "last_name", "first_names", query,
                                   schools=_schools_q(schools))
        case Shape.IDENTIFIER:
            return queryset.filter(account__in=_identifier_accounts(query.value))
        case Shape.PHONE | Shape.EMAIL:
            records = guardian_records_matching(GuardianRecord.objects.all(), query)
            return queryset.filter(
                pk__in=Responsibility.objects.filter(guardian_record__in=records).values(
                    "pupil_id"
                )
            )
    return queryset.none()


def responsibilities_matching(queryset: QuerySet, query: SearchQuery, *,
                              schools: frozenset[int] = frozenset()) -> QuerySet:
    """The links of `queryset` the query finds (by their pupil for a name); `schools` as in
    pupils_matching."""
    if query.shape == Shape.UAI:
        return queryset.filter(pupil__establishment__uai=query.value)
    if query.shape in (Shape.PHONE, Shape.EMAIL):
        return queryset.filter(
            guardian_record__in=guardian_records_matching(GuardianRecord.objects.all(), query)
        )
    return queryset.filter(
        pupil__in=pupils_matching(Pupil.objects.all(), query, schools=schools))


def _identifier_accounts(identifier: str) -> QuerySet:
    # « p.dupont12 » is one account; « p.dupont » every p.dupontNN (prefix scan on the
    # identifier's unique index, varchar_pattern_ops on PostgreSQL).
    if identifier[-1].isdigit():
        return Account.objects.filter(identifier=identifier)
    return Account.objects.filter(identifier__startswith=identifier)


def accounts_matching(queryset: QuerySet, query: SearchQuery,
                      scope: StaffScope | None = None) -> QuerySet:
    """Accounts found by the query. Related rows are looked up first (small id lists), so
    that each part uses its own index instead of an OR across tables.

    The account's own fields (identifier, name, phone, e-mail: the parent's identity, whom
    the helpdesk helps) are searched whatever `scope`; the guardian records and pupils an
    account covers only within `scope` (a StaffScope; None: everything), so that an
    academy's agent never finds a shared account through another academy's INE, UAI, record
    number or address (an account covering records of two academies: each academy finds it
    through its own records only)."""
    scope = scope or StaffScope(everything=True)
    records = GuardianRecord.objects.filter(scope.guardian_records_q())
    pupils = Pupil.objects.filter(scope.establishment_q("establishment"))
    match query.shape:
        case Shape.IDENTIFIER:
            if query.value[-1].isdigit():
                return queryset.filter(identifier=query.value)
            return queryset.filter(identifier__startswith=query.value)
        case Shape.NAME:
            return _by_person_name(queryset, "last_name", "first_name", query)
        case Shape.PHONE:
            ids = set(Account.objects.filter(phone__in=query.phones).values_list("pk", flat=True))
            ids |= _covering_account_ids(records.filter(mobile_phone__in=query.phones))
            return queryset.filter(pk__in=ids)
        case Shape.EMAIL:
            ids = set(_email_match(Account.objects.all(), query.value).values_list("pk", flat=True))
            ids |= _covering_account_ids(_email_match(records, query.value))
            # The address a parent typed in a school letter's first sign-in, pending its link.
            ids |= set(letter_accounts_with_pending_email(query.value)
                       .values_list("account_id", flat=True))
            return queryset.filter(pk__in=ids)
        case Shape.INE:
            pupil = pupils.filter(ine=query.value).first()
            if pupil is None:
                return queryset.none()
            ids = _covering_account_ids(records.filter(responsibilities__pupil=pupil))
            if pupil.account_id:
                ids.add(pupil.account_id)
            return queryset.filter(pk__in=ids)
        case Shape.UAI:
            ids = _covering_account_ids(records.filter(establishment__uai=query.value))
            ids |= set(
                pupils.filter(establishment__uai=query.value, account__isnull=False)
                .values_list("account_id", flat=True)
            )
            return queryset.filter(pk__in=ids)
    return queryset.none()


def _covering_account_ids(records: QuerySet) -> set[int]:
    return set(records.filter(account__isnull=False).values_list("account_id", flat=True))


# --- Helpdesk search and account file ----------------------------------------------------


@dataclass
class SearchResults:
    query: SearchQuery
    accounts: list[Account]
    accounts_truncated: bool
    records: list[GuardianRecord]
    records_truncated: bool
    # A search by number: the SMS activations started with it, matched or not (issue 16 §5).
    attempts: list = field(default_factory=list)
    # A search by name: the pupils of that name in scope, each with `guardian_links`, its
    # responsibilities (pupils_search): the parent whose surname is not the child's.
    pupils: list = field(default_factory=list)
    pupils_truncated: bool = False


# Case-insensitive, and not the order of any B-tree index that starts with the name: for a
# partial name the planner then reads the few rows the trigram index finds and sorts them,
# rather than walking a name index from « A » hoping to meet matches early. Within one
# academy and one name key it IS the order of guardian_academy_exact_idx (pupils 0013),
# which serves the exact part of a name search in order: change both together.
ACCOUNT_ORDER = (Lower("last_name"), Lower("first_name"), "identifier")
RECORD_ORDER = (Lower("last_name"), Lower("first_name"), "pk")


def _sort_key(account: Account):
    return (account.last_name.lower(), account.first_name.lower(), account.identifier)


def accounts_search(*, query: SearchQuery, scope: StaffScope, limit: int) -> list[Account]:
    """At most `limit` accounts of the scope found by the query, by name.

    For a limited scope, each way of belonging to it is its own query (an EXISTS joined to
    the few accounts the query found); one query with an OR of them would make PostgreSQL
    hash a whole academy's records first. An academy's agent searching a name: the
    academy's rows of the name first (`_academy_accounts_by_name`).
    """
    if scope.is_empty and not scope.everything:
        return []
    if query.shape == Shape.NAME and scope.academy_id is not None and not scope.everything:
        return _academy_accounts_by_name(query=query, academy_id=scope.academy_id, limit=limit)
    found = accounts_matching(Account.objects.all(), query, scope)
    if scope.everything:
        return list(found.order_by(*ACCOUNT_ORDER)[:limit])
    accounts: dict[int, Account] = {}
    for part in _scope_parts(scope):
        for account in found.filter(part).order_by(*ACCOUNT_ORDER)[:limit]:
            accounts[account.pk] = account
    return sorted(accounts.values(), key=_sort_key)[:limit]


# The scope of an academy's agent in a statement written once: the academy a Slot.
_SLOTTED_ACADEMY_SCOPE = StaffScope(academy_id=Slot("academy", IntegerField()))

# The statements of `_academy_accounts_by_name`, by name (`_academy_accounts_part`): the
# exact name then the partial matches, through the academy's guardian records and through
# its pupils; then the closed accounts (`_scope_parts` 2 and 3).
EXACT_ACCOUNT_PARTS = ("records", "pupils")
PARTIAL_ACCOUNT_PARTS = ("records_partial", "pupils_partial")
CLOSED_ACCOUNT_PARTS = ("closed_covered", "closed_merged")
ACADEMY_ACCOUNT_PARTS = EXACT_ACCOUNT_PARTS + PARTIAL_ACCOUNT_PARTS + CLOSED_ACCOUNT_PARTS
# Whether any closed account of the country bears the name: the two closed statements run
# only then (closed_merged alone took 1.4 ms to plan at each search; issue 14).
CLOSED_NAMED_PART = "closed_named"

# Guardian records read for `limit` accounts of one name: a parent has one record per
# school of the academy (several children in several schools), so a list can come out
# short only if the first `limit` × 4 records of the name (in name order) belong to fewer
# than `limit` parents — four schools each on average.
RECORDS_READ_PER_ACCOUNT = 4


def _academy_accounts_by_name(*, query: SearchQuery, academy_id: int,
                              limit: int) -> list[Account]:
    """`accounts_search` for an academy's agent and a name — the helpdesk's most frequent
    search: at most `limit` accounts, those whose academy knows them by exactly the name
    typed first (with the closed accounts the query finds, a few), then (if fewer than
    `limit`) the partial matches, each group in ACCOUNT_ORDER, as records_search lists the
    records.

    An open account is found by the names its academy knows it by: a guardian record of the
    academy that it covers, or its pupil record, whose name the query finds (the account's
    own name is the first record's at activation). Each statement
    (`_academy_accounts_part`, ACADEMY_ACCOUNT_PARTS) starts from the academy's rows of
    the name: the exact name from the ordered B-trees guardian_academy_covered_idx and
    pupil_academy_account_idx (pupils 0019), read in name order and stopped after
    `limit` × RECORDS_READ_PER_ACCOUNT records or `limit` pupils, so « martin » costs the
    same with 100 or 10,000 Martins in the academy; the partial matches from the trigram
    indexes guardian_academy_name_trgm and pupil_academy_name_trgm (every partial match of
    the academy read). Starting from the accounts' national name index cost 80 ms to 1.5 s
    at 1M guardian records (bench_helpdesk_search.py, issue 14). A closed account (a
    merge) is found by its own name among the few closed ones. A short name typed as one
    word (under PARTIAL_NAME_MIN_LENGTH letters) is matched whole: no partial statements.

    Each statement is built and compiled by the ORM once per process, part and shape of
    name (core.sql.slotted_rows: ≈ 8 ms of CPU a search saved). Three statements for a
    common name, five for a rarer one (CLOSED_NAMED_PART first: the closed statements
    only when a closed account bears the name, two more)."""
    shape = name_shape(query)
    values = {**name_texts(query), "academy": academy_id}

    def rows(part: str) -> list[Account]:
        return slotted_rows(
            Account, key=("helpdesk.accounts", part, shape, limit),
            build=lambda: _academy_accounts_part(part, query, limit, _SLOTTED_ACADEMY_SCOPE),
            values=values)

    exact: dict[int, Account] = {}
    parts = EXACT_ACCOUNT_PARTS + (CLOSED_ACCOUNT_PARTS if rows(CLOSED_NAMED_PART) else ())
    for part in parts:
        exact.update((account.pk, account) for account in rows(part))
    listed = sorted(exact.values(), key=_sort_key)
    whole_only = len(query.value) < PARTIAL_NAME_MIN_LENGTH and not query.words
    if len(listed) < limit and not whole_only:
        partial: dict[int, Account] = {}
        for part in PARTIAL_ACCOUNT_PARTS:
            partial.update((account.pk, account) for account in rows(part)
                           if account.pk not in exact)
        listed += sorted(partial.values(), key=_sort_key)
    return listed[:limit]


def _academy_accounts_part(part: str, query: SearchQuery, limit: int,
                           scope: StaffScope) -> QuerySet:
    """Statement `part` (one of ACADEMY_ACCOUNT_PARTS) of `_academy_accounts_by_name` for an
    academy's `scope`, at most `limit` accounts in ACCOUNT_ORDER: « records », the accounts
    covering the first `limit` × RECORDS_READ_PER_ACCOUNT guardian records of the academy
    whose whole last name is the one typed; « pupils », the accounts of the first `limit`
    pupils of the academy of that name; « records_partial » and « pupils_partial », the
    same for the other matches of the query (`_person_name_q`); « closed_covered » and
    « closed_merged », the closed accounts whose own name the query finds and that belong
    to the academy (`_scope_parts` 2 and 3); CLOSED_NAMED_PART, one closed account of the
    country whose own name the query finds, if any. With the scope's academy a core.sql Slot
    (_SLOTTED_ACADEMY_SCOPE), the names are Slots too (`name_texts`)."""
    slotted = isinstance(scope.academy_id, Slot)
    if part == CLOSED_NAMED_PART:
        return (_by_person_name(Account.objects.filter(state=AccountState.CLOSED), "last_name",
                                "first_name", query, slotted=slotted).order_by("pk")[:1])
    if part in CLOSED_ACCOUNT_PARTS:
        index = 2 + CLOSED_ACCOUNT_PARTS.index(part)
        return (_by_person_name(Account.objects.all(), "last_name", "first_name", query,
                                slotted=slotted)
                .filter(_scope_parts(scope)[index]).order_by(*ACCOUNT_ORDER)[:limit])
    if part in ("records", "records_partial"):
        covered = GuardianRecord.objects.filter(scope.guardian_records_q(),
                                                account__isnull=False)
        rows = (_exact_name(covered, "last_name_key", query, slotted) if part == "records"
                else _partial_name(covered, "last_name_key", "first_name_key", query,
                                   slotted))
        rows = rows.order_by(*RECORD_ORDER)[:limit * RECORDS_READ_PER_ACCOUNT]
    elif part in ("pupils", "pupils_partial"):
        with_account = Pupil.objects.filter(scope.pupils_q(), account__isnull=False)
        rows = (_exact_pupil_name(with_account, query, slotted) if part == "pupils"
                else _partial_pupil_name(with_account, query, slotted))
        rows = rows.order_by(*PUPIL_SEARCH_ORDER)[:limit]
    else:
        raise ValueError(f"unknown part of the accounts' search: {part!r}")
    return (Account.objects.filter(pk__in=rows.values("account_id"))
            .order_by(*ACCOUNT_ORDER)[:limit])


def _unlinked_records(scope: StaffScope) -> QuerySet:
    return GuardianRecord.objects.filter(scope.guardian_records_q(), account__isnull=True)


def _name_key(query: SearchQuery, slotted: bool):
    """The key of the whole name typed: the query's, or the Slot « value » (`name_texts`)."""
    return Slot("value", CharField()) if slotted else query.value


def _exact_name(rows: QuerySet, last_key: str, query: SearchQuery, slotted: bool) -> QuerySet:
    """`rows` whose name key `last_key` is the whole name typed (« martin »: Martin, MARTIN,
    not Martinez)."""
    return rows.filter(**{last_key: _name_key(query, slotted)})


def _partial_name(rows: QuerySet, last_key: str, first_key: str, query: SearchQuery,
                  slotted: bool) -> QuerySet:
    """`rows` that the query finds (`_person_name_q` on the name keys `last_key` and
    `first_key`) but `_exact_name` does not."""
    return (rows.filter(_person_name_q(last_key, first_key, query, slotted=slotted))
            .exclude(**{last_key: _name_key(query, slotted)}))


def exact_name_records(*, query: SearchQuery, scope: StaffScope, limit: int,
                       slotted: bool = False) -> QuerySet:
    """The records of `records_search` whose whole last name is what was typed (name keys
    equal: « martin » finds « Martin », « MARTIN », not « Martinez »), in RECORD_ORDER, at
    most `limit` (a lazy queryset, without their establishments). For an academy's agent it
    is read in that order from the B-tree guardian_academy_exact_name_idx (pupils 0013) and
    stops after `limit` rows: the cost is the limit's, not the number of Martins of the
    academy (issue 14). `slotted`: the name a core.sql Slot (`_name_part_rows`)."""
    return (_exact_name(_unlinked_records(scope), "last_name_key", query, slotted)
            .order_by(*RECORD_ORDER)[:limit])


def partial_name_records(*, query: SearchQuery, scope: StaffScope, limit: int,
                         slotted: bool = False) -> QuerySet:
    """The records of `records_search` that the query finds but `exact_name_records` does
    not (a last name containing what was typed, or « Prénom Nom » in either order), in
    RECORD_ORDER, at most `limit` (a lazy queryset, without their establishments; trigram
    index guardian_academy_name_trgm: every match of the academy is read and sorted).
    `slotted`: the names core.sql Slots (`_name_part_rows`)."""
    return (_partial_name(_unlinked_records(scope), "last_name_key", "first_name_key", query,
                          slotted)
            .order_by(*RECORD_ORDER)[:limit])


def _name_part_rows(part, model, *, query: SearchQuery, scope: StaffScope, limit: int) -> list:
    """The rows of `part` (exact_name_records, partial_name_records, exact_name_pupils or
    partial_name_pupils) for `query`, a name. For an academy's agent, the statement is
    built and compiled by the ORM once per process, part, shape of name and limit, the
    academy and the name keys given at each search (core.sql.slotted_rows: about 2 ms of
    CPU saved a part); for another scope, the ORM's queryset."""
    if scope.academy_id is None or scope.everything:
        return list(part(query=query, scope=scope, limit=limit))
    return slotted_rows(
        model, key=("helpdesk", part.__name__, name_shape(query), limit),
        build=lambda: part(query=query, scope=_SLOTTED_ACADEMY_SCOPE, limit=limit,
                           slotted=True),
        values={**name_texts(query), "academy": scope.academy_id})


def records_search(*, query: SearchQuery, scope: StaffScope, limit: int) -> list[GuardianRecord]:
    """The guardian records of the scope that no account covers and that the query finds,
    at most `limit`, each with its establishment. An academy's agent reads that academy's
    records only: the cost follows the academy, not the country (issue 14;
    tests/backoffice/test_search_plan.py).

    A name is searched in two steps, and the list is in that order: first the records whose
    last name is exactly the name typed (`exact_name_records`: an ordered index read that
    stops at `limit`, so « martin » costs the same with 60 or 6,000 Martins in the academy),
    then, only if they are fewer than `limit`, the partial matches not already listed
    (`partial_name_records`). Each part is sorted by name (RECORD_ORDER). A name shorter
    than PARTIAL_NAME_MIN_LENGTH typed as one word is matched whole: the first step is all.
    Then one query for their establishments. Other shapes (number, e-mail, INE, UAI,
    identifier): one query, sorted by name.
    """
    if query.shape != Shape.NAME:
        return list(
            guardian_records_matching(_unlinked_records(scope), query)
            .select_related("establishment").order_by(*RECORD_ORDER)[:limit]
        )
    records = _name_part_rows(exact_name_records, GuardianRecord, query=query, scope=scope,
                              limit=limit)
    whole_only = len(query.value) < PARTIAL_NAME_MIN_LENGTH and not query.words
    if len(records) < limit and not whole_only:
        # The statement's limit is the whole one (one statement per shape of name, not one
        # per number already found); the rows past it are few and not kept.
        records += _name_part_rows(partial_name_records, GuardianRecord, query=query,
                                   scope=scope, limit=limit)[:limit - len(records)]
    related_rows_set(records, "establishment")
    return records


# The order of the pupils found by name: within one academy and one name key, the order of
# pupil_academy_exact_idx (pupils 0017), which serves the exact part in order: change both
# together. Case-insensitive, as RECORD_ORDER.
PUPIL_SEARCH_ORDER = (Lower("last_name"), Lower("first_names"), "pk")


def _pupils_in_scope(scope: StaffScope) -> QuerySet:
    return Pupil.objects.filter(scope.pupils_q())


def exact_name_pupils(*, query: SearchQuery, scope: StaffScope, limit: int,
                      slotted: bool = False) -> QuerySet:
    """The pupils of `pupils_search` whose whole last name is what was typed (name keys
    equal, educonnect_name_key(last_name) = query.value: « moreau » finds « Moreau »,
    « MOREAU », not « Moreau-Durand »), in PUPIL_SEARCH_ORDER, at most `limit` (a lazy
    queryset, without their establishments). For an academy's agent it is read in that
    order from the B-tree pupil_academy_exact_idx (pupils 0017) and stops after `limit`
    rows. `slotted`: the name a core.sql Slot (`_name_part_rows`)."""
    return (_exact_pupil_name(_pupils_in_scope(scope), query, slotted)
            .order_by(*PUPIL_SEARCH_ORDER)[:limit])


def partial_name_pupils(*, query: SearchQuery, scope: StaffScope, limit: int,
                        slotted: bool = False) -> QuerySet:
    """The pupils of `pupils_search` that the query finds but `exact_name_pupils` does not
    (a last name containing what was typed, or « Prénom Nom » in either order: the rules of
    the guardian records' search, `_person_name_q`), in PUPIL_SEARCH_ORDER, at most `limit`
    (a lazy queryset, without their establishments; GIN index pupil_academy_name_trgm for
    an academy's agent). `slotted`: the names core.sql Slots (`_name_part_rows`)."""
    return (_partial_pupil_name(_pupils_in_scope(scope), query, slotted)
            .order_by(*PUPIL_SEARCH_ORDER)[:limit])


def _exact_pupil_name(pupils: QuerySet, query: SearchQuery, slotted: bool) -> QuerySet:
    """`pupils` whose last name, read by educonnect_name_key(), is the whole name typed."""
    return pupils.alias(_last_key=NameKey("last_name")).filter(
        _last_key=_name_key(query, slotted))


def _partial_pupil_name(pupils: QuerySet, query: SearchQuery, slotted: bool) -> QuerySet:
    """`pupils` that the query finds (`_by_person_name`) but `_exact_pupil_name` does not."""
    return (_by_person_name(pupils, "last_name", "first_names", query, slotted=slotted)
            .exclude(_last_key=_name_key(query, slotted)))


def _guardian_links_prefetch(scope: StaffScope) -> Prefetch:
    """Each pupil's guardians as `pupil.guardian_links`: its responsibilities not removed,
    legal representatives first, with the guardian record and the account covering it
    (one query for all the pupils; the record's establishment is the pupil's, set by
    `_records_share_the_pupils_school`). Records outside the scope are left out, though a
    link joins a pupil and a record of one school (pupils.services).

    Only the columns the helpdesk's list shows are read (names, account identifier and
    state): 51 pupils' links with every column of the record, its establishment and its
    account cost about 10 ms of CPU to build at each search (bench_helpdesk_search.py,
    issue 14); another field read on them costs a query each."""
    links = (
        Responsibility.objects
        .exclude(status=ResponsibilityStatus.REMOVED)
        .filter(scope.establishment_q("guardian_record__establishment"))
        .select_related("guardian_record__account")
        .only("pupil_id", "guardian_record_id", "is_legal_representative", "status",
              "guardian_record__establishment_id", "guardian_record__last_name",
              "guardian_record__first_name", "guardian_record__account_id",
              "guardian_record__account__identifier", "guardian_record__account__state")
        .order_by("-is_legal_representative", Lower("guardian_record__last_name"),
                  Lower("guardian_record__first_name"), "pk")
    )
    return Prefetch("responsibilities", queryset=links, to_attr="guardian_links")


# The fields `_guardian_links_prefetch` reads (its `.only()`), by model.
_LINK_FIELDS = ((Responsibility, {"id", "pupil", "guardian_record", "is_legal_representative",
                                  "status"}),
                (GuardianRecord, {"id", "establishment", "last_name", "first_name", "account"}),
                (Account, {"id", "identifier", "state"}))


def _link_columns() -> list[tuple[type, list]]:
    """[(model, its fields of _LINK_FIELDS)] in the order of the model's concrete fields: the
    order `Model.from_db` expects the values of a partial row in."""
    return [(model, [field for field in model._meta.concrete_fields if field.name in names])
            for model, names in _LINK_FIELDS]


@functools.cache
def _academy_guardian_links_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    col = functools.partial(quoted_column, db=db)
    link, record, account = (model._meta for model, _fields in _LINK_FIELDS)
    selected = ", ".join(f"{alias}.{quote(field.column)}" for alias, (_model, fields)
                         in zip("rga", _link_columns(), strict=True) for field in fields)
    return (
        f"SELECT {selected} FROM {quote(link.db_table)} r "  # noqa: S608
        f"JOIN {quote(record.db_table)} g "
        f"ON g.{col(record, 'id')} = r.{col(link, 'guardian_record')} "
        f"LEFT JOIN {quote(account.db_table)} a "
        f"ON a.{col(account, 'id')} = g.{col(record, 'account')} "
        f"WHERE r.{col(link, 'pupil')} = ANY(%s) AND r.{col(link, 'status')} <> %s "
        f"AND g.{col(record, 'academy')} = %s "
        f"ORDER BY r.{col(link, 'is_legal_representative')} DESC, "
        f"LOWER(g.{col(record, 'last_name')}), LOWER(g.{col(record, 'first_name')}), "
        f"r.{col(link, 'id')}"
    )


def _guardian_links_set(pupils: list[Pupil], scope: StaffScope) -> None:
    """`pupil.guardian_links` for each of `pupils`: what `_guardian_links_prefetch` reads (the
    same rows, order and columns, the record's account or None), built from one statement
    written once per process for an academy's agent on PostgreSQL
    (`_academy_guardian_links_sql`: the pupils' ids one array, the scope on the records' own
    academy column, the academy of their school); the ORM's prefetch elsewhere. The ORM's
    building and compiling of the prefetch cost more than its statement: with this and the
    establishments read by core.sql.related_rows_set, pupils_search for « martin » at 1M
    records went from 8.4 to 3.4 ms of CPU (bench_helpdesk_search.py, issue 14)."""
    if not pupils:
        return
    db = router.db_for_read(Responsibility)
    if scope.academy_id is None or scope.everything or connections[db].vendor != "postgresql":
        prefetch_related_objects(pupils, _guardian_links_prefetch(scope))
        return
    with connections[db].cursor() as cursor:
        cursor.execute(_academy_guardian_links_sql(db), [
            [pupil.pk for pupil in pupils], ResponsibilityStatus.REMOVED.value,
            scope.academy_id])
        rows = cursor.fetchall()
    (link_model, link_names), (record_model, record_names), (account_model, account_names) = (
        (model, [field.attname for field in fields]) for model, fields in _link_columns())
    by_pupil = {pupil.pk: pupil for pupil in pupils}
    for pupil in pupils:
        pupil.guardian_links = []
    link_record = Responsibility._meta.get_field("guardian_record")
    link_pupil = Responsibility._meta.get_field("pupil")
    record_account = GuardianRecord._meta.get_field("account")
    ends = (len(link_names), len(link_names) + len(record_names))
    for row in rows:
        link = link_model.from_db(db, link_names, row[:ends[0]])
        record = record_model.from_db(db, record_names, row[ends[0]:ends[1]])
        account = (account_model.from_db(db, account_names, row[ends[1]:])
                   if row[ends[1]] is not None else None)
        record_account.set_cached_value(record, account)
        link_record.set_cached_value(link, record)
        pupil = by_pupil[link.pupil_id]
        link_pupil.set_cached_value(link, pupil)
        pupil.guardian_links.append(link)


def _records_share_the_pupils_school(pupils: list[Pupil]) -> None:
    """Each link's guardian record gets its pupil's establishment (already read) where it is
    the same school, as a link always joins (pupils.services): no query, no second copy."""
    for pupil in pupils:
        for link in pupil.guardian_links:
            record = link.guardian_record
            if record.establishment_id == pupil.establishment_id:
                record.establishment = pupil.establishment


def pupils_search(*, query: SearchQuery, scope: StaffScope, limit: int) -> list[Pupil]:
    """The pupils of the scope whose name the query finds (a search by name only; [] for any
    other shape), at most `limit`, each with `guardian_links` (its responsibilities, their
    guardian records and accounts): a parent calls about « Lucas Moreau », and the record
    and account of a mother named otherwise are found through him.

    As `records_search`, in two steps and in that order: the pupils whose last name is
    exactly the name typed (`exact_name_pupils`), then, if fewer than `limit`, the partial
    matches (`partial_name_pupils`), each part sorted by name (PUPIL_SEARCH_ORDER); a name
    shorter than PARTIAL_NAME_MIN_LENGTH typed as one word is matched whole. The two parts
    never hold the same pupil. An academy's agent reads that academy's pupils only, from
    the pupil's own academy column (pupils 0017; tests/backoffice/test_child_search_plan.py):
    the cost follows the academy, not the country's 10 million pupils.

    Queries: at most four, whatever the number found (the exact part, the partial part,
    one for the pupils' establishments, one for every pupil's guardians); none for an empty
    scope or another shape. For an academy's agent, every statement is written once per
    process (`_name_part_rows`, core.sql.related_rows_set, `_guardian_links_set`).
    """
    if query.shape != Shape.NAME or scope.is_empty:
        return []
    pupils = _name_part_rows(exact_name_pupils, Pupil, query=query, scope=scope, limit=limit)
    whole_only = len(query.value) < PARTIAL_NAME_MIN_LENGTH and not query.words
    if len(pupils) < limit and not whole_only:
        pupils += _name_part_rows(partial_name_pupils, Pupil, query=query, scope=scope,
                                  limit=limit)[:limit - len(pupils)]
    related_rows_set(pupils, "establishment")
    _guardian_links_set(pupils, scope)
    _records_share_the_pupils_school(pupils)
    return pupils


def helpdesk_search(*, query: SearchQuery, scope: StaffScope, limit: int = SEARCH_LIMIT):
    """Accounts of the scope found by the query, the guardian records that no account
    covers yet (parents who have not activated: the usual reason to call), and, for a
    name, the pupils of that name with their guardians (`pupils_search`)."""
    accounts = accounts_search(query=query, scope=scope, limit=limit + 1)
    records = records_search(query=query, scope=scope, limit=limit + 1)
    pupils = pupils_search(query=query, scope=scope, limit=limit + 1)
    _attach_schools(accounts, scope)
    return SearchResults(
        query=query,
        accounts=accounts[:limit],
        accounts_truncated=len(accounts) > limit,
        records=records[:limit],
        records_truncated=len(records) > limit,
        attempts=_search_attempts(query=query, scope=scope, records=records[:limit]),
        pupils=pupils[:limit],
        pupils_truncated=len(pupils) > limit,
    )


def _search_attempts(*, query: SearchQuery, scope: StaffScope,
                     records: list[GuardianRecord]) -> list:
    """The SMS activations a search shows: those started with the number typed (a search by
    number), or those of the guardian records it lists (a search by name: the family who
    calls about a blocked activation is searched by its name first); none otherwise."""
    if query.shape == Shape.PHONE:
        return activation_attempts(phones=query.phones, scope=scope)
    if query.shape == Shape.NAME:
        return record_activation_attempts(records=records)
    return []


ATTEMPTS_SHOWN = 20


@dataclass(frozen=True)
class ActivationAttempt:
    """An SMS activation started with a number, as the helpdesk reads it: when, the name
    typed, and what happened (`outcome`, a French label)."""

    started_at: object
    last_name: str
    first_name: str
    outcome: str
    # A search by name: the listed guardian records it concerns (matched, or whose mobile
    # number it was started with), whose page holds « Débloquer l'activation ».
    records: tuple = ()
    blocked: bool = False


def _attempt_outcome(flow: Flow, data: dict) -> str:
    """What happened to an SMS activation, in words, from the flow and its codes (prefetched
    `codes`): whether an SMS really left (core.codes keeps a code not sent — quota, cooldown —
    with its reason), whether the code died of ACTIVATION_MAX_WRONG_CODES wrong entries or
    expired, whether the journey itself expired, which limit blocked it and whether a block
    was lifted since by the helpdesk (`flow.block`, `flow.unblocked_at`,
    flows_unblocked_mark)."""
    if not data.get("matched_record_ids"):
        return gettext("Aucune fiche ne correspond au nom et au numéro saisis (aucun SMS "
                       "envoyé)")
    if flow.status == FlowStatus.BLOCKED:
        return _attempt_block_outcome(flow)
    if flow.status == FlowStatus.COMPLETED:
        return gettext("Terminée : compte créé")
    if flow.status == FlowStatus.ALREADY_ACTIVE:
        return gettext("Arrêtée : un compte couvre déjà ces fiches")
    if flow.step != "code":
        if flow.is_expired():
            return gettext("Abandonnée après la vérification du code (parcours expiré)")
        return gettext("Code vérifié, activation en cours")
    now = timezone.now()
    codes = sorted(flow.codes.all(), key=lambda code: code.created_at, reverse=True)
    sent = [code for code in codes if code.sent]
    if not sent:
        reasons = [str(CodeNotSentReason(code.not_sent_reason).label) for code in codes[:1]
                   if code.not_sent_reason in CodeNotSentReason.values]
        if reasons:
            return gettext("Aucun SMS envoyé (%(reason)s)") % {"reason": reasons[0]}
        return gettext("Aucun SMS envoyé")
    max_wrong = settings.ACTIVATION_MAX_WRONG_CODES
    pending = [code for code in sent if code.used_at is None and code.revoked_at is None]
    if pending and all(code.wrong_attempts >= max_wrong for code in pending):
        return gettext("Code saisi faux %(count)s fois : code annulé, un nouveau SMS est "
                       "nécessaire") % {"count": max_wrong}
    if flow.is_expired(now):
        return gettext("Abandonnée : code envoyé, jamais saisi correctement (parcours "
                       "expiré)")
    if not any(now < code.expires_at for code in pending):
        return gettext("Code envoyé, expiré sans avoir été saisi")
    return gettext("Code envoyé, en attente de sa saisie")


def _local(at) -> dict:
    """{"date": "JJ/MM/AAAA", "time": "HH:MM"} of `at` in local time, for the words."""
    at = timezone.localtime(at)
    return {"date": formats.date_format(at, "d/m/Y"), "time": formats.time_format(at, "H:i")}


def _window_block_words(block: "FlowBlock", *, lifted: bool = False) -> str:
    """« Numéro bloqué jusqu'au … (…) : blocage en cours » (or « Compte bloqué », or
    « blocage terminé »; nothing after the parenthesis when `lifted` by the helpdesk, the
    caller says so): the block of the window shared by every journey of the number or the
    account, with its end and whether it holds now."""
    words = {**_local(block.until), "window": ratelimit.wait_text(block.window_seconds)}
    if block.counted_on == "account":
        what = gettext("Compte bloqué jusqu'au %(date)s à %(time)s (trop de dates de "
                       "naissance incorrectes en %(window)s sur ce compte)") % words
    else:
        what = gettext("Numéro bloqué jusqu'au %(date)s à %(time)s (trop de dates de "
                       "naissance incorrectes en %(window)s sur ce numéro)") % words
    if lifted:
        return what
    if block.in_force:
        return gettext("%(block)s : blocage en cours") % {"block": what}
    return gettext("%(block)s : blocage terminé") % {"block": what}


def _attempt_block_outcome(flow: Flow) -> str:
    """« Ce qui s'est passé » of an SMS activation ended BLOCKED (`flow.block`,
    `flow.unblocked_at`: flows_unblocked_mark): stopped by its own limit of wrong dates
    (ACTIVATION_MAX_WRONG_DATES: the parent could start again at once), or the number
    blocked until a given time (the window of WRONG_DATES_PER_PHONE), and whether the
    helpdesk lifted it since."""
    block = getattr(flow, "block", None) or FlowBlock()
    unblocked_at = getattr(flow, "unblocked_at", None)
    if block.window is False:
        words = gettext("Arrêtée : trop de dates de naissance incorrectes dans cette "
                        "activation")
    elif block.window:
        words = _window_block_words(block, lifted=bool(unblocked_at))
    else:
        words = gettext("Bloquée : trop de dates de naissance incorrectes")
    if unblocked_at:
        return gettext("%(block)s ; puis débloquée par l'assistance le %(date)s à "
                       "%(time)s") % {"block": words, **_local(unblocked_at)}
    return words


def activation_attempts(*, phones, scope: StaffScope) -> list[ActivationAttempt]:
    """The newest SMS activations started with one of `phones` (E.164), matched or not — a
    parent's failed attempt is what the helpdesk needs to see (issue 16 §5). An attempt that
    matched records is shown only when one of them is in the agent's scope; an attempt that
    matched nothing belongs to no school and is shown to whoever searched its number.
    One query on the flows' (phone, -created_at) index, one on their codes, one on the
    matched records, and two on the journal when one is blocked (flows_unblocked_mark)."""
    flows = list(Flow.objects.filter(kind=SMS_ACTIVATION.name, phone__in=list(phones))
                 .order_by("-created_at")[:ATTEMPTS_SHOWN])
    prefetch_related_objects(flows, "codes")
    flows_unblocked_mark(flows)
    matched_ids = {pk for flow in flows for pk in (flow.data or {}).get("matched_record_ids", [])}
    in_scope = set(GuardianRecord.objects.filter(
        scope.establishment_q("establishment"), pk__in=matched_ids).values_list("pk", flat=True))
    attempts = []
    for flow in flows:
        data = flow.data or {}
        matched = data.get("matched_record_ids") or []
        if matched and not in_scope.intersection(matched):
            continue
        attempts.append(ActivationAttempt(
            started_at=flow.created_at, last_name=data.get("last_name", ""),
            first_name=data.get("first_name", ""), outcome=_attempt_outcome(flow, data)))
    return attempts


def _mobile_e164(record: GuardianRecord) -> str:
    """The record's mobile number in E.164 (« +33612345678 »), as Flow.phone holds the number
    typed at step 1, or "" when it has none or none that parses. The parsed number is
    formatted (under a microsecond); its truth value or str() would first validate it
    against libphonenumber's metadata (15 µs each: 1.5 ms for a list of 50, issue 14)."""
    phone = record.mobile_phone
    if not isinstance(phone, PhoneNumber) or phone.national_number is None:
        return ""  # None, "" (no number), or a string that never parsed
    return phone.as_e164


def record_attempt_flows(records: list[GuardianRecord]) -> QuerySet:
    """The newest SMS activation flows started with the mobile number of one of `records`
    (E.164, as Flow.phone holds it in plain text: the number typed at step 1), at most
    ATTEMPTS_SHOWN * 3 (a lazy queryset; empty without a number). Served by the index
    flow_phone_created (Flow.phone, -created_at; core/migrations/0001): one index range per
    number, so the cost follows the listed records' numbers, never the flows of the country
    or of other academies (tests/backoffice/test_search_attempts_by_name.py, EXPLAIN)."""
    phones = sorted({phone for record in records if (phone := _mobile_e164(record))})
    if not phones:
        return Flow.objects.none()
    return (Flow.objects.filter(kind=SMS_ACTIVATION.name, phone__in=phones)
            .order_by("-created_at")[:ATTEMPTS_SHOWN * 3])


def record_activation_attempts(*, records: list[GuardianRecord]) -> list[ActivationAttempt]:
    """The SMS activations of the guardian records a search by name lists (`records`: the
    agent's, in scope and without account, records_search), newest first, at most
    ATTEMPTS_SHOWN, each with the listed records it concerns (`ActivationAttempt.records`)
    and the outcome in the words of the search by number (`_attempt_outcome`: « Bloquée : … »).

    Found by the records' numbers (`record_attempt_flows`: one query on flow_phone_created,
    whatever the number of records), then kept:
    - a flow that matched one of the listed records (data « matched_record_ids »);
    - a flow started with a listed record's number that matched nothing (a name mistyped:
      the search by that number shows it to any agent too).
    A flow that matched only records not listed (another academy's, or one an account
    covers) is left out: no flow of another academy leaks, with no query on the scope.
    Then the flows' codes (one query) and, when one is blocked, two on the journal
    (flows_unblocked_mark): a fixed number of queries, none per row."""
    flows = list(record_attempt_flows(records))
    if not flows:
        return []
    by_id = {record.pk: record for record in records}
    by_phone: dict[str, list[GuardianRecord]] = {}
    for record in records:
        if phone := _mobile_e164(record):
            by_phone.setdefault(phone, []).append(record)
    kept = []
    for flow in flows:
        matched = (flow.data or {}).get("matched_record_ids") or []
        concerned = [by_id[pk] for pk in matched if pk in by_id]
        if concerned or not matched:
            kept.append((flow, concerned or by_phone.get(flow.phone, [])))
        if len(kept) == ATTEMPTS_SHOWN:
            break
    prefetch_related_objects([flow for flow, _records in kept], "codes")
    flows_unblocked_mark([flow for flow, _records in kept])
    attempts = []
    for flow, concerned in kept:
        data = flow.data or {}
        attempts.append(ActivationAttempt(
            started_at=flow.created_at, last_name=data.get("last_name", ""),
            first_name=data.get("first_name", ""), outcome=_attempt_outcome(flow, data),
            records=tuple(concerned),
            blocked=flow.status == FlowStatus.BLOCKED and not flow.unblocked_at))
    return attempts


@functools.cache
def _academy_account_schools_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    record, pupil = GuardianRecord._meta, Pupil._meta
    col = functools.partial(quoted_column, db=db)
    return " UNION ".join(
        f"SELECT {col(meta, 'account')}, {col(meta, 'establishment')} "  # noqa: S608
        f"FROM {quote(meta.db_table)} WHERE {col(meta, 'academy')} = %s "
        f"AND {col(meta, 'account')} = ANY(%s)" for meta in (record, pupil))


def _account_school_pairs(ids: list[int], scope: StaffScope) -> list[tuple[int, int]]:
    """The distinct (account id, establishment id) of the guardian records and pupil records
    of the accounts `ids` within `scope`. For an academy's agent on PostgreSQL, one
    statement written once per process (`_academy_account_schools_sql`: the rows' own
    academy column, the ids one array); elsewhere two ORM queries."""
    db = router.db_for_read(GuardianRecord)
    if scope.academy_id is None or scope.everything or connections[db].vendor != "postgresql":
        return list({
            *GuardianRecord.objects.filter(scope.guardian_records_q(), account_id__in=ids)
            .order_by().values_list("account_id", "establishment_id"),
            *Pupil.objects.filter(scope.pupils_q(), account_id__in=ids)
            .order_by().values_list("account_id", "establishment_id"),
        })
    with connections[db].cursor() as cursor:
        cursor.execute(_academy_account_schools_sql(db),
                       [scope.academy_id, ids, scope.academy_id, ids])
        return cursor.fetchall()


def _attach_schools(accounts: list[Account], scope: StaffScope) -> None:
    """account.schools: the establishments of its records or its pupil record within
    `scope` (another academy's school of a shared account is not named), sorted by name.
    Two queries: the (account, school) pairs (`_account_school_pairs`), then the schools
    (core.sql.model_rows_by_pk); for an academy's agent each statement is written once per
    process: 1.3–1.7 ms of CPU for 51 accounts at 1M records, where the ORM's three
    queries cost 4.9 ms (bench_helpdesk_search.py, issue 14)."""
    if not accounts:
        return
    ids = [account.pk for account in accounts]
    pairs = _account_school_pairs(ids, scope)
    schools = {school.pk: school for school in
               model_rows_by_pk(Establishment, {school for _account, school in pairs})}
    by_account: dict[int, set[Establishment]] = {pk: set() for pk in ids}
    for account_id, school in pairs:
        by_account[account_id].add(schools[school])
    for account in accounts:
        account.schools = sorted(by_account[account.pk], key=lambda e: e.name)


@dataclass
class AccountFile:
    account: Account
    records: list[GuardianRecord]
    pupil_record: Pupil | None
    journal: list[JournalEvent]
    flows: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    # What the account covers outside the reader's scope (another academy's guardian records
    # and pupil record): counted, never read (see account_file).
    other_records: int = 0
    other_pupil_record: bool = False

    @property
    def shared(self) -> bool:
        """Whether the account also covers rows outside the reader's scope."""
        return bool(self.other_records or self.other_pupil_record)

    @property
    def children(self) -> list[tuple[Pupil, Responsibility]]:
        seen, children = set(), []
        for record in self.records:
            for link in record.links:
                if link.pupil_id not in seen:
                    seen.add(link.pupil_id)
                    children.append((link.pupil, link))
        return children


def _links_prefetch() -> Prefetch:
    return Prefetch(
        "responsibilities",
        queryset=Responsibility.objects.select_related("pupil__establishment").order_by(
            "pupil__last_name", "pupil__first_names"
        ),
        to_attr="links",
    )


def account_file(*, account_id: int, scope: StaffScope) -> AccountFile | None:
    """Everything the helpdesk needs about one account of its scope, in a few queries.

    An account may cover guardian records (or be the pupil record) of several academies (a
    parent with a child in each). The file holds the account's own fields (the parent's
    identity: identifier, state, validated contacts) and, of its records and pupil record,
    only those of `scope`; those outside it are only counted (`other_records`,
    `other_pupil_record`): their names, pupils, schools and contacts belong to the other
    academy's helpdesk. The flows and messages are the account's and those of its records in
    scope; the journal is the account's, its facts naming rows outside the scope without
    their names (backoffice.journal_labels.describe_events)."""
    account = (
        Account.objects.filter(accounts_scope_q(scope), pk=account_id)
        .exclude(kind="staff")
        .first()
    )
    if account is None:
        return None
    in_scope = scope.establishment_q("establishment")
    records = list(
        account.guardian_records.filter(in_scope).select_related("establishment")
        .prefetch_related(_links_prefetch())
        .order_by("establishment__name")
    )
    others = ([] if scope.everything else list(
        account.guardian_records.exclude(in_scope).values_list("mobile_phone", "email")))
    other_records = len(others)
    pupil_record = (
        Pupil.objects.select_related("establishment").filter(in_scope, account=account).first()
    )
    other_pupil_record = (not scope.everything and pupil_record is None
                          and Pupil.objects.filter(account=account).exists())
    flows = activation_flows_for(records=records, account=account)
    flows_unblocked_mark(flows)
    flows_state_mark(flows)
    return AccountFile(
        account=account,
        records=records,
        pupil_record=pupil_record,
        journal=journal_for(account=account, flows=flows),
        flows=flows,
        messages=_messages_in_scope(messages_for(account=account, flows=flows),
                                    account=account, others=others),
        other_records=other_records,
        other_pupil_record=other_pupil_record,
    )


def _messages_in_scope(messages: list, *, account: Account, others: list) -> list:
    """`messages` without those sent to a contact of another academy's record only
    (`others`: the (mobile_phone, email) of the account's records outside the scope — a
    letter e-mailed by the other academy's school, say); a message to the account's own
    number or address stays, the parent's. No query."""
    own = {str(account.phone or ""), (account.email or "").lower()}
    foreign = {value for phone, email in others
               for value in (str(phone or ""), (email or "").lower()) if value} - own
    return [message for message in messages
            if message.recipient.lower() not in foreign and message.recipient not in foreign]


@dataclass(frozen=True)
class MergeClosing:
    """How a closed account was closed by a merge: when, into which account, and whether
    the staff user's scope reaches that kept account (its file may be linked)."""

    at: datetime.datetime
    kept: Account
    kept_in_scope: bool


def merge_closing(*, account: Account, scope: StaffScope) -> MergeClosing | None:
    """The merge that closed `account` (its latest ACCOUNT_CLOSED_BY_MERGE event, the one
    accounts.selectors.account_merged_into reads), for its helpdesk file; None when the
    account is not closed, was closed otherwise, or the kept account is gone. Two queries."""
    if account.state != AccountState.CLOSED:
        return None
    event = (JournalEvent.objects
             .filter(account=account, kind=EventKind.ACCOUNT_CLOSED_BY_MERGE.value)
             .order_by("-at").first())
    kept_id = event.data.get("kept_account_id") if event and isinstance(event.data, dict) \
        else None
    if not isinstance(kept_id, int):
        return None
    kept = (Account.objects.filter(pk=kept_id)
            .annotate(in_scope=Exists(Account.objects.filter(
                accounts_scope_q(scope), pk=OuterRef("pk")).exclude(kind="staff")))
            .first())
    if kept is None:
        return None
    return MergeClosing(at=event.at, kept=kept, kept_in_scope=kept.in_scope)


@dataclass
class RecordFile:
    record: GuardianRecord
    journal: list[JournalEvent]
    flows: list = field(default_factory=list)
    messages: list = field(default_factory=list)


def guardian_record_file(*, record_id: int, scope: StaffScope) -> RecordFile | None:
    record = (
        GuardianRecord.objects.filter(scope.establishment_q("establishment"), pk=record_id)
        .select_related("establishment", "account")
        .prefetch_related(_links_prefetch())
        .first()
    )
    if record is None:
        return None
    # The first sign-in of the school letter whose account covers the record (that account's
    # flows of kind PROVISIONAL_GUARDIAN: its journeys, blocked or not, are this record's).
    flows = activation_flows_for(records=[record], account=None,
                                 letter_account_id=record.account_id)
    flows_unblocked_mark(flows)
    flows_state_mark(flows)
    return RecordFile(
        record=record,
        journal=journal_for(account=None, flows=flows, record_id=record.pk),
        flows=flows,
        messages=messages_for(account=None, flows=flows),
    )


# Events about one guardian record that name it in their `guardian_record` fact rather than
# by an account or a flow (the record may have neither): found by kind (indexed), then fact.
RECORD_EVENT_KINDS = (EventKind.HELPDESK_ACTIVATION_UNBLOCKED,
                      EventKind.GUARDIAN_RECORD_CONTACT_UPDATED)


def journal_for(*, account: Account | None, flows: list,
                record_id: int | None = None) -> list[JournalEvent]:
    """The latest events of the account, of the activation flows that concern it, and (a
    guardian record's file, `record_id`) of the actions on that record (RECORD_EVENT_KINDS:
    the helpdesk's unblock and its reason, the school's contact fixes)."""
    flow_ids = [flow.pk for flow in flows if getattr(flow, "pk", None)]
    condition = Q(pk__in=[])
    if account is not None:
        condition |= Q(account=account)
    if record_id is not None:
        condition |= Q(kind__in=[kind.value for kind in RECORD_EVENT_KINDS],
                       data__guardian_record=record_id)
    if flow_ids:
        condition |= Q(flow_id__in=flow_ids)
    return list(
        JournalEvent.objects.filter(condition)
        .exclude(kind__in=CONSULTATION_KINDS)
        .select_related("actor")
        .order_by("-at", "-pk")[:JOURNAL_LIMIT]
    )


HELPDESK_ACTIONS_SHOWN = 10


# The assistance requests' handling by an agent (assistance.services): the family's own
# submission is not an agent's action.
ASSISTANCE_HANDLING_KINDS = (EventKind.ASSISTANCE_REQUEST_TAKEN,
                             EventKind.ASSISTANCE_REQUEST_ANSWERED,
                             EventKind.ASSISTANCE_REQUEST_CLOSED)


def staff_actions_of(*, actor: Account, helpdesk: bool, letter_runs: bool,
                     assistance: bool = False,
                     limit: int = HELPDESK_ACTIONS_SHOWN) -> list[JournalEvent]:
    """The latest actions of one staff user, newest first, at most `limit`: the back-office
    index's « Mes actions » (Django's LogEntry knows only the admin's own forms). With
    `helpdesk`, the journal kinds « helpdesk.* » they are the actor of, consultations aside;
    with `letter_runs`, their requests of school letters (LETTER_RUN_REQUESTED, whose facts
    name the run: `letter_run`, see letter_run_summaries); with `assistance`, the
    assistance requests they took, answered or closed (ASSISTANCE_HANDLING_KINDS, whose
    facts name the request: `assistance_request`). All in one list, one order.
    None: []. One query on the journal's actor foreign key index."""
    condition = Q(pk__in=[])
    if helpdesk:
        condition |= Q(kind__startswith="helpdesk.") & ~Q(kind__in=CONSULTATION_KINDS)
    if letter_runs:
        condition |= Q(kind=EventKind.LETTER_RUN_REQUESTED)
    if assistance:
        condition |= Q(kind__in=ASSISTANCE_HANDLING_KINDS)
    if not (helpdesk or letter_runs or assistance):
        return []
    return list(
        JournalEvent.objects.filter(condition, actor=actor)
        .select_related("account", "actor")
        .order_by("-at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class LetterRunSummary:
    """What « Mes actions » says of one letter run: its row (status, school, dates), the
    class when every pupil chosen is of one (« 6A », else ""), the levels in words
    otherwise (schooling order), the number of pupils chosen and of guardian records chosen
    directly."""

    run: LetterRun
    division: str
    levels: list[str]
    pupils: int
    records: int


def letter_run_summaries(run_ids: list[int]) -> dict[int, LetterRunSummary]:
    """{run id: LetterRunSummary} for the runs `run_ids` that exist (a missing id is left
    out). Two queries whatever the number of runs: the runs with their school, then the
    level and class of every pupil their selections name (pupils.letters
    .letter_run_selection: the pupils with their guardians and the pupils alone)."""
    runs = list(LetterRun.objects.filter(pk__in=run_ids).select_related("establishment"))
    selections = {run.pk: letter_run_selection(run) for run in runs}
    pupil_ids = {pk for with_guardians, alone, _records in selections.values()
                 for pk in (*with_guardians, *alone)}
    places = {pk: (level, division) for pk, level, division in (
        Pupil.objects.filter(pk__in=pupil_ids).values_list("pk", "level", "division")
    )} if pupil_ids else {}
    order = {code: index for index, code in enumerate(Level.values)}
    summaries = {}
    for run in runs:
        with_guardians, alone, records = selections[run.pk]
        chosen = [places[pk] for pk in (*with_guardians, *alone) if pk in places]
        divisions = {division for _level, division in chosen}
        levels = sorted({level for level, _division in chosen},
                        key=lambda raw: (order.get(level_code(raw), len(order)), raw))
        summaries[run.pk] = LetterRunSummary(
            run=run,
            division=next(iter(divisions)) if len(divisions) == 1 else "",
            levels=[level_in_words(level) for level in levels if level],
            pupils=len(with_guardians) + len(alone), records=len(records),
        )
    return summaries


# At most this many client addresses of an account's recent failed sign-ins are looked at
# for (identifier, address) sign-in suspensions: each is one more window read in the same
# Redis round trip, and more than a few means an attack the shared window already slows.
SIGN_IN_ADDRESSES_LOOKED_AT = 20


def sign_in_failure_addresses(*, account: Account, now: datetime.datetime | None = None
                              ) -> list[str]:
    """The distinct client IPs (strings) of the account's failed portal sign-ins
    (EventKind.LOGIN_FAILED, `ip_address`) within the last LOGIN_FAILURE_WINDOW_SECONDS,
    most recent first, at most SIGN_IN_ADDRESSES_LOOKED_AT: the addresses whose (identifier,
    address) window may suspend its sign-in (accounts.limits). Redis cannot list those
    windows, their keys being keyed hashes; the journal knows the addresses. One query on
    the journal's (account, -at) index."""
    since = (now or timezone.now()) - datetime.timedelta(
        seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    return [str(ip) for ip in (
        JournalEvent.objects.filter(account=account, kind=EventKind.LOGIN_FAILED, at__gte=since,
                                    ip_address__isnull=False)
        .values("ip_address").annotate(last=Max("at")).order_by("-last")
        .values_list("ip_address", flat=True)[:SIGN_IN_ADDRESSES_LOOKED_AT]
    )]


FLOWS_LIMIT = 20
MESSAGES_LIMIT = 20


def activation_flows_for(*, records: list[GuardianRecord], account: Account | None,
                         letter_account_id: int | None = None) -> list:
    """Flows of the account, or SMS activations that matched one of these guardian records,
    or first sign-ins with a school letter (PROVISIONAL_GUARDIAN) of `letter_account_id`
    (the account covering a record), newest first, with their codes (for the counts).
    Indexed lookups (flow.account, flow.phone); an activation started with the same number
    under other names matched none of these records and is left out (it is someone
    else's)."""
    phones = sorted({str(r.mobile_phone) for r in records if r.mobile_phone})
    condition = Q(pk__in=[])
    if account is not None:
        condition |= Q(account=account)
    if letter_account_id is not None:
        condition |= Q(account_id=letter_account_id, kind=PROVISIONAL_GUARDIAN.name)
    if phones:
        condition |= Q(phone__in=phones)
    record_ids = {r.pk for r in records}
    flows = list(
        Flow.objects.filter(condition).order_by("-created_at")[: FLOWS_LIMIT * 3]
    )
    kept = [
        flow
        for flow in flows
        if (account is not None and flow.account_id == account.pk)
        or (letter_account_id is not None and flow.account_id == letter_account_id
            and flow.kind == PROVISIONAL_GUARDIAN.name)
        or (flow.kind == SMS_ACTIVATION.name
            and record_ids.intersection(ActivationData.of(flow).matched_record_ids))
    ][:FLOWS_LIMIT]
    prefetch_related_objects(kept, "codes")
    return kept


# The first sign-ins with a school letter: their wrong dates count on the account
# (WRONG_DATES_PER_ACCOUNT), every other kind's on the number (WRONG_DATES_PER_PHONE).
LETTER_KINDS = frozenset({PROVISIONAL_GUARDIAN.name, PROVISIONAL_PUPIL.name})


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _lifts(event: JournalEvent, flow: Flow) -> bool:
    """Whether the helpdesk's unblock `event` (HELPDESK_ACTIVATION_UNBLOCKED) cleared the
    wrong dates that blocked `flow`: those of the flow's account for a school letter's
    first sign-in (`letter_wrong_dates` cleared on that account:
    backoffice.activation.letter_unblock_by_helpdesk, or a record's unblock covering it),
    those of the number of a guardian record the flow matched for the others
    (`wrong_dates` cleared by backoffice.activation.activation_unblock_by_helpdesk)."""
    data = event.data if isinstance(event.data, dict) else {}
    if flow.kind in LETTER_KINDS:
        return (flow.account_id is not None and event.account_id == flow.account_id
                and _positive(data.get("letter_wrong_dates")))
    matched = (flow.data or {}).get("matched_record_ids") or []
    return data.get("guardian_record") in matched and _positive(data.get("wrong_dates"))


@dataclass(frozen=True)
class FlowBlock:
    """Which limit ended a BLOCKED flow and where it stands, for the helpdesk (read from the
    flow's ACTIVATION_BLOCKED event, activation.services._block, and the window now).

    `window`: False when the journey's own limit (ACTIVATION_MAX_WRONG_DATES) stopped it (a
    new journey could start at once); True when the window shared by every journey of the
    number or the account (ACTIVATION_MAX_WRONG_DATES_PER_PHONE in
    ACTIVATION_PHONE_WINDOW_SECONDS) blocked it; None when the event does not say (written
    before it recorded which). For a window block: `counted_on` ("phone" or "account"),
    `window_seconds`, `until` (an aware datetime: when one more date is allowed, from the
    window now while it still refuses, else from the event: its time + `wait_seconds`) and
    `in_force` (not lifted by the helpdesk, not past `until`, and the window still full)."""

    window: bool | None = None
    counted_on: str = "phone"
    window_seconds: int = 0
    until: datetime.datetime | None = None
    in_force: bool = False


def _flow_window(flow: Flow, counted_on: str) -> tuple:
    """The (rule, subject) window a flow's wrong dates were counted in (activation.services
    pupils_answers_apply's callers: the number, or the letter's account)."""
    if counted_on == "account":
        return (WRONG_DATES_PER_ACCOUNT, f"account:{flow.account_id}")
    return (WRONG_DATES_PER_PHONE, str(flow.phone))


def _flows_block_mark(blocked: list, events: dict, now) -> None:
    """Set `block` (FlowBlock) on each flow of `blocked` from `events` ({flow id: (at,
    data)} of its latest ACTIVATION_BLOCKED event) and, for a window block that may still
    hold, the window now (one ratelimit.peek_many: one round trip on Redis, no query)."""
    candidates = []
    for flow in blocked:
        at, data = events.get(flow.pk, (None, None))
        data = data if isinstance(data, dict) else {}
        wait, seconds = data.get("wait_seconds"), data.get("window_seconds")
        if data.get("block") == "journey":
            flow.block = FlowBlock(window=False)
        elif (data.get("block") == "window" and at is not None
              and isinstance(wait, int) and isinstance(seconds, int)):
            counted_on = "account" if data.get("counted_on") == "account" else "phone"
            until = at + datetime.timedelta(seconds=wait)
            flow.block = FlowBlock(window=True, counted_on=counted_on,
                                   window_seconds=seconds, until=until)
            if until > now and not flow.unblocked_at:
                candidates.append(flow)
        else:
            flow.block = FlowBlock()
    steps = [_flow_window(flow, flow.block.counted_on) for flow in candidates]
    for flow, decision in zip(candidates, ratelimit.peek_many(*steps), strict=True):
        if not decision.allowed:
            flow.block = FlowBlock(
                window=True, counted_on=flow.block.counted_on,
                window_seconds=flow.block.window_seconds, in_force=True,
                until=now + datetime.timedelta(seconds=decision.retry_after))


def flows_unblocked_mark(flows: list, now=None) -> None:
    """Set `unblocked_at` on each flow of `flows` (core.models.Flow): for a BLOCKED flow
    whose block the helpdesk lifted afterwards, the time of the first unblock that cleared
    its wrong dates (a HELPDESK_ACTIVATION_UNBLOCKED event, `_lifts`) at or after its
    ACTIVATION_BLOCKED event and while the dates it counted were still in the window
    (ACTIVATION_PHONE_WINDOW_SECONDS, the window of both WRONG_DATES_PER_PHONE and
    WRONG_DATES_PER_ACCOUNT: an unblock later than that cleared other dates); else None,
    and a block not lifted since reads as blocked. The flow stays BLOCKED in the database
    (the parent starts a new journey): only the journal says it was lifted. Also `block`
    (FlowBlock, None unless BLOCKED): which limit blocked it, until when, whether it holds
    now (_flows_block_mark: the window read once, no query).

    Two queries when a flow is blocked (its block events, then the unblocks that may
    concern it, on the journal's kind index), none otherwise."""
    now = now or timezone.now()
    for flow in flows:
        flow.unblocked_at = None
        flow.block = None
    blocked = [flow for flow in flows if flow.status == FlowStatus.BLOCKED]
    if not blocked:
        return
    events: dict = {}
    for flow_id, at, data in (JournalEvent.objects.filter(
            kind=EventKind.ACTIVATION_BLOCKED, flow_id__in=[flow.pk for flow in blocked])
            .values_list("flow_id", "at", "data")):
        if flow_id not in events or at > events[flow_id][0]:
            events[flow_id] = (at, data)
    blocked_at = {flow_id: at for flow_id, (at, _data) in events.items()}
    # A flow whose block event is gone: the flow's last action was its block.
    since = {flow.pk: blocked_at.get(flow.pk, flow.updated_at) for flow in blocked}
    accounts = {flow.account_id for flow in blocked
                if flow.kind in LETTER_KINDS and flow.account_id is not None}
    records = {pk for flow in blocked if flow.kind not in LETTER_KINDS
               for pk in (flow.data or {}).get("matched_record_ids") or []}
    concerned = Q(pk__in=[])
    if accounts:
        concerned |= Q(account_id__in=sorted(accounts))
    if records:
        concerned |= Q(data__guardian_record__in=sorted(records))
    unblocks = list(JournalEvent.objects.filter(
        concerned, kind=EventKind.HELPDESK_ACTIVATION_UNBLOCKED,
        at__gte=min(since.values())).order_by("at", "pk"))
    window = datetime.timedelta(seconds=WRONG_DATES_PER_PHONE.window_seconds)
    for flow in blocked:
        start = since[flow.pk]
        flow.unblocked_at = next(
            (event.at for event in unblocks
             if start <= event.at < start + window and _lifts(event, flow)), None)
    _flows_block_mark(blocked, events, now)


# The ways into an account: a finished one makes any earlier one still open moot.
ACTIVATION_KINDS = frozenset({SMS_ACTIVATION.name, FRANCECONNECT_LINK.name,
                              PROVISIONAL_GUARDIAN.name, PROVISIONAL_PUPIL.name})


def _same_errand(flow: Flow, other: Flow) -> bool:
    return flow.kind == other.kind or (flow.kind in ACTIVATION_KINDS
                                       and other.kind in ACTIVATION_KINDS)


def flows_state_mark(flows: list, now=None) -> None:
    """Set `state_label` on each flow of `flows` (core.models.Flow): what its « État »
    column of the helpdesk's « Parcours » table says (templates/admin/helpdesk/_flows.html).

    A flow still OPEN in the database is not always running: the engine leaves a journey
    the person walked away from as it was, and only its `expires_at` says it is over
    (Flow.is_expired). Such a flow reads « Abandonné — expiré le <date> à <heure> »; one
    overtaken by a later journey of the same errand that COMPLETED (the same kind, or
    two ways into an account: ACTIVATION_KINDS) reads « Remplacé par la démarche terminée
    le <date> à <heure> » (the completed flow's last action, `updated_at`). Only a flow
    open, alive and not overtaken reads « En cours ». A BLOCKED flow read by
    flows_unblocked_mark says which limit and until when (_flow_block_state). Other states
    keep their name, with « (expiré) » past their expiry as before. No query: `flows` is
    the list already read."""
    now = now or timezone.now()
    for flow in flows:
        label = str(flow.get_status_display())
        if flow.status == FlowStatus.OPEN:
            done = [other.updated_at for other in flows
                    if other.status == FlowStatus.COMPLETED and other.pk != flow.pk
                    and other.created_at >= flow.created_at and _same_errand(flow, other)]
            if done:
                at = timezone.localtime(min(done))
                label = gettext("Remplacé par la démarche terminée le %(date)s à %(time)s") % {
                    "date": formats.date_format(at, "d/m/Y"),
                    "time": formats.time_format(at, "H:i")}
            elif flow.is_expired(now):
                at = timezone.localtime(flow.expires_at)
                label = gettext("Abandonné — expiré le %(date)s à %(time)s") % {
                    "date": formats.date_format(at, "d/m/Y"),
                    "time": formats.time_format(at, "H:i")}
        elif flow.status == FlowStatus.BLOCKED and getattr(flow, "block", None) is not None:
            label = _flow_block_state(flow)
        elif flow.is_expired(now):
            label = gettext("%(state)s (expiré)") % {"state": label}
        flow.state_label = label


def _flow_block_state(flow: Flow) -> str:
    """« État » of a BLOCKED flow (`flow.block`, `flow.unblocked_at`: flows_unblocked_mark):
    « Arrêté : … dans ce parcours » (its own limit), « Numéro bloqué jusqu'au … : blocage en
    cours » (the window of the number or the account), « Bloqué » when the journal does not
    say which; then « , puis débloqué par l'assistance le … » when the helpdesk lifted it.
    Not « (expiré) »: the journey's expiry says nothing of the block."""
    block, unblocked_at = flow.block, getattr(flow, "unblocked_at", None)
    if block.window is False:
        words = gettext("Arrêté : trop de dates de naissance incorrectes dans ce parcours")
    elif block.window:
        words = _window_block_words(block, lifted=bool(unblocked_at))
    else:
        words = str(flow.get_status_display())
        if not unblocked_at and flow.is_expired():
            words = gettext("%(state)s (expiré)") % {"state": words}
    if unblocked_at:
        return gettext("%(block)s, puis débloqué par l'assistance le %(date)s à "
                       "%(time)s") % {"block": words, **_local(unblocked_at)}
    return words


def messages_for(*, account: Account | None, flows: list) -> list:
    """The latest SMS and e-mails sent for the account or its flows (never their text)."""
    condition = Q(pk__in=[])
    if account is not None:
        condition |= Q(account=account)
    flow_ids = [flow.pk for flow in flows]
    if flow_ids:
        condition |= Q(flow_id__in=flow_ids)
    return list(
        OutboundMessage.objects.filter(condition)
        .only("channel", "recipient", "purpose", "status", "provider_status", "created_at",
              "sent_at", "flow_id", "account_id")
        .order_by("-created_at")[:MESSAGES_LIMIT]
    )
