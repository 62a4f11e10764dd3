"""The catalogue on « Mes services »: each child's tiles by school, profile and level, the
school's message between its dates, the national news, levels in words."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from django.db import IntegrityError

from accounts.models import AccountKind
from pupils.models import GuardianRecord
from saml_idp.models import ServiceProvider
from services_portal.levels import Level, level_code, level_in_words
from services_portal.models import EstablishmentMessage, NewsItem, Service
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

pytestmark = pytest.mark.django_db
URL = "/services/"
DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize(("raw", "words"), [
    ("5EME", "5e"), ("5E", "5e"), ("5ème", "5e"), ("6EME", "6e"), ("3E", "3e"),
    ("2NDE", "Seconde"), ("2DE", "Seconde"), ("1ERE", "Première"), ("TLE", "Terminale"),
    ("TERM", "Terminale"), ("1ERE PRO", "Première professionnelle"), ("CM1", "CM1"),
    ("GS", "Grande section"), ("Classe passerelle", "Classe passerelle"), ("", ""),
])
def test_levels_in_words(raw, words):
    assert level_in_words(raw) == words


def test_level_codes_are_those_the_catalogue_stores():
    assert level_code("TLE") == Level.TERMINALE == "TLE"
    assert level_code("inconnu") == ""


def tiles(html: str) -> dict[str, list[tuple[str, str]]]:
    """{child name: [(tile title, href), …]} in page order."""
    soup = BeautifulSoup(html, "html.parser")
    found = {}
    for section in soup.select("section.edu-child"):
        name = section.find("h3").get_text(strip=True)
        found[name] = [(a.get_text(strip=True), a["href"]) for a in section.select(".fr-tile a")]
    return found


def school_messages(html: str) -> dict[str, list[str]]:
    soup = BeautifulSoup(html, "html.parser")
    return {
        section.find("h3").get_text(strip=True): [
            p.get_text(strip=True) for p in section.select(".edu-school-message p")
        ]
        for section in soup.select("section.edu-child")
    }


@pytest.fixture
def family():
    """Hélène: Lucas in 5e at a collège with an ENT reached by SAML, Inès in CM1 at an
    école with a plain ENT link, Jade in Terminale at a lycée."""
    account = AccountFactory(first_name="Hélène", last_name="Martin")
    college = EstablishmentFactory(name="Collège Victor-Hugo", kind="college")
    ecole = EstablishmentFactory(name="École Jean-Jaurès", kind="ecole")
    lycee = EstablishmentFactory(name="Lycée Ampère", kind="lycee")
    children = {}
    for school, first, level in [(college, "Lucas", "5EME"), (ecole, "Inès", "CM1"),
                                 (lycee, "Jade", "TLE")]:
        record = GuardianRecordFactory(establishment=school, account=account)
        children[first] = PupilFactory(first_names=first, last_name="Martin",
                                       establishment=school, level=level)
        ResponsibilityFactory(guardian_record=record, pupil=children[first])
    sp = ServiceProvider.objects.create(
        name="ENT Île-de-France", entity_id="https://ent.example.test/sp",
        metadata_xml="<md/>",
    )
    Service.objects.create(title="Accédez à l'ENT", url="https://ent.example.test/college",
                           establishment=college, saml_service_provider=sp, position=1)
    Service.objects.create(title="Accédez à l'ENT", url="https://ent.example.test/ecole",
                           establishment=ecole, position=1)
    Service.objects.create(title="Livret scolaire du CP à la 3e",
                           url="https://lsu.example.test/", position=2,
                           levels=[*[lv.value for lv in Level][3:12]])
    Service.objects.create(title="Livret scolaire du lycée", url="https://lsl.example.test/",
                           position=3, levels=["2NDE", "1RE", "TLE"])
    Service.objects.create(title="Scolarité services", url="https://scolarite.example.test/",
                           position=4)
    Service.objects.create(title="Orientation (élèves)", url="https://orientation.example.test/",
                           position=5, for_guardians=False)
    Service.objects.create(title="Service retiré", url="https://old.example.test/",
                           position=6, is_active=False)
    Service.objects.create(title="ENT d'une autre école", url="https://other.example.test/",
                           establishment=EstablishmentFactory(), position=1)
    return account, children, (college, ecole, lycee)


def test_each_child_gets_the_services_of_their_school_profile_and_level(client, family):
    account, *_ = family
    client.force_login(account)
    html = client.get(URL).content.decode()
    found = tiles(html)
    assert {name: [title for title, _ in t] for name, t in found.items()} == {
        "Inès MARTIN": ["Accédez à l'ENT", "Livret scolaire du CP à la 3e", "Scolarité services"],
        "Jade MARTIN": ["Livret scolaire du lycée", "Scolarité services"],
        "Lucas MARTIN": ["Accédez à l'ENT", "Livret scolaire du CP à la 3e",
                         "Scolarité services"],
    }
    # Lucas's ENT is reached by SAML: the tile starts the IdP-initiated SSO of that provider
    # and lands on the school's address; Inès's opens the address directly.
    lucas_ent = urlsplit(found["Lucas MARTIN"][0][1])
    assert lucas_ent.path == "/idp/profile/SAML2/Unsolicited/SSO"
    assert parse_qs(lucas_ent.query) == {"providerId": ["https://ent.example.test/sp"],
                                         "target": ["https://ent.example.test/college"]}
    assert found["Inès MARTIN"][0][1] == "https://ent.example.test/ecole"
    # Levels in words.
    assert "Collège Victor-Hugo — niveau : 5e" in html
    assert "Lycée Ampère — niveau : Terminale" in html
    assert "5EME" not in html and "TLE" not in html


def test_a_pupil_sees_the_services_for_pupils(client, family):
    _, children, _ = family
    pupil_account = AccountFactory(kind=AccountKind.PUPIL)
    lucas = children["Lucas"]
    lucas.account = pupil_account
    lucas.save()
    client.force_login(pupil_account)
    found = tiles(client.get(URL).content.decode())
    assert [t for t, _ in found["Lucas MARTIN"]] == [
        "Accédez à l'ENT", "Livret scolaire du CP à la 3e", "Scolarité services",
        "Orientation (élèves)",
    ]


def test_the_school_message_shows_between_its_dates(today, client, family):
    account, _, (college, ecole, _) = family
    EstablishmentMessage.objects.create(
        establishment=college, text="Lorsque le compte est activé, connectez-vous à l'ENT.",
        starts_on=today - DAY, ends_on=today)
    EstablishmentMessage.objects.create(establishment=college, text="Message de l'an passé",
                                        starts_on=today - 400 * DAY, ends_on=today - DAY)
    EstablishmentMessage.objects.create(establishment=ecole, text="Message à venir",
                                        starts_on=today + DAY, ends_on=today + 9 * DAY)
    client.force_login(account)
    assert school_messages(client.get(URL).content.decode()) == {
        "Inès MARTIN": [], "Jade MARTIN": [],
        "Lucas MARTIN": ["Lorsque le compte est activé, connectez-vous à l'ENT."],
    }


def test_a_school_message_is_shown_once_for_two_children_of_that_school(today, client, family):
    """A parent of two children in one school reads its message once, with the first of
    them, the school named in its title; another school's message stays with its child."""
    account, _children, (college, ecole, _lycee) = family
    camille = PupilFactory(first_names="Camille", last_name="Martin", establishment=college,
                           level="3E")
    ResponsibilityFactory(guardian_record=GuardianRecord.objects.get(
        account=account, establishment=college), pupil=camille)
    EstablishmentMessage.objects.create(
        establishment=college, text="Réunion parents-professeurs jeudi à 18 h.",
        starts_on=today, ends_on=today)
    EstablishmentMessage.objects.create(establishment=ecole, text="Sortie au musée lundi.",
                                        starts_on=today, ends_on=today)
    client.force_login(account)
    page = client.get(URL).content.decode()

    assert page.count("Réunion parents-professeurs jeudi à 18 h.") == 1
    assert school_messages(page) == {
        "Camille MARTIN": ["Réunion parents-professeurs jeudi à 18 h."],
        "Inès MARTIN": ["Sortie au musée lundi."], "Jade MARTIN": [], "Lucas MARTIN": [],
    }
    soup = BeautifulSoup(page, "html.parser")
    assert [h.get_text(" ", strip=True) for h in soup.select(".edu-school-message h4")] == [
        "Message de l'établissement Collège Victor-Hugo",
        "Message de l'établissement École Jean-Jaurès",
    ]
    # Everything else is still there for each child: the school and level line, the tiles.
    assert "Collège Victor-Hugo — niveau : 3e" in page
    assert "Collège Victor-Hugo — niveau : 5e" in page
    assert tiles(page)["Lucas MARTIN"][0][0] == "Accédez à l'ENT"
    assert tiles(page)["Camille MARTIN"][0][0] == "Accédez à l'ENT"


