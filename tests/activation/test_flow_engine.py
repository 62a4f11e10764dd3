"""The SMS activation on the flow engine and the code process: what a person notices when they
refresh, resend, open several browsers, or come back to a flow of another kind or too late."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from activation.flows import ActivationData
from core.flowkinds import FlowKind, Stage, register
from core.flows import flow_bind, flow_start
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from tests import html as h

from .conftest import CODE_IN_SMS, Driver

pytestmark = pytest.mark.django_db

START = datetime.datetime(2025, 9, 2, 7, 30, tzinfo=datetime.UTC)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
# The seconds left before the code expires (components/code_step.html): two flows started a
# moment apart may read one second apart, whatever they matched.
SECONDS_LEFT = re.compile(r'data-seconds-left="\d+"')


def normalized(html: str) -> str:
    return SECONDS_LEFT.sub("seconds-left", CSRF.sub("csrf", UUID.sub("uuid", html)))


def start(driver, family, **kwargs):
    return driver.start(last_name=family["last_name"], first_name=family["first_name"],
                        phone=family["phone_typed"], **kwargs)


def wrong_code_for(driver) -> str:
    return "AAAAAA" if driver.last_code() != "AAAAAA" else "BBBBBB"


# --- Refresh never repeats a POST --------------------------------------------------------


def test_a_refresh_after_a_wrong_code_spends_no_attempt(driver, family):
    start(driver, family)
    response = driver.send_code(wrong_code_for(driver))
    # POST → redirect → GET: the page the browser shows came from a GET.
    assert response.status_code == 302 and response["Location"] == driver.url("code")
    page = driver.client.get(driver.url("code")).content.decode()
    assert "il vous reste 4 essais" in page
    # The error is tied to the field, and summarised, as on a direct render.
    parsed = h.parse(page)
    assert h.field(parsed, "id_code")["aria-invalid"] == "true"
    assert [e["id"] for e in h.described_by(parsed, "id_code")] == ["id_code_helptext",
                                                                     "id_code_error"]
    assert [href for href, _text in h.summary_links(parsed)] == ["#id_code"]
    assert h.alerts(parsed) == [h.error_summary(parsed)]
    assert "<title>Erreur : Étape 2 sur 5" in page

    for _ in range(3):  # F5, F5, F5
        page = driver.client.get(driver.url("code")).content.decode()
        assert "il vous reste" not in page and 'aria-invalid="true"' not in page
    flow = Flow.objects.get()
    assert flow.wrong_codes == 1 and flow.codes.get().wrong_attempts == 1
    assert JournalEvent.objects.filter(kind="activation_code_rejected").count() == 1
    # The right code still has its four tries left.
    assert driver.send_code(driver.last_code())["Location"] == driver.url("flow")
    assert Flow.objects.get().step == "pupils"


def test_a_refresh_after_a_wrong_birth_date_counts_it_once(driver, family):
    start(driver, family)
    driver.send_code(driver.last_code())
    ines, yanis = family["pupils"]
    response = driver.confirm_pupils({ines: ("oui", datetime.date(2016, 3, 10)),
                                      yanis: ("non", None)})
    assert response["Location"] == driver.url("pupils")
    page = driver.client.get(driver.url("pupils")).content.decode()
    assert "La date de naissance saisie est incorrecte." in page
    # What was typed comes back with the error (the radio choices, the dates).
    assert 'value="10"' in page and 'value="2016"' in page
    driver.client.get(driver.url("pupils"))
    driver.client.get(driver.url("pupils"))
    assert ActivationData.of(Flow.objects.get()).wrong_dates == 1
    assert JournalEvent.objects.filter(kind="activation_birthdate_rejected").count() == 1


def test_a_refused_password_is_never_kept_for_the_next_page(driver, family):
    start(driver, family)
    driver.send_code(driver.last_code())
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    page = driver.page(driver.choose_password("Nadia-Ben-Said-1!"))
    assert "ne doit pas contenir votre nom, votre prénom" in page
    assert "Nadia-Ben-Said-1!" not in page
    assert "Nadia-Ben-Said-1!" not in str(dict(driver.client.session))


# --- Several codes live together ---------------------------------------------------------


def test_a_late_first_code_still_works_after_a_resend(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        first = driver.last_code()
        clock.tick(datetime.timedelta(seconds=61))
        page = driver.page(driver.resend())
        assert "un code reçu plus tôt reste valable" in page
        second = driver.last_code()
        assert len(sms.outbox) == 2
        # The first SMS arrives after the second, and the person types it.
        response = driver.send_code(first)
    assert response["Location"] == driver.url("flow")
    flow = Flow.objects.get()
    assert flow.step == "pupils"
    used, void = flow.codes.order_by("created_at")
    assert used.used_at is not None and void.revoked_at is not None
    # The second code can no longer be used (the flow moved on; it is void anyway).
    driver.send_code(second)
    assert Flow.objects.get().step == "pupils"


def test_a_wrong_entry_counts_against_every_live_code(driver, family, settings):
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    start(driver, family)
    first = driver.last_code()
    wrong = "AAAAAA" if first != "AAAAAA" else "BBBBBB"
    for _ in range(3):
        driver.send_code(wrong)
    driver.resend()
    second = driver.last_code()
    if wrong == second:  # one chance in 887 million
        return
    page = driver.page(driver.send_code(wrong))
    # The new code has four tries left; the first has one.
    assert "il vous reste 4 essais" in page
    assert [c.wrong_attempts for c in Flow.objects.get().codes.order_by("created_at")] == [4, 1]
    driver.send_code(wrong)  # the first code dies (5 wrong entries)
    page = driver.page(driver.send_code(first))
    assert "Le code de sécurité saisi est incorrect" in page
    assert driver.send_code(second)["Location"] == driver.url("flow")
    assert Flow.objects.get().step == "pupils"


# --- Several browsers for one number -----------------------------------------------------


def test_a_second_device_within_the_minute_gets_its_own_sms_and_goes_on(
    family, django_capture_on_commit_callbacks
):
    """A parent starts on the phone, then again on a computer a few seconds later: the
    computer's page says a code was sent, and one is (by default no cross-flow cooldown
    holds it back, settings.CODE_RECIPIENT_COOLDOWN_SECONDS); each code works where it was
    asked for."""
    with freeze_time(START) as clock:
        phone = Driver(Client(), django_capture_on_commit_callbacks)
        assert start(phone, family).status_code == 302
        phone_code = phone.last_code()
        clock.tick(datetime.timedelta(seconds=10))
        computer = Driver(Client(), django_capture_on_commit_callbacks)
        assert start(computer, family).status_code == 302
        assert len(sms.outbox) == 2 and {m.to for m in sms.outbox} == {family["phone"]}
        computer_code = computer.last_code()
        assert computer_code != phone_code
        assert computer.send_code(computer_code)["Location"] == computer.url("flow")
        assert Flow.objects.get(pk=computer.flow_id).step == "pupils"
        assert phone.send_code(phone_code)["Location"] == phone.url("flow")
        assert Flow.objects.get(pk=phone.flow_id).step == "pupils"


# --- One SMS per number, when an operator turns the cross-flow cooldown on ----------------


def test_five_browsers_starting_at_once_send_one_sms_and_read_the_same(
    family, django_capture_on_commit_callbacks, settings
):
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 60
    pages = []
    for _ in range(5):
        driver = Driver(Client(), django_capture_on_commit_callbacks)
        assert start(driver, family).status_code == 302
        pages.append(normalized(driver.client.get(driver.url("code")).content.decode()))
    stranger = Driver(Client(), django_capture_on_commit_callbacks)
    # Nobody at any school; masked, the number reads like Nadia's.
    stranger.start(last_name="Martin", first_name="Paul", phone="0692 98 76 56")
    pages.append(normalized(stranger.client.get(stranger.url("code")).content.decode()))

    assert len(sms.outbox) == 1 and sms.outbox[0].to == family["phone"]
    assert all(page == pages[0] for page in pages), "every browser reads the same page"
    assert "Vérifiez vos SMS" in pages[0]
    not_sent = JournalEvent.objects.filter(kind="activation_code_not_sent")
    assert sorted(e.data["reason"] for e in not_sent) == ["no_match"] + ["recipient_cooldown"] * 4
    # Only the first browser's flow can go on with the code it got.
    assert Flow.objects.filter(codes__sent=True).count() == 1


# --- The kind and the lifetime of a flow -------------------------------------------------

OTHER_KIND = register(FlowKind(
    name="test_other_kind", label="Autre parcours", title="Autre parcours",
    stages=(Stage("code", "activation:code", "Code"),), home_url_name="activation:flow",
    idle_setting="ACTIVATION_FLOW_IDLE_SECONDS", max_age_setting="ACTIVATION_FLOW_MAX_AGE_SECONDS",
    retention_setting="ACTIVATION_FLOW_RETENTION_DAYS",
    not_found_template="activation/not_found.html",
))


def test_a_flow_of_another_kind_is_not_found_at_the_activation_urls(client, rf, family):
    # A flow of another kind, at a step of the same name, bound to this very browser.
    other, secret = flow_start(kind=OTHER_KIND, step="code", phone=family["phone"])
    session = client.session
    request = rf.get("/")
    request.session = session
    flow_bind(request, other, secret)
    session.save()

    unknown = client.get(reverse("activation:code", args=["4f7a2c1e-9d3b-4a56-8e21-0c9b7d6e5f43"]))
    assert unknown.status_code == 404
    for name in ("flow", "code", "pupils", "password", "done"):
        response = client.get(reverse(f"activation:{name}", args=[other.id]))
        assert response.status_code == 404
        assert response.content == unknown.content  # one answer for every case
    code_url = reverse("activation:code", args=[other.id])
    assert client.post(code_url, {"code": "K7PMX4"}).status_code == 404
    assert client.post(reverse("activation:resend", args=[other.id])).status_code == 404
    assert Flow.objects.get(pk=other.id).wrong_codes == 0 and not sms.outbox


def test_a_flow_past_its_maximum_age_is_expired_and_takes_nothing(driver, family, settings):
    settings.ACTIVATION_FLOW_MAX_AGE_SECONDS = 45 * 60
    with freeze_time(START) as clock:
        start(driver, family)
        code = driver.last_code()
        for _ in range(2):  # active all along: only the maximum age stops it
            clock.tick(datetime.timedelta(minutes=20))
            driver.send_code("AAAAAA" if code != "AAAAAA" else "BBBBBB")
        clock.tick(datetime.timedelta(minutes=5, seconds=1))
        for name in ("code", "pupils"):
            response = driver.client.get(driver.url(name))
            assert response["Location"] == driver.url("flow")
        page = driver.client.get(driver.url("flow"))
        assert page.status_code == 410
        assert "Cette activation a expiré" in page.content.decode()
        # Neither the right code nor a resend does anything any more.
        assert driver.send_code(code)["Location"] == driver.url("flow")
        assert driver.resend()["Location"] == driver.url("flow")
    flow = Flow.objects.get()
    # One wrong code counted (at 40 minutes the code itself had expired: not counted).
    assert flow.step == "code" and flow.status == FlowStatus.OPEN and flow.wrong_codes == 1
    assert len(sms.outbox) == 1
    assert CODE_IN_SMS.search(sms.outbox[0].body).group(1) == code
