"""The national administration's list and form of OpenID Connect services
(/gestion/oauth2_provider/application/, django-oauth-toolkit's Application) in French
(tryout of the demo: « AJOUTER APPLICATION », « CLIENT ID », « CLIENT TYPE », « SKIP
AUTHORIZATION », « UPDATED », « Par client type », « Confidential », « Supprimer les
applications sélectionnés », and a help « space separated » under « une par ligne »)."""

import pytest
from django.urls import reverse
from oauth2_provider.models import get_application_model

from tests import html as h

pytestmark = pytest.mark.django_db

Application = get_application_model()


@pytest.fixture
def clients(db):
    for name, kind in (("Scolarité services", "confidential"), ("Appli mobile", "public")):
        Application.objects.create(
            name=name, client_type=kind, authorization_grant_type="authorization-code",
            redirect_uris="https://example.org/cb", skip_authorization=kind == "public")


def test_the_list_of_services_reads_in_french(national_client, clients):
    page = h.parse(national_client.get(reverse("admin:oauth2_provider_application_changelist")))
    main = h.main(page)
    headers = [h.text(th) for th in main.select("#result_list thead th")][1:]  # after the box
    assert headers == ["Service", "Identifiant du client", "Type de client",
                       "Sans demande d'accord", "Modifié le"]
    cells = h.text(main.find(id="result_list"))
    assert "Confidentiel (avec secret)" in cells and "Public (sans secret)" in cells
    assert h.text(main.select_one(".object-tools .addlink")) == (
        "Ajouter un service relié en OpenID Connect")
    filters = h.text(main.find(id="changelist-filter"))
    assert "Par type de client" in filters and "Par demande d'accord" in filters
    assert "Confidentiel (avec secret)" in filters
    actions = [h.text(option) for option in main.select("select[name=action] option")]
    assert "Supprimer les services sélectionnés" in actions
    words = h.text(main)
    for english in ("client type", "Client type", "client ID", "Client ID", "Confidential",
                    "skip authorization", "Skip authorization", "Updated",
                    "Ajouter application", "applications sélectionnés"):
        assert english not in words


def test_the_add_form_says_one_address_per_line_and_its_types_in_french(national_client):
    page = h.parse(national_client.get(reverse("admin:oauth2_provider_application_add")))
    main = h.main(page)
    logout_help = h.text(main.find(id="id_post_logout_redirect_uris_helptext"))
    assert "space separated" not in logout_help
    assert logout_help.startswith("Adresses exactes en https")
    options = [h.text(option) for option in main.select("select[name=client_type] option")]
    assert options == ["---------", "Confidentiel (avec secret)", "Public (sans secret)"]
    assert "Allowed" not in h.text(main)



def test_the_rights_of_the_service_have_one_heading_without_a_line_number(national_client):
    # Django's stacked inline wrote « Droits du service: #1 » under the group's « Droits du
    # service »: one object, one heading.
    page = h.parse(national_client.get(reverse("admin:oauth2_provider_application_add")))
    group = h.main(page).find(id="policy-group")
    headings = [h.text(tag) for tag in group.find_all(["h2", "h3"])]
    assert headings == ["Droits du service"]
    assert "#1" not in h.text(group)
    assert group.find("input", attrs={"name": "policy-0-sector_identifier"}) is not None

def _add(national_client, **fields):
    data = {"name": "Service test", "client_id": "service-test", "client_secret": "s" * 40,
            "client_type": "public", "redirect_uris": "https://rp.example.org/cb",
            "post_logout_redirect_uris": "",
            "policy-TOTAL_FORMS": "0", "policy-INITIAL_FORMS": "0",
            "policy-MIN_NUM_FORMS": "0", "policy-MAX_NUM_FORMS": "1"}
    data.update(fields)
    return national_client.post(reverse("admin:oauth2_provider_application_add"), data)


def _field_errors(response, name: str) -> str:
    page = h.parse(response)
    return h.text(page.find(id=f"id_{name}_error") or page.find(class_="errorlist"))


@pytest.mark.parametrize(("field", "address", "words"), [
    ("redirect_uris", "https://rp.example.org/cb#frag", "retirez la partie qui commence par « # »"),
    ("redirect_uris", "ftp://rp.example.org/cb", "qui commence par https://"),
    ("redirect_uris", "rp.example.org/cb", "qui commence par https://"),
    ("post_logout_redirect_uris", "https://rp.example.org/bye#x",
     "retirez la partie qui commence par « # »"),
    ("post_logout_redirect_uris", "ftp://rp.example.org/bye", "qui commence par https://"),
])
def test_a_wrong_return_address_is_refused_in_french_on_its_field(national_client, field,
                                                                   address, words):
    """Second tryout: django-oauth-toolkit said « redirect uri URI validation error. fragment
    not allowed » in English, and took a fragment in the logout addresses."""
    response = _add(national_client, **{field: address})
    assert response.status_code == 200
    assert not Application.objects.filter(client_id="service-test").exists()
    page = h.parse(response)
    errors = h.text(page.find(id=f"id_{field}").find_parent(class_="form-row"))
    assert f"« {address} »" in errors and words in errors
    text = h.text(h.main(page))
    assert "validation error" not in text and "not allowed" not in text


def test_a_service_without_return_address_is_told_in_french(national_client):
    response = _add(national_client, redirect_uris="")
    text = h.text(h.main(h.parse(response)))
    assert "Saisissez au moins une adresse de retour" in text
    assert "cannot be empty" not in text


def test_right_addresses_are_saved_and_the_page_offers_no_dead_view_on_site(national_client):
    response = _add(national_client,
                    redirect_uris="https://rp.example.org/cb\nhttps://rp.example.org/cb2?x=1",
                    post_logout_redirect_uris="https://rp.example.org/bye")
    assert response.status_code == 302
    client = Application.objects.get(client_id="service-test")
    change = national_client.get(
        reverse("admin:oauth2_provider_application_change", args=[client.pk]))
    assert change.status_code == 200
    # « Voir sur le site » led to django-oauth-toolkit's unserved pages: a 500.
    assert not h.parse(change).select("a.viewsitelink")
