"""The time written in a security notice is the time its reader lives in: an SMS to a French
overseas number states that territory's time and names it (a family in Réunion read
« 04:27 » for a change made at 07:27 their time); a metropolitan SMS keeps Paris time. An
e-mail to an account states the time its SMS would (its validated mobile's territory, else
Paris) and always names it: one family never reads « 10:53, heure de La Réunion » in the SMS
and « 07:53, heure de Paris » in the e-mail about the same change."""

import pytest
from django.core import mail
from django.utils.dateparse import parse_datetime
from freezegun import freeze_time

from core.moments import moment_for_email, moment_for_recipient
from notifications import sms

from .conftest import sign_in
from .test_password_change import change

pytestmark = pytest.mark.django_db

# 03:27 UTC on 1 December 2026: 04:27 in Paris, 07:27 in Réunion.
MOMENT = "2026-12-01 03:27:00+00:00"


@pytest.mark.parametrize(("phone", "date", "time"), [
    ("+262692123456", "01/12/2026", "07:27, heure de La Réunion"),
    ("+262639012345", "01/12/2026", "06:27, heure de Mayotte"),
    ("+590690123456", "30/11/2026", "23:27, heure de la Guadeloupe"),
    ("+594694123456", "01/12/2026", "00:27, heure de la Guyane"),
    ("+596696123456", "30/11/2026", "23:27, heure de la Martinique"),
    ("+508551234", "01/12/2026", "00:27, heure de Saint-Pierre-et-Miquelon"),
    ("+687751234", "01/12/2026", "14:27, heure de la Nouvelle-Calédonie"),
    ("+68987123456", "30/11/2026", "17:27, heure de Tahiti"),
    ("+681821234", "01/12/2026", "15:27, heure de Wallis-et-Futuna"),
    ("+33612345678", "01/12/2026", "04:27"),
])
def test_an_sms_states_the_time_of_the_number_s_territory(phone, date, time):
    # The day is the territory's too: still 30 November in Guadeloupe at 23:27.
    assert moment_for_recipient(parse_datetime(MOMENT), phone=phone) == {
        "date": date, "time": time}


def test_an_email_states_paris_time_and_says_so():
    assert moment_for_recipient(parse_datetime(MOMENT)) == {
        "date": "01/12/2026", "time": "04:27, heure de Paris"}


@pytest.mark.parametrize(("phone", "time"), [
    ("+262692123456", "07:27, heure de La Réunion"),
    ("+33612345678", "04:27, heure de Paris"),
    (None, "04:27, heure de Paris"),
])
def test_an_email_states_the_time_of_the_account_s_sms_and_names_it(phone, time):
    assert moment_for_email(parse_datetime(MOMENT), phone=phone) == {
        "date": "01/12/2026", "time": time}


@freeze_time(MOMENT)
def test_a_reunion_family_reads_its_own_time_in_the_password_notice(client, guardian,
                                                                     commit):
    guardian.phone = "+262692123456"
    guardian.save(update_fields=["phone"])
    mail.outbox.clear()
    change(sign_in(client), commit)
    [notice] = sms.outbox
    assert notice.to == "+262692123456"
    assert "a été modifié le 01/12/2026 à 07:27, heure de La Réunion. Si vous" in notice.body
    # The e-mail about the same change states the same time, named the same way.
    [email] = [m for m in mail.outbox if m.to == ["amina.benali@example.org"]]
    assert "le 01/12/2026 à 07:27, heure de La Réunion." in " ".join(email.body.split())


@freeze_time(MOMENT)
def test_an_unvalidated_reunion_number_leaves_the_email_in_paris_time(client, guardian,
                                                                       commit):
    guardian.phone, guardian.phone_verified = "+262692123456", False
    guardian.save(update_fields=["phone", "phone_verified"])
    mail.outbox.clear()
    change(sign_in(client), commit)
    [email] = [m for m in mail.outbox if m.to == ["amina.benali@example.org"]]
    assert "le 01/12/2026 à 04:27, heure de Paris." in " ".join(email.body.split())


@freeze_time(MOMENT)
def test_a_metropolitan_family_reads_paris_time_unnamed_in_its_sms(client, guardian, commit):
    change(sign_in(client), commit)
    [notice] = sms.outbox
    assert "a été modifié le 01/12/2026 à 04:27. Si vous" in notice.body
