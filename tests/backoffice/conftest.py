"""Fixtures of the back-office tests: two academies, three schools, their families, and
staff users of each role signed in with their second factor."""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import SIGNED_IN_AT
from accounts.models import AccountState, StaffRole
from backoffice.roles import roles_sync
from backoffice.services import staff_create
from tests.factories import (
    AcademyFactory,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

STAFF_PASSWORD = "Rentree-Scolaire-2026!"


def make_staff(role, *, establishments=(), academy=None, last_name="Martin", enrolled=True):
    account = staff_create(
        first_name="Anne", last_name=last_name, email=f"{last_name.lower()}@ac-test.fr",
        password=STAFF_PASSWORD, role=role, establishments=establishments, academy=academy,
    )
    if enrolled:
        TOTPDevice.objects.create(user=account, name="Application", confirmed=True)
    return account


def sign_in(client, account):
    """What a successful password + TOTP sign-in leaves in the session."""
    import time

    device = TOTPDevice.objects.filter(user=account, confirmed=True).first()
    client.force_login(account, backend="accounts.backends.IdentifierBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[SIGNED_IN_AT] = time.time()
    session.save()
    assert session[SESSION_KEY] and session[BACKEND_SESSION_KEY] and session[HASH_SESSION_KEY]
    return client


@pytest.fixture
def world(db):
    """Academy A (Créteil): collège Jules-Ferry (A1) and école Les Lilas (A2).
    Academy B (Lyon): lycée Ampère (B1). One family per school; the A1 family has an account.
    """
    academy_a = AcademyFactory(name="Créteil")
    academy_b = AcademyFactory(name="Lyon")
    a1 = EstablishmentFactory(uai="0940001A", name="Collège Jules-Ferry", academy=academy_a)
    a2 = EstablishmentFactory(uai="0940002B", name="École Les Lilas", academy=academy_a,
                              kind="ecole")
    b1 = EstablishmentFactory(uai="0690001C", name="Lycée Ampère", academy=academy_b,
                              kind="lycee")
    account_a1 = AccountFactory(identifier="h.lefevre12", first_name="Hélène",
                                last_name="Lefèvre", phone="+33611223344")
    account_b1 = AccountFactory(identifier="m.lefevre40", first_name="Marc",
                                last_name="Lefèvre")
    rec_a1 = GuardianRecordFactory(establishment=a1, last_name="Lefèvre", first_name="Hélène",
                                   mobile_phone="+33611223344", email="Helene.Lefevre@exemple.fr",
                                   account=account_a1)
    rec_a2 = GuardianRecordFactory(establishment=a2, last_name="Nguyễn", first_name="Thị",
                                   mobile_phone="+33622334455")
    rec_b1 = GuardianRecordFactory(establishment=b1, last_name="Lefèvre", first_name="Marc",
                                   mobile_phone="+33633445566", account=account_b1)
    pupil_a1 = PupilFactory(establishment=a1, ine="111111111AA", last_name="Lefèvre",
                            first_names="Zoé", birth_date=datetime.date(2013, 4, 2))
    pupil_a1_bis = PupilFactory(establishment=a1, ine="111111112AA", last_name="Martin",
                                first_names="Noé")
    pupil_a2 = PupilFactory(establishment=a2, ine="222222222BB", last_name="Nguyễn",
                            first_names="Lan")
    pupil_b1 = PupilFactory(establishment=b1, ine="333333333CC", last_name="Lefèvre",
                            first_names="Jules")
    link_a1 = ResponsibilityFactory(guardian_record=rec_a1, pupil=pupil_a1)
    link_a2 = ResponsibilityFactory(guardian_record=rec_a2, pupil=pupil_a2, status="disputed")
    link_b1 = ResponsibilityFactory(guardian_record=rec_b1, pupil=pupil_b1, status="disputed")
    return SimpleNamespace(**locals())


@pytest.fixture
def secretary(world):
    return make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Secretaire")


@pytest.fixture
def helpdesk_agent(world):
    return make_staff(StaffRole.HELPDESK, academy=world.academy_a, last_name="Assistance")


@pytest.fixture
def national_admin(world):
    return make_staff(StaffRole.NATIONAL, last_name="National")


@pytest.fixture
def secretary_client(client, secretary):
    return sign_in(client, secretary)


@pytest.fixture
def helpdesk_client(client, helpdesk_agent):
    return sign_in(client, helpdesk_agent)


@pytest.fixture
def national_client(client, national_admin):
    return sign_in(client, national_admin)


@pytest.fixture
def locked_account(world):
    world.account_a1.state = AccountState.LOCKED
    world.account_a1.save(update_fields=["state"])
    return world.account_a1


@pytest.fixture
def letters_here(db, settings, tmp_path):
    """The back-office's roles synced, and school letters written under this test's own
    folder and run by the test itself (LETTERS_RUN_ON_COMMIT off: a test calls the run)."""
    roles_sync()
    settings.LETTERS_DIR = tmp_path / "letters"
    settings.LETTERS_RUN_ON_COMMIT = False
