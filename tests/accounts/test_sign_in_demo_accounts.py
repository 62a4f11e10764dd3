"""`manage.py demo_accounts`: the demo accounts sign in, and running it again changes
nothing but what was broken."""

import datetime
from io import StringIO

import pytest
from bs4 import BeautifulSoup
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import Account, AccountKind, AccountState
from backoffice.management.commands.demo_accounts import GUARDIAN_PASSWORD, PUPIL_PASSWORD
from pupils.models import GuardianRecord, Pupil
from services_portal.models import Service
from tests.factories import (
    AcademyFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_roster():
    """What demo/roster.csv gives for the DUPRÉ-LAGARDE family."""
    paris = AcademyFactory(name="Paris")
    college = EstablishmentFactory(uai="0750001A", name="Collège Victor-Hugo", academy=paris)
    ecole = EstablishmentFactory(uai="0750002B", name="École élémentaire Jean-Jaurès",
                                 academy=paris, kind="ecole")
    for school, ine, first_names in [(college, "123456789AA", "Lucas"),
                                     (ecole, "123456789AB", "Inès")]:
        record = GuardianRecordFactory(
            establishment=school, civility="Mme", last_name="DUPRÉ-LAGARDE",
            first_name="Hélène", mobile_phone="+33612345678",
        )
        pupil = PupilFactory(ine=ine, first_names=first_names, last_name="DUPRÉ-LAGARDE",
                             establishment=school, birth_date=datetime.date(2012, 3, 4))
        ResponsibilityFactory(guardian_record=record, pupil=pupil)
    # A namesake with another phone is someone else.
    GuardianRecordFactory(establishment=college, last_name="Dupré-Lagarde",
                          first_name="Hélène", mobile_phone="+33699999999")


def run() -> str:
    out = StringIO()
    with override_settings(DEBUG=True):
        call_command("demo_accounts", stdout=out)
    return out.getvalue()


def test_creates_two_accounts_that_sign_in(client, demo_roster):
    output = run()

    guardian = Account.objects.get(kind=AccountKind.GUARDIAN)
    pupil_account = Account.objects.get(kind=AccountKind.PUPIL)
    assert guardian.identifier.startswith("h.duprelagarde")
    assert pupil_account.identifier.startswith("l.duprelagarde")
    assert guardian.state == pupil_account.state == AccountState.ACTIVE
    assert guardian.phone == "+33612345678" and guardian.phone_verified
    assert set(GuardianRecord.objects.filter(account=guardian).values_list(
        "establishment__uai", flat=True)) == {"0750001A", "0750002B"}
    assert GuardianRecord.objects.get(mobile_phone="+33699999999").account is None
    assert Pupil.objects.get(ine="123456789AA").account == pupil_account
    for text in (guardian.identifier, guardian.display_identifier, GUARDIAN_PASSWORD,
                 pupil_account.identifier, PUPIL_PASSWORD):
        assert text in output
    # Where the demo's SMS and e-mails can be read (the page of sent messages).
    from django.conf import settings

    assert (f"SMS et mails envoyés (démonstration) : {settings.SITE_URL}"
            "/notifications/demonstration/") in output

    response = client.post("/connexion/representant-legal/",
                           {"identifier": guardian.display_identifier,
                            "password": GUARDIAN_PASSWORD}, follow=True)
    html = response.content.decode()
    assert "Lucas DUPRÉ-LAGARDE" in html and "Inès DUPRÉ-LAGARDE" in html
    # The demo's catalogue: each school's ENT, the national services by level, the collège's
    # message.
    main = BeautifulSoup(html, "html.parser").find("main")
    tiles = [a.get_text(" ", strip=True) for a in main.find_all("a")]
    assert tiles.count("Accédez à l'ENT") == 2
    assert tiles.count("Scolarité services") == 2
    assert tiles.count("Livret scolaire du CP à la 3e") == 2  # 5e and CE2
    assert "Livret scolaire du lycée" not in tiles
    assert "Réunion parents-professeurs" in html
    client.post("/deconnexion/")
    response = client.post("/connexion/eleve/", {"identifier": pupil_account.identifier,
                                                 "password": PUPIL_PASSWORD}, follow=True)
    assert "Collège Victor-Hugo" in response.content.decode()


def test_running_again_changes_nothing_and_repairs_what_was_changed(demo_roster):
    run()
    guardian = Account.objects.get(kind=AccountKind.GUARDIAN)
    pupil_account = Account.objects.get(kind=AccountKind.PUPIL)
    password_hash = guardian.password
    history = guardian.history.count()

    services = Service.objects.count()
    run()
    guardian.refresh_from_db()
    assert Account.objects.exclude(kind=AccountKind.STAFF).count() == 2
    assert Service.objects.count() == services == 5  # three national, two ENTs
    assert guardian.password == password_hash  # not re-hashed when already right
    assert guardian.history.count() == history

    # Someone changed the password and locked the pupil account: both are put back.
    guardian.set_password("Autre-Mot-2026!")
    guardian.save()
    pupil_account.state = AccountState.LOCKED
    pupil_account.save()
    run()
    guardian.refresh_from_db()
    pupil_account.refresh_from_db()
    assert Account.objects.exclude(kind=AccountKind.STAFF).count() == 2
    assert guardian.check_password(GUARDIAN_PASSWORD)
    assert pupil_account.state == AccountState.ACTIVE


def test_explains_when_the_roster_was_not_imported():
    with pytest.raises(CommandError, match=r"import_roster demo/roster\.csv"):
        run()
    assert not Account.objects.exists()


def test_refuses_to_run_without_debug(demo_roster):
    with override_settings(DEBUG=False), pytest.raises(CommandError, match="DJANGO_DEBUG=true"):
        call_command("demo_accounts", stdout=StringIO())
    assert not Account.objects.exists()


def test_creates_one_back_office_user_per_role_once(demo_roster):
    from accounts.models import StaffRole
    from backoffice.management.commands.demo_accounts import STAFF_PASSWORD

    run()
    run()

    staff = Account.objects.filter(kind=AccountKind.STAFF).select_related("staff_profile")
    assert sorted(a.staff_profile.role for a in staff) == sorted(
        [StaffRole.SECRETARY, StaffRole.HELPDESK, StaffRole.NATIONAL]
    )
    assert all(a.is_staff and a.check_password(STAFF_PASSWORD) for a in staff)
    secretary = next(a for a in staff if a.staff_profile.role == StaffRole.SECRETARY)
    assert [e.uai for e in secretary.staff_profile.establishments.all()] == ["0750001A"]


def test_every_demo_tile_opens_the_demo_service_by_openid_connect(demo_roster, settings):
    """The real services' addresses are out of the demo's reach: each tile is the demo's own
    relying party (oidc_idp.demo), registered as a client on this demo's address."""
    from oauth2_provider.models import get_application_model

    from oidc_idp.demo import DEMO_CLIENT_ID

    settings.SITE_URL = "http://127.0.0.1:8123"
    run()
    run()  # found again, not registered twice
    client = get_application_model().objects.get(client_id=DEMO_CLIENT_ID)
    assert client.redirect_uris == "http://127.0.0.1:8123/demonstration/service/retour/"
    assert client.client_type == "public" and client.policy.scopes == ["profile", "children"]
    for service in Service.objects.all():
        assert service.oidc_client_id == DEMO_CLIENT_ID
        assert service.url.startswith("http://127.0.0.1:8123/demonstration/service/?service=")


def test_every_school_of_the_demo_roster_gets_its_ent(demo_roster):
    """The tryout: Collège Leconte-de-Lisle and Lycée Victor-Hugo (demo/roster.csv) had no
    ENT tile in « Mes services », while the README promises each school's ENT."""
    reunion = EstablishmentFactory(uai="9740001X", name="Collège Leconte-de-Lisle")
    lycee = EstablishmentFactory(uai="0750003C", name="Lycée Victor-Hugo", kind="lycee")
    stranger = EstablishmentFactory(uai="0999999Z", name="Collège hors démonstration")
    run()
    ents = set(Service.objects.filter(title="Accédez à l'ENT").values_list(
        "establishment__uai", flat=True))
    assert {reunion.uai, lycee.uai, "0750001A", "0750002B"} <= ents
    assert stranger.uai not in ents
