"""Fixtures of the recovery tests: a guardian with a proven number and a validated address, a
pupil with a validated address, a pupil without, and helpers that walk the flows with
Django's test client (outbox rows sent at each commit, as in production)."""

import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.models import AccountKind
from accounts.recovery.masking import decoy_contacts
from notifications import sms
from tests.factories import AccountFactory

CODE_IN_SMS = re.compile(r"mot de passe est ([A-Z0-9]{6})")
NEW_PASSWORD = "Goyave-Piment-2031!"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
# The seconds left before the code expires (components/code_step.html): two flows started a
# moment apart may read one second apart, whatever they matched.
SECONDS_LEFT = re.compile(r'data-seconds-left="\d+"')
# Masks of the channel page (real or derived), and the masked number of the code page.
PHONE_MASK = re.compile(r"(?:\+\d+[ \u00a0]\d+|0\d)(?:[ \u00a0]••)+[ \u00a0]\d{2}")
EMAIL_MASK = re.compile(r"\w•••@\w•••(?:\.\w+)?")


def normalized(html: str) -> str:
    """A page with what differs by nature between two flows replaced: the flow's id, the
    CSRF token, and the masks (a real one for an account, a derived one otherwise)."""
    html = SECONDS_LEFT.sub("seconds-left", CSRF.sub("csrf", UUID.sub("uuid", html)))
    return EMAIL_MASK.sub("email-mask", PHONE_MASK.sub("phone-mask", html))


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def guardian(db):
    return AccountFactory(
        identifier="s.nguyen21", first_name="Sébastien", last_name="Nguyễn-Lefort",
        phone="+33612345678", phone_verified=True, email="seb.nguyen@orange.fr",
        email_verified=True,
    )


@pytest.fixture
def pupil(db):
    return AccountFactory(identifier="l.nguyen07", kind=AccountKind.PUPIL, first_name="Lina",
                          last_name="Nguyễn-Lefort", email="lina.nguyen@laposte.net",
                          email_verified=True)


@pytest.fixture
def pupil_without_email(db):
    return AccountFactory(identifier="t.nguyen08", kind=AccountKind.PUPIL, first_name="Tom",
                          last_name="Nguyễn-Lefort")


def decoy_identifier(*, with_phone: bool = True, with_email: bool = True,
                     stem: str = "p.personne") -> str:
    """An identifier that is no account's whose decoy (masking.decoy_contacts, under the
    tests' SECRET_KEY) offers exactly these channels on a guardian's page: to compare its
    pages with those of an account that has the same channels."""
    for n in range(10, 10_000):
        decoy = decoy_contacts(f"{stem}{n}")
        if (decoy.with_phone, decoy.with_email) == (with_phone, with_email):
            return f"{stem}{n}"
    raise AssertionError("no such decoy")


class Recovery:
    """Walks « Mot de passe oublié ? » with a test client."""

    def __init__(self, client, capture, profile="representant-legal"):
        self.client = client
        self.capture = capture
        self.profile = profile
        self.flow_id = None

    def _post(self, url, data=None, **kwargs):
        with self.capture(execute=True):
            return self.client.post(url, data or {}, **kwargs)

    def start(self, identifier, **kwargs):
        response = self._post(
            reverse("accounts:password_forgotten") + f"?profil={self.profile}",
            {"identifier": identifier}, **kwargs,
        )
        if response.status_code == 302:
            self.flow_id = UUID.search(response["Location"]).group(0)
        return response

    def url(self, name):
        return reverse(f"accounts:password_recovery_{name}", kwargs={"flow_id": self.flow_id})

    def get(self, name):
        return self.client.get(self.url(name))

    def choose(self, channel, **kwargs):
        return self._post(self.url("channel"), {"channel": channel}, **kwargs)

    def send_code(self, code, **kwargs):
        return self._post(self.url("code"), {"code": code}, **kwargs)

    def new_password(self, password=NEW_PASSWORD, confirmation=None, **kwargs):
        return self._post(self.url("password"), {
            "password": password,
            "password_confirm": password if confirmation is None else confirmation,
        }, **kwargs)

    def page(self, response) -> str:
        assert response.status_code == 302, response.status_code
        return unescape(self.client.get(response["Location"], follow=True).content.decode())


def last_code() -> str:
    assert sms.outbox, "no SMS was sent"
    return CODE_IN_SMS.search(sms.outbox[-1].body).group(1)


@pytest.fixture
def recovery(client, django_capture_on_commit_callbacks):
    return Recovery(client, django_capture_on_commit_callbacks)
