"""Pupils' name indexes in French order: (last_name COLLATE "fr-x-icu", first_names COLLATE
"fr-x-icu", id), alone and after establishment_id, in place of the byte-order ones of pupils
0002. An academy's and the country's back-office lists of pupils order by those expressions
(pupils.selectors.PUPIL_NAME_ORDER): PostgreSQL reads their first page by walking the index
and stops after the page's rows. Without the index that order meant sorting the table (0.8 s
at 1,000,000 pupils, bench/README.md, « Back-office »), which is why those lists kept byte
order until now.

On PostgreSQL the indexes are built and the old ones dropped CONCURRENTLY (a non-atomic
migration): the pupils stay writable meanwhile (a roster import, a secretary's fix), where a
plain CREATE INDEX would block their writes for the build (the whole migration: 9.3 s at
1,000,000 pupils, bench/README.md; at the country's 12 million, about two minutes by
extrapolation, not measured). The new indexes are built before the old ones are dropped, so
the lists always have one to walk. If the migration stops half-way, an index may be left
INVALID: drop it (`DROP INDEX CONCURRENTLY pupil_name_fr_idx`) and migrate again.

On any other database (the demo's SQLite, which has no ICU collation) the operations are plain
ones, and pupils.models.FrenchCollation leaves the collation out: indexes on the bare columns.
"""

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

import pupils.models


class AddIndexConcurrentlyOnPostgreSQL(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL, AddIndex elsewhere (CONCURRENTLY is PostgreSQL's)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor,
                                                     from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor,
                                                      from_state, to_state)


class RemoveIndexConcurrentlyOnPostgreSQL(RemoveIndexConcurrently):
    """RemoveIndexConcurrently on PostgreSQL, RemoveIndex elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.RemoveIndex.database_forwards(self, app_label, schema_editor,
                                                        from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.RemoveIndex.database_backwards(self, app_label, schema_editor,
                                                         from_state, to_state)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('pupils', '0013_guardian_academy_exact_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name='pupil',
            index=models.Index(models.F('establishment'), pupils.models.FrenchCollation(models.F('last_name')), pupils.models.FrenchCollation(models.F('first_names')), models.F('id'), name='pupil_estab_name_fr_idx'),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name='pupil',
            index=models.Index(pupils.models.FrenchCollation(models.F('last_name')), pupils.models.FrenchCollation(models.F('first_names')), models.F('id'), name='pupil_name_fr_idx'),
        ),
        RemoveIndexConcurrentlyOnPostgreSQL(
            model_name='pupil',
            name='pupil_estab_name_idx',
        ),
        RemoveIndexConcurrentlyOnPostgreSQL(
            model_name='pupil',
            name='pupil_name_idx',
        ),
    ]
