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
