"""« Mon compte › FranceConnect » of an account without the link: what FranceConnect is, and
the way to link it — or, when this platform has no FranceConnect, that it is not offered."""

import pytest
from django.urls import reverse

from tests import html
from tests.factories import AccountFactory

URL = reverse("franceconnect:my_account")


@pytest.fixture
def signed_in(client, db):
    client.force_login(AccountFactory(identifier="s.dupont33"))
    return client


def test_where_franceconnect_is_configured_the_page_leads_to_its_button(signed_in, fc):
    page = html.parse(signed_in.get(URL))
    main = html.main(page)
    assert "Votre compte n'est pas associé à FranceConnect." in html.text(main)
    assert "FranceConnect vous permet d'accéder à de nombreux services de l'État" in html.text(
        main)
    assert page.find(id="franceconnect-unavailable") is None
    form = main.find("button", string="Me déconnecter pour m'identifier avec FranceConnect"
                     ).find_parent("form")
    assert form["action"] == reverse("accounts:logout")
    data = {field["name"]: field["value"] for field in form.find_all("input")}
    assert data["ensuite"] == "franceconnect"

    response = signed_in.post(reverse("accounts:logout"), data)
    sign_in_url = reverse("accounts:login", args=["representant-legal"])
    assert response["Location"] == sign_in_url + "#franceconnect"
    sign_in_page = html.parse(signed_in.get(sign_in_url))
    assert sign_in_page.find(id="franceconnect").find("button", class_="fr-connect")
    # Signed out indeed.
    assert signed_in.get(URL).status_code == 302


def test_without_franceconnect_the_page_says_it_is_not_offered(signed_in, settings):
    settings.FRANCECONNECT_ISSUER = ""
    page = html.parse(signed_in.get(URL))
    notice = html.text(page.find(id="franceconnect-unavailable"))
    assert notice.startswith("La connexion avec FranceConnect n'est pas proposée sur cette "
                             "plateforme")
    assert html.main(page).find("button", string=lambda s: s and "FranceConnect" in s) is None
    # …and the sign-in page has no button either: the page offers no dead end.
    sign_in = html.parse(signed_in.get(reverse("accounts:login",
                                               args=["representant-legal"])))
    assert sign_in.find(id="franceconnect") is None


def test_the_usual_sign_out_still_leads_to_the_profile_choice(signed_in):
    response = signed_in.post(reverse("accounts:logout"))
    assert response["Location"] == reverse("accounts:profile_choice")
