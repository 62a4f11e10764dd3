"""Issue 14: the guardian record's academy, copied from its establishment, and the indexes the
helpdesk's name search starts from: (academy_id, last_name_key gin_trgm_ops), a GIN index
made possible by btree_gin, so that a search for « martin » reads the agent's academy's
Martins only, not the country's; and a B-tree (academy_id, last_name_key) for the short
names matched whole (« Ly »).

btree_gin's operators compare a bigint with a bigint only: the query must compare
academy_id with a bigint (backoffice.selectors.StaffScope.guardian_records_q casts it), or
PostgreSQL leaves the academy out of the GIN index's condition (the earlier attempt's fate).

The column is kept right by triggers (PostgreSQL), whatever the writer:
- BEFORE INSERT or UPDATE OF establishment_id, academy_id on a guardian record: the academy
  is read from the establishment (a roster import's COPY, the ORM, a hand-written UPDATE);
- AFTER UPDATE OF academy_id on an establishment: one UPDATE moves its records' column.

The backfill is one UPDATE … FROM (millions of rows: no Python loop); the NOT NULL is set
after it. On a table of 10M rows the UPDATE rewrites every row (minutes, see bench/README):
run it in a maintenance window.
"""

import django.db.models.deletion
from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations, models

RECORD_ACADEMY_FUNCTION = """
CREATE OR REPLACE FUNCTION educonnect_guardian_record_academy() RETURNS trigger
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
    RETURN NULL;
END
$$
"""
FORWARD_SQL = [
    RECORD_ACADEMY_FUNCTION,
    "CREATE TRIGGER guardian_record_academy BEFORE INSERT OR UPDATE OF establishment_id, "
    "academy_id ON pupils_guardianrecord FOR EACH ROW "
    "EXECUTE FUNCTION educonnect_guardian_record_academy()",
    ESTABLISHMENT_ACADEMY_FUNCTION,
    "CREATE TRIGGER establishment_academy AFTER UPDATE OF academy_id ON pupils_establishment "
    "FOR EACH ROW WHEN (OLD.academy_id IS DISTINCT FROM NEW.academy_id) "
    "EXECUTE FUNCTION educonnect_establishment_academy()",
    # A GIN index serves a condition on any subset of its columns as well as on all of
    # them: this one also serves the national search on the name alone, and replaces the
    # trigram index of pupils 0002.
    "CREATE INDEX IF NOT EXISTS guardian_academy_name_trgm ON pupils_guardianrecord "
    "USING gin (academy_id, last_name_key gin_trgm_ops)",
    "DROP INDEX IF EXISTS guardian_last_name_key_trgm",
]
BACKWARD_SQL = [
    "CREATE INDEX IF NOT EXISTS guardian_last_name_key_trgm ON pupils_guardianrecord "
    "USING gin (last_name_key gin_trgm_ops)",
    "DROP INDEX IF EXISTS guardian_academy_name_trgm",
    "DROP TRIGGER IF EXISTS establishment_academy ON pupils_establishment",
    "DROP FUNCTION IF EXISTS educonnect_establishment_academy()",
    "DROP TRIGGER IF EXISTS guardian_record_academy ON pupils_guardianrecord",
    "DROP FUNCTION IF EXISTS educonnect_guardian_record_academy()",
]
# UPDATE … FROM: PostgreSQL, and SQLite since 3.33.
BACKFILL_SQL = """
UPDATE pupils_guardianrecord SET academy_id = e.academy_id
FROM pupils_establishment e WHERE e.id = pupils_guardianrecord.establishment_id
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
        ('pupils', '0011_pupil_division'),
    ]

    operations = [
        BtreeGinExtension(),
        migrations.AddField(
            model_name='guardianrecord',
            name='academy',
            field=models.ForeignKey(db_index=False, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='pupils.academy',
                                    verbose_name='académie'),
        ),
        # One statement, on PostgreSQL and SQLite alike.
        migrations.RunSQL(BACKFILL_SQL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='guardianrecord',
            name='academy',
            field=models.ForeignKey(db_index=False, editable=False,
                                    on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='pupils.academy',
                                    verbose_name='académie'),
        ),
        migrations.AddIndex(
            model_name='guardianrecord',
            index=models.Index(fields=['academy', 'last_name_key'],
                               name='guardian_academy_key_idx'),
        ),
        migrations.RunPython(_run_on_postgresql(FORWARD_SQL), _run_on_postgresql(BACKWARD_SQL)),
    ]
