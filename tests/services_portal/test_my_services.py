"""« Mes services »: the account's children (guardian) or school (pupil), nothing else."""

import re

import pytest
from django.urls import reverse

from accounts.models import AccountKind
from pupils.models import ResponsibilityStatus
from pupils.selectors import pupils_of_guardian_account
from tests import html
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db

URL = "/services/"


def child_names(html: str) -> list[str]:
    return re.findall(r'<h3 class="fr-h4" id="child-\d+">([^<]+)</h3>', html)


@pytest.fixture
def family():
    """Hélène, one account covering her records at two schools, a child at each."""
    account = AccountFactory(identifier="h.duprelagarde12", first_name="Hélène",
                             last_name="Dupré-Lagarde")
    college = EstablishmentFactory(name="Collège Victor-Hugo", uai="0750001A")
    ecole = EstablishmentFactory(name="École élémentaire Jean-Jaurès", uai="0750002B")
    record_college = GuardianRecordFactory(establishment=college, account=account,
                                           first_name="Hélène", last_name="DUPRÉ-LAGARDE")
    record_ecole = GuardianRecordFactory(establishment=ecole, account=account,
                                         first_name="Hélène", last_name="DUPRÉ-LAGARDE")
    lucas = PupilFactory(first_names="Lucas Pierre", last_name="DUPRÉ-LAGARDE",
                         establishment=college, level="3E")
    ines = PupilFactory(first_names="Inès", last_name="DUPRÉ-LAGARDE", establishment=ecole,
                        level="CM1")
    ResponsibilityFactory(guardian_record=record_college, pupil=lucas)
    ResponsibilityFactory(guardian_record=record_ecole, pupil=ines)
    return account, record_college, record_ecole


def test_sign_in_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/?next=/services/"


def test_guardian_sees_children_of_both_schools(client, family):
    account, *_ = family
    client.force_login(account)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Mes services — ÉduConnect</title>" in html
    assert child_names(html) == ["Inès DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"]
    assert "Collège Victor-Hugo" in html and "École élémentaire Jean-Jaurès" in html
    assert "Collège Victor-Hugo — niveau : 3e" in html
    assert "École élémentaire Jean-Jaurès — niveau : CM1" in html
    assert "H.DUPRELAGARDE12" in html


def test_other_families_and_inactive_links_are_not_shown(client, family):
    account, record_college, _ = family
    # Another family at the same school.
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=record_college.establishment,
                                              account=AccountFactory()),
        pupil=PupilFactory(first_names="Zoé", last_name="Voisin",
                           establishment=record_college.establishment),
    )
    # A record of the same school that nobody has claimed, linked to a third child.
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=record_college.establishment),
        pupil=PupilFactory(first_names="Yanis", last_name="Autre",
                           establishment=record_college.establishment),
    )
    # Links the guardian disputed, or the school removed.
    for status, name in [(ResponsibilityStatus.DISPUTED, "Conteste"),
                         (ResponsibilityStatus.REMOVED, "Retire")]:
        ResponsibilityFactory(
            guardian_record=record_college, status=status,
            pupil=PupilFactory(first_names=name, last_name="Lien",
                               establishment=record_college.establishment),
        )
    client.force_login(account)
    names = child_names(client.get(URL).content.decode())
    assert names == ["Inès DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"]


def test_a_link_the_school_turns_to_not_legal_takes_the_child_out_of_every_page(
    client, family
):
    """Only a représentant légal reaches a child (seed 001: « Pour avoir accès aux services
    concernant les élèves […] vous devez confirmer que vous êtes bien représentant(e)
    légal(e) »): when the school says Hélène is no longer Inès's, Inès leaves « Mes
    services » (even the page kept from before) and « Mes enfants »; turned back, she is
    there again."""
    from pupils.models import Responsibility
    from pupils.services import responsibility_update

    account, _record_college, record_ecole = family
    secretary = AccountFactory(kind=AccountKind.STAFF, is_staff=True)
    link = Responsibility.objects.get(guardian_record=record_ecole)
    client.force_login(account)
    assert child_names(client.get(URL).content.decode()) == [
        "Inès DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"]

    responsibility_update(responsibility=link, is_legal_representative=False, actor=secretary)
    assert child_names(client.get(URL).content.decode()) == ["Lucas DUPRÉ-LAGARDE"]
    children_page = client.get(reverse("services_portal:my_children")).content.decode()
    assert "Lucas" in children_page
    assert "Inès" not in children_page

    responsibility_update(responsibility=link, is_legal_representative=True, actor=secretary)
    assert child_names(client.get(URL).content.decode()) == [
        "Inès DUPRÉ-LAGARDE", "Lucas DUPRÉ-LAGARDE"]


def test_a_child_known_by_two_of_the_records_is_listed_once(family):
    account, record_college, record_ecole = family
    lucas = record_college.responsibilities.get().pupil
    ResponsibilityFactory(guardian_record=record_ecole, pupil=lucas)
    assert [p.first_name for p in pupils_of_guardian_account(account)] == ["Inès", "Lucas"]


def test_a_link_disputed_at_one_school_but_active_at_another_still_shows_the_child(family):
    account, record_college, record_ecole = family
    lucas = record_college.responsibilities.get().pupil
    ResponsibilityFactory(guardian_record=record_ecole, pupil=lucas,
                          status=ResponsibilityStatus.DISPUTED)
    assert [p.first_name for p in pupils_of_guardian_account(account)] == ["Inès", "Lucas"]


