"""A Redis server of a test's own, for the outage tests: a real `redis-server` on a free port
of the loopback (no file written: `--save ""`, no append-only file), stopped to make Redis
unreachable and started again on the same port to bring it back. The shared Redis of the
other tests is never stopped.

`outage_redis` (tests/conftest.py) points the cache, the sessions and the rate limits at it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import redis


def free_port() -> int:
    """A TCP port of 127.0.0.1 free when asked (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """One `redis-server` process started by the test, on `port`."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        """Start the server and wait (at most 5 s) until it answers PING."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 5
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.02)
            finally:
                client.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM to the process this object started, then its end)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def client(self, db: int = 0) -> redis.Redis:
        """A plain client, for a test to look at what the server holds."""
        return redis.Redis.from_url(self.url(db))
