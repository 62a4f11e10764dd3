"""The helpdesk search: the shape of the query picks the field; partial, unaccented and
differently written input finds the account."""

from html import unescape

import pytest
from django.urls import reverse

from activation.services import activation_flow_start
from backoffice.selectors import (
    InvalidSearch,
    Shape,
    StaffScope,
    helpdesk_search,
    search_query_parse,
)
from tests.factories import (
    AccountFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

SEARCH = "/gestion/assistance/"


@pytest.mark.parametrize(
    ("typed", "shape", "value"),
    [
        ("H.LEFEVRE12", Shape.IDENTIFIER, "h.lefevre12"),
        ("  h.lefevre ", Shape.IDENTIFIER, "h.lefevre"),
        ("Helene.Lefevre@Exemple.FR", Shape.EMAIL, "helene.lefevre@exemple.fr"),
        ("06 11 22 33 44", Shape.PHONE, "+33611223344"),
        ("06.11.22.33.44", Shape.PHONE, "+33611223344"),
        ("+33 6 11 22 33 44", Shape.PHONE, "+33611223344"),
        ("0033611223344", Shape.PHONE, "+33611223344"),
        ("111111111aa", Shape.INE, "111111111AA"),
        ("0940001a", Shape.UAI, "0940001A"),
        ("Lefèvre", Shape.NAME, "lefevre"),
        ("LEFEVRE", Shape.NAME, "lefevre"),
        ("le fèvre", Shape.NAME, "lefevre"),
        ("N'Diaye", Shape.NAME, "ndiaye"),
    ],
)
def test_query_shapes(typed, shape, value):
    query = search_query_parse(typed)
    assert (query.shape, query.value) == (shape, value)


def test_overseas_number_typed_in_national_form_is_found_in_its_region():
    query = search_query_parse("0692 12 34 56")
    assert query.shape == Shape.PHONE
    assert "+262692123456" in query.phones


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Recherche : saisissez un identifiant"), ("   ", "Recherche : saisissez un identifiant"),
     ("06 12 34", "n'est pas un numéro de téléphone portable valide"),
     ("01 23 45 67 89", "n'est pas un numéro de téléphone portable valide"),
     ("é", "au moins 2 lettres"), ("x" * 101, "au plus 100 caractères")],
)
def test_unusable_queries_say_what_to_type(typed, message):
    with pytest.raises(InvalidSearch) as error:
        search_query_parse(typed)
    assert message in error.value.message


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed",
    ["h.lefevre12", "H.LEFEVRE12", "h.lefevre", "lefevre", "LEFÈVRE", "efev", "06 11 22 33 44",
     "+33611223344", "helene.lefevre@EXEMPLE.fr", "111111111aa", "0940001A"],
)
def test_each_kind_of_query_finds_the_account(world, typed):
    scope = StaffScope(academy_id=world.academy_a.pk)
    results = helpdesk_search(query=search_query_parse(typed), scope=scope)
    assert world.account_a1 in results.accounts
    assert world.account_b1 not in results.accounts  # another academy's Lefèvre


@pytest.mark.django_db
def test_a_guardian_without_account_is_found_as_a_record(world):
    scope = StaffScope(academy_id=world.academy_a.pk)
    for typed in ("nguyen", "Nguyễn", "06 22 33 44 55", "222222222BB", "guy"):
        results = helpdesk_search(query=search_query_parse(typed), scope=scope)
        assert results.records == [world.rec_a2], typed
        assert results.accounts == []


@pytest.mark.django_db
def test_short_names_are_matched_whole(world):
    ly = AccountFactory(identifier="a.ly10", first_name="Awa", last_name="Ly")
    GuardianRecordFactory(establishment=world.a1, last_name="Ly", first_name="Awa", account=ly)
    AccountFactory(identifier="a.lyon10", first_name="Ana", last_name="Lyon")
    scope = StaffScope(everything=True)
    results = helpdesk_search(query=search_query_parse("ly"), scope=scope)
    assert results.accounts == [ly]


@pytest.mark.django_db
def test_a_pupil_account_is_found_by_ine_and_name(world):
    pupil_account = AccountFactory(identifier="z.lefevre10", kind="pupil", first_name="Zoé",
                                   last_name="Lefèvre")
    world.pupil_a1.account = pupil_account
    world.pupil_a1.save(update_fields=["account"])
    scope = StaffScope(academy_id=world.academy_a.pk)
    assert pupil_account in helpdesk_search(query=search_query_parse("111111111AA"),
                                            scope=scope).accounts
    assert pupil_account in helpdesk_search(query=search_query_parse("lefevre"),
                                            scope=scope).accounts