def test_query_count_does_not_grow_with_the_number_of_children(
    client, family, django_assert_num_queries, django_assert_max_num_queries
):
    account, record_college, record_ecole = family
    client.force_login(account)
    client.get(URL)  # warm-up

    # Session read and renewal (up to 4 with the database store, 1 or 2 with Redis), the
    # account, one query for the children with their schools, then the news, the services
    # of their schools and the schools' messages.
    with django_assert_max_num_queries(9) as two_children:
        assert len(child_names(client.get(URL).content.decode())) == 2
    # One query for the children (through their links), one for the schools of the
    # account's records (the kept page's version names, services_portal.page_cache).
    link_queries = [q for q in two_children.captured_queries
                    if "pupils_responsibility" in q["sql"]]
    assert len(link_queries) == 1

    for n in range(6):
        ResponsibilityFactory(
            guardian_record=record_college if n % 2 else record_ecole,
            pupil=PupilFactory(
                first_names=f"Enfant{n}", last_name="DUPRÉ-LAGARDE",
                establishment=EstablishmentFactory(),  # each in a school of their own
            ),
        )
    with django_assert_num_queries(len(two_children.captured_queries)):
        assert len(child_names(client.get(URL).content.decode())) == 8


def test_guardian_without_children_gets_a_helpful_sentence(client):
    client.force_login(AccountFactory())
    html = client.get(URL).content.decode()
    assert child_names(html) == []
    assert "Aucun enfant n&#x27;est rattaché à votre compte pour le moment" in html or (
        "Aucun enfant n'est rattaché à votre compte pour le moment" in html
    )
    assert "contactez le secrétariat de son école" in html


def test_pupil_sees_their_own_school(client):
    account = AccountFactory(kind=AccountKind.PUPIL, identifier="l.duprelagarde10")
    college = EstablishmentFactory(name="Collège Victor-Hugo")
    PupilFactory(first_names="Lucas", last_name="DUPRÉ-LAGARDE", establishment=college,
                 level="3E", account=account)
    PupilFactory(first_names="Autre", establishment=EstablishmentFactory(name="Lycée Voisin"))
    client.force_login(account)
    html = client.get(URL).content.decode()
    assert "Mon établissement" in html
    assert child_names(html) == ["Lucas DUPRÉ-LAGARDE"]
    assert "Collège Victor-Hugo — niveau : 3e" in html
    assert "Lycée Voisin" not in html
    assert "Mes enfants" not in html


def test_pupil_without_a_pupil_record_gets_a_helpful_sentence(client):
    client.force_login(AccountFactory(kind=AccountKind.PUPIL))
    html = client.get(URL).content.decode()
    assert "Votre compte n&#x27;est rattaché à aucun établissement" in html or (
        "Votre compte n'est rattaché à aucun établissement" in html
    )


def test_staff_are_sent_to_the_back_office(client):
    client.force_login(AccountFactory(kind=AccountKind.STAFF, is_staff=True))
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_the_children_query_in_sql_answers_as_the_orm_query(family):
    """pupils_of_guardian_account is written in SQL (issue 14: the ORM's EXISTS cost more to
    compile than to run); it answers what the ORM query answers: the same pupils, in the
    same order, with their school loaded, whatever the links' statuses and other accounts;
    a child whose link is not of représentant légal is not among them."""
    from django.db.models import Exists, OuterRef

    from pupils.models import Pupil, Responsibility

    account, record_college, _record_ecole = family
    college = record_college.establishment
    removed = PupilFactory(first_names="Zoé", last_name="AUBRY", establishment=college)
    ResponsibilityFactory(guardian_record=record_college, pupil=removed,
                          status=ResponsibilityStatus.REMOVED)
    namesake = PupilFactory(first_names="Adam", last_name="DUPRÉ-LAGARDE", establishment=college)
    ResponsibilityFactory(guardian_record=record_college, pupil=namesake)
    other = GuardianRecordFactory(establishment=college, account=AccountFactory())
    ResponsibilityFactory(guardian_record=other, pupil=PupilFactory(establishment=college))
    ResponsibilityFactory(guardian_record=other, pupil=namesake)
    not_legal = PupilFactory(first_names="Yanis", last_name="AUBRY", establishment=college)
    ResponsibilityFactory(guardian_record=record_college, pupil=not_legal,
                          is_legal_representative=False)

    orm = Pupil.objects.filter(Exists(Responsibility.objects.filter(
        pupil=OuterRef("pk"), guardian_record__account=account,
        status=ResponsibilityStatus.ACTIVE, is_legal_representative=True,
    ))).select_related("establishment").order_by("last_name", "first_names", "pk")
    expected = [(p.pk, p.ine, p.first_names, p.level, p.establishment.name) for p in orm]
    found = pupils_of_guardian_account(account)
    assert [(p.pk, p.ine, p.first_names, p.level, p.establishment.name) for p in found] == (
        expected
    )
    assert [p.first_name for p in found] == ["Adam", "Inès", "Lucas"]
    assert found[0].establishment_id == college.pk
    assert pupils_of_guardian_account(AccountFactory()) == []


def test_the_header_names_each_destination_once(client, family):
    """A tryout on a phone read « Mes services » twice in the menu (the tool links, which
    the DSFR script copies into it, and the navigation), an « Accueil » that led to the
    same page and a « Contact » that left for another site without saying so. The
    navigation now adds only the portal's help page."""
    account, *_ = family
    client.force_login(account)
    page = html.parse(client.get(URL))
    header = page.find("header")
    links = [html.text(a) for a in header.find_all("a")]
    assert links.count("Mes services") == 1
    assert "Accueil" not in links and "Contact" not in links
    navigation = header.find("nav", attrs={"aria-label": "Menu principal"})
    assert [(html.text(a), a["href"]) for a in navigation.find_all("a")] == [
        ("Aide et assistance", reverse("pages:help"))]
