"""What the back-office's forms accept and how they word it (tryout of the demo, findings 6
to 9): the OpenID Connect section in French, an UAI typed in lower case, French « already
exists » messages instead of Django's « Un objet … avec ce champ … », staff names by the
families' rule and one staff account per address, no markup or emoji in an establishment's
name or a pupil's class, a class-only change not called « État civil », and https tiles."""

import pytest
from bs4 import BeautifulSoup
from django.test import override_settings
from django.urls import reverse
from oauth2_provider.models import get_application_model

from accounts.models import Account, AccountKind, StaffRole
from core.models import JournalEvent
from pupils.models import Academy, Establishment
from services_portal.models import Service
from tests import html as h
from tests.backoffice.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

Application = get_application_model()


def errors(response) -> list[str]:
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return [li.get_text(strip=True) for li in soup.select(".errorlist li")]


# --- 6. The OpenID Connect services' section ----------------------------------------------


def test_the_oidc_section_breadcrumb_and_count_read_in_french(national_client):
    Application.objects.create(name="Scolarité services", client_type="confidential",
                               authorization_grant_type="authorization-code",
                               redirect_uris="https://example.org/cb")
    index = h.text(h.main(h.parse(national_client.get(reverse("admin:index")))))
    assert "Services reliés en OpenID Connect" in index
    assert "Django OAuth Toolkit" not in index
    page = h.parse(national_client.get(reverse("admin:oauth2_provider_application_changelist")))
    breadcrumbs = h.text(page.select_one(".breadcrumbs"))
    assert "Services reliés en OpenID Connect" in breadcrumbs
    assert "Django OAuth Toolkit" not in breadcrumbs and "Applications" not in breadcrumbs
    count = h.text(page.select_one(".paginator"))
    assert "1 service relié en OpenID Connect" in count and "application" not in count


def test_a_second_client_with_the_same_id_is_refused_in_words(national_client):
    Application.objects.create(name="Un", client_id="scolarite", client_type="confidential",
                               authorization_grant_type="authorization-code",
                               redirect_uris="https://example.org/cb")
    response = national_client.post(reverse("admin:oauth2_provider_application_add"), {
        "name": "Deux", "client_id": "scolarite", "client_secret": "s" * 40,
        "client_type": "confidential", "redirect_uris": "https://example.org/cb",
        "post_logout_redirect_uris": "",
        "policy-TOTAL_FORMS": "1", "policy-INITIAL_FORMS": "0", "policy-MIN_NUM_FORMS": "1",
        "policy-MAX_NUM_FORMS": "1", "policy-0-sector_identifier": "",
    })
    assert response.status_code == 200
    shown = errors(response)
    assert any(text.startswith("Identifiant du client : un service relié en OpenID Connect a "
                               "déjà cet identifiant") for text in shown), shown
    assert not any("Un objet" in text for text in shown)


# --- 7. Establishments: UAI in capitals, « already exists » in words ----------------------


def establishment_form(world, **changes):
    data = {"uai": "0750009B", "name": "Collège Victor-Hugo", "kind": "college",
            "academy": world.academy_a.pk, "ent_url": ""}
    data.update(changes)
    return data


def test_an_uai_typed_in_lower_case_is_saved_in_capitals(national_client, world):
    response = national_client.post(reverse("admin:pupils_establishment_add"),
                                    establishment_form(world, uai="0750009b"))
    assert response.status_code == 302, errors(response)
    assert Establishment.objects.filter(uai="0750009B").exists()


def test_a_known_uai_is_refused_in_words(national_client, world):
    response = national_client.post(reverse("admin:pupils_establishment_add"),
                                    establishment_form(world, uai="0940001a"))
    assert response.status_code == 200
    shown = errors(response)
    assert any(text.startswith("Un établissement avec cet UAI existe déjà") for text in shown)
    assert not any("Un objet" in text for text in shown)
    assert Establishment.objects.filter(uai="0940001A").count() == 1


def test_a_known_academy_is_refused_in_words(national_client, world):
    response = national_client.post(reverse("admin:pupils_academy_add"), {"name": "Créteil"})
    assert response.status_code == 200
    shown = errors(response)
    assert any(text.startswith("Une académie de ce nom existe déjà") for text in shown)
    assert not any("Un objet" in text for text in shown)
    assert Academy.objects.filter(name="Créteil").count() == 1


@pytest.mark.parametrize("name", ["<i>Collège</i> Test", "Collège 😀 Test", "Collège\x07Test"])
def test_an_establishment_name_with_markup_or_emoji_is_refused(national_client, world, name):
    response = national_client.post(reverse("admin:pupils_establishment_add"),
                                    establishment_form(world, name=name))
    assert response.status_code == 200
    assert any(text.startswith("Nom : retirez les signes < et >, les émojis")
               for text in errors(response)), errors(response)
    assert not Establishment.objects.filter(uai="0750009B").exists()


def test_an_establishment_name_with_a_degree_sign_is_kept(national_client, world):
    response = national_client.post(reverse("admin:pupils_establishment_add"),
                                    establishment_form(world, name="École n° 2 (Saint-Denis)"))
    assert response.status_code == 302, errors(response)


