"""TEMPORARY (not committed): in-process timing of known vs unknown identifier refusals."""
import statistics
import time

import pytest
from django.test import Client

from accounts import views
from tests.factories import AccountFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_timing(settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 10**6
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER = 10**6
    settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP = 10**6
    AccountFactory(identifier="m.dupont12")
    closes = {"known": [], "unknown": []}
    current = {}
    real_close = views.AfterResponseTemplateResponse.close

    def timed_close(self):
        start = time.perf_counter()
        real_close(self)
        closes[current["k"]].append(time.perf_counter() - start)

    views.AfterResponseTemplateResponse.close = timed_close
    totals = {"known": [], "unknown": []}
    try:
        client = Client()
        for n in range(400):
            for kind, ident in (("known", "m.dupont12"), ("unknown", "x.dupont12"))[:: 1 if n % 2 else -1]:
                current["k"] = kind
                start = time.perf_counter()
                r = client.post("/connexion/representant-legal/", {"identifier": ident, "password": "Mauvais-1!"})
                totals[kind].append(time.perf_counter() - start)
                assert r.status_code == 200
    finally:
        views.AfterResponseTemplateResponse.close = real_close
    for kind in ("known", "unknown"):
        print(kind, "total median ms %.2f" % (1000 * statistics.median(totals[kind])),
              "close median ms %.3f" % (1000 * statistics.median(closes[kind])))
