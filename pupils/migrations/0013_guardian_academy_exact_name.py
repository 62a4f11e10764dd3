"""Issue 14: the helpdesk lists the records whose last name is exactly the name typed first,
read in the list's order from this B-tree, (academy_id, last_name_key, lower(last_name),
lower(first_name), id) of the unlinked records: an academy's « martin » then stops after
the list's 51 rows instead of fetching and sorting its thousands of Martins
(backoffice.selectors.exact_name_records, tests/backoffice/test_search_plan.py).

A plain CREATE INDEX (Django runs migrations in a transaction, where CONCURRENTLY is not
allowed): it blocks writes to the guardian records while it builds, about 2 minutes at
10M rows (bench/README.md): run it in a maintenance window, or create it by hand with
CREATE INDEX CONCURRENTLY and the same definition beforehand (see `sqlmigrate pupils 0013`).
"""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pupils', '0012_guardian_record_academy'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='guardianrecord',
            index=models.Index(models.F('academy'), models.F('last_name_key'), django.db.models.functions.text.Lower('last_name'), django.db.models.functions.text.Lower('first_name'), models.F('id'), condition=models.Q(('account__isnull', True)), name='guardian_academy_exact_idx'),
        ),
    ]
