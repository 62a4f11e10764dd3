"""Fault: a Celery worker frozen (SIGSTOP) past the sending timeout, then resumed (SIGCONT).

    python bench/faults/worker_frozen.py [--frozen-seconds 30]

Two workers; the fake Twilio answers in 1.5 s (each message recorded first), so the frozen one
holds SMS in flight: some before its fencing check, some already at the provider. After the
(shortened, 15 s) sending timeout the periodic task takes its rows back and the other worker
sends them, asking the provider first. When the frozen worker resumes, its claims are void: it
sends nothing (fencing) and overwrites nothing.
"""

import argparse
import signal
import time

from _stack import run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frozen-seconds", type=float, default=30)
    parser.add_argument("--provider-seconds", type=float, default=1.5,
                        help="how long the fake Twilio takes to answer a create")
    args = parser.parse_args()

    def fault(stack):
        stack.twilio("ok", delay=args.provider_seconds)
        time.sleep(args.provider_seconds + 1)  # every sender of both workers has one in flight
        stack.procs["worker1"].signal(signal.SIGSTOP)
        time.sleep(args.frozen_seconds)
        stack.procs["worker1"].signal(signal.SIGCONT)
        time.sleep(5)
        stack.twilio("ok", delay=0)

    # One activation thread (~1.5 SMS/s) against 4 senders of 1.5 s each (~2.7/s): the senders
    # are busy about half the time and keep up, so the periodic task (which waits in the same
    # Celery queue as the SMS) runs while worker1 is frozen.
    run("worker_frozen", fault, workers=2, after=20, activators=1,
        notes=f"worker1 of 2 frozen {args.frozen_seconds:g} s (sending timeout 15 s), "
              f"provider answering in {args.provider_seconds:g} s")


if __name__ == "__main__":
    main()
