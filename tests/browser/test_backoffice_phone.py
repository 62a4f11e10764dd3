"""The secretary's back-office on a phone, 390 px wide: each of her main pages fits the
screen (a wide table scrolls inside its own named region, the page never sideways) and axe
finds no serious or critical violation."""

import datetime

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import StaffRole
from backoffice.roles import roles_sync
from backoffice.services import staff_create
from tests.browser.a11y import assert_accessible
from tests.browser.test_backoffice import sign_in_back_office
from tests.factories import (
    AcademyFactory,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

STAFF_PASSWORD = "Rentree-Scolaire-2026!"
WIDTH = 390


@pytest.fixture
def secretary_school(transactional_db):
    roles_sync()
    academy = AcademyFactory(name="Créteil")
    college = EstablishmentFactory(uai="0940021K", name="Collège Paul-Éluard", academy=academy)
    account = AccountFactory(identifier="h.duprelagarde25", first_name="Hélène",
                             last_name="Dupré-Lagarde", phone="+33698765400")
    active = GuardianRecordFactory(establishment=college, last_name="Dupré-Lagarde",
                                   first_name="Hélène", mobile_phone="+33698765400",
                                   email="helene.dupre-lagarde@exemple.fr", account=account)
    waiting = GuardianRecordFactory(establishment=college, last_name="Rakotomalala",
                                    first_name="Fanja", mobile_phone="+33611111111")
    lea = PupilFactory(establishment=college, ine="123456789AB", last_name="Dupré-Lagarde",
                       first_names="Léa", level="4EME", division="4B",
                       birth_date=datetime.date(2012, 9, 3))
    tiana = PupilFactory(establishment=college, ine="123456780AB", last_name="Rakotomalala",
                         first_names="Tiana", level="4EME", division="4B",
                         birth_date=datetime.date(2012, 5, 1))
    ResponsibilityFactory(guardian_record=active, pupil=lea)
    ResponsibilityFactory(guardian_record=waiting, pupil=tiana)
    secretary = staff_create(
        first_name="Claire", last_name="Bonnet", email="claire.bonnet@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.SECRETARY, establishments=[college],
    )
    device = TOTPDevice.objects.create(user=secretary, name="Téléphone", confirmed=True)
    return {"college": college, "active": active, "lea": lea, "secretary": secretary,
            "device": device}


def test_the_secretary_s_pages_fit_a_phone_and_pass_axe(page, live_server, secretary_school):
    page.set_viewport_size({"width": WIDTH, "height": 844})
    sign_in_back_office(page, live_server, secretary_school["secretary"].identifier,
                        device=secretary_school["device"])
    college = secretary_school["college"]
    pages = [
        (reverse("admin:index"), "Administration"),
        (reverse("admin:pupils_pupil_changelist"), "Choisissez un élève à modifier"),
        (reverse("admin:pupils_pupil_changelist") + "?q=+", "Rechercher : saisissez"),
        (reverse("admin:pupils_pupil_change", args=[secretary_school["lea"].pk]),
         "Modifier l'élève"),
        (reverse("admin:pupils_guardianrecord_changelist") + "?q=zzyzx",
         "0 fiche responsable"),
        (reverse("admin:pupils_guardianrecord_change", args=[secretary_school["active"].pk]),
         "garde ses propres coordonnées"),
        (reverse("admin:pupils_responsibility_changelist"),
         "Choisissez un lien responsable–élève à modifier"),
        (reverse("admin:pupils_responsibility_add"), "Ajouter un lien responsable–élève"),
        (reverse("admin:services_portal_service_changelist"), "Choisissez un service"),
        (reverse("admin:services_portal_service_add"), "Ajouter un service"),
        (reverse("admin:letters_new") + f"?etablissement={college.pk}&niveau=4EME",
         "Cochez les élèves"),
        (reverse("admin:follow_up") + f"?etablissement={college.pk}&qui=responsables",
         "Suivi des comptes"),
        (reverse("admin:assistance_queue"), "Demandes"),
    ]
    too_wide = []
    for path, words in pages:
        page.goto(live_server.url + path)
        expect(page.locator("#content").or_(page.locator("main")).first).to_contain_text(words)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > WIDTH:
            too_wide.append((path, width))
        assert_accessible(page)
    assert too_wide == []
