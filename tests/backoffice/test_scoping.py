"""What each role can and cannot reach in the back-office, by every admin path.

The secretary of the collège Jules-Ferry (A1, academy Créteil) tries every page, typed URL,
popup, autocomplete, filter, search and action on the école Les Lilas (A2, same academy) and
the lycée Ampère (B1, academy Lyon): nothing answers but 404/403 or an empty list.
"""

import pytest
from django.urls import reverse

from pupils.models import Responsibility

pytestmark = pytest.mark.django_db

FOREIGN = ("a2", "b1")


def admin_url(model, action, *args):
    return reverse(f"admin:pupils_{model}_{action}", args=args)


def _objects(world, school):
    return {
        "pupil": getattr(world, f"pupil_{school}"),
        "guardianrecord": getattr(world, f"rec_{school}"),
        "responsibility": getattr(world, f"link_{school}"),
    }


# --- Secretary --------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["pupil", "guardianrecord", "responsibility"])
def test_secretary_changelist_shows_only_own_school(secretary_client, world, model):
    response = secretary_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert _objects(world, "a1")[model].pk in shown
    for school in FOREIGN:
        assert _objects(world, school)[model].pk not in shown


@pytest.mark.parametrize("school", FOREIGN)
@pytest.mark.parametrize("model", ["pupil", "guardianrecord", "responsibility"])
@pytest.mark.parametrize("action", ["change", "history", "delete"])
def test_secretary_typed_urls_to_other_schools_answer_404(
    secretary_client, world, school, model, action
):
    obj = _objects(world, school)[model]
    response = secretary_client.get(admin_url(model, action, obj.pk))
    assert response.status_code == 404
    assert obj.__class__.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("school", FOREIGN)
@pytest.mark.parametrize("model", ["pupil", "guardianrecord", "responsibility"])
def test_secretary_history_version_page_of_other_school_answers_404(
    secretary_client, world, school, model
):
    obj = _objects(world, school)[model]
    version = obj.history.latest()
    url = reverse(f"admin:pupils_{model}_simple_history", args=[obj.pk, version.history_id])
    assert secretary_client.get(url).status_code == 404


@pytest.mark.parametrize("school", FOREIGN)
def test_secretary_cannot_post_a_change_to_another_school(secretary_client, world, school):
    record = _objects(world, school)["guardianrecord"]
    before = str(record.mobile_phone)
    response = secretary_client.post(
        admin_url("guardianrecord", "change", record.pk),
        {"mobile_phone": "06 99 99 99 99", "email": "pirate@exemple.fr"},
    )
    assert response.status_code == 404
    record.refresh_from_db()
    assert str(record.mobile_phone) == before


@pytest.mark.parametrize("model", ["pupil", "guardianrecord", "responsibility"])
def test_secretary_raw_id_popup_lists_only_own_school(secretary_client, world, model):
    response = secretary_client.get(admin_url(model, "changelist"), {"_popup": "1",
                                                                     "_to_field": "id"})
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert shown and all(pk not in shown for pk in
                         (_objects(world, s)[model].pk for s in FOREIGN))


@pytest.mark.parametrize(
    "term", ["Lefèvre", "lefevre", "333333333CC", "222222222bb", "0690001C", "06 33 44 55 66",
             "m.lefevre40"],
)
@pytest.mark.parametrize("model", ["pupil", "guardianrecord", "responsibility"])
def test_secretary_search_never_finds_other_schools(secretary_client, world, model, term):
    response = secretary_client.get(admin_url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    for school in FOREIGN:
        assert _objects(world, school)[model].pk not in shown


@pytest.mark.parametrize("school", FOREIGN)
def test_secretary_filter_on_another_establishment_shows_nothing(secretary_client, world, school):
    establishment = getattr(world, school)
    response = secretary_client.get(admin_url("pupil", "changelist"),
                                    {"etablissement": establishment.pk})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@pytest.mark.parametrize(
    ("model", "field", "term"),
    [("responsibility", "pupil", "Lef"), ("responsibility", "guardian_record", "Lef"),
     ("responsibility", "pupil", "222222222BB"), ("responsibility", "guardian_record", "Ngu")],
)
def test_secretary_autocomplete_offers_only_own_school(secretary_client, world, model, field,
                                                       term):
    response = secretary_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "pupils", "model_name": model, "field_name": field, "term": term},
    )
    assert response.status_code == 200
    ids = {int(item["id"]) for item in response.json()["results"]}
    foreign = {getattr(world, f"pupil_{s}").pk for s in FOREIGN} | {
        getattr(world, f"rec_{s}").pk for s in FOREIGN
    }
    assert not ids & foreign
    if term == "Lef":
        expected = world.pupil_a1.pk if field == "pupil" else world.rec_a1.pk
        assert expected in ids


