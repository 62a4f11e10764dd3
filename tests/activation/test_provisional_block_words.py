"""The block of the school letter's first sign-in states the real rule: a journey ends after
ACTIVATION_MAX_WRONG_DATES wrong birth dates and going back to the site (no new sign-in:
the session goes on) starts another with the tries left of the account's window
(ACTIVATION_MAX_WRONG_DATES_PER_PHONE per ACTIVATION_PHONE_WINDOW_SECONDS,
flows.WRONG_DATES_PER_ACCOUNT), the block coming at the window's last wrong date; once the
window is full the block holds, for the time it says, and the assistance form is offered."""

import datetime

import pytest
from django.urls import reverse

from tests import html
from tests.activation.test_provisional import (
    RESUME,
    at_step,
    birth_dates,
    guardian,  # noqa: F401 (fixture)
    guardian_to_pupils,
    in_page_order,
)

pytestmark = pytest.mark.django_db


def test_the_block_says_how_many_tries_remain_then_how_long_it_holds(client, guardian,  # noqa: F811
                                                                     commit, settings):
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 4
    settings.ACTIVATION_PHONE_WINDOW_SECONDS = 24 * 3600
    page, path = guardian_to_pupils(client, guardian, commit)
    yanis, _ines = in_page_order(guardian)

    def wrong(day):
        # A different wrong date each time: the same one typed again counts once per flow.
        return birth_dates((True, yanis.birth_date), (True, datetime.date(2015, 1, day)))

    at_step(client, commit(client.post, path, wrong(1)))
    page, _blocked = at_step(client, commit(client.post, path, wrong(2)))
    rule = html.text(page.find(id="block-rule"))
    assert "Vous avez saisi 2 dates de naissance incorrectes" in rule
    assert "il vous restera 2 essais" in rule
    # The block comes AT the 4th wrong date of the window (the form's « Encore 1 date
    # incorrecte possible » at the 3rd), not beyond it.
    assert "À la 4e date incorrecte en 24 heures, l'activation est bloquée pendant " \
           "24 heures" in rule
    assert "Au-delà" not in rule
    # No new sign-in is needed: the session goes on, going back to the site resumes.
    assert "reconnectant" not in html.text(html.main(page))
    assert "dès maintenant, sans vous reconnecter" in rule
    resume = page.find("a", id="resume")
    assert resume is not None and resume["href"] == RESUME

    # Back on the site (the button, or any page: the middleware sends it to the flow): a
    # new journey, two more tries, then the block that holds.
    page, again = at_step(client, client.get(resume["href"]))
    assert again.endswith("/eleves/")
    at_step(client, commit(client.post, again, wrong(3)))
    page, _blocked = at_step(client, commit(client.post, again, wrong(4)))
    rule = html.text(page.find(id="block-rule"))
    assert "Vous avez saisi 4 dates de naissance incorrectes en 24 heures" in rule
    assert "vous pourrez saisir une nouvelle date dans 24 heures" in rule
    assert page.find("a", href=reverse("assistance:form")) is not None
    assert page.find("a", id="resume") is None
    page, _path = at_step(client, client.get(RESUME))
    assert "bloquée" in html.text(page.find(id="block-rule"))
