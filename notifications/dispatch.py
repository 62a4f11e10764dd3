"""The outbox dispatcher: the worker-side process that hands queued rows to Celery.

Why a dispatcher: a web request that published a Celery task for a match, and nothing for a
non-match, took 646 ms more with the broker down (issue 8 §6). The request now only writes its
row; whatever happens to the broker, a match and a non-match do the same work in the request.

Why LISTEN/NOTIFY plus a poll, and not a Celery beat task every second:
- a PostgreSQL trigger (notifications/migrations/0003) sends NOTIFY `educonnect_outbox` when
  a row is inserted; PostgreSQL delivers it at commit only, never for a rollback, and the
  dispatcher wakes at once: a code reaches the worker within milliseconds of the commit
  (measured: tests/notifications/test_worker_redis.py prints the median), where a 1 s beat
  would add 0.5 s on average and publish 86,400 tasks a day to look at an empty table;
- the poll (NOTIFICATIONS_DISPATCH_POLL_SECONDS, and the exact time the next retry falls due)
  catches what no notification announces: retries, rows committed while the dispatcher was
  restarting. Several dispatchers may run (SKIP LOCKED leases, services.messages_dispatch_due);
- if the dispatcher is down, the beat task `requeue_stale_messages` still hands over rows
  overdue by NOTIFICATIONS_REQUEUE_AFTER_SECONDS: slower, never lost.

The notification connection is its own psycopg connection in autocommit mode (LISTEN must not
sit in a transaction); the leases go through Django's connection. On SQLite (demo), there is
no NOTIFY: the dispatcher only polls (the demo normally sends after commit, see settings).
"""

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from . import services
from .tasks import send_message

logger = logging.getLogger(__name__)

CHANNEL = "educonnect_outbox"  # the trigger's channel (migrations/0003_outbox_notify_trigger)
# After a database or broker error, the loop starts again after this pause (or the poll).
ERROR_PAUSE_SECONDS = 2.0


def dispatch_once(*, limit: int | None = None) -> int:
    """Lease the due rows and hand each id to Celery; returns how many were handed over.

    A publish that fails (broker down) gives the rest of the batch back, due again after one
    poll interval, and raises nothing: the caller just waits for its next turn.
    """
    limit = limit or settings.NOTIFICATIONS_DISPATCH_BATCH_SIZE
    ids = services.messages_dispatch_due(limit=limit)
    for index, message_id in enumerate(ids):
        try:
            send_message.delay(message_id)
        except Exception as exc:
            logger.error("Outbox dispatch: broker refused (%s); %s message(s) due again in %ss",
                         exc.__class__.__name__, len(ids) - index,
                         settings.NOTIFICATIONS_DISPATCH_POLL_SECONDS)
            services.messages_dispatch_release(
                message_ids=ids[index:], retry_in=settings.NOTIFICATIONS_DISPATCH_POLL_SECONDS)
            return index
    return len(ids)


class Listener:
    """LISTEN on CHANNEL through a dedicated autocommit psycopg connection (PostgreSQL only)."""

    def __init__(self):
        self.conn = None

    def _connect(self):
        import psycopg

        params = {key: value for key, value in connection.get_connection_params().items()
                  if key not in {"cursor_factory", "context"}}
        self.conn = psycopg.connect(**params, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for a notification; True if one came. Notifications
        that came meanwhile are drained: one dispatch serves them all."""
        if self.conn is None or self.conn.closed:
            self._connect()
        came = False
        for _notify in self.conn.notifies(timeout=timeout, stop_after=1):
            came = True
        if came:
            # Whatever else arrived with it: one dispatch handles every due row.
            for _notify in self.conn.notifies(timeout=0):
                pass
        return came

    def close(self):
        if self.conn is not None and not self.conn.closed:
            self.conn.close()
        self.conn = None


def _wait(listener: Listener | None, stop: threading.Event, timeout: float) -> None:
    """Until a notification, `timeout` seconds, or `stop`, checked every second at most."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if listener is None:
            stop.wait(min(left, 1.0))
        elif listener.wait(min(left, 1.0)):
            return


def run(*, stop: threading.Event, poll_seconds: float | None = None) -> None:
    """The dispatcher's loop, until `stop` is set: dispatch what is due, then wait for a
    notification, the next retry's due time, or the poll interval, whichever comes first.

    Database and broker errors are logged and waited out (ERROR_PAUSE_SECONDS), never fatal:
    a cut LISTEN connection is opened again.
    """
    poll = settings.NOTIFICATIONS_DISPATCH_POLL_SECONDS if poll_seconds is None else poll_seconds
    listener = Listener() if connection.vendor == "postgresql" else None
    logger.info("Outbox dispatcher started (%s, poll %ss)",
                "LISTEN " + CHANNEL if listener else "polling only", poll)
    try:
        while not stop.is_set():
            try:
                # LISTEN first: a row committed between the dispatch and the wait still wakes us.
                if listener is not None and listener.conn is None:
                    listener.wait(0)
                handed = dispatch_once()
                if handed >= settings.NOTIFICATIONS_DISPATCH_BATCH_SIZE:
                    continue  # more may be due: no waiting
                due_in = services.messages_next_due_in()
                timeout = poll if due_in is None else min(poll, max(due_in, 0.01))
                _wait(listener, stop, timeout)
            except Exception as exc:
                pause = min(poll, ERROR_PAUSE_SECONDS)
                logger.error("Outbox dispatcher: %s, trying again in %ss",
                             exc.__class__.__name__, pause)
                if listener is not None:
                    listener.close()  # reconnects and LISTENs again on the next turn
                if isinstance(exc, DatabaseError):
                    connection.close()
                stop.wait(pause)
            finally:
                close_old_connections()
    finally:
        if listener is not None:
            listener.close()
        logger.info("Outbox dispatcher stopped")


def run_forever_with_signals() -> None:
    """`run` until SIGTERM or SIGINT (docker stop, Ctrl-C): it stops within a second."""
    import signal

    stop = threading.Event()

    def _stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run(stop=stop)
