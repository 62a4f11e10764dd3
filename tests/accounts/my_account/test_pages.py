"""« Mon compte »: the header link, « Mes informations », the side menu, who may see them, and
the activation sending a signed-in family to « Mes services »."""

import pytest
from django.urls import reverse

from tests import html
from tests.factories import AccountFactory

from .conftest import sign_in

pytestmark = pytest.mark.django_db

INFORMATION = reverse("accounts:my_account:information")


def test_every_signed_in_page_has_mon_compte_in_its_header(signed_in):
    for url in (reverse("services_portal:my_services"), INFORMATION,
                reverse("accounts:my_account:password")):
        header = html.parse(signed_in.get(url)).find("header")
        links = {html.text(a): a["href"] for a in header.find_all("a")}
        assert links["Mon compte"] == INFORMATION, url
        assert header.find("button", string=lambda s: s and "Se déconnecter" in s)


def test_a_visitor_signed_out_has_no_mon_compte_and_is_sent_to_sign_in(client, guardian):
    header = html.parse(client.get(reverse("accounts:profile_choice"))).find("header")
    assert "Mon compte" not in html.text(header)
    response = client.get(INFORMATION)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:profile_choice") + "?next=")


def test_my_information_shows_names_identifier_email_and_masked_mobile(signed_in):
    page = html.parse(signed_in.get(INFORMATION))
    main = html.main(page)
    assert page.find("h1").get_text() == "Mes informations"
    assert "Amina BENALI" in html.text(main)
    assert html.text(main.find(id="identifier")) == "A.BENALI14"
    assert html.text(main.find(id="email")) == (
        "amina.benali@example.org Validée Modifier mon adresse mail")
    # Non-breaking spaces: the masked number never breaks across two lines.
    assert main.find(id="phone").span.get_text() == "06\u00a0••\u00a0••\u00a0••\u00a078"
    assert "12 34" not in html.text(main)  # the middle of the number is never shown
    menu = page.find("nav", class_="fr-sidemenu")
    entries = [html.text(a) for a in menu.find_all("a")]
    assert entries == ["Mes informations", "Modifier mon mot de passe",
                       "Modifier mon adresse mail", "Modifier mon numéro de téléphone",
                       "Mes enfants", "FranceConnect", "Contacter l'assistance académique"]
    assert menu.find("a", attrs={"aria-current": "page"}).get_text() == "Mes informations"
    # A family stuck with its school's data writes to the academy (issue 16 §6).
    assistance = menu.find("a", string="Contacter l'assistance académique")
    assert signed_in.get(assistance["href"]).status_code == 200


def test_an_unvalidated_email_reads_so(client, db):
    AccountFactory(identifier="l.martin20", email="l.martin@example.org",
                   email_verified=False, phone="")
    sign_in(client, "l.martin20")
    main = html.main(html.parse(client.get(INFORMATION)))
    assert html.text(main.find(id="email")) == (
        "l.martin@example.org Non validée Modifier mon adresse mail")
    assert html.text(main.find(id="phone")).startswith("Aucun numéro")


def test_an_overseas_number_is_masked_in_its_national_form(client, db):
    AccountFactory(identifier="m.hoarau30", phone="+262692123456")
    sign_in(client, "m.hoarau30")
    main = html.main(html.parse(client.get(INFORMATION)))
    assert main.find(id="phone").span.get_text() == "0692\u00a0••\u00a0••\u00a056"


def test_a_pupil_has_no_mes_enfants(client, db):
    AccountFactory(identifier="l.petit40", kind="pupil")
    response = client.post(reverse("accounts:login", args=["eleve"]),
                           {"identifier": "l.petit40", "password": "Motdepasse1!"})
    assert response.status_code == 302
    menu = html.parse(client.get(INFORMATION)).find("nav", class_="fr-sidemenu")
    assert "Mes enfants" not in html.text(menu)
    assert client.get(reverse("services_portal:my_children"))["Location"] == INFORMATION


def test_staff_are_sent_to_the_back_office(client, db):
    staff = AccountFactory(identifier="s.agent50", kind="staff", is_staff=True)
    client.force_login(staff)
    response = client.get(INFORMATION)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_signed_in_family_opening_the_activation_goes_to_my_services(signed_in, client):
    response = signed_in.get(reverse("activation:start"))
    assert response.status_code == 302
    assert response["Location"] == reverse("services_portal:my_services")
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("activation:start")).status_code == 200
