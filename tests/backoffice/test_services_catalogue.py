"""The catalogue in the back-office: a secretary manages her own school's services (the ENT
link) and messages, nothing national and nothing of another school; the national
administrator manages everything and registers SAML service providers by their metadata,
which work at once."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.urls import reverse

from accounts.models import StaffRole
from core.models import JournalEvent
from saml_idp.models import ServiceProvider
from services_portal.models import EstablishmentMessage, Service
from tests.backoffice.conftest import make_staff, sign_in
from tests.saml_idp.sp import TestSP

pytestmark = pytest.mark.django_db


def url(model, action, *args, app="services_portal"):
    return reverse(f"admin:{app}_{model}_{action}", args=args)


@pytest.fixture
def catalogue(world):
    national = Service.objects.create(title="Scolarité services", url="https://sco.example.test/")
    ent_a1 = Service.objects.create(title="Accédez à l'ENT", url="https://ent-a1.example.test/",
                                    establishment=world.a1)
    ent_a2 = Service.objects.create(title="Accédez à l'ENT", url="https://ent-a2.example.test/",
                                    establishment=world.a2)
    return national, ent_a1, ent_a2


def service_form(**changes):
    data = {"title": "Accédez à l'ENT", "description": "", "url": "https://ent.example.test/",
            "for_guardians": "on", "for_pupils": "on", "position": "100", "is_active": "on"}
    data.update(changes)
    return data


def errors(response) -> list[str]:
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return [li.get_text(strip=True) for li in soup.select(".errorlist li")]


def test_secretary_lists_only_her_schools_services(secretary_client, catalogue):
    national, ent_a1, ent_a2 = catalogue
    response = secretary_client.get(url("service", "changelist"))
    assert response.status_code == 200
    assert [s.pk for s in response.context["cl"].result_list] == [ent_a1.pk]
    for other in (national, ent_a2):
        assert secretary_client.get(url("service", "change", other.pk)).status_code == 404


def test_secretary_sets_her_schools_ent_address(secretary_client, world, catalogue):
    _, ent_a1, _ = catalogue
    response = secretary_client.post(url("service", "change", ent_a1.pk), service_form(
        establishment=world.a1.pk, url="https://nouvel-ent.example.test/"))
    assert response.status_code == 302, errors(response)
    ent_a1.refresh_from_db()
    assert ent_a1.url == "https://nouvel-ent.example.test/"


def test_secretary_cannot_add_a_service_to_another_school_or_a_national_one(
    secretary_client, world, catalogue
):
    before = Service.objects.count()
    response = secretary_client.post(url("service", "add"),
                                     service_form(establishment=world.a2.pk))
    assert response.status_code == 200 and errors(response)
    response = secretary_client.post(url("service", "add"), service_form(establishment=""))
    assert response.status_code == 200 and errors(response)
    assert Service.objects.count() == before
    # Her own school: accepted; she cannot choose the SSO provider (the national admin's).
    form = secretary_client.get(url("service", "add")).content.decode()
    assert "saml_service_provider" not in form
    response = secretary_client.post(url("service", "add"),
                                     service_form(establishment=world.a1.pk, levels=["6E", "5E"]))
    assert response.status_code == 302
    assert Service.objects.latest("pk").levels == ["6E", "5E"]


def test_secretary_posts_a_message_for_her_school_with_dates_in_order(today, secretary_client,
                                                                       world):
    response = secretary_client.post(url("establishmentmessage", "add"), {
        "establishment": world.a1.pk, "text": "Réunion parents-professeurs jeudi.",
        "starts_on": today.strftime("%d/%m/%Y"),
        "ends_on": (today - datetime.timedelta(days=1)).strftime("%d/%m/%Y")})
    assert response.status_code == 200
    assert "La date de fin doit être le même jour que la date de début ou après." in errors(
        response)
    response = secretary_client.post(url("establishmentmessage", "add"), {
        "establishment": world.a2.pk, "text": "x", "starts_on": today.strftime("%d/%m/%Y"),
        "ends_on": today.strftime("%d/%m/%Y")})
    assert response.status_code == 200 and errors(response)
    response = secretary_client.post(url("establishmentmessage", "add"), {
        "establishment": world.a1.pk, "text": "Réunion parents-professeurs jeudi.",
        "starts_on": today.strftime("%d/%m/%Y"), "ends_on": today.strftime("%d/%m/%Y")})
    assert response.status_code == 302
    assert EstablishmentMessage.objects.get().establishment == world.a1


def test_a_message_with_a_bidirectional_control_is_refused_on_its_field(today, secretary_client,
                                                                        world):
    """« \u202e » would show the families « Mes services » the message reversed."""
    response = secretary_client.post(url("establishmentmessage", "add"), {
        "establishment": world.a1.pk, "text": "Réunion \u202ejeudi à 18 h.",
        "starts_on": today.strftime("%d/%m/%Y"), "ends_on": today.strftime("%d/%m/%Y")})
    assert response.status_code == 200
    assert errors(response) == [
        "Message : ce texte contient un caractère invisible qui change le sens d'affichage des "
        "mots (souvent ajouté par un copier-coller). Saisissez-le de nouveau au clavier plutôt "
        "que de le coller."]
    assert not EstablishmentMessage.objects.exists()


def test_secretary_has_no_news_nor_provider_pages(secretary_client):
    assert secretary_client.get(url("newsitem", "changelist")).status_code == 403
    assert secretary_client.get(
        url("serviceprovider", "changelist", app="saml_idp")).status_code == 403


def test_national_admin_registers_a_provider_by_its_metadata_and_it_works_at_once(
    national_client, national_admin, world, client
):
    sp = TestSP(name="backoffice")
    response = national_client.post(url("serviceprovider", "add", app="saml_idp"), {
        "name": "ENT Créteil", "metadata_xml": sp.metadata_xml(),
        "released_attributes": ["sn", "givenName", "FrEduCtPersonAffiliation"],
        "is_active": "on"})
    assert response.status_code == 302, errors(response)
    provider = ServiceProvider.objects.get()
    assert provider.entity_id == sp.entity_id
    assert provider.authn_requests_signed and provider.encrypts_assertions
    assert JournalEvent.objects.filter(kind="saml.provider_saved",
                                       actor=national_admin).exists()
    # A family signs in to it through the IdP, no restart.
    national_client.logout()
    national_client.force_login(world.account_a1)
    location, request_id = sp.redirect_url()
    page = BeautifulSoup(national_client.get(location).content.decode(), "html.parser")
    form = page.find("form", id="saml-post")
    parsed = sp.parse_response(form.find("input", attrs={"name": "SAMLResponse"})["value"],
                               request_id)
    # pysaml2's SP names sn and givenName itself; FrEduCtPersonAffiliation by its OID.
    assert set(parsed.ava) == {"sn", "givenName", "urn:oid:1.3.6.1.4.1.20326.10.999.1.7"}


@pytest.mark.parametrize(("metadata", "message"), [
    ("pas du XML", "Les métadonnées ne sont pas un document XML lisible"),
    ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
     "Les métadonnées ne décrivent pas un fournisseur de services"),
])
def test_bad_metadata_is_refused_in_french(national_client, metadata, message):
    response = national_client.post(url("serviceprovider", "add", app="saml_idp"), {
        "name": "ENT", "metadata_xml": metadata, "is_active": "on"})
    assert response.status_code == 200
    assert any(e.startswith(message) for e in errors(response)), errors(response)
    assert not ServiceProvider.objects.exists()


def test_a_second_provider_with_the_same_entity_id_is_refused(national_client):
    sp = TestSP(name="twice")
    for expected in (302, 200):
        response = national_client.post(url("serviceprovider", "add", app="saml_idp"), {
            "name": "ENT", "metadata_xml": sp.metadata_xml(), "is_active": "on"})
        assert response.status_code == expected
    assert ServiceProvider.objects.count() == 1
    assert any("déjà enregistré" in e for e in errors(response))


def establishment_field(response):
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    return soup.find(attrs={"name": "establishment"})


@pytest.mark.parametrize("model", ["service", "establishmentmessage"])
def test_secretary_picks_her_school_from_a_list_already_chosen(secretary_client, world, model):
    field = establishment_field(secretary_client.get(url(model, "add")))
    assert field.name == "select"  # not a box for a database id
    options = [(o.get_text(strip=True), o.has_attr("selected")) for o in field.find_all("option")]
    assert options == [("Collège Jules-Ferry (0940001A)", True)]


@pytest.mark.parametrize("model", ["service", "establishmentmessage"])
def test_a_secretary_of_two_schools_chooses_between_them_only(client, world, model):
    sign_in(client, make_staff(StaffRole.SECRETARY, establishments=[world.a1, world.a2],
                               last_name="Deuxecoles"))
    field = establishment_field(client.get(url(model, "add")))
    assert [o.get_text(strip=True) for o in field.find_all("option")] == [
        "Choisissez un établissement", "Collège Jules-Ferry (0940001A)",
        "École Les Lilas (0940002B)"]


def test_another_schools_id_is_refused_in_french_without_showing_its_name(today,
    secretary_client, world
):
    for model, data in (
        ("service", service_form(establishment=world.b1.pk)),
        ("establishmentmessage", {"establishment": world.b1.pk, "text": "x",
                                  "starts_on": today.strftime("%d/%m/%Y"),
                                  "ends_on": today.strftime("%d/%m/%Y")}),
    ):
        response = secretary_client.post(url(model, "add"), data)
        assert response.status_code == 200
        assert errors(response) == [
            "Établissement : choisissez l'un de vos établissements dans la liste ; les autres "
            "établissements ne sont pas de votre ressort."]
        assert "Lycée Ampère" not in response.content.decode()
    assert not Service.objects.filter(establishment=world.b1).exists()
    assert not EstablishmentMessage.objects.exists()


def test_a_secretarys_message_cannot_be_moved_to_another_school(today, secretary_client, world):
    message = EstablishmentMessage.objects.create(
        establishment=world.a1, text="Réunion", starts_on=today, ends_on=today)
    response = secretary_client.post(url("establishmentmessage", "change", message.pk), {
        "establishment": world.a2.pk, "text": "Réunion", "starts_on": today.strftime("%d/%m/%Y"),
        "ends_on": today.strftime("%d/%m/%Y")})
    assert response.status_code == 200 and errors(response)
    message.refresh_from_db()
    assert message.establishment == world.a1


def test_only_a_national_administrator_leaves_the_school_empty_for_a_national_service(
    secretary_client, national_admin, world
):
    national_client = sign_in(Client(), national_admin)
    page = secretary_client.get(url("service", "add")).content.decode()
    assert "service national" not in page.replace("Les services nationaux", "")
    assert "Les services nationaux sont gérés par l'administration nationale." in page
    response = secretary_client.post(url("service", "add"), service_form(establishment=""))
    assert errors(response) == ["Établissement : choisissez l'un de vos établissements."]

    page = national_client.get(url("service", "add")).content.decode()
    assert "Laissez vide pour un service national" in page
    response = national_client.post(url("service", "add"),
                                    service_form(title="Livret scolaire", establishment=""))
    assert response.status_code == 302, errors(response)
    assert Service.objects.get(title="Livret scolaire").establishment is None
    response = national_client.post(url("service", "add"),
                                    service_form(title="ENT", establishment=world.b1.pk))
    assert response.status_code == 302, errors(response)
    assert Service.objects.get(title="ENT").establishment == world.b1
