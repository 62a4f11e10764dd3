"""Issue 14: the helpdesk finds an academy's accounts of a name by the exact name first, as it
lists the unlinked records (pupils 0013), read in the list's order from two B-trees and
stopped after the list's limit, so that an academy's « martin » costs the same with 100 or
10,000 Martins in it (backoffice.selectors._academy_accounts_part,
tests/backoffice/test_search_plan.py):

- guardian_academy_covered_idx, (academy_id, last_name_key, lower(last_name),
  lower(first_name), id) of the records an account covers: the twin of
  guardian_academy_exact_idx, which holds the others, so the two together are one index's
  size;
- pupil_academy_account_idx, (academy_id, educonnect_name_key(last_name), lower(last_name),
  lower(first_names), id) of the pupils who have an account (PostgreSQL only, as
  pupil_academy_exact_idx of pupils 0017: the name-key function is PostgreSQL's).

Plain CREATE INDEX (Django runs migrations in a transaction, where CONCURRENTLY is not
allowed): each blocks writes to its table while it builds (bench/README.md gives the time at
10M rows). Run it in a maintenance window, or create the indexes beforehand with CREATE
INDEX CONCURRENTLY and the same definitions (`sqlmigrate pupils 0019`; IF NOT EXISTS then
skips the pupils' one, and Django's AddIndex fails on an existing name: drop it and let the
migration build it, or fake the migration once both exist).
"""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

PUPIL_INDEX = (
    "CREATE INDEX IF NOT EXISTS pupil_academy_account_idx ON pupils_pupil "
    "(academy_id, educonnect_name_key(last_name), lower(last_name), lower(first_names), id) "
    "WHERE account_id IS NOT NULL"
)


def _run_on_postgresql(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('pupils', '0018_mail_wording'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='guardianrecord',
            index=models.Index(models.F('academy'), models.F('last_name_key'), django.db.models.functions.text.Lower('last_name'), django.db.models.functions.text.Lower('first_name'), models.F('id'), condition=models.Q(('account__isnull', False)), name='guardian_academy_covered_idx'),
        ),
        migrations.RunPython(_run_on_postgresql(PUPIL_INDEX),
                             _run_on_postgresql("DROP INDEX IF EXISTS pupil_academy_account_idx")),
    ]
