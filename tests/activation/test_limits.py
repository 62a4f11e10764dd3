"""Every attempt limit, cooldown and lifetime of the activation, with the French refusals."""

import datetime
import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from freezegun import freeze_time

from activation.flows import ActivationData
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from tests import html

from .conftest import Driver

pytestmark = pytest.mark.django_db

START = datetime.datetime(2025, 9, 2, 7, 30, tzinfo=datetime.UTC)
UNTIL = re.compile(r"le (\d{1,2} \w+ \d{4}) à \d{2} h \d{2}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
# The seconds left before the code expires (components/code_step.html): two flows started a
# moment apart may read one second apart, whatever they matched.
SECONDS_LEFT = re.compile(r'data-seconds-left="\d+"')


def text(response) -> str:
    return unescape(response.content.decode())


def normalized(html: str) -> str:
    """The page without what differs between two flows: their ids and CSRF tokens."""
    return SECONDS_LEFT.sub("seconds-left", CSRF.sub("csrf", UUID.sub("uuid", html)))


def start(driver, family, **kwargs):
    return driver.start(last_name=family["last_name"], first_name=family["first_name"],
                        phone=family["phone_typed"], **kwargs)


def follow(driver, response) -> str:
    return text(driver.client.get(response["Location"]))


# --- Code lifetime -----------------------------------------------------------------------


def test_the_code_works_until_its_thirtieth_minute(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        clock.tick(datetime.timedelta(minutes=29, seconds=59))
        response = driver.send_code(driver.last_code())
    assert response.status_code == 302
    assert Flow.objects.get().step == "pupils"


def test_an_expired_code_is_refused_and_a_new_one_can_be_asked(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        old_code = driver.last_code()
        clock.tick(datetime.timedelta(minutes=20))
        driver.send_code("AAAAAA")  # an action: the flow stays alive
        clock.tick(datetime.timedelta(minutes=10, seconds=1))
        page = driver.page(driver.send_code(old_code))
        assert "Ce code de sécurité n'est plus valable : il expire 30 minutes après" in page
        assert "« Recevoir un nouveau code »" in page

        follow(driver, driver.resend())
        assert len(sms.outbox) == 2
        new_code = driver.last_code()
        if new_code != old_code:  # one chance in 887 million that they are equal
            page = driver.page(driver.send_code(old_code))
            assert "Le code de sécurité saisi est incorrect" in page
        response = driver.send_code(new_code)
    assert response.status_code == 302
    assert Flow.objects.get().step == "pupils"


def test_a_flow_untouched_for_thirty_minutes_is_dead(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        code = driver.last_code()
        # Reading the page keeps the browser's session alive, but is not an action.
        clock.tick(datetime.timedelta(minutes=15))
        driver.client.get(driver.url("code"))
        clock.tick(datetime.timedelta(minutes=15, seconds=1))
        response = driver.send_code(code)
        assert response.status_code == 302
        page = driver.client.get(response["Location"])
    assert page.status_code == 410
    assert "Cette activation a expiré" in text(page)
    assert "/activation/" in text(page) and "Recommencer l'activation" in text(page)
    assert Flow.objects.get().step == "code"


def test_activity_keeps_a_flow_alive_but_not_beyond_its_maximum_age(driver, family, settings):
    settings.ACTIVATION_FLOW_MAX_AGE_SECONDS = 45 * 60
    with freeze_time(START) as clock:
        start(driver, family)
        for _ in range(2):
            clock.tick(datetime.timedelta(minutes=20))
            driver.send_code("AAAAAA")
        flow = Flow.objects.get()
        assert flow.expires_at == flow.created_at + datetime.timedelta(minutes=45)
        clock.tick(datetime.timedelta(minutes=5, seconds=1))
        assert flow.is_expired()


# --- Wrong codes -------------------------------------------------------------------------


def test_five_wrong_codes_kill_the_code_and_the_sixth_is_refused(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        code = driver.last_code()
        wrong = "AAAAAA" if code != "AAAAAA" else "BBBBBB"
        for attempt in range(1, 5):
            page = driver.page(driver.send_code(wrong))
            assert f"il vous reste {5 - attempt} essai" in page
        page = driver.page(driver.send_code(wrong))
        assert "saisi trop de fois de manière incorrecte" in page
        assert "Demandez un nouveau code avec « Renvoyer le SMS »" in page
        # Sixth entry, even the right code: refused, not counted.
        page = driver.page(driver.send_code(code))
        assert "saisi trop de fois de manière incorrecte" in page
        flow = Flow.objects.get()
        assert flow.wrong_codes == 5 and flow.step == "code"
        assert JournalEvent.objects.filter(kind="activation_code_rejected").count() == 5
        assert JournalEvent.objects.filter(kind="activation_too_many_codes").count() == 1

        # A new code gives five new tries.
        clock.tick(datetime.timedelta(seconds=61))
        follow(driver, driver.resend())
        response = driver.send_code(driver.last_code())
    assert response.status_code == 302
    assert Flow.objects.get().step == "pupils"


def test_a_flow_whose_session_ended_gets_a_page_saying_what_to_do(driver, family):
    start(driver, family)
    driver.client.logout()  # the session is flushed, as when it dies after 30 idle minutes
    response = driver.client.get(driver.url("code"))
    assert response.status_code == 404
    page = text(response)
    assert "Cette activation a expiré ou n'est pas disponible dans ce navigateur" in page
    assert "Recommencer l'activation" in page


def test_a_typo_that_cannot_be_a_code_costs_no_attempt(driver, family):
    start(driver, family)
    page = driver.page(driver.send_code("K7P"))
    assert "Le code de sécurité comporte 6 caractères" in page
    assert Flow.objects.get().wrong_codes == 0


# --- Resending ---------------------------------------------------------------------------


def test_resend_waits_sixty_seconds(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        clock.tick(datetime.timedelta(seconds=30))
        page = follow(driver, driver.resend())
        assert "Patientez 31 secondes avant d'en demander un nouveau" in page
        assert len(sms.outbox) == 1
        clock.tick(datetime.timedelta(seconds=30))
        page = follow(driver, driver.resend())
    assert "un nouveau code de sécurité est envoyé au 0692 •• •• 56" in page
    assert len(sms.outbox) == 2 and Flow.objects.get().codes_issued == 2


def test_at_most_three_sends_per_flow(driver, family):
    with freeze_time(START) as clock:
        start(driver, family)
        for _ in range(2):
            clock.tick(datetime.timedelta(seconds=61))
            driver.resend()
        clock.tick(datetime.timedelta(seconds=61))
        page = follow(driver, driver.resend())
    assert "Vous avez déjà demandé 3 codes pour cette activation, c'est le maximum." in page
    assert "Recommencez l'activation depuis le début" in page
    assert len(sms.outbox) == 3 and Flow.objects.get().codes_issued == 3


def test_at_most_five_sms_per_phone_number_a_day_and_the_sixth_is_silent(
    family, settings, django_capture_on_commit_callbacks
):
    # The quota alone (the per-number cooldown has its own test). No frozen clock: the
    # in-memory rate-limit storage forgets its windows when the clock is frozen.
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    pages = []
    for _ in range(6):
        driver = Driver(Client(), django_capture_on_commit_callbacks)
        assert start(driver, family).status_code == 302
        pages.append(normalized(driver.client.get(driver.url("code")).content.decode()))
    # The sixth flow reads like the others (a page that said « too many codes for this
    # number » would tell that the number is known), but no SMS left.
    assert pages[5] == pages[0]
    assert "Vérifiez vos SMS" in pages[5]
    # The limit is said to everybody alike, with where to turn: silence is never a dead end
    # (a stranger who knows the name and the number can use up the number's codes).
    page = unescape(pages[5])
    assert ("Un même numéro reçoit au plus 5 codes d'activation en 24 heures : au-delà, "
            "aucun SMS n'est envoyé avant la fin de ce délai.") in page
    assert 'href="/assistance/"' in page and "formulaire d'assistance académique" in page
    assert len(sms.outbox) == 5 and Flow.objects.count() == 6
    not_sent = JournalEvent.objects.get(kind="activation_code_not_sent")
    assert not_sent.data == {"send": 1, "reason": "recipient_quota"}


def test_resends_count_against_the_phone_limit_silently(driver, family, settings):
    settings.ACTIVATION_MAX_SENDS_PER_PHONE = 2
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    start(driver, family)
    driver.resend()
    page = follow(driver, driver.resend())
    assert "un nouveau code de sécurité est envoyé au 0692 •• •• 56" in page
    assert len(sms.outbox) == 2 and Flow.objects.get().codes_issued == 3
    assert JournalEvent.objects.get(kind="activation_code_not_sent").data == {
        "send": 3, "reason": "recipient_quota"
    }


def test_a_limit_per_ip_address(family, settings, django_capture_on_commit_callbacks):
    settings.ACTIVATION_MAX_SENDS_PER_IP = 2
    statuses = []
    for index in range(3):
        driver = Driver(Client(REMOTE_ADDR="203.0.113.7"), django_capture_on_commit_callbacks)
        response = driver.start(last_name="Durand", first_name="Léa",
                                phone=f"06 12 34 56 {70 + index}")
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    assert 3590 <= int(response["Retry-After"]) <= 3600
    assert "depuis votre connexion internet" in text(response)
    assert "Réessayez dans 60 minutes." in text(response)
    assert Flow.objects.count() == 2  # the refused start wrote nothing
    other = Driver(Client(REMOTE_ADDR="198.51.100.4"), django_capture_on_commit_callbacks)
    assert start(other, family).status_code == 302


def test_the_limit_per_ip_counts_an_ipv6_client_by_its_64(
    family, settings, django_capture_on_commit_callbacks
):
    # A phone picks any address of its /64: changing the last bits gains no new codes.
    settings.ACTIVATION_MAX_SENDS_PER_IP = 2
    statuses = []
    for index in range(3):
        driver = Driver(Client(REMOTE_ADDR=f"2001:db8:1:2::{index + 1:x}"),
                        django_capture_on_commit_callbacks)
        response = driver.start(last_name="Durand", first_name="Léa",
                                phone=f"06 12 34 56 {70 + index}")
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    other = Driver(Client(REMOTE_ADDR="2001:db8:1:3::1"), django_capture_on_commit_callbacks)
    assert start(other, family).status_code == 302


# --- Birth dates -------------------------------------------------------------------------


def walk_to_pupils(driver, family):
    start(driver, family)
    driver.send_code(driver.last_code())


def wrong_dates(family):
    """Answers with one new wrong date for Inès at each call (the same wrong date typed
    again counts once: tests/activation/test_repeated_wrong_date.py)."""
    ines, yanis = family["pupils"]
    days = 0
    while True:
        days += 1
        yield {ines: ("oui", ines.birth_date + datetime.timedelta(days=days)),
               yanis: ("oui", yanis.birth_date)}


def test_a_wrong_birth_date_is_refused_on_that_pupil(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    page = driver.page(driver.confirm_pupils({
        ines: ("oui", ines.birth_date),
        yanis: ("oui", yanis.birth_date + datetime.timedelta(days=1)),
    }))
    assert page.count("La date de naissance saisie est incorrecte.") == 2  # summary + pupil
    prefix = driver.pupil_prefixes()["Yanis"]
    assert f'id="{prefix}-date-messages"' in page
    # Dates are counted, not submissions: the words say « dates incorrectes », not « essais ».
    assert "Encore 4 dates incorrectes possibles." in page
    assert "essai" not in page
    # The message under the date says how many wrong dates are left too.
    assert page.count("La date de naissance saisie est incorrecte. Encore 4 dates incorrectes "
                      "possibles avant le blocage de l'activation.") == 2
    flow = Flow.objects.get()
    assert ActivationData.of(flow).wrong_dates == 1 and flow.step == "pupils"
    event = JournalEvent.objects.get(kind="activation_birthdate_rejected")
    assert event.data == {"pupil_id": yanis.pk, "attempt": 1}


def test_two_wrong_dates_at_once_count_two_and_the_page_says_so(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    page = driver.page(driver.confirm_pupils({  # the two dates swapped
        ines: ("oui", yanis.birth_date), yanis: ("oui", ines.birth_date),
    }))
    assert ActivationData.of(Flow.objects.get()).wrong_dates == 2
    assert "Encore 3 dates incorrectes possibles." in page


def test_five_wrong_birth_dates_stop_the_flow(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    wrong = wrong_dates(family)
    for _ in range(4):
        assert driver.confirm_pupils(next(wrong))["Location"] == driver.url("pupils")
    response = driver.confirm_pupils(next(wrong))
    assert response["Location"] == driver.url("flow")
    page = follow(driver, response)
    assert "Activation arrêtée : trop de dates de naissance incorrectes" in page
    assert "0 809 54 06 06" in page and "assistanceteleservices.education.gouv.fr" in page
    assert "secrétariat de l'école" in page
    flow = Flow.objects.get()
    assert flow.status == FlowStatus.BLOCKED and ActivationData.of(flow).wrong_dates == 5

    # A sixth date, even the right one, is not looked at.
    response = driver.confirm_pupils({ines: ("oui", ines.birth_date),
                                      yanis: ("oui", yanis.birth_date)})
    assert response.status_code == 302
    assert Flow.objects.get().step == "pupils"
    assert JournalEvent.objects.filter(kind="activation_blocked").count() == 1


def test_starting_again_does_not_give_more_birth_date_guesses(
    family, settings, django_capture_on_commit_callbacks
):
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 6
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0  # the second flow gets its own SMS at once
    wrong = wrong_dates(family)
    first = Driver(Client(), django_capture_on_commit_callbacks)
    walk_to_pupils(first, family)
    for _ in range(5):
        first.confirm_pupils(next(wrong))
    second = Driver(Client(), django_capture_on_commit_callbacks)
    walk_to_pupils(second, family)
    response = second.confirm_pupils(next(wrong))
    assert response.status_code == 302
    assert Flow.objects.get(pk=second.flow_id).status == FlowStatus.BLOCKED


def test_the_journeys_block_says_a_new_activation_may_start_and_the_dates_left(driver, family,
                                                                               settings):
    """Five wrong dates end this activation, not the number: the page says so, counts the
    dates the number has left before its 24-hour block, and leads to a new activation.
    Tryout: it said « Activation impossible », then « Vous pouvez la recommencer », then
    « Une fois la date corrigée, le blocage est levé » (there is no block on the number to
    lift in this case): each sentence now says one true thing."""
    walk_to_pupils(driver, family)
    wrong = wrong_dates(family)
    for _ in range(5):
        response = driver.confirm_pupils(next(wrong))
    page = html.parse(driver.client.get(response["Location"]))
    main = html.text(html.main(page))
    assert html.text(page.select_one("main .fr-alert--error .fr-alert__title")) == (
        "Activation arrêtée : trop de dates de naissance incorrectes")
    assert html.text(page.find(id="activation-blocked")) == (
        "Les dates de naissance saisies ne correspondent pas à celles connues de l'école ou "
        "de l'établissement. Pour protéger les informations des élèves, une activation "
        "accepte 5 dates de naissance incorrectes au plus : celle-ci est arrêtée.")
    assert html.text(page.find(id="activation-next")) == (
        "Vous pouvez recommencer l'activation dès maintenant, avec ce numéro. Il reste 5 "
        "dates incorrectes possibles avec ce numéro : au-delà, l'activation avec ce numéro "
        "sera bloquée pendant 24 heures au plus.")
    assert "Activation impossible" not in main
    assert "le blocage est levé" not in main and "lever le blocage" not in main
    assert ("Dès qu'il l'aura corrigée, les dates incorrectes comptées sur ce numéro seront "
            "effacées.") in main
    assert html.main(page).find("a", string="Recommencer l'activation")["href"] == "/activation/"

    # True: a new activation with this number starts and reaches the pupils' step.
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0  # its own SMS at once, as a minute later
    again = Driver(Client(), driver.capture)
    walk_to_pupils(again, family)
    assert Flow.objects.get(pk=again.flow_id).step == "pupils"


def test_the_numbers_block_says_until_when(family, settings,
                                           django_capture_on_commit_callbacks):
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 2
    wrong = wrong_dates(family)
    driver = Driver(Client(), django_capture_on_commit_callbacks)
    with freeze_time("2026-11-30 15:00:00"):
        walk_to_pupils(driver, family)
        driver.confirm_pupils(next(wrong))
        response = driver.confirm_pupils(next(wrong))
        page = html.parse(driver.client.get(response["Location"]))
    main = html.text(html.main(page))
    assert html.text(page.select_one("main .fr-alert--error .fr-alert__title")) == (
        "Activation bloquée pour ce numéro : trop de dates de naissance incorrectes")
    assert html.text(page.find(id="activation-blocked")) == (
        "Les dates de naissance saisies ne correspondent pas à celles connues de l'école ou "
        "de l'établissement. Pour protéger les informations des élèves, l'activation avec ce "
        "numéro est bloquée jusqu'au 1 décembre 2026 à 19 h 00 (heure de La Réunion) : trop de "
        "dates de naissance "
        "incorrectes ont été saisies avec ce numéro en 24 heures. Vous pourrez recommencer "
        "l'activation à partir de ce moment.")
    assert html.text(page.find(id="activation-next")) == (
        "Si la date de naissance enregistrée par l'école ou l'établissement est erronée, "
        "contactez son secrétariat : dès qu'il l'aura corrigée, le blocage de ce numéro sera "
        "levé et vous pourrez recommencer l'activation sans attendre.")
    assert "Vous pouvez recommencer" not in main and "dates incorrectes possibles" not in main
    assert "qui peut aussi lever le blocage" in main
    assert html.main(page).find("a", string="Recommencer l'activation") is None


def test_a_resend_past_the_numbers_limit_never_says_a_code_was_just_sent(
    family, settings, django_capture_on_commit_callbacks
):
    """The tester ran the activation 6 times: the 6th flow's resend said « un nouveau code
    vient de vous être envoyé » and no SMS came. The per-number quota counts only SMS that
    left (a number no school knows never fills it), so the page cannot say « this number's
    limit is reached » without telling that the number is known: it says, to every number
    alike, that past the limit nothing leaves, the latest date another SMS can, that the
    codes already received stay valid, and where to turn."""
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    settings.ACTIVATION_MAX_SENDS_PER_PHONE = 1
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0
    pages, raw = {}, {}
    for who, last_name in (("known", family["last_name"]), ("unknown", "Inconnu")):
        driver = Driver(Client(), django_capture_on_commit_callbacks)
        driver.start(last_name=last_name, first_name=family["first_name"],
                     phone=family["phone_typed"])
        code_page = text(driver.client.get(driver.url("code")))
        assert "vient de vous être envoyé" not in code_page
        assert "sauf si ce numéro a atteint le nombre maximal de codes" in code_page
        (raw[who],) = html.messages(html.parse(driver.client.get(
            driver.resend()["Location"])))
        pages[who] = UNTIL.sub("le DAY à HH h MM", raw[who])
    expected = timezone.localtime(timezone.now() + datetime.timedelta(hours=24))
    assert len(sms.outbox) == 1  # the first code only: the limit held the others back
    assert pages["known"] == pages["unknown"]  # same words, known number or not
    message = pages["known"]
    assert "vient de vous être envoyé" not in message
    assert ("Un même numéro reçoit au plus 1 code d'activation en 24 heures : si ce numéro "
            "l'a déjà reçu, aucun SMS n'est parti et il pourra de nouveau en recevoir au plus "
            "tard le DAY à HH h MM.") in message
    assert UNTIL.search(raw["known"]).group(1) == date_format(expected, "j F Y")
    assert "Les codes déjà reçus pour cette démarche restent valables" in message
    assert "assistance" in message