@pytest.mark.django_db
def test_many_results_are_capped_and_said_so(world):
    for _ in range(4):
        PupilFactory(establishment=world.a1)
        GuardianRecordFactory(establishment=world.a1, last_name="Dupont")
    results = helpdesk_search(query=search_query_parse("dupont"),
                              scope=StaffScope(everything=True), limit=3)
    assert len(results.records) == 3 and results.records_truncated


@pytest.mark.django_db
def test_the_exact_name_comes_before_the_names_that_contain_it(world):
    """Issue 14: « martin » lists the Martins first (by first name), then Martinez and
    Saint-Martin, though alphabetically Martinez would come between two Martins."""
    scope = StaffScope(academy_id=world.academy_a.pk)
    for last, first in [("Martinez", "Ana"), ("Martin", "Zoé"), ("Saint-Martin", "Paul"),
                        ("MARTIN", "Bruno"), ("Martin", "Yves")]:
        GuardianRecordFactory(establishment=world.a2, last_name=last, first_name=first)
    GuardianRecordFactory(establishment=world.b1, last_name="Martin", first_name="Léo")

    results = helpdesk_search(query=search_query_parse("Martin"), scope=scope)

    assert [(r.last_name, r.first_name) for r in results.records] == [
        ("MARTIN", "Bruno"), ("Martin", "Yves"), ("Martin", "Zoé"),
        ("Martinez", "Ana"), ("Saint-Martin", "Paul")]
    assert not results.records_truncated
    # Past the limit: the exact names fill the list, the partial ones are not read.
    capped = helpdesk_search(query=search_query_parse("Martin"), scope=scope, limit=2)
    assert [r.first_name for r in capped.records] == ["Bruno", "Yves"]
    assert capped.records_truncated
    # Exactly at the limit with the first partial match: it is what says « more ».
    at_limit = helpdesk_search(query=search_query_parse("Martin"), scope=scope, limit=3)
    assert [r.first_name for r in at_limit.records] == ["Bruno", "Yves", "Zoé"]
    assert at_limit.records_truncated


