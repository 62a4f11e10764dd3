"""No account enumeration: until the code is verified, a name and number known to a school
and one that is not get the same pages, the same counters and the same database work —
only no SMS is sent, and no code is ever accepted."""

import re
from functools import wraps

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import ratelimit
from core.models import Flow
from notifications import sms
from notifications.models import OutboundMessage

from .conftest import Driver

pytestmark = pytest.mark.django_db

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
# The seconds left before the code expires (components/code_step.html): two flows started a
# moment apart may read one second apart, whatever they matched.
SECONDS_LEFT = re.compile(r'data-seconds-left="\d+"')


def normalized(html: str) -> str:
    return SECONDS_LEFT.sub("seconds-left", CSRF.sub("csrf", UUID.sub("uuid", html)))


@pytest.fixture
def two_drivers(django_capture_on_commit_callbacks):
    return (Driver(Client(), django_capture_on_commit_callbacks),
            Driver(Client(), django_capture_on_commit_callbacks))


def test_match_and_non_match_see_the_same_pages(family, two_drivers):
    known, unknown = two_drivers
    # Same number (so the same masked number on the page), a first name no school knows.
    first = known.start(last_name="Ben Saïd", first_name="Nadia", phone="0692 12 34 56")
    second = unknown.start(last_name="Ben Saïd", first_name="Nadine", phone="0692 12 34 56")
    assert first.status_code == second.status_code == 302
    assert UUID.sub("uuid", first["Location"]) == UUID.sub("uuid", second["Location"])

    page_known = known.client.get(known.url("code")).content.decode()
    page_unknown = unknown.client.get(unknown.url("code")).content.decode()
    assert "Vérifiez vos SMS" in page_unknown
    assert normalized(page_known) == normalized(page_unknown)
    # The code's time limit counts the same in both (its codes are made alike).
    left = [int(re.search(r'data-seconds-left="(\d+)"', page).group(1))
            for page in (page_known, page_unknown)]
    assert 1790 <= left[1] <= left[0] + 1 and left[0] <= left[1] + 1

    # One SMS: for the match only.
    assert [m.to for m in sms.outbox] == ["+262692123456"]

    # A wrong code reads the same in both flows.
    page_known = known.page(known.send_code("ABCDEF"))
    page_unknown = unknown.page(unknown.send_code("ABCDEF"))
    assert "Le code de sécurité saisi est incorrect" in page_unknown
    assert normalized(page_known) == normalized(page_unknown)

    # So does « Renvoyer le SMS » (refused: too early). The two flows started a moment
    # apart: the seconds left may differ by one across a second's boundary.
    page_known = known.client.get(known.resend()["Location"]).content.decode()
    page_unknown = unknown.client.get(unknown.resend()["Location"]).content.decode()
    wait = re.compile(r"Patientez \d+ secondes")
    assert wait.search(page_unknown)
    assert wait.sub("", normalized(page_known)) == wait.sub("", normalized(page_unknown))


def test_an_unknown_number_gets_the_same_page_as_a_known_one(family, two_drivers):
    known, unknown = two_drivers
    known.start(last_name="Ben Saïd", first_name="Nadia", phone="0692 12 34 56")
    unknown.start(last_name="Martin", first_name="Paul", phone="0692 98 76 56")
    page_known = known.client.get(known.url("code")).content.decode()
    page_unknown = unknown.client.get(unknown.url("code")).content.decode()
    # Only the masked number differs, and it ends in the same two digits here.
    masked = "0692\u00a0••\u00a0••\u00a056"
    assert masked in page_known and masked in page_unknown
    assert normalized(page_known) == normalized(page_unknown)
    assert len(sms.outbox) == 1


def test_a_non_matching_flow_accepts_no_code(family, driver):
    driver.start(last_name="Ben Saïd", first_name="Nadine", phone="0692 12 34 56")
    flow = Flow.objects.get()
    # Whatever is typed, including every code this flow could have stored, is wrong.
    for attempt in ("K7PMX4", "AAAAAA", "222222", "ZZZZZZ"):
        page = driver.page(driver.send_code(attempt))
        assert "Le code de sécurité saisi est incorrect" in page
    flow.refresh_from_db()
    assert flow.wrong_codes == 4 and flow.step == "code"
    # Its codes were made and stored like a match's, and never sent.
    assert [(c.sent, c.not_sent_reason) for c in flow.codes.all()] == [(False, "no_match")]


