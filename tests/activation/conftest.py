"""Fixtures of the activation tests: a family known to two schools, and a driver that walks
the flow through Django's test client with the SMS outbox sent after each commit."""

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse

from notifications import sms
from tests.factories import (
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")
PUPIL_TITLE = re.compile(r'id="(eleve\d+)-title">([^<]+)</h3>')
STRONG_PASSWORD = "Cartable-Vert-2024!"


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def family(db):
    """Nadia Ben Saïd, mobile +262 692 12 34 56 (La Réunion), known to two schools: Inès at
    the école Les Alizés, Yanis at the collège Leconte-de-Lisle."""
    school = EstablishmentFactory(uai="9740001A", name="École élémentaire Les Alizés",
                                  kind="ecole")
    college = EstablishmentFactory(uai="9740002B", name="Collège Leconte-de-Lisle")
    record_school = GuardianRecordFactory(
        establishment=school, last_name="BEN SAÏD", first_name="Nadia",
        mobile_phone="+262692123456",
    )
    record_college = GuardianRecordFactory(
        establishment=college, last_name="Ben Said", first_name="NADIA",
        mobile_phone="+262692123456",
    )
    ines = PupilFactory(establishment=school, first_names="Inès Marie", last_name="BEN SAÏD",
                        birth_date=datetime.date(2016, 3, 9))
    yanis = PupilFactory(establishment=college, first_names="Yanis", last_name="BEN SAÏD",
                         birth_date=datetime.date(2012, 11, 23))
    ResponsibilityFactory(guardian_record=record_school, pupil=ines)
    ResponsibilityFactory(guardian_record=record_college, pupil=yanis)
    return {
        "records": [record_school, record_college],
        "pupils": [ines, yanis],
        "last_name": "Ben Saïd",
        "first_name": "Nadia",
        "phone_typed": "0692 12 34 56",
        "phone": "+262692123456",
    }


class Driver:
    """Walks the activation with a test client; SMS are sent at each commit (as in production,
    after the transaction) into notifications.sms.outbox."""

    def __init__(self, client, capture):
        self.client = client
        self.capture = capture
        self.flow_url = None

    def _post(self, url, data, **kwargs):
        with self.capture(execute=True):
            return self.client.post(url, data, **kwargs)

    def start(self, *, last_name, first_name, phone, **kwargs):
        response = self._post(reverse("activation:start"),
                              {"last_name": last_name, "first_name": first_name, "phone": phone},
                              **kwargs)
        if response.status_code == 302:
            self.flow_url = response["Location"]
            self.flow_id = self.flow_url.rstrip("/").split("/")[-2]
        return response

    def url(self, name):
        return reverse(f"activation:{name}", kwargs={"flow_id": self.flow_id})

    def page_text(self, response) -> str:
        """A response's page, as text."""
        return unescape(response.content.decode())

    def page(self, response) -> str:
        """The page a flow's POST leads to, as text: every POST after step 1 answers with a
        redirect (a refused one too, its errors shown by the next GET)."""
        assert response.status_code == 302, response.status_code
        return unescape(self.client.get(response["Location"]).content.decode())

    def last_code(self):
        assert sms.outbox, "no SMS was sent"
        return CODE_IN_SMS.search(sms.outbox[-1].body).group(1)

    def send_code(self, code, **kwargs):
        return self._post(self.url("code"), {"code": code}, **kwargs)

    def resend(self, **kwargs):
        return self._post(self.url("resend"), {}, **kwargs)

    def pupil_prefixes(self):
        """First name -> field prefix ("eleve1"…), as step 3 shows them."""
        response = self.client.get(self.url("pupils"))
        if response.status_code != 200:  # not at step 3: post blind, the view redirects
            return {}
        return {name: prefix for prefix, name in PUPIL_TITLE.findall(response.content.decode())}

    def confirm_pupils(self, answers, **kwargs):
        """answers: {pupil: ("oui", birth date) or ("non", None)}; absent pupils unanswered."""
        data = {}
        prefixes = self.pupil_prefixes()
        for index, (pupil, (choice, birth_date)) in enumerate(answers.items(), start=1):
            prefix = prefixes.get(pupil.first_name, f"eleve{index}")
            data[f"{prefix}_lien"] = choice
            if birth_date is not None:
                data[f"{prefix}_jour"] = f"{birth_date.day:02d}"
                data[f"{prefix}_mois"] = f"{birth_date.month:02d}"
                data[f"{prefix}_annee"] = str(birth_date.year)
        return self._post(self.url("pupils"), data, **kwargs)

    def choose_password(self, password=STRONG_PASSWORD, confirmation=None, **kwargs):
        return self._post(self.url("password"), {
            "password": password,
            "password_confirm": password if confirmation is None else confirmation,
        }, **kwargs)


@pytest.fixture
def driver(client, django_capture_on_commit_callbacks):
    return Driver(client, django_capture_on_commit_callbacks)

