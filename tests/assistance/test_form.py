"""The academic assistance form as a family uses it: from the activation pages, signed in or
not, school by UAI or by name, a clear French error for each bad input, an acknowledgement
by e-mail, limits per IP and per address."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from assistance.models import AssistanceRequest, Category, Status
from core.models import JournalEvent
from tests import html as h
from tests.factories import (
    AcademyFactory,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db
FORM = "/assistance/"


@pytest.fixture
def schools(db):
    reunion = AcademyFactory(name="La Réunion")
    paris = AcademyFactory(name="Paris")
    return {
        "leconte": EstablishmentFactory(uai="9740002B", name="Collège Leconte-de-Lisle",
                                        academy=reunion),
        "hugo_paris": EstablishmentFactory(uai="0750001A", name="Collège Victor-Hugo",
                                           academy=paris),
        "hugo_reunion": EstablishmentFactory(uai="9740003C", name="Lycée Victor-Hugo",
                                             academy=reunion),
    }


def answers(**values):
    return {"school": "9740002B", "category": Category.BIRTH_DATE, "last_name": "Ben Saïd",
            "first_name": "Nadia", "email": "Nadia.BenSaid@example.org",
            "mobile_phone": "+33 6 92 12 34 56", "pupil_name": "Yanis BEN SAÏD",
            "message": "La date de naissance de Yanis est fausse dans le dossier du collège.",
            **values}


def send(client, capture, **values):
    with capture(execute=True):
        return client.post(FORM, answers(**values))


def test_a_family_writes_to_the_assistance_of_its_childs_academy_and_gets_an_acknowledgement(
    client, schools, django_capture_on_commit_callbacks
):
    response = send(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == reverse("assistance:sent")
    request = AssistanceRequest.objects.get()
    assert request.establishment == schools["leconte"]
    assert (request.category, request.status) == (Category.BIRTH_DATE, Status.NEW)
    assert request.email == "nadia.bensaid@example.org"
    assert str(request.mobile_phone) == "+262692123456"  # the overseas number behind +33
    page = client.get(response["Location"]).content.decode()
    assert f"Votre demande n° {request.pk} a été envoyée" in page
    assert "l'académie de La Réunion" in page
    [email] = mail.outbox
    assert email.to == ["nadia.bensaid@example.org"]
    assert f"n° {request.pk}" in email.body and "académie de La Réunion" in email.body
    event = JournalEvent.objects.get(kind="assistance.request_submitted")
    assert event.data == {"assistance_request": request.pk, "establishment": "9740002B",
                          "category": "birth_date"}  # no name, address or message


@pytest.mark.parametrize("typed", ["collège leconte de lisle", "LECONTE-DE-LISLE", "leconte",
                                   "9740002b", " 9740002B "])
def test_the_school_is_found_by_its_name_as_typed_or_its_uai(
    client, schools, django_capture_on_commit_callbacks, typed
):
    assert send(client, django_capture_on_commit_callbacks, school=typed).status_code == 302
    assert AssistanceRequest.objects.get().establishment == schools["leconte"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("school", "", "Saisissez le nom ou le code UAI de l'école"),
        ("school", "Victor Hugo", "Plusieurs établissements portent ce nom : saisissez le code "
                                  "UAI du vôtre (Collège Victor-Hugo (0750001A), Lycée "
                                  "Victor-Hugo (9740003C))."),
        ("school", "9999999Z", "Aucun établissement n'a le code UAI 9999999Z."),
        ("school", "Lycée Imaginaire", "Aucun établissement ne porte ce nom."),
        ("school", "ab", "Saisissez au moins 3 lettres du nom de l'établissement"),
        ("category", "", "Choisissez l'objet de votre demande."),
        ("category", "urgent", "Choisissez l'objet de votre demande."),
        ("last_name", "", "Saisissez votre nom."),
        ("last_name", "--", "Votre nom doit contenir au moins une lettre."),
        ("last_name", "😀" * 50, "Votre nom ne peut contenir que des lettres"),
        ("first_name", "N" * 500, "Votre prénom comporte au plus 100 caractères"),
        ("pupil_name", "Yanis #2", "Le nom et le prénom de votre enfant ne peuvent contenir"),
        ("email", "a" * 300 + "@exemple.fr",
         "Une adresse mail comporte au plus 254 caractères : vérifiez votre saisie."),
        ("email", "", "Saisissez votre adresse mail"),
        ("email", "nadia@", "Saisissez une adresse mail valide"),
        ("mobile_phone", "04 78 12 34 56", "n'est pas un numéro de téléphone portable valide"),
        ("message", "", "Écrivez votre message."),
        ("message", "\u200b \u200b", "Écrivez votre message."),
        ("message", "x" * 3001, "Ce champ ne doit pas dépasser 3000 caractères."),
        ("message", "Mon code \u202e4321 ne marche pas.",
         "Votre message : ce texte contient un caractère invisible qui change le sens "
         "d'affichage des mots (souvent ajouté par un copier-coller). Saisissez-le de nouveau "
         "au clavier plutôt que de le coller."),
        ("pupil_name", "Yanis \u200fBEN SAÏD",
         "Le nom et le prénom de votre enfant contiennent un caractère invisible"),
    ],
)
def test_bad_input_gets_a_french_error_on_its_field_and_writes_nothing(
    client, schools, field, value, message
):
    response = client.post(FORM, answers(**{field: value}))
    assert response.status_code == 400
    page = h.parse(response)
    links = h.summary_links(page)  # the error summary links each error to its field
    assert any(message in text and href.startswith(f"#id_{field}") for href, text in links), links
    if field != "category":  # a text input points at its own message
        assert any(message in error for error in h.field_errors(page, f"id_{field}"))
    assert not AssistanceRequest.objects.exists() and not mail.outbox


def test_a_signed_in_guardian_chooses_among_their_childrens_schools(
    client, schools, django_capture_on_commit_callbacks
):
    account = AccountFactory(first_name="Nadia", last_name="Ben Saïd",
                             email="nadia@example.org")
    record = GuardianRecordFactory(establishment=schools["leconte"], account=account)
    ResponsibilityFactory(guardian_record=record,
                          pupil=PupilFactory(establishment=schools["leconte"]))
    client.force_login(account, backend="accounts.backends.IdentifierBackend")

    page = client.get(FORM).content.decode()
    assert "Collège Leconte-de-Lisle (9740002B)" in page
    assert "Collège Victor-Hugo" not in page  # only their children's schools
    assert 'value="nadia@example.org"' in page

    assert send(client, django_capture_on_commit_callbacks).status_code == 302
    assert AssistanceRequest.objects.get().account == account
    # A school that is not their children's cannot be chosen.
    response = client.post(FORM, answers(school="0750001A"))
    assert response.status_code == 400


def test_requests_are_limited_per_address_and_per_ip(
    schools, settings, django_capture_on_commit_callbacks
):
    settings.ASSISTANCE_MAX_REQUESTS_PER_EMAIL = 2
    settings.ASSISTANCE_MAX_REQUESTS_PER_IP = 4  # every attempt counts, refused ones too
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [send(client, django_capture_on_commit_callbacks).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    response = send(client, django_capture_on_commit_callbacks, email="autre@example.org")
    assert response.status_code == 302  # another address: the IP has one request left
    refused = send(client, django_capture_on_commit_callbacks, email="troisieme@example.org")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Réessayez dans" in h.summary_title(h.parse(refused)) + h.text(
        h.error_summary(h.parse(refused)))
    assert AssistanceRequest.objects.count() == 3
    other = Client(REMOTE_ADDR="198.51.100.4")
    assert send(other, django_capture_on_commit_callbacks,
                email="troisieme@example.org").status_code == 302


def test_the_activation_pages_lead_to_the_form(client):
    page = client.get(reverse("activation:start")).content.decode()
    assert reverse("assistance:form") in page


def test_the_subject_of_the_request_is_a_dsfr_radio_group_named_by_its_legend(client, schools):
    # django-dsfr's snippet wrote bare 13-pixel native radios nested in their labels, with a
    # lone « * » (tryout on a phone): DSFR's radio group, its legend naming the question.
    page = h.parse(client.get(FORM))
    group = page.find("fieldset", id="id_category")
    assert group["role"] == "radiogroup"
    assert h.text(group.find("legend")) == "Objet de votre demande"
    radios = group.select(".fr-radio-group > input[type=radio][name=category]")
    assert [radio["value"] for radio in radios] == [value for value, _ in Category.choices]
    for radio in radios:
        label = group.find("label", attrs={"for": radio["id"]})
        assert label is not None and radio not in label.descendants
    assert "*" not in h.text(group)
    response = client.post(FORM, answers(category=""))
    group = h.parse(response).find("fieldset", id="id_category")
    assert "fr-fieldset--error" in group["class"]
    assert "id_category_error" in group["aria-labelledby"].split()
    assert h.text(group.find(id="id_category_error")) == "Choisissez l'objet de votre demande."
