"""The helpdesk's search field (tryout of an academy's agent): the agent lands on the page
to type, so the field has the focus; a search sent empty says which field and what to
type, instead of Django's « Ce champ est obligatoire. » — nothing searched, no list."""

import pytest
from django.urls import reverse

from tests import html as h

pytestmark = pytest.mark.django_db

SEARCH = reverse("admin:helpdesk_search")


def test_the_search_field_has_the_focus(helpdesk_client):
    page = h.parse(helpdesk_client.get(SEARCH))
    assert h.field(page, "id_q").has_attr("autofocus")

