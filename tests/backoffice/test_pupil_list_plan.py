"""The pupil list of an academy's agent and of a national administrator, in French name order
(pupils.selectors.PUPIL_NAME_ORDER), reads its first page by walking an index under the
collation, never by sorting the academy's or the country's pupils.

40,000 pupils in 40 schools of 4 academies (10,000 an academy), loaded in one INSERT … SELECT
over generate_series, with accented and particled names, then ANALYZEd. The first page's own
query (the changelist's, LIMIT 51) is run under EXPLAIN (ANALYZE, FORMAT JSON), with the
planner's own settings: the plan must have no Sort node, must read the pupils through
pupil_name_fr_idx, and the node that reads them must have examined a few pages' worth of rows,
not the academy's 10,000 or the table's 40,000 (at 1,000,000 pupils: bench/README.md,
« Back-office »). Checked: with the byte-order index of pupils 0002 in its place, both lists
sort the table (a Seq Scan, then a top-N heapsort of 40,000 rows).

A secretary's few schools go the other way: their rows are sorted, and the national index is
not walked for them (checked: under PUPIL_NAME_ORDER it is, reading 16,400 rows for her 2,000).
"""

import json

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import StaffRole
from tests.backoffice.conftest import make_staff, sign_in
from tests.backoffice.plans import all_nodes, explain
from tests.factories import AcademyFactory, EstablishmentFactory

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

ACADEMIES = 4
SCHOOLS_PER_ACADEMY = 10
PUPILS = 40_000
SURNAMES = ["Martin", "Éluard", "de La Fontaine", "Zola", "O'Connor", "Lefèvre", "Émond",
            "Dubois", "Nguyễn", "Ødegaard", "Le Goff", "Bénard", "Ba", "Müller", "Œuvrard"]
# The pupil of row i is SURNAMES[-i mod 15], FIRST_NAMES[-i mod 9]: the Ba (the first name
# in both orders) are Émile, Léa and Noé.
FIRST_NAMES = ["Émile", "Enzo", "Zoé", "Léa", "Anaïs", "Hugo", "Noé", "Chloé", "Jade"]


@pytest.fixture
def country(db):
    academies = [AcademyFactory(name=f"Académie {n}") for n in range(ACADEMIES)]
    schools = [EstablishmentFactory(academy=academy)
               for academy in academies for _ in range(SCHOOLS_PER_ACADEMY)]
    school_ids = [school.pk for school in schools]
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO pupils_pupil (ine, last_name, first_names, birth_date, level,
                   division, establishment_id, national_id, academy_code)
               SELECT lpad(i::text, 9, '0') || '0A', (%s::text[])[1 + (i * 7919) %% %s],
                      (%s::text[])[1 + (i * 17) %% %s], date '2010-01-01' + (i %% 3000),
                      '6EME', '', (%s::bigint[])[1 + i %% %s], '', ''
               FROM generate_series(1, %s) i""",
            [SURNAMES, len(SURNAMES), FIRST_NAMES, len(FIRST_NAMES), school_ids,
             len(school_ids), PUPILS],
        )
        cursor.execute("ANALYZE pupils_pupil")
        cursor.execute("ANALYZE pupils_establishment")
    return academies


def first_page(client):
    """The changelist's first page: (the queryset it listed, the pupils as listed)."""
    response = client.get(reverse("admin:pupils_pupil_changelist"))
    assert response.status_code == 200
    page = response.context["cl"].result_list
    return page, list(page)


def pupil_reads(plan: dict) -> list[dict]:
    """The nodes that read pupils, each with its index and the rows it examined."""
    return [
        {"type": node["Node Type"], "index": node.get("Index Name"),
         "examined": (node["Actual Rows"] * node["Actual Loops"]
                      + node.get("Rows Removed by Filter", 0))}
        for node in all_nodes(plan) if node.get("Relation Name") == "pupils_pupil"
    ]


def assert_walks_the_index(queryset, *, at_most: int) -> None:
    """No sort in the plan; the pupils read through pupil_name_fr_idx, `at_most` rows."""
    plan = explain(queryset)
    sorts = [node["Node Type"] for node in all_nodes(plan) if "Sort" in node["Node Type"]]
    reads = pupil_reads(plan)
    assert not sorts, json.dumps(plan, indent=1)
    assert [read["index"] for read in reads] == ["pupil_name_fr_idx"], reads
    assert reads[0]["examined"] <= at_most, reads


def in_read_order(pupils) -> bool:
    """The first page of these names: « Ba Émile » (Ba among the B, before Bénard; Émile
    among the E, before Léa and Noé, the other first names of the Ba here — byte order
    would put Émile after them), by id."""
    ids = [p.pk for p in pupils]
    return {(p.last_name, p.first_names) for p in pupils} == {("Ba", "Émile")} and (
        ids == sorted(ids))


def test_the_national_first_page_walks_the_french_name_index(client, country):
    page, pupils = first_page(sign_in(client, make_staff(StaffRole.NATIONAL)))

    # 51 rows at most (the page and one to tell whether there is more), nothing else read.
    assert_walks_the_index(page, at_most=51)
    assert len(pupils) == 50 and in_read_order(pupils)


def test_an_academys_first_page_walks_it_too_skipping_other_academies(client, country):
    academy = country[0]
    agent = make_staff(StaffRole.HELPDESK, academy=academy)
    page, pupils = first_page(sign_in(client, agent))

    # One academy in four: about four rows walked a row listed, never its 10,000 sorted.
    assert_walks_the_index(page, at_most=51 * ACADEMIES * 2)
    assert len(pupils) == 50 and in_read_order(pupils)
    assert {pupil.establishment.academy_id for pupil in pupils} == {academy.pk}


def test_a_secretarys_schools_are_sorted_not_found_by_walking_the_country(client, country):
    """Her two schools (2,000 pupils of 40,000): their rows, found by their index and sorted,
    not the national index walked for them, which would read the other schools' pupils until
    51 of hers come (at 1,000,000 pupils, 74,000 rows and 46 ms; bench/README.md)."""
    from pupils.models import Establishment, Pupil
    from pupils.selectors import PUPIL_NAME_ORDER

    schools = list(Establishment.objects.filter(academy=country[0]).order_by("pk")[:2])
    hers = Pupil.objects.filter(establishment__in=schools).count()
    secretary = make_staff(StaffRole.SECRETARY, establishments=schools)
    page, pupils = first_page(sign_in(client, secretary))

    reads = pupil_reads(explain(page))
    assert reads and all(read["index"] != "pupil_name_fr_idx" for read in reads), reads
    assert max(read["examined"] for read in reads) <= hers, reads
    # The same order as the indexed one (her schools have no Ba: Le Goff comes first).
    assert pupils == list(Pupil.objects.filter(establishment__in=schools)
                          .order_by(*PUPIL_NAME_ORDER)[:50])
