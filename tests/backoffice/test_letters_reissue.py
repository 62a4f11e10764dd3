"""One account's letter remade alone (issue 9, a tryout finding): « Refaire la lettre » on the
follow-up page renews that one account's password, not the rest of the family's; another
school's row is a 404; an active account is refused in French; the letters page names,
before « Faire les lettres », the accounts that would get a new password."""

import html
import re

import pytest
from bs4 import BeautifulSoup

from accounts.models import Account, StaffRole
from activation.provisional.services import provisional_flow_resume, provisional_password_set
from pupils import letters
from pupils.models import GuardianRecord, LetterRun, LetterRunStatus, Pupil

from . import test_letters
from .conftest import make_staff, sign_in
from .test_letters import PASSWORD, pages_of

class_6a = test_letters.class_6a  # the class of 6EME at A1 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("letters_here")]
FOLLOW_UP = "/gestion/suivi-des-comptes/"


@pytest.fixture
def martins_issued(world, class_6a, secretary):
    """Noé Martin and both his parents hold a letter; returns their passwords by account."""
    made, counts = letters.letters_issue(
        establishment=world.a1, actor=secretary, pupil_ids=[world.pupil_a1_bis.pk],
        guardian_record_ids=[class_6a["martin_mother"].pk, class_6a["martin_father"].pk])
    assert counts.created == 3
    return {letter.account_id: letter.password for letter in made}


def _still_sign_in(passwords):
    return {pk for pk, password in passwords.items()
            if Account.objects.get(pk=pk).check_password(password)}


def test_remaking_one_parents_letter_renews_that_account_only(world, class_6a, secretary,
                                                             martins_issued, client):
    claire = GuardianRecord.objects.get(pk=class_6a["martin_mother"].pk)
    sign_in(client, secretary)
    listing = client.get(FOLLOW_UP, {"qui": "responsables"}).content.decode()
    buttons = [b.get("aria-label") for b in BeautifulSoup(listing, "html.parser")
               .find_all("button", string="Refaire la lettre")]
    # Claire and Paul hold letters; Hélène (active) and Sarah (no account) have no button.
    assert buttons == ["Refaire la lettre de MARTIN Claire", "Refaire la lettre de MARTIN Paul"]

    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": claire.pk, "confirmer": "oui"})
    run = LetterRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/gestion/lettres/{run.pk}/"
    assert letters.letter_runs_start() == 1
    run.refresh_from_db()
    assert run.status == LetterRunStatus.DONE, run.failure
    assert (run.total, run.accounts_created, run.accounts_reissued) == (1, 0, 1)
    _reader, texts = pages_of(run, secretary)
    assert len(texts) == 1 and "Bonjour Claire MARTIN" in texts[0]
    new_password = PASSWORD.search(texts[0])[1]
    assert Account.objects.get(pk=claire.account_id).check_password(new_password)
    # Noé's and Paul's letters still work; Claire's old one does not.
    assert _still_sign_in(martins_issued) == set(martins_issued) - {claire.account_id}
    page = client.get(response["Location"]).content.decode()
    assert "La nouvelle lettre de MARTIN Claire a été demandée" in page
    assert "Compte choisi un par un" in page and "Élèves choisis" not in page


def test_remaking_a_pupils_letter_leaves_the_parents_letters_alone(
        world, class_6a, secretary, martins_issued, client):
    noe = Pupil.objects.get(pk=world.pupil_a1_bis.pk)
    sign_in(client, secretary)
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "eleves",
                                       "id": noe.pk, "confirmer": "oui"})
    assert response.status_code == 302
    letters.letter_runs_start()
    run = LetterRun.objects.get()
    assert (run.total, run.accounts_reissued, run.pages) == (1, 1, 1)
    assert _still_sign_in(martins_issued) == set(martins_issued) - {noe.account_id}


