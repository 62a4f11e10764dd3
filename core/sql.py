"""Rows of a model read and written by SQL written once per process.

The ORM builds and compiles its SQL at every call: for the short statements a flow makes at
every step (the flow by its id and kind, its codes, the flow's INSERT and UPDATE) that cost
0.3–0.5 ms of CPU each, more than PostgreSQL takes to run them (issue 14). Here each
statement is written once per process, model, connection and shape, from the model's
concrete columns (a new column is read and written without touching it), with the ORM's
own conversions (`get_db_prep_value`/`get_db_prep_save` going in, the converters such as a
JSON field's `from_db_value` coming out; instances built by `Model.from_db`):

- `model_rows(model, where={…}, order_by=…, for_update=…)`: `filter(**where)` by equality;
- `model_rows_sql(model, sql=…, params=…)`: the caller's SELECT (a join, an EXISTS, an array
  parameter), `{columns}` standing for the model's columns;
- `model_rows_by_pk(model, pks)` and `related_rows_set(instances, field_name)`: rows by their
  keys, one array parameter (`filter(pk__in=…)`, the prefetch of a foreign key);
- `model_insert(instance)` and `model_update(instance)`: `save()` of a new or an existing
  row, without the model signals — for models that have none (core.models.Flow, FlowCode);
- `quoted_column(model, name, db=…)`: a column's quoted name, for the SQL callers write;
- `slotted_rows(model, key=…, build=…, values=…)`: a queryset the ORM builds and compiles once
  per process with `Slot`s where its values go (a search whose conditions are many EXISTS, for
  which the ORM's building and compiling cost more than running it), run with the values of
  each call.

The precedents it generalises: `accounts.backends.account_by_identifier` and
`pupils.selectors._children_sql`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Expression, Model
from django.db.transaction import TransactionManagementError


def quoted_column(model, field_name: str, *, db: str) -> str:
    """The column of `model`'s field `field_name` (a model class or its `_meta`), quoted
    for the database `db` (an alias of settings.DATABASES): for the SQL a caller writes
    once per process (`model_rows_sql` and the statements of the same kind). Raises
    FieldDoesNotExist for a name the model does not have."""
    meta = getattr(model, "_meta", model)
    return connections[db].ops.quote_name(meta.get_field(field_name).column)


@functools.lru_cache(maxsize=64)
def _select_sql(model: type[Model], connection, where: tuple[str, ...],
                order_by: tuple[str, ...], for_update: bool
                ) -> tuple[str, list, list[str], list[tuple[int, list]]]:
    """(sql, the fields of `where`, attnames, [(column index, its converters)]) of a SELECT
    of every concrete column of `model` WHERE each of `where` (field names) equals a
    parameter, ordered by `order_by` (field names, « - » for descending), FOR UPDATE when
    asked. Bounded cache: Django's connections are per thread (see account_by_identifier)."""
    quote = connection.ops.quote_name
    meta = model._meta
    fields = meta.concrete_fields
    columns = ", ".join(quote(f.column) for f in fields)
    conditions = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in where)
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {conditions}"  # noqa: S608
    if order_by:
        sql += " ORDER BY " + ", ".join(
            f"{quote(meta.get_field(name.lstrip('-')).column)}"
            f"{' DESC' if name.startswith('-') else ' ASC'}" for name in order_by)
    # As select_for_update() on a database without row locks (the demo's SQLite, whose
    # writes lock the whole file): no clause, which it would refuse as a syntax error.
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    return (sql, [meta.get_field(name) for name in where], [f.attname for f in fields],
            _converters(model, connection))


