"""« Mes enfants » (one query whatever the number of children) and the helpdesk file of an
account showing its « Mon compte » changes with their French labels."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import StaffRole
from notifications import sms
from tests import html
from tests.backoffice.conftest import make_staff
from tests.backoffice.conftest import sign_in as staff_sign_in
from tests.factories import (
    AcademyFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

from .conftest import CODE_IN_SMS, NEW_PASSWORD, sign_in
from .test_password_change import change

pytestmark = pytest.mark.django_db

CHILDREN = reverse("services_portal:my_children")


def add_child(account, school, first_names, level):
    record = GuardianRecordFactory(establishment=school, account=account,
                                   first_name="Amina", last_name="BENALI")
    pupil = PupilFactory(establishment=school, first_names=first_names, last_name="BENALI",
                         level=level)
    ResponsibilityFactory(guardian_record=record, pupil=pupil)
    return pupil


def test_my_children_lists_each_child_with_school_and_level(signed_in, guardian):
    college = EstablishmentFactory(name="Collège Jean-Moulin", uai="0130001A")
    ecole = EstablishmentFactory(name="École maternelle Les Calanques", uai="0130002B",
                                 kind="ecole")
    add_child(guardian, college, "Yasmine", "5EME")
    add_child(guardian, ecole, "Ilyes Karim", "")
    page = html.parse(signed_in.get(CHILDREN))
    assert page.find("h1").get_text() == "Mes enfants"
    rows = [[html.text(cell) for cell in row.find_all(["th", "td"])]
            for row in page.find("tbody").find_all("tr")]
    assert sorted(rows) == [
        ["Ilyes BENALI", "École maternelle Les Calanques", "Non renseigné"],
        # The words of « Mes services » (« niveau : 5e »), not the roster's code.
        ["Yasmine BENALI", "Collège Jean-Moulin", "5e"],
    ]
    menu = page.find("nav", class_="fr-sidemenu")
    assert menu.find("a", attrs={"aria-current": "page"}).get_text() == "Mes enfants"


def test_the_families_pages_address_alone_leads_to_my_children(signed_in):
    # /mes-enfants/ prefixes « Regrouper » and « Ajouter un enfant »: shortened or typed
    # alone, it leads to the list rather than to a 404.
    response = signed_in.get("/mes-enfants/")
    assert response.status_code == 302 and response["Location"] == CHILDREN
    signed_in.logout()
    assert signed_in.get("/mes-enfants/", follow=True).status_code == 200


def test_my_children_costs_the_same_queries_for_one_child_or_six(signed_in, guardian):
    school = EstablishmentFactory()
    add_child(guardian, school, "Sami", "CP")
    signed_in.get(CHILDREN)
    with CaptureQueriesContext(connection) as one:
        signed_in.get(CHILDREN)
    for index in range(5):
        add_child(guardian, EstablishmentFactory(), f"Enfant{index}", "CM1")
    with CaptureQueriesContext(connection) as six:
        response = signed_in.get(CHILDREN)
    assert len(html.parse(response).find("tbody").find_all("tr")) == 6
    assert len(six.captured_queries) == len(one.captured_queries)


def test_no_child_yet_says_whom_to_ask(signed_in):
    page = html.parse(signed_in.get(CHILDREN))
    assert "Aucun enfant n'est rattaché à votre compte pour le moment" in html.text(
        html.main(page))


def test_the_helpdesk_file_shows_the_changes_with_their_labels(client, guardian, commit):
    academy = AcademyFactory(name="Aix-Marseille")
    school = EstablishmentFactory(name="Collège Jean-Moulin", uai="0130001A", academy=academy)
    add_child(guardian, school, "Yasmine", "5EME")
    sign_in(client)
    change(client, commit, current="Mauvais-Mot-1!")
    change(client, commit)
    response = commit(client.post, reverse("accounts:my_account:phone"),
                      {"phone": "07 81 22 33 44"})
    code = CODE_IN_SMS.search(sms.outbox[-1].body).group(1)
    commit(client.post, response["Location"], {"code": code})
    commit(client.post, reverse("accounts:my_account:email"),
           {"email": "amina.b@exemple.fr", "email_confirm": "amina.b@exemple.fr"})
    client.post(reverse("accounts:logout"))

    agent = make_staff(StaffRole.HELPDESK, academy=academy, last_name="Assistance")
    staff_sign_in(client, agent)
    page = html.parse(client.get(reverse("admin:helpdesk_account", args=[guardian.pk])))
    journal = {}
    for row in page.find(string=lambda s: s and s.startswith("Journal récent")).find_parent(
            "table").find("tbody").find_all("tr"):
        cells = [html.text(td) for td in row.find_all("td")]
        journal.setdefault(cells[1], cells[3])
    assert journal["Mon compte : mot de passe actuel erroné"] == "—"
    assert journal["Mot de passe modifié"] == (
        "motif : modifié par son titulaire dans « Mon compte »")
    assert journal["Changement de numéro de téléphone demandé"] == "—"
    assert journal["Changement de numéro : code envoyé par SMS au nouveau numéro"] == (
        "envoi n° : 1")
    assert set(journal["Numéro de téléphone modifié"].split(" ; ")) == {
        "ancien numéro : 06 •• •• •• 78", "nouveau numéro : 07 •• •• •• 44"}
    assert set(journal["Changement d'adresse mail demandé (lien de validation envoyé)"].split(
        " ; ")) == {"nouvelle adresse : a•••@exemple.fr", "remplace une demande en cours : non",
        "ancienne adresse prévenue : oui"}
    messages = html.text(page.find(string="Messages envoyés").find_parent("table"))
    # What each message is for, in French (backoffice.journal_labels.MESSAGE_PURPOSE_LABELS).
    for purpose in ("avis de mot de passe modifié (Mon compte)",
                    "code de changement de numéro", "avis de changement de numéro",
                    "lien de validation de la nouvelle adresse", "avis de changement d'adresse"):
        assert purpose in messages
    flows = page.find(string="Parcours").find_parent("table")
    assert "Changement de numéro de téléphone" in html.text(flows)
    assert "Mon numéro est modifié" in html.text(flows)
    assert NEW_PASSWORD not in page.decode()


@pytest.mark.parametrize("with_child", [True, False])
def test_a_missing_child_gets_one_answer_add_first_then_the_secretariat(
        signed_in, guardian, with_child):
    """« Un enfant manque ? » has one answer, in order: « Ajouter un enfant » (the number the
    school has, the birth date), then, if that fails, the school's secretariat. No sentence
    above it sends the family to the secretariat first."""
    if with_child:
        add_child(guardian, EstablishmentFactory(), "Yasmine", "5EME")
    main = html.text(html.main(html.parse(signed_in.get(CHILDREN))))
    assert main.count("manque") == 1
    answer = main[main.index("Un enfant manque ?"):]
    add_at = answer.index("Utilisez d'abord « Ajouter un enfant »")
    secretariat_at = answer.index("Si l'ajout ne fonctionne pas, contactez le secrétariat")
    assert add_at < secretariat_at
    assert "le numéro de téléphone portable que vous avez donné à son école" in answer
    assert "sa date de naissance" in answer
    # Before the question, the secretariat is named only for an inexact information.
    before = main[:main.index("Un enfant manque ?")]
    assert "secrétariat" not in before or "Une information est inexacte ?" in before
