"""The same wrong birth date typed again for the same pupil, in the same flow (a reload, a
double click, « Confirmer » pressed again without seeing the error), counts once: the page
shows the same error with the same count left, and neither the flow's nor the number's (or
the account's) count moves. A different wrong date still counts. The flow keeps a keyed hash
of each wrong answer, never the date. Both counting paths: the pupils' step (SMS activation,
the school letter's guardian) and the school letter's pupil (own birth date)."""

import datetime
import json

import pytest

from activation.flows import (
    WRONG_DATES_PER_ACCOUNT,
    WRONG_DATES_PER_PHONE,
    ActivationData,
    ProvisionalData,
)
from activation.provisional.services import _limit_subject
from core import ratelimit
from core.models import Flow, FlowStatus, JournalEvent
from tests import html

from .test_limits import walk_to_pupils
from .test_provisional import (
    NEW_PASSWORD,
    PUPIL_LOGIN,
    at_step,
    birth_dates,
    guardian,  # noqa: F401 (fixture)
    guardian_to_pupils,
    in_page_order,
    pupil,  # noqa: F401 (fixture)
    sign_in,
)

pytestmark = pytest.mark.django_db

LEFT_4 = "Encore 4 dates incorrectes possibles."
LEFT_3 = "Encore 3 dates incorrectes possibles."


def rejected() -> list[dict]:
    return [e.data for e in JournalEvent.objects.filter(kind="activation_birthdate_rejected")
            .order_by("pk")]


def window_left(rule, subject) -> int:
    return ratelimit.peek(rule, subject).remaining


# --- SMS activation (activation.services.pupils_answers_apply) -------------------------------


def test_sms_activation_the_same_wrong_date_again_costs_nothing(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    typo = yanis.birth_date + datetime.timedelta(days=1)
    answers = {ines: ("oui", ines.birth_date), yanis: ("oui", typo)}
    page = driver.page(driver.confirm_pupils(answers))
    assert LEFT_4 in page
    window = window_left(WRONG_DATES_PER_PHONE, family["phone"])

    # « Confirmer » pressed again, and again: the same error, the same count left.
    for _ in range(3):
        page = driver.page(driver.confirm_pupils(answers))
        assert page.count("La date de naissance saisie est incorrecte. Encore 4 dates "
                          "incorrectes possibles avant le blocage de l'activation.") == 2
        assert LEFT_4 in page
    flow = Flow.objects.get()
    assert ActivationData.of(flow).wrong_dates == 1 and flow.step == "pupils"
    assert window_left(WRONG_DATES_PER_PHONE, family["phone"]) == window
    assert rejected() == [{"pupil_id": yanis.pk, "attempt": 1}]
    # The flow keeps a keyed hash of the answer, never the date.
    stored = json.dumps(flow.data)
    assert typo.isoformat() not in stored and f"{typo:%d/%m/%Y}" not in stored
    assert len(ActivationData.of(flow).wrong_date_digests) == 1

    # Another wrong date counts.
    other = yanis.birth_date + datetime.timedelta(days=2)
    page = driver.page(driver.confirm_pupils({ines: ("oui", ines.birth_date),
                                              yanis: ("oui", other)}))
    assert LEFT_3 in page
    assert ActivationData.of(Flow.objects.get()).wrong_dates == 2
    assert window_left(WRONG_DATES_PER_PHONE, family["phone"]) == window - 1
    assert [e["attempt"] for e in rejected()] == [1, 2]

    # The right date still goes through.
    response = driver.confirm_pupils({ines: ("oui", ines.birth_date),
                                      yanis: ("oui", yanis.birth_date)})
    assert response["Location"] != driver.url("pupils")
    assert Flow.objects.get().step == "password"


def test_sms_activation_a_repeat_beside_a_new_wrong_date_counts_only_the_new_one(driver,
                                                                                  family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    typo = yanis.birth_date + datetime.timedelta(days=1)
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", typo)})
    page = driver.page(driver.confirm_pupils({
        ines: ("oui", ines.birth_date + datetime.timedelta(days=1)), yanis: ("oui", typo)}))
    # Both dates are shown wrong, with the count after the one new date.
    assert page.count("La date de naissance saisie est incorrecte. Encore 3 dates "
                      "incorrectes possibles avant le blocage de l'activation.") == 4
    assert ActivationData.of(Flow.objects.get()).wrong_dates == 2


def test_sms_activation_five_different_wrong_dates_still_block(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    for days in range(1, 6):
        response = driver.confirm_pupils({
            ines: ("oui", ines.birth_date),
            yanis: ("oui", yanis.birth_date + datetime.timedelta(days=days))})
    assert response["Location"] == driver.url("flow")
    assert Flow.objects.get().status == FlowStatus.BLOCKED


# --- First sign-in with a school letter: the guardian's pupils ------------------------------


def test_letter_guardian_the_same_wrong_date_again_costs_nothing(client, guardian,  # noqa: F811
                                                                  commit):
    page, path = guardian_to_pupils(client, guardian, commit)
    yanis, ines = in_page_order(guardian)
    typo = datetime.date(2015, 1, 1)
    answers = birth_dates((True, yanis.birth_date), (True, typo))
    page, _path = at_step(client, commit(client.post, path, answers))
    assert LEFT_4 in html.text(html.main(page))
    window = ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(guardian)).remaining

    for _ in range(2):
        page, again = at_step(client, commit(client.post, path, answers))
        assert again == path
        assert LEFT_4 in html.text(html.main(page))
    flow = Flow.objects.get(account=guardian)
    assert ProvisionalData.of(flow).wrong_dates == 1
    assert ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(guardian)).remaining == window
    assert rejected() == [{"pupil_id": ines.pk, "attempt": 1}]
    assert typo.isoformat() not in json.dumps(flow.data)

    page, _path = at_step(client, commit(client.post, path, birth_dates(
        (True, yanis.birth_date), (True, datetime.date(2015, 1, 2)))))
    assert LEFT_3 in html.text(html.main(page))
    assert ProvisionalData.of(Flow.objects.get(account=guardian)).wrong_dates == 2
    assert ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(guardian)).remaining == window - 1