def model_rows(model: type[Model], *, where: dict[str, object],
               order_by: Sequence[str] = (), for_update: bool = False) -> list[Model]:
    """The instances of `model` whose fields equal `where` (field name → value, e.g.
    `{"id": flow_id, "kind": "sms_activation"}`, each made ready by its field's
    `get_db_prep_value` as the ORM does: a malformed UUID raises ValidationError), ordered
    by `order_by`; with `for_update`, locked until the end of the caller's transaction (as
    `select_for_update()`, which it requires: TransactionManagementError outside one). One
    query, its SQL written once per process (`_select_sql`)."""
    db = router.db_for_write(model) if for_update else router.db_for_read(model)
    connection = connections[db]
    if for_update and connection.get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a "
                                         "transaction.")
    names = tuple(where)
    sql, where_fields, attnames, converters = _select_sql(
        model, connection, names, tuple(order_by), for_update)
    params = [field.get_db_prep_value(where[name], connection)
              for name, field in zip(names, where_fields, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _instances(model, db, connection, attnames, converters, rows)


@functools.lru_cache(maxsize=64)
def _update_sql(model: type[Model], connection) -> tuple[str, list]:
    """(sql, fields) of an UPDATE of every concrete column but the primary key, by primary
    key; the values are parameters, in the order of `fields`, then the key."""
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = (f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608
           f"WHERE {quote(meta.pk.column)} = %s")
    return sql, fields


def model_update(instance: Model) -> None:
    """Write every column of `instance` (a row that exists: a locked flow), as
    `instance.save()` does for a row it finds — each field's own `pre_save` and
    `get_db_prep_save` — by one UPDATE written once per process (`_update_sql`), without
    the ORM's compilation nor its `pre_save`/`post_save` signals: for models that have
    none (core.models.Flow). Raises `model.DoesNotExist` when no row has its key."""
    model = type(instance)
    db = router.db_for_write(model, instance=instance)
    connection = connections[db]
    sql, fields = _update_sql(model, connection)
    values = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in fields]
    values.append(model._meta.pk.get_db_prep_value(instance.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if cursor.rowcount != 1:
            raise model.DoesNotExist(f"No {model._meta.object_name} {instance.pk} to update")
    instance._state.adding = False
    instance._state.db = db


@functools.lru_cache(maxsize=64)
def _insert_sql(model: type[Model], connection) -> tuple[str, list, list]:
    """(sql, fields written, fields returned) of the INSERT of one row of `model`: every
    concrete column but those the database makes (an auto-incremented key), which come back
    by RETURNING."""
    quote = connection.ops.quote_name
    meta = model._meta
    returned = list(meta.db_returning_fields)
    fields = [f for f in meta.concrete_fields if f not in returned]
    sql = (f"INSERT INTO {quote(meta.db_table)} "  # noqa: S608
           f"({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))})")
    if returned:
        sql += f" RETURNING {', '.join(quote(f.column) for f in returned)}"
    return sql, fields, returned


def model_insert(instance: Model) -> None:
    """Insert `instance` as `instance.save(force_insert=True)` does — each field's own
    `pre_save` and `get_db_prep_save`, the key the database makes set on the instance — by
    one INSERT written once per process (`_insert_sql`), without the ORM's compilation nor
    its `pre_save`/`post_save` signals: for models that have none (core.models.Flow,
    FlowCode)."""
    model = type(instance)
    db = router.db_for_write(model, instance=instance)
    connection = connections[db]
    sql, fields, returned = _insert_sql(model, connection)
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returned:
            for field, value in zip(returned, cursor.fetchone(), strict=True):
                setattr(instance, field.attname, value)
    instance._state.adding = False
    instance._state.db = db


@functools.lru_cache(maxsize=64)
def _columns(model: type[Model], connection, alias: str) -> tuple[str, list[str], list]:
    """(the SELECT list of every concrete column of `model` prefixed by `alias`, attnames,
    [(column index, its converters)])."""
    quote = connection.ops.quote_name
    fields = model._meta.concrete_fields
    return (", ".join(f"{alias}.{quote(f.column)}" for f in fields),
            [f.attname for f in fields], _converters(model, connection))


def _converters(model: type[Model], connection) -> list[tuple[int, list]]:
    """[(index of a concrete column of `model`, the converters the ORM applies to it)], for
    the columns that have some (a JSON field's `from_db_value`, the backend's own)."""
    meta = model._meta
    converters = []
    for index, field in enumerate(meta.concrete_fields):
        found = (connection.ops.get_db_converters(field.get_col(meta.db_table))
                 + field.get_db_converters(connection))
        if found:
            converters.append((index, found))
    return converters


def model_rows_sql(model: type[Model], *, sql: str, params: list) -> list[Model]:
    """The instances of `model` read by `sql`, a SELECT written once per process by the
    caller in which `{columns}` stands for every concrete column of the model, from the
    table aliased `m` (`SELECT {columns} FROM accounts_account m WHERE …`): the converters
    the ORM would apply are applied, and each row is built by `Model.from_db`. For reads
    model_rows cannot say (a join, an EXISTS, an array parameter)."""
    db = router.db_for_read(model)
    connection = connections[db]
    columns, attnames, converters = _columns(model, connection, "m")
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{columns}", columns, 1), params)
        rows = cursor.fetchall()
    return _instances(model, db, connection, attnames, converters, rows)


@functools.lru_cache(maxsize=64)
def _by_pk_sql(model: type[Model], connection) -> str:
    quote = connection.ops.quote_name
    meta = model._meta
    return (f"SELECT {{columns}} FROM {quote(meta.db_table)} m "  # noqa: S608
            f"WHERE m.{quote(meta.pk.column)} = ANY(%s)")


def model_rows_by_pk(model: type[Model], pks) -> list[Model]:
    """The instances of `model` whose primary keys are in `pks` (an iterable of keys: ints,
    UUIDs, as the model's primary key takes them; ValidationError for one it cannot read),
    in no given order: `model.objects.filter(pk__in=pks)` in one query whose SQL is written
    once per process, the keys one array parameter (`= ANY(%s)` on PostgreSQL: the same
    text whatever their number, which psycopg then parses once, where the ORM's `IN` of 50
    keys is compiled, and parsed by psycopg, at each call). The ORM's query elsewhere (the
    demo's SQLite has no arrays); no query for no key."""
    pk = model._meta.pk
    keys = {pk.to_python(key) for key in pks}
    if not keys:
        return []
    db = router.db_for_read(model)
    connection = connections[db]
    if connection.vendor != "postgresql":
        return list(model._default_manager.using(db).filter(pk__in=keys))
    return model_rows_sql(model, sql=_by_pk_sql(model, connection), params=[
        [pk.get_db_prep_value(key, connection) for key in keys]])


def related_rows_set(instances: Sequence[Model], field_name: str) -> None:
    """Each of `instances` (of one model) gets the row its foreign key `field_name` points
    to, as `prefetch_related_objects(instances, field_name)` would for a forward foreign
    key: one query (`model_rows_by_pk`), none when every key is empty. A key whose row is
    gone meanwhile is left unset (reading it then queries, as without a prefetch)."""
    if not instances:
        return
    field = instances[0]._meta.get_field(field_name)
    keys = [getattr(instance, field.attname) for instance in instances]
    by_pk = {row.pk: row for row in model_rows_by_pk(field.related_model,
                                                       (key for key in keys if key is not None))}
    for instance, key in zip(instances, keys, strict=True):
        if key is None:
            field.set_cached_value(instance, None)
        elif key in by_pk:
            field.set_cached_value(instance, by_pk[key])


def _instances(model: type[Model], db: str, connection, attnames, converters, rows) -> list:
    """`rows` (tuples in `attnames`' order) as instances of `model`, each value through the
    converters the ORM would apply to its column ([(column index, converters)])."""
    instances = []
    for row in rows:
        if converters:
            row = list(row)
            for index, functions in converters:
                for convert in functions:
                    row[index] = convert(row[index], None, connection)
        instances.append(model.from_db(db, attnames, row))
    return instances


# --- Querysets compiled once, their values given at each run ------------------------------


@dataclass(frozen=True)
class _SlotParameter:
    """Where a Slot's value goes in a compiled statement's parameters."""

    name: str


class Slot(Expression):
    """A value that a statement of `slotted_rows` receives at each run, where a queryset would
    hold the value itself: `Q(academy_id=Slot("academy", BigIntegerField()))`,
    `Q(last_name_key__contains=Slot("value", CharField()))` (compiled as the ORM compiles a
    lookup whose right-hand side is an expression: on PostgreSQL `LIKE '%' || … || '%'`, the
    special characters escaped in SQL). `output_field`: the field the value is compared as.
    Compiled to one parameter, `%s`, whatever the value: a value that must reach SQL as
    another type is wrapped in a `Cast`, as `Value` would be."""

    def __init__(self, name: str, output_field):
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False,
                           for_save=False):
        return self

    def get_group_by_cols(self):
        return []

    def as_sql(self, compiler, connection):
        return "%s", [_SlotParameter(self.name)]


# (key, database alias) → (sql, parameters with the slots' places, [(index, slot name)]).
# Bounded by the keys callers make (a search's shapes); a statement is the same for every
# thread of a process (SQL text and parameters, no connection state).
_SLOTTED: dict[tuple, tuple[str, tuple, tuple[tuple[int, str], ...]]] = {}
SLOTTED_STATEMENTS_MAX = 512


def _slotted_statement(key, db: str, model: type[Model], build):
    found = _SLOTTED.get((key, db))
    if found is not None:
        return found
    queryset = build().using(db)
    query = queryset.query
    if queryset.model is not model or query.select_related or query.annotation_select \
            or query.deferred_loading != (frozenset(), True) or query.values_select:
        raise ValueError(f"slotted_rows({key!r}): build() must make a plain queryset of "
                         f"{model.__name__} (no select_related, values, annotate, only).")
    compiler = query.get_compiler(db)
    sql, params = compiler.as_sql()
    if len(compiler.select) != len(model._meta.concrete_fields):
        raise ValueError(f"slotted_rows({key!r}): the statement does not read every column "
                         f"of {model.__name__} in order.")
    slots = tuple((index, param.name) for index, param in enumerate(params)
                  if isinstance(param, _SlotParameter))
    statement = (sql, tuple(params), slots)
    if len(_SLOTTED) < SLOTTED_STATEMENTS_MAX:
        _SLOTTED[(key, db)] = statement
    return statement


def slotted_rows(model: type[Model], *, key, build, values: dict[str, object]) -> list[Model]:
    """The instances of `model` that the queryset `build()` reads, with `values` (slot name →
    value, e.g. `{"academy": 24, "value": "martin"}`) in place of its `Slot`s.

    `build` takes no argument and returns a plain queryset of `model` (filters, EXISTS,
    order_by, a slice; no select_related, annotate, values, only: prefetch after) whose
    every value that changes from one call to the next is a Slot: it is called, and its
    queryset built and compiled by the ORM, once per process for each `key` (hashable) and
    database — so `key` must hold everything `build` depends on besides the slots (a
    search's shape, a limit, the index of a part). Each call then runs the statement, the
    slots' parameters set from `values` (a slot missing from `values`: KeyError; the
    values are passed as parameters, never written into the SQL), and builds the instances
    as `model_rows_sql` does. The ORM's way for everything but its cost: for a search of a
    few conditions of many EXISTS, its building and compiling (≈ 2 ms a part) cost more
    than the statement (issue 14). Raises ValueError when `build()` is not such a queryset."""
    db = router.db_for_read(model)
    connection = connections[db]
    sql, params, slots = _slotted_statement(key, db, model, build)
    params = list(params)
    for index, name in slots:
        params[index] = values[name]
    _, attnames, converters = _columns(model, connection, "m")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _instances(model, db, connection, attnames, converters, rows)
