"""Fault: the SMS provider answers 503 for N minutes, then 429 for N/2 minutes.

    python bench/faults/provider_outage.py [--minutes 5] [--time-scale 0.2]

The issue asks for five minutes of 503. The outbox's times are shortened (bench/faults/_stack.py
SCALE: backoff 1 s doubling to 8 s instead of 10 s to 5 min), so `--time-scale` shortens the
outage by the same kind of factor: the default runs 5 min × 0.2 = 60 s of 503 then 30 s of
429. With the real settings (backoff capped at 5 min, codes living 30 min) a 5-minute outage
costs each code at most one 5-minute wait; codes written more than 30 min before the provider
comes back expire (journaled), which `--minutes 40 --time-scale 1` would show.
"""

import argparse
import time

from _stack import run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--time-scale", type=float, default=0.2)
    args = parser.parse_args()
    outage = args.minutes * 60 * args.time_scale

    def fault(stack):
        stack.twilio("503")
        time.sleep(outage)
        stack.twilio("429")
        time.sleep(outage / 2)
        stack.twilio("ok")

    run("provider_outage", fault, after=15,
        notes=f"503 for {outage:g} s then 429 for {outage / 2:g} s "
              f"({args.minutes:g} min × time scale {args.time_scale:g})")


if __name__ == "__main__":
    main()
