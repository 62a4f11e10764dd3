"""The writes that change a kept « Mes services » page bump its version names
(core.versions; the pages: services_portal.page_cache). Connected in ServicesPortalConfig.ready().

| write (model signal) | names bumped after the commit |
|---|---|
| Establishment saved or deleted | its school |
| Pupil saved or deleted | its school and its account, before and after the write |
| GuardianRecord saved or deleted | its school and its account, before and after (a merge |
|   or an attach moves records) | |
| Responsibility saved or deleted | the school and the account of its guardian record |
| EstablishmentMessage saved or deleted | its school, before and after |
| Service or SAML ServiceProvider saved or deleted | the catalogue |
| NewsItem saved or deleted | the news |
| accounts_merged | both accounts |

Bulk writes send no model signal: pupils.roster_import bumps the schools of each chunk itself.
A write through `QuerySet.update()` on these models must bump too (none does what the page
shows today: backoffice's closing of an account changes Pupil.account of a closed account,
whose state the kept page is checked against).
"""

from __future__ import annotations

import functools

from django.db import connections, router

from core.versions import CATALOGUE, NEWS, account_version, school_version, versions_bump
from pupils.models import GuardianRecord

# The fields whose old value names what a write changes (read before the save).
_WATCHED = ("establishment_id", "account_id")


def _names(*pairs) -> list[str]:
    names = []
    for establishment_id, account_id in pairs:
        if establishment_id:
            names.append(school_version(establishment_id))
        if account_id:
            names.append(account_version(account_id))
    return names


@functools.lru_cache(maxsize=16)
def _before_sql(model, db: str, fields: tuple[str, ...]) -> str:
    """remember_before's SELECT of `fields` (attnames) of one row of `model` by primary key,
    written once per process and model (the ORM built and compiled it at every save of a
    record: half a millisecond of CPU, twice per SMS activation; issue 14)."""
    quote = connections[db].ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(meta.get_field(f.removesuffix("_id")).column) for f in fields)
    return (f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608 (model's names)
            f"WHERE {quote(meta.pk.column)} = %s")


def remember_before(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save of Pupil, GuardianRecord and EstablishmentMessage: keep the stored school and
    account of the row (one query by primary key, its SQL written once per process; none for
    a new row, or a save of other fields only), so that post_save bumps the ones it leaves
    too."""
    instance._portal_before = None
    if raw or instance._state.adding or instance.pk is None:
        return
    fields = [f for f in _WATCHED if hasattr(instance, f)]
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & set(
            update_fields):
        return
    db = kwargs.get("using") or router.db_for_write(sender, instance=instance)
    with connections[db].cursor() as cursor:
        cursor.execute(_before_sql(sender, db, tuple(fields)), [instance.pk])
        instance._portal_before = cursor.fetchone()


def _pair(instance, values=None) -> tuple:
    if values is None:
        values = [getattr(instance, f) for f in _WATCHED if hasattr(instance, f)]
    values = list(values)
    return (values[0], values[1] if len(values) > 1 else None)


def school_data_changed(sender, instance, using=None, **kwargs):
    """post_save / post_delete of Pupil, GuardianRecord, EstablishmentMessage."""
    pairs = [_pair(instance)]
    before = getattr(instance, "_portal_before", None)
    if before is not None:
        pairs.append(_pair(instance, before))
    versions_bump(*_names(*pairs), using=using)


def establishment_changed(sender, instance, using=None, **kwargs):
    versions_bump(school_version(instance.pk), using=using)


def link_changed(sender, instance, using=None, **kwargs):
    """post_save / post_delete of Responsibility: the school and account of its record."""
    row = (GuardianRecord._base_manager.using(using).filter(pk=instance.guardian_record_id)
           .values_list("establishment_id", "account_id").first())
    if row is not None:
        versions_bump(*_names(row), using=using)


def catalogue_changed(sender, using=None, **kwargs):
    versions_bump(CATALOGUE, using=using)


def news_changed(sender, using=None, **kwargs):
    versions_bump(NEWS, using=using)


def accounts_merged(sender, *, kept, closed, **kwargs):
    versions_bump(account_version(kept.pk), account_version(closed.pk))
