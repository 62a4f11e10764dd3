"""What each request of the SMS activation costs in SQL statements (issue 14: the whole flow
without the hash under 50 ms p95, bench/bench_activation.py).

The counts are those of production's stores (Redis cache, `accounts.sessions`): a flow read
once per request by SQL written once per process (core.sql), a session rotated by one
DELETE, no deferred column read back row by row. A step that reads a row twice, or a new
statement on the way, fails here; raise a bound only with the reason in its commit.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications import sms
from tests.activation.conftest import CODE_IN_SMS, PUPIL_TITLE, STRONG_PASSWORD

pytestmark = pytest.mark.django_db

# Request → most statements (BEGIN, SAVEPOINT and COMMIT included), for the two-school family
# of conftest.family (two records, two pupils). Before issue 14's work on this flow: 12, 3,
# 13, 2, 8, 2, 25, 2.
MAX_STATEMENTS = {
    "1 POST identity": 11,
    "2 GET code": 2,
    "2 POST code": 11,
    "3 GET pupils": 2,
    "3 POST pupils": 8,
    "4 GET password": 2,
    "4 POST password": 23,
    "5 GET done": 2,
}


@pytest.fixture
def _production_stores(settings):
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        pytest.skip("counts of production's stores (REDIS_URL: cached_db sessions)")


def test_each_step_of_the_activation_runs_its_few_statements(
        client, family, django_capture_on_commit_callbacks, _production_stores):
    counts = {}

    def counted(label, call, *args, **kwargs):
        # The SMS leaves after the commit (its callbacks run outside the count, as the
        # worker sends it in production).
        with django_capture_on_commit_callbacks() as callbacks:
            with CaptureQueriesContext(connection) as captured:
                response = call(*args, **kwargs)
        for callback in callbacks:
            callback()
        counts[label] = len(captured.captured_queries)
        assert response.status_code in (200, 302), (label, response.status_code)
        return response

    response = counted("1 POST identity", client.post, reverse("activation:start"), {
        "last_name": family["last_name"], "first_name": family["first_name"],
        "phone": family["phone_typed"]})
    code_url = response["Location"]
    flow_id = code_url.rstrip("/").split("/")[-2]
    counted("2 GET code", client.get, code_url)
    code = CODE_IN_SMS.search(sms.outbox[-1].body).group(1)
    counted("2 POST code", client.post, code_url, {"code": code})
    pupils_url = reverse("activation:pupils", kwargs={"flow_id": flow_id})
    page = counted("3 GET pupils", client.get, pupils_url).content.decode()
    prefixes = {name: prefix for prefix, name in PUPIL_TITLE.findall(page)}
    data = {}
    for pupil in family["pupils"]:
        prefix = prefixes[pupil.first_name]
        data |= {f"{prefix}_lien": "oui", f"{prefix}_jour": pupil.birth_date.day,
                 f"{prefix}_mois": pupil.birth_date.month,
                 f"{prefix}_annee": pupil.birth_date.year}
    counted("3 POST pupils", client.post, pupils_url, data)
    password_url = reverse("activation:password", kwargs={"flow_id": flow_id})
    counted("4 GET password", client.get, password_url)
    response = counted("4 POST password", client.post, password_url,
                       {"password": STRONG_PASSWORD, "password_confirm": STRONG_PASSWORD})
    assert response["Location"] == reverse("activation:done", kwargs={"flow_id": flow_id})
    counted("5 GET done", client.get, response["Location"])
    over = {label: (count, MAX_STATEMENTS[label]) for label, count in counts.items()
            if count > MAX_STATEMENTS[label]}
    assert not over, f"statements (made, most allowed): {over}; all: {counts}"
