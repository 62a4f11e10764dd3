"""Parallel test workers (pytest-xdist: `make test` runs PYTEST_WORKERS of them, each its own
process): loaded with `-p tests.parallel` (pyproject's addopts) before Django's settings are
read, so that each worker gets Redis databases of its own. Every test empties the cache's
database (tests/conftest.py `_clean_cache`: FLUSHDB) and the Celery tests empty their broker:
two workers on one database would empty each other's.

Worker `gwN` (N ≥ 1) takes the databases of REDIS_URL and CELERY_TEST_BROKER_URL moved down
by 2N (CI: cache 15 and broker 14 for gw0, 13 and 12 for gw1, …): with Redis's 16 databases,
at most 7 workers. PostgreSQL needs nothing here: pytest-django gives each worker its own
test database (test_<name>_gw0, …). Without xdist, or for gw0, nothing changes."""

import os
from urllib.parse import urlsplit, urlunsplit

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
DATABASES_PER_WORKER = 2


def redis_url_for_worker(url: str, worker: str) -> str:
    """`url` (redis://host:port/db) with its database number moved down by 2N for worker
    `gwN`; unchanged for gw0, no worker, an empty URL or one without a database number.
    Raises ValueError when the number would fall below 0 (too many workers)."""
    if not url or not worker.startswith("gw") or worker == "gw0":
        return url
    parts = urlsplit(url)
    database = parts.path.lstrip("/")
    if not database.isdigit():
        return url
    moved = int(database) - DATABASES_PER_WORKER * int(worker[2:])
    if moved < 0:
        raise ValueError(f"{url}: no Redis database left for worker {worker}; run fewer "
                         "workers (PYTEST_WORKERS) or give higher database numbers")
    return urlunsplit(parts._replace(path=f"/{moved}"))


for _variable in ("REDIS_URL", "CELERY_TEST_BROKER_URL"):
    if os.environ.get(_variable):
        os.environ[_variable] = redis_url_for_worker(os.environ[_variable], WORKER)