def test_secretary_action_on_other_schools_links_changes_nothing(secretary_client, world):
    response = secretary_client.post(
        admin_url("responsibility", "changelist"),
        {"action": "links_remove",
         "_selected_action": [world.link_a2.pk, world.link_b1.pk, world.link_a1.pk]},
    )
    assert response.status_code == 302
    statuses = dict(Responsibility.objects.values_list("pk", "status"))
    assert statuses[world.link_a1.pk] == "removed"  # her own school's link only
    assert statuses[world.link_a2.pk] == "disputed"
    assert statuses[world.link_b1.pk] == "disputed"


def test_secretary_cannot_link_another_schools_pupil(secretary_client, world):
    response = secretary_client.post(
        admin_url("responsibility", "add"),
        {"guardian_record": world.rec_a1.pk, "pupil": world.pupil_b1.pk,
         "is_legal_representative": "on", "status": "active"},
    )
    assert response.status_code == 200  # the form again, with the error on « élève »
    assert "pupil" in response.context["adminform"].form.errors
    assert not Responsibility.objects.filter(pupil=world.pupil_b1,
                                             guardian_record=world.rec_a1).exists()


@pytest.mark.parametrize(
    "url_name",
    ["admin:accounts_account_changelist", "admin:core_journalevent_changelist",
     "admin:accounts_staffprofile_changelist", "admin:helpdesk_search",
     "admin:pupils_academy_changelist", "admin:auth_group_changelist"],
)
def test_secretary_has_no_national_or_helpdesk_pages(secretary_client, url_name):
    assert secretary_client.get(reverse(url_name)).status_code == 403


def test_secretary_cannot_open_an_account_page_by_url(secretary_client, world):
    for url in (reverse("admin:accounts_account_change", args=[world.account_a1.pk]),
                reverse("admin:helpdesk_account", args=[world.account_a1.pk])):
        assert secretary_client.get(url).status_code in (403, 404)


def test_secretary_index_lists_only_school_models(secretary_client):
    response = secretary_client.get(reverse("admin:index"))
    assert response.status_code == 200
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    # The catalogue's school pages, the assistance requests about her schools (issue 16 §6),
    # her schools' letters and follow-up of accounts (issue 9).
    assert models == {"Pupil", "GuardianRecord", "Responsibility", "Establishment", "Service",
                      "EstablishmentMessage", "assistancerequest", "letters", "follow_up"}


def test_secretary_sees_only_own_establishment(secretary_client, world):
    response = secretary_client.get(reverse("admin:pupils_establishment_changelist"))
    assert [e.pk for e in response.context["cl"].result_list] == [world.a1.pk]
    other = reverse("admin:pupils_establishment_change", args=[world.a2.pk])
    assert secretary_client.get(other).status_code == 404


# --- Helpdesk agent (academy A) -----------------------------------------------------------


def test_helpdesk_reads_own_academy_schools_but_not_others(helpdesk_client, world):
    response = helpdesk_client.get(admin_url("pupil", "changelist"))
    shown = {p.pk for p in response.context["cl"].result_list}
    assert {world.pupil_a1.pk, world.pupil_a2.pk} <= shown
    assert world.pupil_b1.pk not in shown
    assert helpdesk_client.get(admin_url("pupil", "change", world.pupil_b1.pk)).status_code == 404


