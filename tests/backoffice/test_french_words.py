"""The back-office speaks French a secretary reads without stumbling: titles with their
articles (« Modifier l'élève », not « Modification de élève »), save messages in our words,
no « Aucun(e) », no English « back-office », and the singular after zero."""


import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from services_portal.models import Service
from tests import html

pytestmark = pytest.mark.django_db


def title_and_h1(response):
    page = html.parse(response)
    return html.text(page.title), html.text(page.find("h1"))


def messages_after(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_pupils_page_is_titled_with_its_article(secretary_client, world):
    response = secretary_client.get(reverse("admin:pupils_pupil_change",
                                            args=[world.pupil_a1.pk]))
    title, h1 = title_and_h1(response)
    assert h1 == "Modifier l'élève"
    assert title.startswith("Zoé LEFÈVRE | Modifier l'élève |")
    assert "Modification de" not in response.content.decode()


def test_a_view_only_page_says_consulter(helpdesk_client, world):
    response = helpdesk_client.get(reverse("admin:pupils_guardianrecord_change",
                                           args=[world.rec_a1.pk]))
    assert title_and_h1(response)[1] == "Consulter la fiche responsable"


def test_add_delete_and_history_titles(secretary_client, world):
    response = secretary_client.get(reverse("admin:pupils_responsibility_add"))
    assert title_and_h1(response)[1] == "Ajouter un lien responsable–élève"
    service = Service.objects.create(title="ENT du collège", url="https://ent.example.test/",
                                     establishment=world.a1)
    response = secretary_client.get(reverse("admin:services_portal_service_delete",
                                            args=[service.pk]))
    assert title_and_h1(response)[1] == "Supprimer le service"
    response = secretary_client.post(reverse("admin:services_portal_service_delete",
                                             args=[service.pk]), {"post": "yes"})
    assert messages_after(response) == ["Suppression effectuée : le service « ENT du collège »."]
    response = secretary_client.get(reverse("admin:pupils_pupil_history",
                                            args=[world.pupil_a1.pk]))
    assert title_and_h1(response)[1] == "Historique des modifications : Zoé LEFÈVRE"


def test_a_save_says_what_was_saved_in_french(secretary_client, world):
    record = world.rec_a1
    response = secretary_client.post(
        reverse("admin:pupils_guardianrecord_change", args=[record.pk]),
        {"mobile_phone": "06 11 22 33 44", "email": record.email,
         "responsibilities-TOTAL_FORMS": "0", "responsibilities-INITIAL_FORMS": "0",
         "responsibilities-MIN_NUM_FORMS": "0", "responsibilities-MAX_NUM_FORMS": "1000",
         "_continue": "1"})
    assert response.status_code == 302
    assert messages_after(response) == [
        "Modifications enregistrées : la fiche responsable « Hélène LEFÈVRE ». Le compte "
        "ÉduConnect de ce représentant garde ses propres coordonnées (numéro de portable, "
        "adresse mail) : les modifier sur cette fiche ne les change pas. Ce sont elles qui lui "
        "servent à récupérer son identifiant ou son mot de passe ; il les modifie lui-même "
        "dans son compte ÉduConnect. Vous pouvez continuer ci-dessous."]


def test_the_links_table_button_names_what_it_adds(secretary_client, world):
    page = html.parse(secretary_client.get(reverse("admin:pupils_pupil_change",
                                                   args=[world.pupil_a1.pk])))
    data = page.find(attrs={"data-inline-formset": True})["data-inline-formset"]
    assert '"addText": "Ajouter un responsable rattach\\u00e9"' in data
    page = html.parse(secretary_client.get(reverse("admin:pupils_guardianrecord_change",
                                                   args=[world.rec_a1.pk])))
    data = page.find(attrs={"data-inline-formset": True})["data-inline-formset"]
    assert '"addText": "Ajouter un \\u00e9l\\u00e8ve rattach\\u00e9"' in data


def test_the_home_page_names_the_space_in_french(secretary_client):
    page = html.parse(secretary_client.get(reverse("admin:index")))
    assert html.text(page.find(id="site-name")) == "ÉduConnect — espace de gestion"
    assert html.text(page.find(id="recent-actions-module").find("p")) == (
        "Aucune action pour l'instant.")
    assert "back-office" not in html.text(page.body)
    assert "Aucun(e)" not in html.text(page.body)


@pytest.mark.parametrize(("typed", "expected"), [
    # Read as a name (an identifier has one letter before its period): the pupils too.
    ("zz.inconnu99", "aucun compte, aucune fiche sans compte. Élèves de ce nom : aucun élève."),
    ("h.lefevre12", "1 compte, aucune fiche sans compte."),
])
def test_helpdesk_counts_zero_and_one_in_the_singular(helpdesk_client, world, typed, expected):
    page = html.parse(helpdesk_client.get(reverse("admin:helpdesk_search"), {"q": typed}))
    status = html.text(page.find("p", attrs={"role": "status"}))
    assert status.endswith(expected), status




def test_no_view_site_link_to_the_families_portal(secretary_client):
    page = html.parse(secretary_client.get(reverse("admin:index")))
    tools = page.find(id="user-tools")
    assert "Voir le site" not in html.text(tools)
    assert not tools.find("a", href="/")


def test_the_delete_action_says_what_it_deleted(secretary_client, world):
    services = [Service.objects.create(title=f"ENT {n}", url="https://ent.example.test/",
                                       establishment=world.a1) for n in (1, 2)]
    response = secretary_client.post(reverse("admin:services_portal_service_changelist"), {
        "action": "delete_selected", "_selected_action": [s.pk for s in services],
        "post": "yes"})
    assert messages_after(response) == ["Suppression effectuée : 2 services."]
    assert not Service.objects.filter(establishment=world.a1).exists()


def test_an_empty_journal_and_a_numbers_counters_read_without_plural_marks(helpdesk_client,
                                                                          world):
    page = html.parse(helpdesk_client.get(reverse("admin:helpdesk_record",
                                                  args=[world.rec_a2.pk])))
    captions = [html.text(c) for c in page.find_all("caption")]
    assert "Journal récent (aucun événement)" in captions
    text = html.text(page.body)
    assert "dates de naissance incorrectes : 0 sur" in text
    assert "(s)" not in text


def test_the_roles_groups_page_is_titled_too(national_client):
    group = Group.objects.get(name="Secrétariat d'établissement")
    response = national_client.get(reverse("admin:auth_group_change", args=[group.pk]))
    assert title_and_h1(response)[1] == "Consulter le groupe"


def test_an_application_page_is_titled_by_its_name(secretary_client, world):
    """Tryout of the demo: /gestion/pupils/ read « Administration de Élèves et
    établissements » (Django's « Administration de %(app)s »)."""
    response = secretary_client.get(reverse("admin:app_list", args=["pupils"]))
    title, heading = title_and_h1(response)
    assert heading == "Élèves et établissements"
    assert "Administration de" not in title


def test_a_pupils_level_reads_as_on_every_other_page(secretary_client, world):
    """The roster's « 4EME » reads « 4e » in the pupils' list and on the pupil's form
    (services_portal.levels.level_in_words), as on « Mes services » and the letters."""
    pupil = world.pupil_a1
    pupil.level = "4EME"
    pupil.save(update_fields=["level"])
    listing = html.parse(secretary_client.get(reverse("admin:pupils_pupil_changelist")))
    [row] = [row for row in listing.select("#result_list tbody tr")
             if "LEFÈVRE" in html.text(row)]
    assert "4e" in [html.text(cell) for cell in row.find_all(["th", "td"])]
    assert "4EME" not in html.text(html.main(listing))
    form = html.parse(secretary_client.get(reverse("admin:pupils_pupil_change",
                                                   args=[pupil.pk])))
    level = form.select_one(".field-level_label .readonly")
    assert html.text(level) == "4e"
    assert "4EME" not in html.text(html.main(form))


@pytest.mark.parametrize(("url_name", "words"), [
    ("admin:pupils_establishment_changelist", "Ajouter un établissement"),
    ("admin:services_portal_service_changelist", "Ajouter un service"),
    ("admin:oauth2_provider_application_changelist", "Ajouter un service relié en OpenID Connect"),
])
def test_a_lists_add_button_names_its_object_with_its_article(national_client, url_name, words):
    # Django's button read « Ajouter établissement » (« Ajouter » + the model's name).
    page = html.parse(national_client.get(reverse(url_name)))
    assert html.text(page.select_one(".object-tools .addlink")) == words


def test_a_tabular_inline_is_a_group_named_by_its_heading(secretary_client, world):
    # The heading (templates/admin/edit_inline/group_heading.html) names both the group and
    # the table's scrolling region, which the keyboard reaches.
    page = html.parse(secretary_client.get(reverse("admin:pupils_pupil_change",
                                                   args=[world.pupil_a1.pk])))
    group = page.select_one("[data-inline-type=tabular]")
    heading = group.find("h2", class_="inline-heading")
    assert heading is not None and html.text(heading)
    assert group.find("fieldset")["aria-labelledby"] == heading["id"]
    region = group.find(attrs={"role": "region"})
    assert region["aria-labelledby"] == heading["id"] and region["tabindex"] == "0"
