"""Fault: the Celery broker (Redis) stopped during activations, then started again.

    python bench/faults/broker_stopped.py [--down-seconds 30]

Families keep activating while the broker is down: the web request only writes the outbox row
(no broker call), the dispatcher's publishes fail and give the rows back, and when the broker
is back the dispatcher (and the periodic requeue) hand every row over. Prints the figures
(bench/faults/_stack.py: messages in/out, duplicates, lost, sessions lost, user errors).

Found running it: Celery 5.7's worker (kombu 5.7, Redis transport) exits with « Unrecoverable
error: AttributeError 'NoneType' object has no attribute 'hostname' » when the broker goes
away; the rows wait in the outbox (nothing is lost) but nothing sends them until the worker is
started again. The worker must run under a supervisor (docker `restart: unless-stopped`,
systemd Restart=always): the stack here restarts exited processes as one would;
`--unsupervised` shows the bare case.
"""

import argparse
import time

from _stack import run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--down-seconds", type=float, default=30)
    parser.add_argument("--unsupervised", action="store_true",
                        help="no supervisor starts an exited worker again")
    args = parser.parse_args()

    def fault(stack):
        stack.broker.stop()
        time.sleep(args.down_seconds)
        stack.broker.start()

    run("broker_stopped", fault, supervised=not args.unsupervised,
        notes=f"broker down {args.down_seconds:g} s during load"
              + (", no supervisor" if args.unsupervised else ""))


if __name__ == "__main__":
    main()
