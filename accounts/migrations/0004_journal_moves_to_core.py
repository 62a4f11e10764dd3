# The journal moved to core (core 0001 takes over the same table): state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_backoffice_state_index"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="JournalEvent")],
            database_operations=[],
        ),
    ]
