"""The helpdesk finds a family by the child's name (backoffice.selectors.pupils_search): the
pupil's academy, copied from its establishment, and the indexes that search starts from, so
that an academy's agent typing « moreau » reads that academy's Moreau pupils only, never the
country's (10 million pupils):

- pupil_academy_name_trgm, GIN (academy_id, educonnect_name_key(last_name) gin_trgm_ops)
  (btree_gin, pupils 0012): a last name containing what was typed, in one academy, or in
  the country (it replaces pupils 0002's pupil_last_name_trgm on the name alone);
- pupil_academy_exact_idx, B-tree (academy_id, educonnect_name_key(last_name),
  lower(last_name), lower(first_names), id): the pupils whose whole last name is the one
  typed (and the short names matched whole, « Ly »), read in the list's order
  (backoffice.selectors.PUPIL_SEARCH_ORDER) and stopped at the list's limit.

Why a copied column rather than the establishment: the academy is only on Establishment,
and an index that starts from the establishment would be searched with « establishment_id
IN (the academy's 1,000 to 3,000 schools) »: a B-tree serves that for a whole name only,
and a GIN index not at all (it takes no list of values: PostgreSQL would read the
country's trigram matches and filter them by school). With the academy on the row, both
indexes start from it, as the guardian records' do (pupils 0012, 0013). The pupil's
`academy_code` (an optional roster column, often blank) cannot serve.

The column is kept right by triggers (PostgreSQL), whatever the writer:
- BEFORE INSERT or UPDATE OF establishment_id, academy_id on a pupil: the academy is read
  from the establishment (a roster import's COPY, the ORM, a hand-written UPDATE);
- AFTER UPDATE OF academy_id on an establishment: its guardian records' and its pupils'
  columns follow, one UPDATE each (the function of pupils 0012, written again).

The backfill is one UPDATE … FROM (10M rows rewritten, minutes); the NOT NULL is set after
it, and the indexes are built by plain CREATE INDEX (Django runs migrations in a
transaction): they block writes to the pupils while they build. Run it in a maintenance
window, or create the indexes beforehand with CREATE INDEX CONCURRENTLY and the same
definitions (IF NOT EXISTS then skips them).
"""

import django.db.models.deletion
from django.db import migrations, models

PUPIL_ACADEMY_FUNCTION = """
CREATE OR REPLACE FUNCTION educonnect_pupil_academy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.academy_id INTO NEW.academy_id
    FROM pupils_establishment e WHERE e.id = NEW.establishment_id;
    RETURN NEW;
END
$$
"""
ESTABLISHMENT_ACADEMY_FUNCTION = """
CREATE OR REPLACE FUNCTION educonnect_establishment_academy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pupils_guardianrecord SET academy_id = NEW.academy_id
    WHERE establishment_id = NEW.id;
    UPDATE pupils_pupil SET academy_id = NEW.academy_id
    WHERE establishment_id = NEW.id;
    RETURN NULL;
END
$$
"""
# pupils 0012's version, for the way back.
ESTABLISHMENT_ACADEMY_FUNCTION_0012 = """
CREATE OR REPLACE FUNCTION educonnect_establishment_academy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE pupils_guardianrecord SET academy_id = NEW.academy_id
    WHERE establishment_id = NEW.id;
    RETURN NULL;
END
$$
"""
FORWARD_SQL = [
    PUPIL_ACADEMY_FUNCTION,
    "CREATE TRIGGER pupil_academy BEFORE INSERT OR UPDATE OF establishment_id, academy_id "
    "ON pupils_pupil FOR EACH ROW EXECUTE FUNCTION educonnect_pupil_academy()",
    ESTABLISHMENT_ACADEMY_FUNCTION,
    "CREATE INDEX IF NOT EXISTS pupil_academy_name_trgm ON pupils_pupil "
    "USING gin (academy_id, educonnect_name_key(last_name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS pupil_academy_exact_idx ON pupils_pupil "
    "(academy_id, educonnect_name_key(last_name), lower(last_name), lower(first_names), id)",
    # A GIN index serves a condition on any subset of its columns as well as on all of them:
    # the new one also serves the national search on the name alone (the admin's search box,
    # a national agent), and replaces the trigram index of pupils 0002, as pupils 0012 did
    # for the guardian records (one GIN index less to write at every roster import).
    "DROP INDEX IF EXISTS pupil_last_name_trgm",
]
BACKWARD_SQL = [
    "CREATE INDEX IF NOT EXISTS pupil_last_name_trgm ON pupils_pupil "
    "USING gin (educonnect_name_key(last_name) gin_trgm_ops)",
    "DROP INDEX IF EXISTS pupil_academy_exact_idx",
    "DROP INDEX IF EXISTS pupil_academy_name_trgm",
    ESTABLISHMENT_ACADEMY_FUNCTION_0012,
    "DROP TRIGGER IF EXISTS pupil_academy ON pupils_pupil",
    "DROP FUNCTION IF EXISTS educonnect_pupil_academy()",
]
# UPDATE … FROM: PostgreSQL, and SQLite since 3.33.
BACKFILL_SQL = """
UPDATE pupils_pupil SET academy_id = e.academy_id
FROM pupils_establishment e WHERE e.id = pupils_pupil.establishment_id
"""


def _run_on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('pupils', '0016_adresse_mail_wording'),
    ]

    operations = [
        migrations.AddField(
            model_name='pupil',
            name='academy',
            field=models.ForeignKey(db_index=False, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='pupils.academy',
                                    verbose_name='académie'),
        ),
        # One statement, on PostgreSQL and SQLite alike.
        migrations.RunSQL(BACKFILL_SQL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='pupil',
            name='academy',
            field=models.ForeignKey(db_index=False, editable=False,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='pupils.academy',
                                    verbose_name='académie'),
        ),
        migrations.RunPython(_run_on_postgresql(FORWARD_SQL), _run_on_postgresql(BACKWARD_SQL)),
    ]