# --- First sign-in with a school letter: the pupil's own birth date ---------------------------


def test_letter_pupil_the_same_wrong_date_again_costs_nothing(client, pupil,  # noqa: F811
                                                               commit):
    page, path = at_step(client, sign_in(client, pupil.identifier, url=PUPIL_LOGIN))
    page, path = at_step(client, commit(client.post, path, {
        "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}))
    typo = {"jour": "24", "mois": "11", "annee": "2012"}
    page, _path = at_step(client, client.post(path, typo))
    assert html.field_errors(page, "id_jour") == [
        "La date de naissance saisie est incorrecte. Il vous reste 4 essais."]
    window = ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(pupil)).remaining

    for _ in range(5):  # more than the flow allows: a repeat never blocks
        page, again = at_step(client, client.post(path, typo))
        assert again == path
        assert html.field_errors(page, "id_jour") == [
            "La date de naissance saisie est incorrecte. Il vous reste 4 essais."]
    flow = Flow.objects.get(account=pupil)
    assert flow.status == FlowStatus.OPEN and ProvisionalData.of(flow).wrong_dates == 1
    assert ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(pupil)).remaining == window
    assert len(rejected()) == 1
    assert "2012-11-24" not in json.dumps(flow.data)

    page, _path = at_step(client, client.post(path, {"jour": "25", "mois": "11",
                                                     "annee": "2012"}))
    assert html.field_errors(page, "id_jour") == [
        "La date de naissance saisie est incorrecte. Il vous reste 3 essais."]
    assert ProvisionalData.of(Flow.objects.get(account=pupil)).wrong_dates == 2
    assert ratelimit.peek(WRONG_DATES_PER_ACCOUNT, _limit_subject(pupil)).remaining == window - 1

    # The right date, pasted whole into « Jour », activates.
    page, path = at_step(client, client.post(path, {"jour": "23/11/2012", "mois": "",
                                                    "annee": ""}))
    assert path.endswith("/adresse-mail/")
