from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _register_sqlite_functions(sender, connection, **kwargs):
    # The SQL function educonnect_name_key() exists in PostgreSQL (pupils migration 0002);
    # SQLite (the demo) gets the Python original, so that searches and name orders
    # (pupils.selectors.NameKey, NameOrder) read the same on both.
    if connection.vendor != "sqlite":
        return
    from core.normalization import name_key

    connection.connection.create_function(
        "educonnect_name_key", 1, lambda value: None if value is None else name_key(value),
        deterministic=True,
    )


class PupilsConfig(AppConfig):
    name = "pupils"
    verbose_name = _("Élèves et établissements")

    def ready(self):
        from django.db import connections
        from django.db.backends.signals import connection_created

        connection_created.connect(
            _register_sqlite_functions, dispatch_uid="pupils.sqlite_functions"
        )
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                _register_sqlite_functions(None, connection)
