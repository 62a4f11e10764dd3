# Issue 16: name comparison keys transliterate every letter (anyascii) instead of dropping
# the letters Unicode decomposition leaves whole (« Halıcı » lost its ı and never met
# « HALICI »). See core.normalization's docstring.
#
# 1. PostgreSQL: the table educonnect_name_key_char holds, for every non-ASCII character
#    whose key is not empty, its key (core.normalization.name_key of that one character);
#    educonnect_name_key(), the SQL twin of name_key() used by the back-office's part-of-a-
#    name search, now reads it. A name's key is the concatenation of its characters' keys
#    (anyascii works one character at a time), so the twin is exact, for every script.
#    Names in plain ASCII (nearly all) take the first branch and never read the table.
#    Cost (bench/bench_name_key.py): ~13 µs an ASCII name (the unaccent function: ~6 µs),
#    ~190 µs a name with other letters (one index lookup per such letter). It runs on writes
#    of pupils and accounts (their expression indexes) and in the REINDEX below, never per
#    row at search time.
#    The function is IMMUTABLE although it reads a table: the table is written by
#    migrations only, and a migration that rewrites it (a new anyascii) must REINDEX the
#    expression indexes below, as this one does.
# 2. Every guardian record's stored keys are recomputed, in batches of primary keys; only
#    the rows whose keys change are written (names with ı, ł, ø, ð, þ, ß… or another script).
#
# Identifiers already given (p.halc12) are NOT rewritten: people sign in with them, and an
# identifier that changed under them would lock them out. New identifiers use the new stems.

from anyascii import anyascii
from django.db import migrations

from core.normalization import name_key

KEY_MAX_LENGTH = 100  # GuardianRecord.last_name_key / first_name_key
BATCH = 5000
TABLE = "educonnect_name_key_char"
EXPRESSION_INDEXES = ("pupil_last_name_trgm", "account_last_name_trgm")

NAME_KEY_FUNCTION = r'''
CREATE OR REPLACE FUNCTION public.educonnect_name_key_letters(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    -- One primary-key lookup per non-ASCII character (a correlated subquery: a join would
    -- be planned as a scan of the whole table); plpgsql keeps the plan for the session.
    RETURN (
        SELECT string_agg(
            CASE WHEN ascii(t.c) < 128 THEN t.c
                 ELSE coalesce((SELECT m.key FROM public.educonnect_name_key_char AS m
                                WHERE m.ch = t.c), '') END,
            '' ORDER BY t.n)
        FROM unnest(regexp_split_to_array(value, '')) WITH ORDINALITY AS t(c, n)
    );
END $$;

-- Inlinable (no subquery of its own): an ASCII name costs a regex test and a regexp_replace.
CREATE OR REPLACE FUNCTION public.educonnect_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(
    lower(CASE WHEN value !~ '[^\x01-\x7f]' THEN value
               ELSE public.educonnect_name_key_letters(value) END),
    '[^a-z0-9]+', '', 'g'
);
'''
# The function as pupils.0002 made it (unaccent), for the way back.
OLD_NAME_KEY_FUNCTION = '''
CREATE OR REPLACE FUNCTION educonnect_name_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN regexp_replace(
    lower(public.unaccent('public.unaccent'::regdictionary, value)), '[^a-z0-9]+', '', 'g'
);
'''


def character_keys() -> tuple[list[str], list[str]]:
    """(characters, keys): every non-ASCII code point whose name_key is not empty."""
    characters, keys = [], []
    for codepoint in range(0x80, 0x110000):
        if 0xD800 <= codepoint <= 0xDFFF:
            continue
        character = chr(codepoint)
        if not anyascii(character):
            continue
        key = name_key(character)
        if key:
            characters.append(character)
            keys.append(key)
    return characters, keys


def _reindex(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for index in EXPRESSION_INDEXES:
            cursor.execute("SELECT to_regclass(%s)", [f"public.{index}"])
            if cursor.fetchone()[0] is not None:
                cursor.execute(f"REINDEX INDEX {index}")


def sql_twin_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    characters, keys = character_keys()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (ch text PRIMARY KEY, key text NOT NULL)")
        cursor.execute(f"TRUNCATE {TABLE}")
        cursor.execute(
            f"INSERT INTO {TABLE} (ch, key) SELECT * FROM unnest(%s::text[], %s::text[])",
            [characters, keys],
        )
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute(NAME_KEY_FUNCTION)
    _reindex(schema_editor)


def sql_twin_backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(OLD_NAME_KEY_FUNCTION)
        cursor.execute("DROP FUNCTION IF EXISTS public.educonnect_name_key_letters(text)")
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
    _reindex(schema_editor)


def recompute_keys(apps, schema_editor):
    """Rewrite the stored keys that the new name_key changes; batches of BATCH rows by pk."""
    GuardianRecord = apps.get_model("pupils", "GuardianRecord")
    last_pk = 0
    while True:
        rows = list(
            GuardianRecord.objects.filter(pk__gt=last_pk).order_by("pk")
            .values_list("pk", "last_name", "first_name", "last_name_key", "first_name_key")[:BATCH]
        )
        if not rows:
            return
        last_pk = rows[-1][0]
        changed = []
        for pk, last_name, first_name, last_key, first_key in rows:
            new_last = name_key(last_name)[:KEY_MAX_LENGTH]
            new_first = name_key(first_name)[:KEY_MAX_LENGTH]
            if (new_last, new_first) != (last_key, first_key):
                changed.append(GuardianRecord(pk=pk, last_name_key=new_last,
                                              first_name_key=new_first))
        if changed:
            GuardianRecord.objects.bulk_update(changed, ["last_name_key", "first_name_key"])


class Migration(migrations.Migration):

    dependencies = [
        ('pupils', '0006_pupil_national_id_academy_code'),
        ('accounts', '0002_backoffice'),
    ]

    operations = [
        migrations.RunPython(sql_twin_forward, sql_twin_backward),
        # The way back leaves the keys as they are: the old function read them the old way,
        # and a key one letter longer harms nothing but a match the old code never made.
        migrations.RunPython(recompute_keys, migrations.RunPython.noop),
    ]