def test_the_button_asks_for_confirmation_and_changes_nothing(world, class_6a, secretary,
                                                              martins_issued, client):
    """The row's button leads to a page that names the account and says its letter will
    stop working; nothing is written until « Confirmer » (a plain form, no script)."""
    claire = GuardianRecord.objects.get(pk=class_6a["martin_mother"].pk)
    sign_in(client, secretary)
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": claire.pk})
    assert response.status_code == 200
    assert not LetterRun.objects.exists()
    assert _still_sign_in(martins_issued) == set(martins_issued)
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    consequence = soup.find(id="reissue-consequence").get_text(" ", strip=True)
    identifier = Account.objects.get(pk=claire.account_id).display_identifier
    assert f"compte de MARTIN Claire (identifiant {identifier})" in consequence
    assert "ne fonctionnera plus" in consequence
    form = soup.find("form", method="post", action=FOLLOW_UP)
    fields = {i["name"]: i["value"] for i in form("input", type="hidden")}
    assert fields == {"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"],
                      "etablissement": str(world.a1.pk), "qui": "responsables",
                      "id": str(claire.pk), "confirmer": "oui"}
    button = form.find("button", type="submit")
    assert button.get_text(strip=True) == "Confirmer : refaire la lettre de MARTIN Claire"
    assert button["aria-describedby"] == "reissue-consequence"
    cancel = soup.find("a", string="Annuler")
    assert cancel["href"] == f"{FOLLOW_UP}?etablissement={world.a1.pk}&qui=responsables"
    # Any other value than « oui » is not a confirmation either.
    client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                            "id": claire.pk, "confirmer": "1"})
    assert not LetterRun.objects.exists()

    response = client.post(FOLLOW_UP, {**fields, "csrfmiddlewaretoken": ""})
    assert response.status_code == 302 and LetterRun.objects.count() == 1


def test_another_schools_row_is_not_found(world, class_6a, secretary, martins_issued,
                                          client):
    sign_in(client, secretary)
    # A record of Lyon's school, under her own school's id or under Lyon's: 404 both ways.
    for school in (world.a1, world.b1):
        response = client.post(FOLLOW_UP, {"etablissement": school.pk, "qui": "responsables",
                                           "id": world.rec_b1.pk, "confirmer": "oui"})
        assert response.status_code == 404
    elsewhere = make_staff(StaffRole.SECRETARY, establishments=[world.b1], last_name="Ailleurs")
    sign_in(client, elsewhere)
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": class_6a["martin_mother"].pk, "confirmer": "oui"})
    assert response.status_code == 404
    assert not LetterRun.objects.exists()
    assert _still_sign_in(martins_issued) == set(martins_issued)


def test_an_active_account_is_refused_in_french(world, class_6a, secretary, client):
    sign_in(client, secretary)
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": world.rec_a1.pk}, follow=True)
    assert response.status_code == 200
    assert ("LEFÈVRE Hélène : aucune lettre à refaire, son compte n'est pas un compte "
            "provisoire") in html.unescape(response.content.decode())
    assert not LetterRun.objects.exists()
    # The service refuses it too (a direct call, or a state changed in between).
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refusal:
        letters.letter_run_request(establishment=world.a1, actor=secretary,
                                   guardian_record_ids=[world.rec_a1.pk])
    assert "ce compte n'est pas provisoire" in " ".join(refusal.value.messages)