# --- 8. Pupils' classes ----------------------------------------------------------------------


def pupil_form(pupil, **changes):
    data = {
        "last_name": pupil.last_name, "first_names": pupil.first_names,
        "birth_date": pupil.birth_date.strftime("%d/%m/%Y"), "division": pupil.division,
        "responsibilities-TOTAL_FORMS": "0", "responsibilities-INITIAL_FORMS": "0",
        "responsibilities-MIN_NUM_FORMS": "0", "responsibilities-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("division", ["<i>5A</i>", "5A 😀"])
def test_a_class_with_markup_or_emoji_is_refused(secretary_client, world, division):
    pupil = world.pupil_a1
    response = secretary_client.post(reverse("admin:pupils_pupil_change", args=[pupil.pk]),
                                     pupil_form(pupil, division=division))
    assert response.status_code == 200
    assert any(text.startswith("Classe : retirez les signes < et >, les émojis")
               for text in errors(response)), errors(response)
    pupil.refresh_from_db()
    assert pupil.division != division


def test_a_class_only_change_is_not_called_a_civil_status_fix(secretary_client, world):
    pupil = world.pupil_a1
    response = secretary_client.post(reverse("admin:pupils_pupil_change", args=[pupil.pk]),
                                     pupil_form(pupil, division="5B"))
    assert response.status_code == 302, errors(response)
    change = pupil.history.latest()
    assert change.history_change_reason == "Classe d'un élève corrigée par l'établissement"
    event = JournalEvent.objects.get(kind="pupils.pupil_division_updated")
    assert event.data["changed"] == ["division"]
    assert not JournalEvent.objects.filter(kind="pupils.pupil_updated").exists()


# --- 8. Staff: names by the families' rule, one account per address -----------------------


def staff_form(world, **changes):
    data = {"first_name": "Paul", "last_name": "Éluard", "email": "paul.eluard@ac-creteil.fr",
            "role": StaffRole.HELPDESK, "academy": world.academy_a.pk,
            "password1": STAFF_PASSWORD, "password2": STAFF_PASSWORD}
    data.update(changes)
    return data


@pytest.mark.parametrize(("field", "value"), [("last_name", "<b>Dupont</b>"),
                                              ("first_name", "Zoé 😀")])
def test_staff_names_with_markup_or_emoji_are_refused(national_client, world, field, value):
    response = national_client.post(reverse("admin:accounts_staffprofile_add"),
                                    staff_form(world, **{field: value}))
    assert response.status_code == 200
    label = {"last_name": "Nom", "first_name": "Prénom"}[field]
    assert any(text.startswith(f"{label} : saisissez uniquement des lettres")
               for text in errors(response)), errors(response)
    assert not Account.objects.filter(kind=AccountKind.STAFF,
                                      email="paul.eluard@ac-creteil.fr").exists()


def test_a_second_staff_account_with_the_same_address_is_refused(national_client, world):
    first = national_client.post(reverse("admin:accounts_staffprofile_add"), staff_form(world))
    assert first.status_code == 302, errors(first)
    holder = Account.objects.get(email="paul.eluard@ac-creteil.fr")
    second = national_client.post(reverse("admin:accounts_staffprofile_add"),
                                  staff_form(world, email="Paul.Eluard@ac-creteil.fr"))
    assert second.status_code == 200
    shown = errors(second)
    assert any(text.startswith("Adresse mail professionnelle : elle est déjà celle "
                               f"du compte {holder.display_identifier}") for text in shown)
    assert Account.objects.filter(kind=AccountKind.STAFF,
                                  email__iexact="paul.eluard@ac-creteil.fr").count() == 1


# --- 9. Service tiles: https only ----------------------------------------------------------


def service_form(**changes):
    data = {"title": "Accédez à l'ENT", "description": "", "url": "https://ent.example.test/",
            "for_guardians": "on", "for_pupils": "on", "position": "100", "is_active": "on"}
    data.update(changes)
    return data


@pytest.mark.parametrize("address", ["http://ent.example.test/", "ftp://ent.example.test/"])
def test_a_tile_address_must_be_https(secretary_client, world, address):
    response = secretary_client.post(reverse("admin:services_portal_service_add"),
                                     service_form(url=address, establishment=world.a1.pk))
    assert response.status_code == 200
    assert any(text.startswith("Adresse du service : saisissez une adresse qui commence par "
                               "https://") for text in errors(response)), errors(response)
    assert not Service.objects.exists()


def test_an_https_tile_is_saved(secretary_client, world):
    response = secretary_client.post(reverse("admin:services_portal_service_add"),
                                     service_form(establishment=world.a1.pk))
    assert response.status_code == 302, errors(response)


@override_settings(DEBUG=True)
def test_the_demo_keeps_its_http_service_in_debug(national_client):
    response = national_client.post(reverse("admin:services_portal_service_add"),
                                    service_form(url="http://127.0.0.1:8000/demonstration/"
                                                     "service/"))
    assert response.status_code == 302, errors(response)