# --- The page -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_page_by_phone_typed_with_spaces(helpdesk_client, world):
    response = helpdesk_client.get(SEARCH, {"q": "06 11 22 33 44"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Recherche par numéro de téléphone" in body
    assert reverse("admin:helpdesk_account", args=[world.account_a1.pk]) in body
    assert "H.LEFEVRE12" in body and "Collège Jules-Ferry (0940001A)" in body


@pytest.mark.django_db
def test_search_page_by_name_without_accents_shows_only_own_academy(helpdesk_client, world):
    body = helpdesk_client.get(SEARCH, {"q": "lefevre"}).content.decode()
    assert "H.LEFEVRE12" in body
    assert "M.LEFEVRE40" not in body


@pytest.mark.django_db
def test_the_search_page_says_exact_names_come_first(helpdesk_client, world):
    body = unescape(helpdesk_client.get(SEARCH, {"q": "nguyen"}).content.decode())
    assert ("d'abord celles dont le nom est exactement celui saisi, puis celles dont le nom "
            "le contient") in body
    by_number = unescape(helpdesk_client.get(SEARCH, {"q": "06 22 33 44 55"}).content.decode())
    assert "exactement celui saisi" not in by_number


@pytest.mark.django_db
def test_search_error_is_linked_to_the_field(helpdesk_client):
    response = helpdesk_client.get(SEARCH, {"q": "06 12"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "n&#x27;est pas un numéro de téléphone portable valide" in body
    assert 'aria-describedby="id_q_helptext id_q_error"' in body
    assert 'id="id_q_error"' in body


@pytest.mark.django_db
def test_searches_are_limited_per_agent(helpdesk_client, settings):
    settings.BACKOFFICE_SEARCHES_PER_HOUR = 2
    for _ in range(2):
        assert helpdesk_client.get(SEARCH, {"q": "lefevre"}).status_code == 200
    response = helpdesk_client.get(SEARCH, {"q": "lefevre"})
    assert response.status_code == 429
    assert "nombre maximal de recherches" in response.content.decode()
    # A moving hour: the first search leaves it in about an hour.
    assert "Réessayez dans 1 heure ou" in response.content.decode()
    assert 3590 <= int(response["Retry-After"]) <= 3600


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["Hélène Lefèvre", "LEFEVRE helene", "lefevre hel",
                                   "helene  LEFÈVRE"])
def test_first_and_last_name_in_either_order(world, typed):
    scope = StaffScope(academy_id=world.academy_a.pk)
    results = helpdesk_search(query=search_query_parse(typed), scope=scope)
    assert results.accounts == [world.account_a1]


@pytest.mark.django_db
def test_first_and_last_name_find_a_record_without_account(world):
    results = helpdesk_search(query=search_query_parse("Thi Nguyen"),
                              scope=StaffScope(everything=True))
    assert results.records == [world.rec_a2]


# --- Issue 16: overseas mobiles behind +33, letters without decomposition --------------------

@pytest.mark.parametrize("typed", ["+33 6 92 41 18 07", "0033 6 92 41 18 07",
                                   "+33 (0)6 92 41 18 07"])
def test_an_overseas_mobile_typed_behind_plus_33_is_searched_as_its_overseas_number(typed):
    query = search_query_parse(typed)
    assert query.shape == Shape.PHONE
    assert query.phones == ("+262692411807",)


@pytest.mark.django_db
def test_the_search_page_finds_a_reunion_family_by_its_number_behind_plus_33(
    helpdesk_client, world
):
    GuardianRecordFactory(establishment=world.a1, last_name="Payet", first_name="Marie",
                          mobile_phone="+262692411807")
    response = helpdesk_client.get(SEARCH, {"q": "+33 6 92 41 18 07"})
    assert response.status_code == 200
    assert "PAYET Marie" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["HALICI", "halici", "alic"])
def test_a_name_with_a_dotless_i_is_found_as_typed_without_it(helpdesk_client, world, typed):
    # The account is found through the SQL twin educonnect_name_key(), the record through
    # its stored key: both transliterate the ı.
    account = AccountFactory(identifier="a.halici10", first_name="Ayşe", last_name="Halıcı")
    GuardianRecordFactory(establishment=world.a1, last_name="Halıcı", first_name="Ayşe",
                          mobile_phone="+33644556677", account=account)
    GuardianRecordFactory(establishment=world.a1, last_name="Halıcı", first_name="Emre",
                          mobile_phone="+33644556688")
    body = helpdesk_client.get(SEARCH, {"q": typed}).content.decode()
    assert "A.HALICI10" in body  # the account
    assert "HALICI Emre" in body  # the record without account


@pytest.mark.django_db
def test_a_parents_failed_attempts_are_found_by_the_number_typed(
    helpdesk_client, world, settings
):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    # A typo in the name: nothing matched, no SMS — the helpdesk still sees the attempt.
    activation_flow_start(last_name="Lefevre", first_name="Helen", phone="+33611223344")
    activation_flow_start(last_name="Lefèvre", first_name="Hélène", phone="+33611223344")
    body = unescape(helpdesk_client.get(SEARCH, {"q": "06 11 22 33 44"}).content.decode())
    assert "Lefevre Helen" in body
    assert "Aucune fiche ne correspond au nom et au numéro saisis (aucun SMS envoyé)" in body
    assert "Code envoyé, en attente de sa saisie" in body


@pytest.mark.django_db
def test_an_attempt_matching_another_academys_records_is_not_shown(helpdesk_client, world,
                                                                   settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    record = GuardianRecordFactory(establishment=world.b1, last_name="Ampère", first_name="Léo",
                                   mobile_phone="+33699887766")
    ResponsibilityFactory(guardian_record=record, pupil=world.pupil_b1)
    activation_flow_start(last_name="Ampère", first_name="Léo", phone="+33699887766")  # Lyon
    body = unescape(helpdesk_client.get(SEARCH, {"q": "06 99 88 77 66"}).content.decode())
    assert "Code envoyé" not in body and "Ampère" not in body
    assert "Aucune activation récente n'a été commencée avec ce numéro." in body


@pytest.mark.django_db
def test_each_attempt_of_a_number_reads_its_real_state(helpdesk_client, world, settings):
    """A number at its SMS limit: journeys where no SMS left (quota), the one whose code was
    entered wrong five times, the one really waiting — each read as it is."""
    from activation.services import ActivationRefused, activation_code_verify

    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"
    settings.ACTIVATION_MAX_SENDS_PER_PHONE = 2
    settings.ACTIVATION_MAX_WRONG_CODES = 5
    phone = "+33677889900"
    record = GuardianRecordFactory(establishment=world.a1, last_name="Diallo",
                                   first_name="Awa", mobile_phone=phone)
    ResponsibilityFactory(guardian_record=record, pupil=world.pupil_a1_bis)
    dead, _secret = activation_flow_start(last_name="Diallo", first_name="Awa", phone=phone)
    for _ in range(5):
        try:
            activation_code_verify(flow_id=dead.id, typed_code="ZZZZZZ")
        except ActivationRefused:
            pass
    activation_flow_start(last_name="Diallo", first_name="Awa", phone=phone)  # waiting
    activation_flow_start(last_name="Diallo", first_name="Awa", phone=phone)  # quota: no SMS
    body = unescape(helpdesk_client.get(SEARCH, {"q": "06 77 88 99 00"}).content.decode())
    assert body.count("Code envoyé, en attente de sa saisie") == 1
    assert "Code saisi faux 5 fois : code annulé" in body
    assert "Aucun SMS envoyé (trop d'envois au même destinataire)" in body