def test_news_for_the_profile_between_their_dates(today, client, family):
    account, *_ = family
    NewsItem.objects.create(title="Bourses de collège", text="La campagne est ouverte.",
                            starts_on=today, ends_on=today + DAY)
    NewsItem.objects.create(title="Pour les élèves", text="…", starts_on=today,
                            ends_on=today, for_guardians=False)
    NewsItem.objects.create(title="Terminée", text="…", starts_on=today - 9 * DAY,
                            ends_on=today - DAY)
    client.force_login(account)
    soup = BeautifulSoup(client.get(URL).content.decode(), "html.parser")
    news = soup.find("section", attrs={"aria-labelledby": "news-title"})
    assert [h.get_text(strip=True) for h in news.find_all("h3")] == ["Bourses de collège"]


def test_queries_do_not_grow_with_children_services_or_messages(today,
    client, family, django_assert_num_queries, django_assert_max_num_queries
):
    account, _, (_college, _ecole, _lycee) = family
    client.force_login(account)
    client.get(URL)
    # Session and account (2 to 4), children, news, services, messages: 4.
    with django_assert_max_num_queries(8) as three:
        client.get(URL)
    for n in range(4):
        school = EstablishmentFactory()
        record = GuardianRecordFactory(establishment=school, account=account)
        ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(
            establishment=school, first_names=f"Enfant{n}", level="4EME"))
        Service.objects.create(title=f"ENT {n}", url="https://ent.example.test/",
                               establishment=school)
        EstablishmentMessage.objects.create(establishment=school, text=f"Message {n}",
                                            starts_on=today, ends_on=today)
    with django_assert_num_queries(len(three.captured_queries)):
        html = client.get(URL).content.decode()
    assert len(tiles(html)) == 7
    assert re.search(r"Message 3", html)


def test_the_database_refuses_a_service_seen_by_nobody_and_messages_ending_before_start(
    family,
):
    _, _, (_college, *_) = family
    with pytest.raises(IntegrityError):
        Service.objects.create(title="Personne", url="https://x.example.test/",
                               for_guardians=False, for_pupils=False)


def test_the_database_refuses_a_message_that_ends_before_it_starts(today, family):
    _, _, (college, *_) = family
    with pytest.raises(IntegrityError):
        EstablishmentMessage.objects.create(establishment=college, text="x",
                                            starts_on=today, ends_on=today - DAY)