def test_the_helpdesk_follows_but_cannot_remake_a_letter(world, class_6a, helpdesk_agent,
                                                        martins_issued, client):
    sign_in(client, helpdesk_agent)
    page = client.get(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables"})
    assert "MARTIN Claire" in page.content.decode()
    assert "Refaire la lettre" not in page.content.decode()
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": class_6a["martin_mother"].pk, "confirmer": "oui"})
    assert response.status_code == 403
    assert not LetterRun.objects.exists()


def test_the_follow_up_form_needs_the_csrf_token(world, class_6a, secretary, martins_issued):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    sign_in(client, secretary)
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": class_6a["martin_mother"].pk, "confirmer": "oui"})
    assert response.status_code == 403
    assert not LetterRun.objects.exists()


def test_the_letters_page_names_the_accounts_that_get_a_new_password(
        world, class_6a, secretary, martins_issued, client):
    from datetime import timedelta

    from django.utils import timezone

    sign_in(client, secretary)
    page = client.get("/gestion/lettres/", {"niveau": "6EME"}).content.decode()
    soup = BeautifulSoup(page, "html.parser")
    rows = {tr.th.get_text(strip=True): [td.get_text(" ", strip=True) for td in tr("td")]
            for tr in soup.find("input", {"name": "eleves"}).find_parent("tbody")("tr")}
    # Noé's row: ticking him renews his letter and both his parents'.
    assert rows["MARTIN Noé"][-1] == "MARTIN Noé, MARTIN Claire, MARTIN Paul"
    assert rows["PETIT Inès"][-1] == "—"
    note = soup.find(id="renewals").get_text(" ", strip=True)
    assert "aucun compte ayant déjà reçu une lettre" in note  # Noé is not ticked by default

    # Noé's password expired: he is ticked by default, and the page says who gets a new one.
    noe = Pupil.objects.get(pk=world.pupil_a1_bis.pk)
    Account.objects.filter(pk=noe.account_id).update(
        provisional_expires_at=timezone.now() - timedelta(days=1))
    page = client.get("/gestion/lettres/", {"niveau": "6EME"}).content.decode()
    note = re.sub(r"\s+", " ", BeautifulSoup(page, "html.parser").find(id="renewals")
                  .get_text(" ", strip=True))
    assert "3 comptes ont déjà reçu une lettre et recevront un NOUVEAU mot de passe" in note
    assert all(name in note for name in ("MARTIN Noé", "MARTIN Claire", "MARTIN Paul"))


def test_the_list_keeps_its_filters_through_a_reissue_and_names_guardians_levels(
        world, class_6a, secretary, martins_issued, client):
    """A tryout filtered the guardians by level: their « Niveau » read « — », and « Annuler »
    on the confirmation came back without the level. A guardian's level is their children's
    at the school; the filters go through the confirmation and back."""
    claire = GuardianRecord.objects.get(pk=class_6a["martin_mother"].pk)
    sign_in(client, secretary)
    listing = client.get(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                     "niveau": "6EME"})
    soup = BeautifulSoup(listing.content.decode(), "html.parser")
    row = soup.find("th", string=re.compile("MARTIN Claire")).find_parent("tr")
    assert row.find("td").get_text(strip=True) == "6e"  # in words (levels.py)
    form = row.find("form")
    fields = {i["name"]: i["value"] for i in form("input", type="hidden")}
    assert fields["niveau"] == "6EME"

    confirm = client.post(FOLLOW_UP, {k: v for k, v in fields.items()
                                      if k != "csrfmiddlewaretoken"})
    page = BeautifulSoup(confirm.content.decode(), "html.parser")
    cancel = page.find("a", string="Annuler")["href"]
    assert cancel == (f"{FOLLOW_UP}?etablissement={world.a1.pk}&qui=responsables"
                      "&niveau=6EME")
    hidden = {i["name"]: i["value"] for i in page.find("form", method="post",
                                                       action=FOLLOW_UP)("input", type="hidden")}
    assert hidden["niveau"] == "6EME" and hidden["confirmer"] == "oui"
    assert claire.pk == int(hidden["id"])


def _consequence_text(client, world, record) -> str:
    response = client.post(FOLLOW_UP, {"etablissement": world.a1.pk, "qui": "responsables",
                                       "id": record.pk})
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode(), "html.parser").find(
        id="content-main").get_text(" ", strip=True)


def test_the_confirmation_warns_when_the_first_sign_in_is_under_way(
        world, class_6a, secretary, martins_issued, client):
    """A tryout finding: the parent had chosen her password when the secretary remade her
    letter, and nothing said so. The confirmation now says the activation under way will be
    cancelled; its words are the same for a woman or a man (« la lettre déjà reçue »)."""
    claire = GuardianRecord.objects.get(pk=class_6a["martin_mother"].pk)
    paul = GuardianRecord.objects.get(pk=class_6a["martin_father"].pk)
    sign_in(client, secretary)
    before = _consequence_text(client, world, claire)
    assert "la lettre déjà reçue ne fonctionnera plus" in before
    assert "qu'il a déjà reçue" not in before
    assert "activation en cours" not in before

    account = Account.objects.get(pk=claire.account_id)
    flow, _secret = provisional_flow_resume(account=account)
    flow.step = "password"
    flow.save(update_fields=["step"])
    provisional_password_set(flow_id=flow.id, account=account, password="Cartable-Vert-2024!")

    text = _consequence_text(client, world, claire)
    assert ("Première connexion en cours : ce compte a déjà commencé sa première connexion "
            "avec la lettre actuelle et a choisi son mot de passe.") in text, text
    assert "cette activation en cours sera annulée" in text
    assert "il faudra tout recommencer avec le nouveau courrier" in text
    # Paul has not begun: no warning for him.
    assert "activation en cours" not in _consequence_text(client, world, paul)
    assert not LetterRun.objects.exists()
