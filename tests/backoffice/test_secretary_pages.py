"""What a school secretary reads on her back-office pages: what a saved record changes, the
counts, the lists' explanations, the searches, the breadcrumbs."""

import pytest
from django.urls import reverse

from core.french import plural_count
from pupils import letters
from pupils.models import LetterRun
from tests import html
from tests.backoffice.test_secretary import change_url, record_form
from tests.factories import GuardianRecordFactory

pytestmark = pytest.mark.django_db

OWN_DETAILS = "Le compte ÉduConnect de ce représentant garde ses propres coordonnées"


def test_record_of_an_activated_guardian_says_the_account_keeps_its_own_details(
    secretary_client, world
):
    record = world.rec_a1  # covered by an active account
    page = secretary_client.get(change_url(record)).content.decode()
    assert OWN_DETAILS in page
    assert "dans son compte ÉduConnect" in page  # where the family changes them
    response = secretary_client.post(change_url(record),
                                     record_form(record, email="h.lefevre@exemple.fr"),
                                     follow=True)
    body = response.content.decode()
    assert "Modifications enregistrées : la fiche responsable « Hélène LEFÈVRE »." in body
    assert OWN_DETAILS in body
    world.account_a1.refresh_from_db()
    # What the notice says stays true: the record changed, the account did not.
    world.rec_a1.refresh_from_db()
    assert world.rec_a1.email == "h.lefevre@exemple.fr"
    assert world.account_a1.email != "h.lefevre@exemple.fr"
    assert world.account_a1.phone == "+33611223344"


def test_record_without_an_account_has_no_such_notice(secretary_client, world):
    record = GuardianRecordFactory(establishment=world.a1, mobile_phone="+33644556677")
    assert OWN_DETAILS not in secretary_client.get(change_url(record)).content.decode()
    response = secretary_client.post(change_url(record),
                                     record_form(record, mobile_phone="06 44 55 66 78"),
                                     follow=True)
    body = response.content.decode()
    assert "Modifications enregistrées" in body and OWN_DETAILS not in body


# --- counts: French takes the singular for 0 and 1 ---------------------------------------


def test_an_empty_list_counts_0_in_the_singular(secretary_client, world):
    url = reverse("admin:pupils_guardianrecord_changelist")
    paginator = html.parse(secretary_client.get(url, {"q": "Zzyzx"})).find(class_="paginator")
    assert " ".join(paginator.get_text().split()) == "0 fiche responsable"
    paginator = html.parse(secretary_client.get(url)).find(class_="paginator")
    assert " ".join(paginator.get_text().split()) == "1 fiche responsable"


def test_a_letter_run_not_started_reads_0_letter(letters_here, world, secretary,
                                                 secretary_client):
    run = letters.letter_run_request(establishment=world.a1, actor=secretary,
                                     pupil_ids=[world.pupil_a1_bis.pk], delivery="paper")
    page = html.parse(secretary_client.get(reverse("admin:letter_run", args=[run.pk])))
    status = " ".join(page.find(id="letter-status").get_text().split())
    assert status.endswith(": 0 lettre sur 0.") or status.endswith(": 0 lettre sur 1."), status


def test_ngettext_of_our_french_words_takes_the_singular_for_0():
    assert plural_count(0) == plural_count(1) == 1 and plural_count(2) == 2


# --- the order of a list is explained only when there is a list ----------------------------

ORDER_WORDS = "chaque groupe par ordre alphabétique"


def test_no_sort_order_sentence_above_an_empty_result(helpdesk_client, world):
    page = helpdesk_client.get(reverse("admin:helpdesk_search"), {"q": "Zzyzx"})
    body = page.content.decode()
    assert "Aucune fiche sans compte ne correspond" in body
    assert ORDER_WORDS not in body
    page = html.parse(helpdesk_client.get(reverse("admin:helpdesk_search"),
                                          {"q": "06 99 99 99 99"}))
    assert page.find(id="attempts-caption").get_text().strip() == (
        "Activations par SMS commencées avec ce numéro")


def test_the_sort_order_sentence_stays_above_results(helpdesk_client, world):
    body = helpdesk_client.get(reverse("admin:helpdesk_search"),
                               {"q": "Nguyen"}).content.decode()
    assert "NGUYỄN Thị" in body  # a record without an account, and the pupil Lan
    assert body.count(ORDER_WORDS) == 2


# --- an empty search says which field and what to type -----------------------------------


@pytest.mark.parametrize("model", ["pupil", "guardianrecord", "responsibility"])
def test_an_empty_list_search_names_the_field_and_what_to_type(secretary_client, world, model):
    page = html.parse(secretary_client.get(reverse(f"admin:pupils_{model}_changelist"),
                                           {"q": "   "}))
    errors = [" ".join(li.get_text().split()) for li in page.select(".messagelist li.error")]
    assert len(errors) == 1 and errors[0].startswith("Rechercher : saisissez"), errors
    assert "INE" in errors[0]


# --- the add forms' breadcrumbs end on the page's own title ----------------------------------


@pytest.mark.parametrize(("url_name", "title"), [
    ("pupils_responsibility_add", "Ajouter un lien responsable–élève"),
    ("services_portal_service_add", "Ajouter un service"),
    ("services_portal_establishmentmessage_add", "Ajouter un message d'établissement"),
])
def test_an_add_form_has_breadcrumbs_ending_on_its_title(secretary_client, world, url_name,
                                                         title):
    page = html.parse(secretary_client.get(reverse(f"admin:{url_name}")))
    crumbs = page.select_one("nav .breadcrumbs")
    assert crumbs is not None
    assert crumbs.find("a").get_text() == "Accueil"
    assert " ".join(crumbs.get_text().split()).endswith(f"› {title}")
    assert page.find("h1").get_text().strip() == title


