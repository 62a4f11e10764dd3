"""PostgreSQL: a row inserted into the outbox, or put back in `queued` (a failed attempt to be
tried again later), sends NOTIFY educonnect_outbox at commit.

The dispatcher (`manage.py outbox_dispatch`, notifications/dispatch.py) LISTENs on that channel
and hands the due rows to Celery, or recomputes when the next retry falls due: the web request
only writes its row, and the notification is delivered by PostgreSQL when the transaction
commits (never for a rollback). Inserts: a statement-level trigger, one NOTIFY per INSERT
statement; PostgreSQL folds identical notifications of one transaction into one. Nothing on
SQLite (the demo sends after commit, in the process).
"""

from django.db import migrations

CHANNEL = "educonnect_outbox"

CREATE = f"""
CREATE OR REPLACE FUNCTION notifications_outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER notifications_outbox_notify
    AFTER INSERT ON notifications_outboundmessage
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_outbox_notify();
CREATE TRIGGER notifications_outbox_requeued_notify
    AFTER UPDATE OF status ON notifications_outboundmessage
    FOR EACH ROW WHEN (NEW.status = 'queued' AND OLD.status <> 'queued')
    EXECUTE FUNCTION notifications_outbox_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS notifications_outbox_requeued_notify ON notifications_outboundmessage;
DROP TRIGGER IF EXISTS notifications_outbox_notify ON notifications_outboundmessage;
DROP FUNCTION IF EXISTS notifications_outbox_notify();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0002_email_parts"),
    ]

    operations = [
        migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP)),
    ]
