"""Ways forward and back (issue 13 §3): « Précédent » on steps 2 and 3 brings step 1 back
with what was typed, only in the browser that started the flow; the blocked page and the
password step lead somewhere."""

import pytest
from django.test import Client
from django.urls import reverse

from tests import html as h

pytestmark = pytest.mark.django_db


def _start(driver, family):
    response = driver.start(last_name=family["last_name"], first_name=family["first_name"],
                            phone=family["phone_typed"])
    assert response.status_code == 302
    return response


def _previous_href(page) -> str:
    link = h.main(page).find("a", string="Précédent")
    assert link is not None, "no « Précédent » on this step"
    return link["href"]


def _identity_values(page) -> dict:
    return {name: h.field(page, f"id_{name}").get("value", "")
            for name in ("last_name", "first_name", "phone")}


def test_previous_on_the_code_step_keeps_what_was_typed(driver, family):
    _start(driver, family)
    href = _previous_href(h.parse(driver.client.get(driver.url("code"))))
    assert href == f"{reverse('activation:start')}?reprendre={driver.flow_id}"
    values = _identity_values(h.parse(driver.client.get(href)))
    assert values == {"last_name": "Ben Saïd", "first_name": "Nadia",
                      "phone": "0692 12 34 56"}


def test_previous_on_the_pupils_step_keeps_what_was_typed(driver, family):
    _start(driver, family)
    driver.send_code(driver.last_code())
    page = h.parse(driver.client.get(driver.url("pupils")))
    values = _identity_values(h.parse(driver.client.get(_previous_href(page))))
    assert values["last_name"] == "Ben Saïd" and values["phone"] == "0692 12 34 56"


def test_another_browser_gets_a_blank_step_one_from_the_same_link(driver, family):
    _start(driver, family)
    href = f"{reverse('activation:start')}?reprendre={driver.flow_id}"
    values = _identity_values(h.parse(Client().get(href)))
    assert values == {"last_name": "", "first_name": "", "phone": ""}
    # A link that is not a flow id at all: a blank form, never an error.
    assert Client().get(reverse("activation:start") + "?reprendre=x").status_code == 200


def test_the_new_password_step_points_at_the_password_help(driver, family):
    _start(driver, family)
    driver.send_code(driver.last_code())
    driver.confirm_pupils({p: ("oui", p.birth_date) for p in family["pupils"]})
    page = h.parse(driver.client.get(driver.url("password")))
    help_link = h.main(page).find("a", string="Aide à la création de mot de passe sécurisé")
    assert help_link["href"] == reverse("pages:password_help")
    # The identifier is given at the next step: the page does not ask to note it yet.
    assert "Prenez bien note de votre identifiant" not in h.text(h.main(page))
    # The password input points at its rules from the first display.
    described = [e["id"] for e in h.described_by(page, "id_password")]
    assert "id_password_error" in described
