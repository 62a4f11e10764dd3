"""« Mes enfants » → « Ajouter un enfant » (issue 11 §2): the mobile number the school has →
SMS code → the child's birth date, with the SMS activation's rules and limits; the record is
attached to the signed-in account."""

import datetime
import re
from html import unescape

import pytest
from django.test import Client
from freezegun import freeze_time

from core.journal import EventKind
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from pupils.models import GuardianRecord, Responsibility, ResponsibilityStatus
from pupils.selectors import pupils_of_guardian_account
from tests import html
from tests.factories import (
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

ADD_URL = "/mes-enfants/ajouter/"
CODE_IN_SMS = re.compile(r"ajouter un enfant à votre compte est ([A-Z0-9]{6})")
NOUR_BIRTH = datetime.date(2019, 6, 30)


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "notifications.sms.LocmemSMSBackend"


@pytest.fixture
def parent(db):
    """Karim Haddad's account (Sami, école); the maternelle lists Nour under another number
    he gave it (+33 7 81 23 45 67), not covered by any account."""
    account = AccountFactory(identifier="k.haddad1", first_name="Karim", last_name="Haddad",
                             phone="+33611111111", phone_verified=True)
    ecole = EstablishmentFactory(kind="ecole")
    record = GuardianRecordFactory(establishment=ecole, first_name="Karim",
                                   last_name="HADDAD", mobile_phone="+33611111111",
                                   account=account)
    ResponsibilityFactory(guardian_record=record,
                          pupil=PupilFactory(establishment=ecole, first_names="Sami"))
    maternelle = EstablishmentFactory(kind="ecole", name="École maternelle Les Lilas")
    new_record = GuardianRecordFactory(establishment=maternelle, first_name="KARIM",
                                       last_name="Haddad", mobile_phone="+33781234567")
    nour = PupilFactory(establishment=maternelle, first_names="Nour", last_name="HADDAD",
                        birth_date=NOUR_BIRTH)
    ResponsibilityFactory(guardian_record=new_record, pupil=nour)
    return {"account": account, "record": new_record, "nour": nour}


class Walker:
    def __init__(self, client, capture):
        self.client, self.capture = client, capture

    def post(self, url, data):
        with self.capture(execute=True):
            return self.client.post(url, data)

    def start(self, phone="07 81 23 45 67"):
        response = self.post(ADD_URL, {"phone": phone})
        assert response.status_code == 302, response.status_code
        self.code_url = response["Location"]
        self.base = self.code_url.removesuffix("code/")
        return response

    def code(self):
        return CODE_IN_SMS.search(sms.outbox[-1].body).group(1)

    def send_code(self, code):
        return self.post(self.code_url, {"code": code})

    def confirm(self, birth_date, choice="oui"):
        return self.post(self.base + "eleves/", {
            "eleve1_lien": choice, "eleve1_jour": f"{birth_date.day:02d}",
            "eleve1_mois": f"{birth_date.month:02d}", "eleve1_annee": str(birth_date.year)})

    def follow(self, response) -> str:
        return unescape(self.client.get(response["Location"], follow=True).content.decode())


@pytest.fixture
def walker(parent, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(parent["account"])
    return Walker(client, django_capture_on_commit_callbacks)


def test_a_parent_adds_a_child_by_sms_proof(walker, parent):
    page = unescape(walker.client.get("/services/mes-enfants/").content.decode())
    assert "Ajouter un enfant" in page and "Ajouter des enfants depuis un autre compte" in page

    walker.start()
    assert sms.outbox[-1].to == "+33781234567"
    page = walker.follow(walker.send_code(walker.code()))
    assert "Nour" in page
    page = walker.follow(walker.confirm(NOUR_BIRTH))
    assert "L'enfant a été rattaché à votre compte" in page
    assert parent["nour"] in pupils_of_guardian_account(parent["account"])
    assert GuardianRecord.objects.get(pk=parent["record"].pk).account == parent["account"]
    assert Flow.objects.get().status == FlowStatus.COMPLETED
    assert JournalEvent.objects.filter(kind=EventKind.CHILDREN_ATTACHED,
                                       account=parent["account"],
                                       data__method="child_attach").exists()
    # The account's own number is told.
    assert sms.outbox[-1].to == "+33611111111"


def test_a_number_the_school_does_not_have_reads_the_same_and_sends_nothing(walker, parent):
    walker.start("07 99 99 99 99")
    assert not sms.outbox
    page = walker.follow(walker.send_code("ABCDEF"))
    assert "Si ce numéro est celui que l'établissement connaît" in page
    assert "code" in page.lower()
    assert Flow.objects.get().step == "code"


def test_the_code_page_says_when_no_sms_comes_and_where_to_turn(walker, parent):
    """A tryout waited for an SMS that never comes (a number whose children are already in
    the account): the page says which cases send none, the same for every number."""
    for phone in ("07 81 23 45 67", "06 11 11 11 11"):
        walker.start(phone)
        page = unescape(walker.client.get(walker.code_url).content.decode())
        assert ("Aucun code n'est envoyé si les enfants suivis avec ce numéro sont déjà dans "
                "votre compte") in page
        assert "formulaire d'assistance académique" in page


def test_a_link_disputed_by_mistake_at_activation_is_added_back_by_its_guardian(walker,
                                                                                  parent):
    """Seed 000: a wrong « Je ne suis pas le représentant légal » at activation is put right
    by « l'ajout d'un enfant ». A tryout got no SMS here (the disputed link was out of
    reach): now the code comes, the child is shown, its birth date attaches it and the link
    is active again, with the reason in its history and the journal (the school's list of
    disputed links no longer holds it)."""
    link = Responsibility.objects.get(guardian_record=parent["record"])
    Responsibility.objects.filter(pk=link.pk).update(status=ResponsibilityStatus.DISPUTED)

    walker.start()
    assert sms.outbox and sms.outbox[-1].to == "+33781234567"
    page = walker.follow(walker.send_code(walker.code()))
    assert "Nour" in page
    page = walker.follow(walker.confirm(NOUR_BIRTH))
    assert "L'enfant a été rattaché à votre compte" in page

    link.refresh_from_db()
    assert link.status == ResponsibilityStatus.ACTIVE
    assert link.history.first().history_change_reason.startswith("Contestation retirée")
    assert parent["nour"] in pupils_of_guardian_account(parent["account"])
    assert JournalEvent.objects.filter(kind=EventKind.CHILD_ATTACH_DISPUTE_WITHDRAWN,
                                       account=parent["account"],
                                       data__responsibility_id=link.pk).exists()


def test_a_disputed_link_needs_the_right_birth_date_to_come_back(walker, parent):
    Responsibility.objects.filter(guardian_record=parent["record"]).update(
        status=ResponsibilityStatus.DISPUTED)
    walker.start()
    walker.follow(walker.send_code(walker.code()))
    walker.confirm(NOUR_BIRTH.replace(year=2018))
    assert Responsibility.objects.get(
        guardian_record=parent["record"]).status == ResponsibilityStatus.DISPUTED
    assert GuardianRecord.objects.get(pk=parent["record"].pk).account is None


def test_a_link_the_school_removed_stays_out_of_reach_and_the_page_says_who_restores_it(
        walker, parent):
    """The school examined the dispute and removed the link: only its secretariat restores
    it. No SMS; the code page names that case and who can lift it, for every number."""
    Responsibility.objects.filter(guardian_record=parent["record"]).update(
        status=ResponsibilityStatus.REMOVED)
    for phone in ("07 81 23 45 67", "07 99 99 99 99"):
        sms.outbox.clear()
        walker.start(phone)
        assert not sms.outbox
        page = unescape(walker.client.get(walker.code_url).content.decode())
        assert "ou a retiré votre lien avec l'enfant" in page
        assert ("le secrétariat de l'établissement de l'enfant peut corriger ses informations "
                "et rétablir le lien avec l'enfant") in page
        assert "formulaire d'assistance académique" in page


def test_a_record_covered_by_another_active_account_is_not_offered(walker, parent):
    other = AccountFactory(first_name="Karim", last_name="Haddad")
    GuardianRecord.objects.filter(pk=parent["record"].pk).update(account=other)
    walker.start()
    assert not sms.outbox  # merging the two accounts is the way


def test_wrong_birth_dates_count_and_block(walker, parent, settings):
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    walker.start()
    walker.send_code(walker.code())
    page = walker.follow(walker.confirm(NOUR_BIRTH.replace(year=2018)))
    assert "date de naissance" in page
    page = walker.follow(walker.confirm(NOUR_BIRTH.replace(year=2017)))
    assert "Trop de dates de naissance incorrectes" in page
    assert Flow.objects.get().status == FlowStatus.BLOCKED
    assert GuardianRecord.objects.get(pk=parent["record"].pk).account is None


def _main_text(page: str) -> str:
    return html.text(html.main(html.parse(page)))


def test_the_journeys_limit_says_this_addition_ended_and_the_dates_left_on_the_number(
        walker, parent, settings):
    """Five wrong dates end this addition only: a new one may start at once with the same
    number (a new code), so the page does not say the number is blocked; it counts the dates
    the number has left before its 24-hour block, and says who lifts a block. The counter
    speaks of this addition, not of an activation."""
    settings.ACTIVATION_MAX_WRONG_DATES = 2
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 10
    walker.start()
    walker.send_code(walker.code())
    first = _main_text(walker.follow(walker.confirm(NOUR_BIRTH.replace(year=2018))))
    assert "blocage de l'activation" not in first
    assert ("La date de naissance saisie est incorrecte. Encore 1 date incorrecte possible "
            "avant l'arrêt de cet ajout d'un enfant.") in first
    ended = html.parse(walker.follow(walker.confirm(NOUR_BIRTH.replace(year=2017))))
    text = html.text(html.main(ended))
    assert "L'ajout est bloqué pour ce numéro" not in text
    assert html.text(ended.find(id="child-blocked")) == (
        "Trop de dates de naissance incorrectes Cet ajout d'un enfant est arrêté : il accepte "
        "2 dates de naissance incorrectes au plus. Vous pouvez le recommencer avec ce "
        "numéro, qui reçoit alors un nouveau code : encore 8 dates incorrectes possibles "
        "avec ce numéro avant un blocage de 24 heures.")
    assert "L'assistance peut aussi le lever : appelez-la au" in text
    assert html.main(ended).find(
        "a", string="formulaire d'assistance académique")["href"] == "/assistance/"
    # What the page says holds: the same number starts again and gets a new code.
    sent = len(sms.outbox)
    walker.start()
    assert len(sms.outbox) == sent + 1 and sms.outbox[-1].to == "+33781234567"


def test_the_numbers_window_says_until_when_the_number_is_blocked(walker, parent, settings):
    settings.ACTIVATION_MAX_WRONG_DATES = 5
    settings.ACTIVATION_MAX_WRONG_DATES_PER_PHONE = 2
    walker.start()
    walker.send_code(walker.code())
    with freeze_time("2026-11-30 15:00:00"):
        walker.confirm(NOUR_BIRTH.replace(year=2018))
        ended = html.parse(walker.follow(walker.confirm(NOUR_BIRTH.replace(year=2017))))
    blocked = html.text(ended.find(id="child-blocked"))
    assert "Vous pouvez le recommencer" not in blocked
    # 15:00 UTC is 16 h 00 in Paris (TIME_ZONE); the window holds 24 hours.
    assert blocked == (
        "Trop de dates de naissance incorrectes Trop de dates de naissance incorrectes ont "
        "été saisies avec ce numéro en 24 heures : l'ajout d'un enfant avec ce numéro est "
        "bloqué jusqu'au 1 décembre 2026 à 16 h 00 (heure de Paris).")
    assert "L'assistance peut aussi le lever" in html.text(html.main(ended))


def test_another_account_gets_the_not_found_page(walker, parent):
    walker.start()
    intruder = Client()
    intruder.force_login(AccountFactory())
    assert intruder.get(walker.code_url).status_code == 404


def test_the_number_step_speaks_of_another_parent_account_not_the_childs(walker):
    page = unescape(walker.client.get(ADD_URL).content.decode())
    assert "Si votre enfant a un autre compte" not in page
    assert ("Vous avez vous-même un autre compte ÉduConnect de représentant légal, où figure "
            "cet enfant ? Utilisez plutôt « Ajouter des enfants depuis un autre compte »") in page


def test_one_child_found_is_confirmed_by_its_birth_date_without_a_refused_choice(walker,
                                                                                 parent):
    """Tryout: « Ajouter un enfant » with one child found offered « Je ne suis pas le
    représentant légal de cet élève », then refused it. Now only the birth date is asked,
    with what to do when one is not the child's représentant légal."""
    walker.start()
    page = walker.follow(walker.send_code(walker.code()))
    assert "Je ne suis pas le représentant légal de cet élève" not in page
    assert 'type="radio"' not in page
    assert ("Si vous n'êtes pas son représentant légal, n'allez pas plus loin : contactez "
            "l'école ou l'établissement de l'élève") in page


def test_the_children_step_speaks_of_the_pupils_found_for_the_number(walker, parent):
    """Karim already has Sami: the one pupil found for this number is not his only child."""
    PupilFactory._meta.model.objects.filter(pk=parent["nour"].pk).update(first_names="Apolline")
    walker.start()
    page = walker.follow(walker.send_code(walker.code()))
    assert "Un seul élève vous est rattaché" not in page
    assert "Un seul élève a été trouvé pour ce numéro" in page
    # French elision before a vowel in the legend read by screen readers.
    assert "(date de naissance d'Apolline)" in page
    assert "de Apolline" not in page


def test_the_children_step_left_open_in_a_second_tab_reads_the_result(walker, parent):
    walker.start()
    walker.send_code(walker.code())
    walker.confirm(NOUR_BIRTH)
    page = walker.follow(walker.confirm(NOUR_BIRTH))
    assert "L'enfant a été rattaché à votre compte" in page
    assert "Cette démarche est déjà terminée, sans doute dans un autre onglet" in page
