"""Names sort as a secretary reads them, case and accents aside: « DE LA FONTAINE » (stored
« de La Fontaine ») among the D, « ÉLUARD » among the E, not after « O'CONNOR » and « ZOLA »
as bytes would sort them — in « Fiches responsables », « Élèves », « Suivi des comptes » and
the letters page; and in every staff user's « Élèves », an academy's and the country's too
(their first page walks an index under the collation: test_pupil_list_plan.py). On SQLite
(the demo) the same order through educonnect_name_key()."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from pupils import letters
from pupils.selectors import follow_up_guardians, follow_up_pupils
from tests.factories import GuardianRecordFactory, PupilFactory, ResponsibilityFactory

pytestmark = pytest.mark.django_db

NAMES = ["Zola", "O'Connor", "de La Fontaine", "Éluard"]  # stored as schools type them
READ_ORDER = ["DE LA FONTAINE", "ÉLUARD", "O'CONNOR", "ZOLA"]


@pytest.fixture
def families(world):
    school = world.a1
    made = []
    for number, name in enumerate(NAMES):
        pupil = PupilFactory(establishment=school, ine=f"55555555{number}AA", last_name=name,
                             first_names="Camille", level="4EME")
        record = GuardianRecordFactory(establishment=school, last_name=name,
                                       first_name="Alex")
        ResponsibilityFactory(guardian_record=record, pupil=pupil)
        made.append((pupil, record))
    return made


def _upper(names):
    return [name.upper() for name in names]


def test_guardian_records_list(secretary_client, families):
    response = secretary_client.get(reverse("admin:pupils_guardianrecord_changelist"))
    names = [r.last_name.upper() for r in response.context["cl"].result_list
             if r.first_name == "Alex"]
    assert names == READ_ORDER


def test_pupils_list_of_a_secretary(secretary_client, families):
    response = secretary_client.get(reverse("admin:pupils_pupil_changelist"))
    names = [p.last_name.upper() for p in response.context["cl"].result_list
             if p.first_names == "Camille"]
    assert names == READ_ORDER


@pytest.fixture
def aubert_children(world):
    """Three pupils of another school of the academy (A2): « Émile » reads among the E."""
    return [PupilFactory(establishment=world.a2, ine=f"66666666{n}BB", last_name="Aubert",
                         first_names=first) for n, first in enumerate(["Zoé", "Émile", "Enzo"])]


# The whole list of each, as read: world's pupils (tests/backoffice/conftest.py), `families`
# in A1 and `aubert_children` in A2 (Créteil); Lyon's « Lefèvre Jules » for the country only.
ACADEMY_READ_ORDER = [
    ("AUBERT", "Émile"), ("AUBERT", "Enzo"), ("AUBERT", "Zoé"), ("DE LA FONTAINE", "Camille"),
    ("ÉLUARD", "Camille"), ("LEFÈVRE", "Zoé"), ("MARTIN", "Noé"), ("NGUYỄN", "Lan"),
    ("O'CONNOR", "Camille"), ("ZOLA", "Camille"),
]
NATIONAL_READ_ORDER = [*ACADEMY_READ_ORDER[:5], ("LEFÈVRE", "Jules"), *ACADEMY_READ_ORDER[5:]]


@pytest.mark.parametrize(("who", "expected"), [("helpdesk_client", ACADEMY_READ_ORDER),
                                                ("national_client", NATIONAL_READ_ORDER)])
def test_pupils_list_of_an_academy_and_of_the_country(request, families, aubert_children,
                                                      who, expected):
    client = request.getfixturevalue(who)
    response = client.get(reverse("admin:pupils_pupil_changelist"))
    listed = [(p.last_name.upper(), p.first_names) for p in response.context["cl"].result_list]
    assert listed == expected
    # And as the page shows them (the « nom » column upper-cased).
    text = BeautifulSoup(response.content.decode(), "html.parser").get_text(" ")
    positions = [text.index(f"{last} ") for last, _first in expected[2:]]
    assert positions == sorted(positions)


def test_follow_up_and_letters_pages(secretary_client, world, families):
    assert _upper(p.last_name for p in follow_up_pupils(establishment=world.a1,
                                                           level="4EME")) == READ_ORDER
    assert _upper(r.last_name for r in follow_up_guardians(establishment=world.a1,
                                                              level="4EME")) == READ_ORDER
    page = secretary_client.get("/gestion/suivi-des-comptes/", {"qui": "responsables",
                                                                 "niveau": "4EME"})
    text = BeautifulSoup(page.content.decode(), "html.parser").get_text(" ")
    positions = [text.index(f"{name} Alex") for name in READ_ORDER]
    assert positions == sorted(positions)
    page = secretary_client.get("/gestion/lettres/", {"niveau": "4EME"})
    text = BeautifulSoup(page.content.decode(), "html.parser").get_text(" ")
    positions = [text.index(f"{name} Camille") for name in READ_ORDER]
    assert positions == sorted(positions)


def test_letters_come_out_in_the_same_order(world, families):
    found = letters.letter_addressees(
        establishment=world.a1, pupil_ids=[pupil.pk for pupil, _record in families])
    by_pk = {pupil.pk: pupil.last_name.upper() for pupil, _record in families}
    assert [by_pk[pk] for pk in found.pupil_ids] == READ_ORDER
    records = {record.pk: record.last_name.upper() for _pupil, record in families}
    assert [records[pk] for pk in found.guardian_record_ids] == READ_ORDER


SQLITE_ORDER = r'''
import json
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from pupils.models import Academy, Establishment, Pupil
from pupils.selectors import PUPIL_NAME_ORDER, PUPIL_SCHOOLS_NAME_ORDER

call_command("migrate", verbosity=0)
school = Establishment.objects.create(uai="0940001A", name="Collège", kind="college",
                                      academy=Academy.objects.create(name="Créteil"))
for n, (last, first) in enumerate([("Zola", "Camille"), ("O'Connor", "Camille"),
                                   ("de La Fontaine", "Camille"), ("Éluard", "Camille"),
                                   ("Aubert", "Zoé"), ("Aubert", "Émile"), ("Aubert", "Enzo")]):
    Pupil.objects.create(ine=f"55555555{n}AA", last_name=last, first_names=first,
                         birth_date="2012-01-01", establishment=school)
for ordering in (PUPIL_NAME_ORDER, PUPIL_SCHOOLS_NAME_ORDER):
    print(json.dumps([f"{p.last_name} {p.first_names}" for p in Pupil.objects.order_by(*ordering)]))
with connection.cursor() as cursor:
    cursor.execute("SELECT sql FROM sqlite_master WHERE name LIKE 'pupil%name_fr_idx'")
    print(json.dumps(sorted(sql for (sql,) in cursor.fetchall())))
'''


def test_the_demo_on_sqlite_migrates_and_sorts_by_name_key(tmp_path):
    """SQLite (the demo) has no ICU collation: pupils 0014 gives it indexes on the bare
    columns, and the lists sort by educonnect_name_key() (pupils.apps registers it)."""
    import json

    from tests.sqlite import django_on_sqlite

    done = django_on_sqlite(SQLITE_ORDER, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    *orders, indexes = done.stdout.strip().splitlines()[-3:]
    expected = ["Aubert Émile", "Aubert Enzo", "Aubert Zoé", "de La Fontaine Camille",
                "Éluard Camille", "O'Connor Camille", "Zola Camille"]
    assert [json.loads(order) for order in orders] == [expected, expected]
    indexes = json.loads(indexes)
    assert len(indexes) == 2 and not any("COLLATE" in sql for sql in indexes), indexes
