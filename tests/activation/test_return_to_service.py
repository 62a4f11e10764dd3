"""A first activation started from a service (OpenID Connect) ends by offering to go back to
it, signed in, the sign-in counted as an SMS proof (amr « sms », « pwd »)."""

import pytest
from django.urls import reverse

from accounts.authn import SIGN_IN_METHODS_KEY
from tests.html import main, parse, text
from tests.oidc_idp.conftest import AuthRequest, exchange, make_client, query_of, verified_claims

pytestmark = pytest.mark.needs_postgres


def _activate(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    driver.send_code(driver.last_code())
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    response = driver.choose_password()
    assert response["Location"] == driver.url("done")


def test_activation_started_by_a_service_offers_to_continue_to_it(driver, family):
    service = make_client(name="ENT de La Réunion")
    request = AuthRequest(service.client_id)
    # The service sends the person to sign in; they have no account yet.
    response = driver.client.get(request.url())
    assert response["Location"].startswith(reverse("accounts:profile_choice"))

    _activate(driver, family)
    assert driver.client.session[SIGN_IN_METHODS_KEY] == ["sms", "pwd"]
    page = main(parse(driver.client.get(driver.url("done"))))
    link = page.find("a", string=lambda s: s and "Continuer vers" in s)
    assert text(link) == "Continuer vers « ENT de La Réunion »"
    assert link["href"] == request.url()

    # The link is the authorization request: back at the service, signed in by SMS proof.
    back = driver.client.get(link["href"])
    code = query_of(back["Location"])["code"]
    claims = verified_claims(driver.client,
                             exchange(driver.client, request, code).json()["id_token"])
    assert claims["amr"] == ["sms", "pwd"] and claims["acr"] == "educonnect-sms"
    assert len(claims["children"]) == 2
    # Once back at the service, the offer is gone.
    assert "Continuer vers" not in text(main(parse(driver.client.get(driver.url("done")))))


def test_activation_without_a_service_offers_my_services_only(driver, family):
    _activate(driver, family)
    page = main(parse(driver.client.get(driver.url("done"))))
    assert "Continuer vers" not in text(page)
    assert page.find("a", string="Accéder à mes services")["href"] == reverse(
        "services_portal:my_services"
    )
