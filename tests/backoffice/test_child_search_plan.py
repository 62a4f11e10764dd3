"""The helpdesk's search of a child's name (backoffice.selectors.pupils_search) reads the
agent's academy's pupils only, never the country's 10 million: as the guardian records'
search does (issue 14, test_search_plan.py), with the pupil's own academy column and its
indexes (pupils 0017).

Two academies share a common name: Créteil has 150 « Moreau » among 15,000 pupils (1 %),
Lyon 2,500 among 4,000 (and 1,500 « Ly », against Créteil's few hundred, for the short
name matched whole). Each query of the search for Créteil's agent is run under EXPLAIN
(ANALYZE, FORMAT JSON) on PostgreSQL, statistics fresh and sequential scans off (as at
national scale), and every node that reads pupils (a scan of the table or of one of its
indexes) must have examined no more rows than Créteil holds of the name (rows returned,
and rows removed by a filter or a recheck). A trigram index on the name alone hands over
Lyon's 2,500 Moreau too, and a join on Créteil's establishments walks its 15,000 pupils:
either fails here (checked: with the academy's condition written as a join on the
establishments, every case fails).

The exact part (the whole last name typed) must read no more than the list's limit, in
the list's order, without a sort: 51 of Créteil's 150 Moreau.
"""

import datetime

import pytest
from django.db import connection

from backoffice.selectors import (
    StaffScope,
    exact_name_pupils,
    partial_name_pupils,
    pupils_search,
)
from backoffice.selectors import search_query_parse as parse
from core.normalization import name_key
from pupils.models import Pupil
from tests.backoffice.plans import all_nodes, explain
from tests.factories import AcademyFactory, EstablishmentFactory

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]

OTHER_NAMES = ["Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
               "Martin", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Ly"]
FIRST_NAMES = ["Lucas", "Léa", "Hugo", "Chloé", "Nathan", "Inès", "Karim", "Zoé"]


def _pupils(establishments, *, start: int, moreaus: int, others: int,
            other_names=OTHER_NAMES) -> list[Pupil]:
    names = ["Moreau"] * moreaus + [other_names[i % len(other_names)] for i in range(others)]
    return [
        Pupil(establishment=establishments[i % len(establishments)],
              ine=f"{start + i:09d}0A", last_name=last,
              first_names=FIRST_NAMES[i % len(FIRST_NAMES)],
              birth_date=datetime.date(2012, 1 + i % 12, 1 + i % 28), level="5EME")
        for i, last in enumerate(names)
    ]


@pytest.fixture
def two_academies(db):
    creteil, lyon = AcademyFactory(name="Créteil"), AcademyFactory(name="Lyon")
    schools = {academy: [EstablishmentFactory(academy=academy) for _ in range(6)]
               for academy in (creteil, lyon)}
    # bulk_create skips save(): the academy column is the database trigger's work here.
    Pupil.objects.bulk_create(
        _pupils(schools[creteil], start=100_000_000, moreaus=150, others=14850)
        + _pupils(schools[lyon], start=200_000_000, moreaus=2500, others=1500,
                  other_names=["Ly"]),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        # What autovacuum does after a roster import: the GIN indexes' pending lists merged.
        cursor.execute("SELECT gin_clean_pending_list('pupil_academy_name_trgm')")
        cursor.execute("ANALYZE pupils_pupil")
        cursor.execute("ANALYZE pupils_establishment")
    return creteil, lyon


def scan_nodes(queryset) -> list[dict]:
    """The plan's nodes that read pupils, each with the rows it examined."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexrelid::regclass::text FROM pg_index "
                       "WHERE indrelid = 'pupils_pupil'::regclass")
        indexes = {name for (name,) in cursor.fetchall()}
    return [
        {"type": node["Node Type"], "index": node.get("Index Name"),
         "examined": (node["Actual Rows"] * node["Actual Loops"]
                      + node.get("Rows Removed by Filter", 0)
                      + node.get("Rows Removed by Index Recheck", 0))}
        for node in all_nodes(explain(queryset, sequential_scans=False))
        if node.get("Relation Name") == "pupils_pupil" or node.get("Index Name") in indexes
    ]


@pytest.mark.parametrize(("typed", "listed"),
                         [("moreau", 51), ("MOREAU Lucas", 19), ("morea", 51)])
def test_a_common_name_is_read_in_the_agents_academy_only(two_academies, typed, listed):
    creteil, lyon = two_academies
    query = parse(typed)
    scope = StaffScope(academy_id=creteil.pk)
    in_creteil = Pupil.objects.filter(establishment__academy=creteil,
                                      last_name="Moreau").count()
    in_lyon = Pupil.objects.filter(establishment__academy=lyon, last_name="Moreau").count()
    assert (in_creteil, in_lyon) == (150, 2500)

    nodes = (scan_nodes(exact_name_pupils(query=query, scope=scope, limit=51))
             + scan_nodes(partial_name_pupils(query=query, scope=scope, limit=51)))

    assert nodes, "the plan reads no pupil?"
    assert max(node["examined"] for node in nodes) <= in_creteil, nodes
    assert any(node["index"] == "pupil_academy_name_trgm" for node in nodes), nodes
    # And the agent gets Créteil's pupils (19 Lucas of its 150 Moreau), none of Lyon's.
    found = pupils_search(query=query, scope=scope, limit=51)
    assert len(found) == listed
    assert {pupil.establishment.academy_id for pupil in found} == {creteil.pk}
    assert {name_key(pupil.last_name) for pupil in found} == {"moreau"}


def test_a_short_name_is_read_in_the_agents_academy_only(two_academies):
    creteil, _ = two_academies
    scope = StaffScope(academy_id=creteil.pk)
    in_creteil = Pupil.objects.filter(academy=creteil, last_name="Ly").count()

    nodes = scan_nodes(exact_name_pupils(query=parse("Ly"), scope=scope, limit=51))

    assert nodes and max(node["examined"] for node in nodes) <= in_creteil, nodes


@pytest.mark.parametrize("typed", ["moreau", "MOREAU", "Ly"])
def test_the_exact_name_is_read_in_order_up_to_the_limit(two_academies, typed):
    """The academy's Moreau are not all fetched and sorted for the first 51: the ordered
    index pupil_academy_exact_idx hands them over in the list's order."""
    creteil, _ = two_academies
    query = parse(typed)
    scope = StaffScope(academy_id=creteil.pk)
    of_the_name = [pupil for pupil in Pupil.objects.filter(academy=creteil)
                   if name_key(pupil.last_name) == query.value]
    assert len(of_the_name) > 51 + 50

    exact = exact_name_pupils(query=query, scope=scope, limit=51)
    nodes = scan_nodes(exact)

    assert nodes and max(node["examined"] for node in nodes) <= 51, nodes
    assert any(node["index"] == "pupil_academy_exact_idx" for node in nodes), nodes
    assert not any(node["Node Type"] in ("Sort", "Incremental Sort")
                   for node in all_nodes(explain(exact, sequential_scans=False)))
    # And the list the agent reads is that: the first 51 of the name by name, nothing else.
    expected = sorted(of_the_name,
                      key=lambda p: (p.last_name.lower(), p.first_names.lower(), p.pk))[:51]
    assert pupils_search(query=query, scope=scope, limit=51) == expected
