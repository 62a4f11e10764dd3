"""A secretary's lists (guardian records, pupils, links, and the links' autocompletes) find
a first name typed alone, case and accents ignored, as they find a last name; « Nom Prénom »
and « Prénom Nom » still find the person, and another school's people stay out of sight.

No index holds the first names alone: that alternative is looked for among the rows of the
secretary's schools only (backoffice.selectors._person_name_q, `schools`), which the
establishment's indexes find (test_postgres_indexes.py).
"""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def shown(client, model, term) -> set[int]:
    response = client.get(reverse(f"admin:pupils_{model}_changelist"), {"q": term})
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.parametrize("term", ["Hélène", "helene", "HELENE", "hélè"])
def test_a_guardians_first_name_alone_finds_her_record(secretary_client, world, term):
    assert shown(secretary_client, "guardianrecord", term) == {world.rec_a1.pk}


@pytest.mark.parametrize("term", ["Zoé", "zoe", "ZOE"])
def test_a_pupils_first_name_alone_finds_the_pupil_and_his_links(secretary_client, world, term):
    assert shown(secretary_client, "pupil", term) == {world.pupil_a1.pk}
    assert shown(secretary_client, "responsibility", term) == {world.link_a1.pk}


@pytest.mark.parametrize("term", ["Lefèvre Hélène", "helene lefevre", "LEFEVRE", "lefèv"])
def test_last_name_and_both_orders_still_find_the_record(secretary_client, world, term):
    assert shown(secretary_client, "guardianrecord", term) == {world.rec_a1.pk}


@pytest.mark.parametrize(("model", "term"), [("guardianrecord", "Marc"), ("pupil", "Jules"),
                                             ("guardianrecord", "Thị"), ("pupil", "Lan"),
                                             ("responsibility", "Jules")])
def test_another_schools_first_names_are_not_found(secretary_client, world, model, term):
    assert shown(secretary_client, model, term) == set()


@pytest.mark.parametrize(("field", "term", "expected"),
                         [("guardian_record", "helene", "rec_a1"), ("pupil", "Zoé", "pupil_a1")])
def test_the_links_autocomplete_finds_a_first_name_alone(secretary_client, world, field, term,
                                                         expected):
    response = secretary_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "pupils", "model_name": "responsibility", "field_name": field,
         "term": term},
    )
    assert response.status_code == 200
    assert {int(item["id"]) for item in response.json()["results"]} == {
        getattr(world, expected).pk}


@pytest.mark.parametrize(("model", "said"), [
    ("guardianrecord", "Nom ou prénom (ou une partie)"),
    ("pupil", "Nom ou prénom (ou une partie)"),
    ("responsibility", "Nom ou prénom de l'élève (ou une partie)"),
])
def test_the_secretarys_search_box_says_a_first_name_is_found(secretary_client, world, model,
                                                               said):
    response = secretary_client.get(reverse(f"admin:pupils_{model}_changelist"))
    assert response.context["cl"].search_help_text.startswith(said)
    # The empty search's message repeats it.
    response = secretary_client.get(reverse(f"admin:pupils_{model}_changelist"), {"q": " "})
    errors = [str(m) for m in response.context["messages"]]
    assert len(errors) == 1 and said[0].lower() + said[1:] in errors[0], errors


@pytest.mark.parametrize("model", ["guardianrecord", "pupil", "responsibility"])
def test_an_academys_search_box_still_says_a_last_name(helpdesk_client, world, model):
    """An academy's lists look a single name up among the last names (their index): their
    help does not promise a first name."""
    response = helpdesk_client.get(reverse(f"admin:pupils_{model}_changelist"))
    assert "prénom" not in response.context["cl"].search_help_text
