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

from notifications import services as outbox
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


def walk(client, family, counted) -> None:
    """The five steps of an activation of `family`, each request through `counted(label,
    call, *args, **kwargs)`."""
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

    walk(client, family, counted)
    over = {label: (count, MAX_STATEMENTS[label]) for label, count in counts.items()
            if count > MAX_STATEMENTS[label]}
    assert not over, f"statements (made, most allowed): {over}; all: {counts}"


# Request → (commits that wait for the WAL flush, commits that do not: the session's). Before
# this was pinned: 2, 0, 3, 0, 1, 0, 5, 0 commits, all waiting (the session's INSERT, the
# rotation's DELETE, `last_login`, each committed on its own).
COMMITS = {
    "1 POST identity": (1, 1),  # the flow, its code, the outbox row; the new session
    "2 GET code": (0, 0),
    "2 POST code": (1, 1),  # the accepted code; the rotated session (old key deleted)
    "3 GET pupils": (0, 0),
    "3 POST pupils": (1, 0),
    "4 GET password": (0, 0),
    "4 POST password": (1, 1),  # the account, signed in (last_login); the rotated session
    "5 GET done": (0, 0),
}


def commits_of(sql: list[str]) -> tuple[int, int]:
    """(commits that wait for the WAL flush, commits that do not) of a request's statements:
    a BEGIN … COMMIT, or a write outside one (autocommit); a SQL string that starts with
    SET LOCAL synchronous_commit TO OFF does not wait."""
    waiting = not_waiting = 0
    in_transaction = False
    for statement in sql:
        if statement == "BEGIN":
            in_transaction = True
        elif statement == "COMMIT":
            in_transaction = False
            waiting += 1
        elif not in_transaction and statement.startswith("SET LOCAL synchronous_commit TO OFF"):
            not_waiting += 1
        elif not in_transaction and statement.startswith(("INSERT", "UPDATE", "DELETE")):
            waiting += 1
    return waiting, not_waiting


@pytest.mark.django_db(transaction=True)
@pytest.mark.needs_postgres
def test_each_step_of_the_activation_commits_once_and_its_session_without_waiting(
        client, family, _production_stores, monkeypatch):
    commits = {}
    # As in production, the request hands the outbox row's id to the broker; the worker
    # (here: after the count) sends it.
    handed_to_broker = []
    send = outbox._schedule_send
    monkeypatch.setattr(outbox, "_schedule_send", handed_to_broker.append)

    def counted(label, call, *args, **kwargs):
        with CaptureQueriesContext(connection) as captured:
            response = call(*args, **kwargs)
        commits[label] = commits_of([q["sql"] for q in captured.captured_queries])
        while handed_to_broker:  # the worker's part, outside the count
            send(handed_to_broker.pop())
        assert response.status_code in (200, 302), (label, response.status_code)
        return response

    walk(client, family, counted)
    assert commits == COMMITS
