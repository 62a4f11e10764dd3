"""The helpdesk's search field (tryout of an academy's agent): the agent lands on the page
to type, so the field has the focus; a search sent empty says which field and what to
type, instead of Django's « Ce champ est obligatoire. » — nothing searched, no list."""

import pytest
from django.urls import reverse

from backoffice.limits import SEARCHES_PER_AGENT
from core import ratelimit
from tests import html as h

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:helpdesk_search")


def test_the_search_field_has_the_focus(helpdesk_client):
    page = h.parse(helpdesk_client.get(SEARCH))
    assert h.field(page, "id_q").has_attr("autofocus")



@pytest.mark.parametrize("typed", ["", "   "])
def test_an_empty_search_names_the_field_and_what_to_type(helpdesk_client, helpdesk_agent,
                                                          world, typed):
    response = helpdesk_client.get(SEARCH, {"q": typed})
    assert response.status_code == 400
    page = h.parse(response)
    errors = [h.text(item) for item in h.main(page).select(".errorlist li")]
    assert errors == ["Recherche : saisissez un identifiant, un nom, un numéro de téléphone "
                      "portable, une adresse mail, un INE ou un UAI."]
    assert h.field(page, "id_q").get("aria-invalid") == "true"
    assert h.main(page).find("table") is None  # no list of accounts
    assert page.title.text.startswith("Erreur :")
    # Nothing was searched: the agent's hourly searches are not spent.
    assert ratelimit.used(SEARCHES_PER_AGENT, str(helpdesk_agent.pk)) == 0