def test_helpdesk_cannot_change_school_data(helpdesk_client, world):
    url = admin_url("guardianrecord", "change", world.rec_a1.pk)
    assert helpdesk_client.get(url).status_code == 200  # read-only view
    response = helpdesk_client.post(url, {"mobile_phone": "0699999999", "email": ""})
    assert response.status_code == 403
    world.rec_a1.refresh_from_db()
    assert str(world.rec_a1.mobile_phone) == "+33611223344"


def test_helpdesk_cannot_open_another_academys_account(helpdesk_client, world):
    url = reverse("admin:helpdesk_account", args=[world.account_b1.pk])
    assert helpdesk_client.get(url).status_code == 404
    url = reverse("admin:helpdesk_record", args=[world.rec_b1.pk])
    assert helpdesk_client.get(url).status_code == 404
    response = helpdesk_client.post(
        reverse("admin:helpdesk_account_close", args=[world.account_b1.pk]),
        {"close-reason": "Appel du parent, identité vérifiée"},
    )
    assert response.status_code == 404
    world.account_b1.refresh_from_db()
    assert world.account_b1.state == "active"


@pytest.mark.parametrize(
    "url_name",
    ["admin:accounts_account_changelist", "admin:accounts_staffprofile_changelist",
     "admin:core_journalevent_changelist"],
)
def test_helpdesk_has_no_national_pages(helpdesk_client, url_name):
    assert helpdesk_client.get(reverse(url_name)).status_code == 403


# --- National administrator --------------------------------------------------------------


def test_national_admin_sees_every_school(national_client, world):
    response = national_client.get(admin_url("pupil", "changelist"))
    shown = {p.pk for p in response.context["cl"].result_list}
    assert {world.pupil_a1.pk, world.pupil_a2.pk, world.pupil_b1.pk} <= shown
    for name in ("accounts_account_changelist", "core_journalevent_changelist",
                 "accounts_staffprofile_changelist", "helpdesk_search"):
        assert national_client.get(reverse(f"admin:{name}")).status_code == 200
    url = reverse("admin:helpdesk_account", args=[world.account_b1.pk])
    assert national_client.get(url).status_code == 200


def test_no_page_shows_a_password_hash(national_client, world):
    for url in (reverse("admin:accounts_account_change", args=[world.account_a1.pk]),
                reverse("admin:accounts_account_history", args=[world.account_a1.pk]),
                reverse("admin:helpdesk_account", args=[world.account_a1.pk]),
                reverse("admin:accounts_account_changelist")):
        body = national_client.get(url).content.decode()
        assert "argon2" not in body and world.account_a1.password not in body


# --- Lists never count a whole table -----------------------------------------------------


def test_long_lists_count_only_up_to_a_bound(national_client, world, monkeypatch):
    from backoffice.scoping import BoundedCountPaginator

    monkeypatch.setattr(BoundedCountPaginator, "bound", 2)
    response = national_client.get(admin_url("pupil", "changelist"))
    assert response.context["cl"].result_count == 3  # bound + 1: « more than 2 »
    assert "Plus de 2 élèves" in response.content.decode()
    response = national_client.get(admin_url("pupil", "changelist"), {"q": "lefevre"})
    assert "plus de 2 résultats" not in response.content.decode()  # 2 Lefèvre: counted


def test_helpdesk_index_offers_the_search(helpdesk_client):
    body = helpdesk_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:helpdesk_search") in body


def test_helpdesk_lists_its_academys_establishments_only(helpdesk_client, world):
    response = helpdesk_client.get(reverse("admin:pupils_establishment_changelist"))
    assert response.status_code == 200
    assert {e.pk for e in response.context["cl"].result_list} == {world.a1.pk, world.a2.pk}
    other = reverse("admin:pupils_establishment_change", args=[world.b1.pk])
    assert helpdesk_client.get(other).status_code == 404
