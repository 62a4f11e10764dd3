"""Fault: Redis (cache, sessions, rate limits) restarted during load.

    python bench/faults/redis_restarted.py [--down-seconds 5]

A redis-server of the script's own (another port; AOF on as in docker-compose.yml): never the
machine's shared 6379. Sessions are in Redis (SESSION_ENGINE cache): with AOF they come back
with it; requests during the gap show what users see.
"""

import argparse
import time

from _stack import run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--down-seconds", type=float, default=5)
    args = parser.parse_args()

    def fault(stack):
        stack.cache.stop()
        time.sleep(args.down_seconds)
        stack.cache.start()

    run("redis_restarted", fault, after=15,
        notes=f"own cache Redis stopped {args.down_seconds:g} s (AOF on) during load")


if __name__ == "__main__":
    main()