@pytest.mark.parametrize(("url_name", "expected"), [
    ("pupils_responsibility_add", ["Responsable : choisissez une fiche responsable.",
                                   "Élève : choisissez un élève."]),
    ("services_portal_service_add", ["Intitulé : saisissez l'intitulé de la tuile.",
                                     "Adresse du service : saisissez l'adresse (https://…) "
                                     "où mène la tuile.",
                                     "Ordre d'affichage : saisissez un nombre, par exemple "
                                     "100."]),
    ("services_portal_establishmentmessage_add", [
        "Message : saisissez le texte que liront les familles.",
        "Affiché à partir du : saisissez une date, par exemple 01/09/2026.",
        "Affiché jusqu'au : saisissez une date, par exemple 30/06/2027."]),
])
def test_an_add_form_saved_empty_names_each_field_and_the_fix(secretary_client, world,
                                                              url_name, expected):
    response = secretary_client.post(reverse(f"admin:{url_name}"), {})
    assert response.status_code == 200
    errors = [" ".join(li.get_text().split())
              for li in html.parse(response).select(".errorlist li")]
    for message in expected:
        assert message in errors, errors
    assert "Ce champ est obligatoire." not in errors


# --- letters asked for another school's people ---------------------------------------------

NOT_YOURS = "cet établissement n'est pas l'un des vôtres"


def _alert(response) -> str:
    return " ".join(html.parse(response).find(class_="errornote").get_text().split())


def test_letters_of_another_school_are_refused_in_words(letters_here, world, secretary_client):
    response = secretary_client.get(reverse("admin:letters_new"),
                                    {"etablissement": world.b1.pk, "niveau": "6EME"})
    assert response.status_code == 400 and NOT_YOURS in _alert(response)
    response = secretary_client.post(reverse("admin:letters_new"), {
        "etablissement": world.b1.pk, "eleves": [world.pupil_b1.pk], "remise": "paper"})
    assert response.status_code == 400 and NOT_YOURS in _alert(response)
    assert "Choisissez" in html.parse(response).find(id="id_etablissement").get_text()
    assert not LetterRun.objects.exists()


def test_the_follow_up_of_another_school_is_refused_in_words(letters_here, world,
                                                            secretary_client):
    response = secretary_client.get(reverse("admin:follow_up"),
                                    {"etablissement": world.b1.pk})
    assert response.status_code == 400 and NOT_YOURS in _alert(response)


@pytest.mark.parametrize(("query", "expected"), [
    ({"niveau": "", "classe": ""}, "Niveau ou classe : choisissez un niveau ou une classe."),
    ({"niveau": "XYZ", "classe": ""}, "Niveau : choisissez un niveau de la liste."),
    ({"niveau": "", "classe": "TZ9"}, "Classe : choisissez une classe de la liste."),
])
def test_letters_without_a_known_level_or_class_say_which_field(letters_here, world,
                                                                 secretary_client, query,
                                                                 expected):
    response = secretary_client.get(reverse("admin:letters_new"),
                                    {"etablissement": world.a1.pk, **query})
    assert response.status_code == 400 and expected in _alert(response)


def test_the_letters_page_opened_on_a_school_has_no_error(letters_here, world,
                                                          secretary_client):
    response = secretary_client.get(reverse("admin:letters_new"),
                                    {"etablissement": world.a1.pk})
    assert response.status_code == 200
    assert html.parse(response).find(class_="errornote") is None


def test_a_pupil_of_another_school_among_the_ticked_ones_is_refused_in_words(
        letters_here, world, secretary_client):
    response = secretary_client.post(reverse("admin:letters_new"), {
        "etablissement": world.a1.pk, "eleves": [world.pupil_b1.pk], "remise": "paper"})
    assert response.status_code == 400
    assert "un élève choisi n'est pas de cet établissement" in _alert(response)
    assert not LetterRun.objects.exists()


def test_the_requests_queue_says_its_order_only_above_requests(
        letters_here, secretary_client, world, django_capture_on_commit_callbacks):
    from django.test import Client

    from tests.backoffice.test_assistance_queue import submit

    empty = html.parse(secretary_client.get(reverse("admin:assistance_queue")))
    assert empty.find(id="queue-caption").get_text().strip() == "Demandes"
    assert "Aucune demande dans votre périmètre." in empty.get_text()
    submit(Client(), django_capture_on_commit_callbacks, school=world.a1.uai)
    listed = html.parse(secretary_client.get(reverse("admin:assistance_queue")))
    assert listed.find(id="queue-caption").get_text().strip() == (
        "Demandes, les plus anciennes d'abord")


def test_a_service_seen_by_nobody_is_refused_once_in_words(secretary_client, world):
    response = secretary_client.post(reverse("admin:services_portal_service_add"), {
        "title": "ENT", "url": "https://ent.example.org/", "establishment": world.a1.pk,
        "position": 100})
    assert response.status_code == 200
    errors = [" ".join(li.get_text().split())
              for li in html.parse(response).select(".errorlist li")]
    assert errors == ["Cochez au moins un profil : représentants légaux ou élèves."], errors
