"""Names sort as a secretary reads them, case and accents aside: « DE LA FONTAINE » (stored
« de La Fontaine ») among the D, « ÉLUARD » among the E, not after « O'CONNOR » and « ZOLA »
as bytes would sort them — in « Fiches responsables », « Élèves », « Suivi des comptes » and
the letters page."""

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
