# The journal moved from accounts to core. The table is kept (db_table), so the state moves
# and the database does not change: accounts 0004 drops the model from its state only.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0003_backoffice_state_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="JournalEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name="date")),
                        ("kind", models.CharField(db_index=True, max_length=50, verbose_name="événement")),
                        ("flow_id", models.UUIDField(blank=True, db_index=True, null=True, verbose_name="parcours")),
                        ("ip_address", models.GenericIPAddressField(blank=True, null=True, verbose_name="adresse IP")),
                        ("data", models.JSONField(blank=True, default=dict, verbose_name="détails")),
                        ("account", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="journal_events", to=settings.AUTH_USER_MODEL, verbose_name="compte")),
                        ("actor", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="auteur")),
                    ],
                    options={
                        "verbose_name": "événement du journal",
                        "verbose_name_plural": "journal",
                        "ordering": ["-at"],
                        "db_table": "accounts_journalevent",
                        "indexes": [models.Index(fields=["account", "-at"], name="accounts_jo_account_f12ef6_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
