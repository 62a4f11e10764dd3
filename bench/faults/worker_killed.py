"""Fault: the Celery worker killed with -9 while sending, then started again.

    python bench/faults/worker_killed.py [--kills 3]

The fake Twilio takes 0.5 s to answer each create (the message is recorded first): a kill lands
while SMS are in flight, some accepted by the provider and not yet recorded. Those rows stay
« sending »; after the (shortened) sending timeout the periodic task takes them back, and the
next attempt asks the provider (lookup) before sending again: no duplicate, none lost.
"""

import argparse
import signal
import time

from _stack import run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=3)
    args = parser.parse_args()

    def fault(stack):
        stack.twilio("ok", delay=0.5)
        for _ in range(args.kills):
            time.sleep(4)
            stack.procs["worker1"].signal(signal.SIGKILL)  # the supervisor starts it again
        time.sleep(4)
        stack.twilio("ok", delay=0)

    run("worker_killed", fault, after=20,
        notes=f"worker killed -9 {args.kills} times, 4 s apart, provider answering in 0.5 s")


if __name__ == "__main__":
    main()
