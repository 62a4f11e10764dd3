"""A birth date the roster import accepts, a secretary can save, and the other way round; a
date one refuses, the other refuses with the same reason (pupils.validators)."""

import datetime
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from pupils.models import Pupil
from pupils.validators import years_before
from tests.backoffice.test_secretary import pupil_form
from tests.pupils.test_roster_import import row, run_import, write_roster

pytestmark = pytest.mark.django_db


def _typed_dates():
    today = timezone.localdate()

    def typed(day: datetime.date) -> str:
        return f"{day:%d/%m/%Y}"

    return [
        ("31/02/2013", False),
        ("2013-04-12", True),  # AAAA-MM-JJ: unambiguous (issue 16 §3)
        ("12-04-2013", False),
        (typed(today + datetime.timedelta(days=1)), False),  # tomorrow
        (typed(today - datetime.timedelta(days=180)), False),  # six months old
        (typed(years_before(today, 101)), False),
        ("1/9/2014", True),
        (typed(years_before(today, 1)), True),  # one year old today
        (typed(years_before(today, 99)), True),  # an adult learner
    ]


@pytest.mark.parametrize(("typed", "accepted"), _typed_dates())
def test_import_and_back_office_accept_and_refuse_the_same_dates(
    tmp_path, secretary_client, world, typed, accepted
):
    # The roster import, for a new pupil of the secretary's school.
    path = write_roster(tmp_path, [row(uai=world.a1.uai, etablissement=world.a1.name,
                                       academie=world.academy_a.name, ine="444444444DD",
                                       eleve_date_naissance=typed)])
    status, output = run_import(path)
    import_reason = next((line.split("colonne eleve_date_naissance: ", 1)[1]
                          for line in output.splitlines()
                          if "colonne eleve_date_naissance" in line), None)

    # The secretary, fixing another pupil of the same school.
    pupil = world.pupil_a1
    response = secretary_client.post(
        reverse("admin:pupils_pupil_change", args=[pupil.pk]),
        pupil_form(pupil, birth_date=typed),
    )
    page = html.unescape(response.content.decode())

    if accepted:
        assert status == 0 and import_reason is None
        assert Pupil.objects.filter(ine="444444444DD").exists()
        assert response.status_code == 302
        pupil.refresh_from_db()
        assert pupil.birth_date == Pupil.objects.get(ine="444444444DD").birth_date
    else:
        assert status == 1 and import_reason
        assert not Pupil.objects.filter(ine="444444444DD").exists()
        assert response.status_code == 200
        assert f"Date de naissance : {import_reason}" in page  # the same words