def test_limits_read_the_same_for_a_non_match(
    family, settings, django_capture_on_commit_callbacks
):
    """The per-number quota is silent (same page, the SMS held back); the per-IP limit is
    shown, and counts a non-match like a match."""
    settings.ACTIVATION_MAX_SENDS_PER_PHONE = 2
    settings.ACTIVATION_MAX_SENDS_PER_IP = 6
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    # Nadine's number is no school's; masked, both read « 0692 •• •• 56 ».
    people = {"Nadia": ("+262692123456", "192.0.2.5"), "Nadine": ("+262692993456", "192.0.2.6")}
    outcomes, pages = {}, {}
    for first_name, (phone, address) in people.items():
        statuses = []
        for _ in range(4):
            driver = Driver(Client(REMOTE_ADDR=address), django_capture_on_commit_callbacks)
            response = driver.start(last_name="Ben Saïd", first_name=first_name, phone=phone)
            statuses.append(response.status_code)
        pages[first_name] = normalized(driver.client.get(driver.url("code")).content.decode())
        outcomes[first_name] = statuses
    assert outcomes["Nadia"] == outcomes["Nadine"] == [302, 302, 302, 302]
    assert pages["Nadia"] == pages["Nadine"]
    assert [m.to for m in sms.outbox] == ["+262692123456", "+262692123456"]
    # Each address asked for 4 codes of 6: the seventh is refused, known number or not.
    for first_name, (phone, address) in people.items():
        statuses = []
        for _ in range(3):
            driver = Driver(Client(REMOTE_ADDR=address), django_capture_on_commit_callbacks)
            response = driver.start(last_name="Ben Saïd", first_name=first_name, phone=phone)
            statuses.append(response.status_code)
        assert statuses == [302, 302, 429]
        assert "depuis votre connexion internet" in driver.page_text(response)


def test_step_one_does_the_same_database_work_for_a_match_and_a_non_match(family):
    def statements(first_name):
        client = Client()
        client.get("/activation/")  # session and CSRF cookie first
        with CaptureQueriesContext(connection) as queries:
            client.post("/activation/", {"last_name": "Ben Saïd", "first_name": first_name,
                                         "phone": "0692 12 34 56"})
        # The statement's kind and table, not its values.
        shapes = []
        for query in queries.captured_queries:
            sql = query["sql"]
            table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
            verb = sql.split()[0]
            # A savepoint kept (RELEASE) or rehearsed (ROLLBACK TO): core.codes.write_or_rehearse.
            verb = "END-SAVEPOINT" if verb in ("RELEASE", "ROLLBACK") else verb
            shapes.append(f"{verb} {table.group(1) if table else ''}")
        return shapes

    match = statements("Nadia")
    non_match = statements("Nadine")
    # Issue 8 §6: the non-match writes the same outbox row as the match, in a savepoint rolled
    # back (nothing is kept, nothing is sent); the statements are the same.
    assert "INSERT notifications_outboundmessage" in non_match
    assert match == non_match
    assert OutboundMessage.objects.count() == 1


def test_step_one_makes_the_same_rate_limit_calls_for_a_match_and_a_non_match(
    family, monkeypatch, django_capture_on_commit_callbacks
):
    """Issue 8 §6: the same Redis work whether or not a record matched (a non-match reads
    the per-number counters where a match counts them, one script each)."""
    calls = []
    for name in ("hit", "peek"):
        real = getattr(ratelimit, name)

        def spy(*args, _real=real, **kwargs):
            calls.append(args[0].scope)
            return _real(*args, **kwargs)

        monkeypatch.setattr(ratelimit, name, wraps(real)(spy))

    def scopes(first_name):
        calls.clear()
        Driver(Client(), django_capture_on_commit_callbacks).start(
            last_name="Ben Saïd", first_name=first_name, phone="0692 12 34 56")
        return list(calls)

    assert scopes("Nadia") == scopes("Nadine")
