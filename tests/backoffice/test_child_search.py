"""The helpdesk finds a family by the child's name: « Je suis la mère de Lucas Moreau, en 5e
au collège Jean-Moulin », and the agent types « moreau ». The mother is Mme Durand: before,
only records and accounts named Moreau were listed, and she was not found. Now the page has
a section « Élèves de ce nom »: each pupil of the name in the agent's scope, with its
school, class and level, and its guardians (record, account, links to their files); never
a pupil of another academy, and a bounded number of queries whatever the number found."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccountState, StaffRole
from backoffice.selectors import StaffScope, helpdesk_search, pupils_search
from backoffice.selectors import search_query_parse as parse
from tests import html
from tests.backoffice.conftest import make_staff, sign_in
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db
SEARCH = reverse("admin:helpdesk_search")


@pytest.fixture
def moreau(world):
    """Lucas Moreau, 5e B at collège Jean-Moulin (Créteil): his mother Claire Durand has an
    account, his father Paul Moreau has not activated. Another Lucas Moreau in Lyon."""
    school = EstablishmentFactory(uai="0940099Z", name="Collège Jean-Moulin",
                                  academy=world.academy_a)
    lucas = PupilFactory(establishment=school, ine="444444444DD", last_name="Moreau",
                         first_names="Lucas, Pierre", level="5EME", division="5B")
    mother_account = AccountFactory(identifier="c.durand7", first_name="Claire",
                                    last_name="Durand", state=AccountState.ACTIVE)
    mother = GuardianRecordFactory(establishment=school, last_name="Durand",
                                   first_name="Claire", mobile_phone="+33644556677",
                                   account=mother_account)
    father = GuardianRecordFactory(establishment=school, last_name="Moreau", first_name="Paul",
                                   mobile_phone="+33655667788")
    ResponsibilityFactory(guardian_record=mother, pupil=lucas)
    ResponsibilityFactory(guardian_record=father, pupil=lucas)
    lyon_lucas = PupilFactory(establishment=world.b1, ine="555555555EE", last_name="Moreau",
                              first_names="Lucas")
    lyon_mother = GuardianRecordFactory(establishment=world.b1, last_name="Bernard",
                                        first_name="Sophie", mobile_phone="+33666778899")
    ResponsibilityFactory(guardian_record=lyon_mother, pupil=lyon_lucas)
    return locals()


def pupils_table(page):
    return html.parse(page).find(id="pupils-caption").find_parent("table")


@pytest.mark.parametrize("typed", ["moreau", "MOREAU", "Moreau Lucas", "lucas moreau", "morea"])
def test_the_academys_agent_finds_the_mother_with_another_surname(helpdesk_client, moreau,
                                                                  typed):
    response = helpdesk_client.get(SEARCH, {"q": typed})

    assert response.status_code == 200
    page = html.parse(response)
    assert html.text(page.find(id="pupils-heading")) == "Élèves de ce nom"
    table = pupils_table(response)
    rows = table.find("tbody").find_all("tr")
    assert len(rows) == 1, html.text(table)
    cells = [html.text(cell) for cell in rows[0].find_all(["th", "td"])]
    assert cells[0] == "MOREAU Lucas, Pierre"
    assert cells[1] == "Collège Jean-Moulin (0940099Z)"
    assert cells[2] == "classe 5B, 5e"
    # Both guardians, with the links the rest of the page gives: the record's file, and
    # the account's file for the mother who has one.
    links = {html.text(a): a["href"] for a in rows[0].find_all("a")}
    assert links == {
        "DURAND Claire": reverse("admin:helpdesk_record", args=[moreau["mother"].pk]),
        "C.DURAND7": reverse("admin:helpdesk_account", args=[moreau["mother_account"].pk]),
        "MOREAU Paul": reverse("admin:helpdesk_record", args=[moreau["father"].pk]),
    }
    assert "sans compte (activation non faite)" in cells[3]
    # The status says it too.
    assert html.text(page.find("p", attrs={"role": "status"})).endswith(
        "Élèves de ce nom : 1 élève.")


def test_the_mother_was_not_found_by_the_guardians_search_alone(helpdesk_agent, moreau):
    """What the section adds: neither the accounts nor the records list finds her."""
    results = helpdesk_search(query=parse("moreau"), scope=StaffScope(
        academy_id=helpdesk_agent.staff_profile.academy_id))
    assert moreau["mother_account"] not in results.accounts
    assert moreau["mother"] not in results.records
    assert [pupil.pk for pupil in results.pupils] == [moreau["lucas"].pk]


def test_another_academys_agent_does_not_see_the_pupil(client, world, moreau):
    lyon_agent = make_staff(StaffRole.HELPDESK, academy=world.academy_b, last_name="Lyon")
    response = sign_in(client, lyon_agent).get(SEARCH, {"q": "moreau"})

    table = pupils_table(response)
    text = html.text(table)
    assert "Jean-Moulin" not in text and "DURAND" not in text and "C.DURAND7" not in text
    assert "Lycée Ampère" in text and "BERNARD Sophie" in text


def test_a_scope_of_schools_sees_only_their_pupils(world, moreau):
    """A scope of a list of schools (StaffScope.establishment_ids): Lucas is in another
    school than collège Jules-Ferry; with his school, he is found."""
    elsewhere = StaffScope(establishment_ids=frozenset({world.a1.pk}))
    assert pupils_search(query=parse("moreau"), scope=elsewhere, limit=51) == []
    his = StaffScope(establishment_ids=frozenset({moreau["school"].pk}))
    assert pupils_search(query=parse("moreau"), scope=his, limit=51) == [moreau["lucas"]]


def test_a_national_scope_sees_both_academies(moreau):
    found = pupils_search(query=parse("moreau"), scope=StaffScope(everything=True), limit=51)
    assert {pupil.pk for pupil in found} == {moreau["lucas"].pk, moreau["lyon_lucas"].pk}


def test_no_pupil_twice_and_exact_names_first(world):
    """« moreau lucas » matches Lucas Moreau by two readings (« moreau » + « lucas » and the
    whole key): listed once. Exact last names come before names that contain the one typed."""
    school = EstablishmentFactory(academy=world.academy_a)
    longer = PupilFactory(establishment=school, last_name="Moreau-Durand", first_names="Lucas")
    exact = PupilFactory(establishment=school, last_name="Moreau", first_names="Lucas")
    scope = StaffScope(academy_id=world.academy_a.pk)

    assert pupils_search(query=parse("moreau"), scope=scope, limit=51) == [exact, longer]
    assert pupils_search(query=parse("moreau lucas"), scope=scope, limit=51) == [exact, longer]


def test_a_short_name_is_matched_whole(world):
    school = EstablishmentFactory(academy=world.academy_a)
    ly = PupilFactory(establishment=school, last_name="Ly", first_names="Anh")
    PupilFactory(establishment=school, last_name="Lyautey", first_names="Jean")
    found = pupils_search(query=parse("Ly"), scope=StaffScope(academy_id=world.academy_a.pk),
                          limit=51)
    assert found == [ly]


def test_other_shapes_list_no_pupil(helpdesk_client, moreau):
    page = html.parse(helpdesk_client.get(SEARCH, {"q": "06 44 55 66 77"}))
    assert page.find(id="pupils-heading") is None


def test_the_number_of_queries_does_not_grow_with_the_pupils_found(world):
    school = EstablishmentFactory(academy=world.academy_a)

    def family(n):
        pupil = PupilFactory(establishment=school, last_name="Moreau", first_names=f"Enfant{n}")
        for parent in ("Durand", "Moreau"):
            account = AccountFactory(identifier=f"x.{parent.lower()}{n}")
            record = GuardianRecordFactory(establishment=school, last_name=parent,
                                           first_name=f"Parent{n}",
                                           mobile_phone=f"+336{n:08d}", account=account)
            ResponsibilityFactory(guardian_record=record, pupil=pupil)

    scope = StaffScope(academy_id=world.academy_a.pk)
    family(1)
    with CaptureQueriesContext(connection) as one:
        found = pupils_search(query=parse("moreau"), scope=scope, limit=51)
        for pupil in found:
            [(link.guardian_record.establishment.uai, link.guardian_record.account)
             for link in pupil.guardian_links]
    for n in range(2, 12):
        family(n)
    with CaptureQueriesContext(connection) as eleven:
        found = pupils_search(query=parse("moreau"), scope=scope, limit=51)
        for pupil in found:
            assert len(pupil.guardian_links) == 2
            [(link.guardian_record.establishment.uai, link.guardian_record.account,
              pupil.establishment.name) for link in pupil.guardian_links]
    assert len(found) == 11
    assert len(one) == len(eleven) <= 4, [q["sql"] for q in eleven]


def test_the_academy_column_follows_the_pupils_establishment(world):
    pupil = PupilFactory(establishment=world.a1)
    assert pupil.academy_id == world.academy_a.pk
    pupil.establishment = world.b1
    pupil.save(update_fields=["establishment"])
    pupil.refresh_from_db()
    assert pupil.academy_id == world.academy_b.pk


def test_no_pupil_of_the_name_is_said(helpdesk_client, moreau):
    """Lyon's Lucas Moreau is not in Créteil's agent's scope: « moreau » finds Créteil's
    Lucas, « Bernard » (his Lyon mother's name) no pupil, said in words."""
    table = pupils_table(helpdesk_client.get(SEARCH, {"q": "Bernard"}))
    assert html.text(table.find("tbody")) == (
        "Aucun élève de votre périmètre ne correspond à cette recherche.")
