"""The five steps end to end through the test client: one account for a family known to two
schools, the session binding, the row's step as the truth, the already-active path."""

import re
from html import unescape

import pytest
from django.apps import apps
from django.contrib.auth import get_user
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AccountState
from accounts.password_policy import new_password_context
from activation.flows import ActivationData
from activation.forms import PasswordForm
from core.models import Flow, FlowStatus, JournalEvent
from notifications import sms
from pupils.models import GuardianRecord, ResponsibilityStatus
from tests import html as h
from tests.factories import AccountFactory

from .conftest import STRONG_PASSWORD

pytestmark = pytest.mark.django_db

# The code of « Ajouter un enfant » (families), as its SMS gives it.
CHILD_CODE_IN_SMS = re.compile(r"ajouter un enfant à votre compte est ([A-Z0-9]{6})")


def walk_to_pupils(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    response = driver.send_code(driver.last_code())
    assert response.status_code == 302
    return response


def test_two_children_in_two_schools_end_with_one_account_covering_both_records(driver, family):
    response = driver.start(last_name="ben said", first_name="nadia", phone="0692 12 34 56")
    assert response.status_code == 302

    page = unescape(driver.client.get(driver.url("code")).content.decode())
    assert "Vérifiez vos SMS" in page
    assert "0692\u00a0••\u00a0••\u00a056" in page  # never broken across lines
    assert "Étape 2 sur 5" in page
    assert len(sms.outbox) == 1 and sms.outbox[0].to == "+262692123456"

    code = driver.last_code()
    # Typed in lowercase with a space in the middle: still accepted.
    response = driver.send_code(f"{code[:3].lower()} {code[3:].lower()}")
    assert response.status_code == 302

    page = unescape(driver.client.get(driver.url("pupils")).content.decode())
    assert "Je confirme mon lien avec les élèves" in page
    assert "Inès" in page and "Yanis" in page
    assert "École élémentaire Les Alizés" in page and "Collège Leconte-de-Lisle" in page
    # Birth dates are asked, never shown.
    assert "2016" not in page and "2012" not in page

    ines, yanis = family["pupils"]
    response = driver.confirm_pupils({ines: ("oui", ines.birth_date),
                                      yanis: ("oui", yanis.birth_date)})
    assert response.status_code == 302

    page = unescape(driver.client.get(driver.url("password")).content.decode())
    assert "Je choisis mon mot de passe" in page
    response = driver.choose_password()
    assert response.status_code == 302
    assert response["Location"] == driver.url("done")

    account = Account.objects.get()
    assert account.state == AccountState.ACTIVE
    assert account.kind == "guardian"
    assert (account.first_name, account.last_name) == ("Nadia", "BEN SAÏD")
    assert str(account.phone) == "+262692123456" and account.phone_verified
    assert account.check_password(STRONG_PASSWORD)
    assert set(GuardianRecord.objects.values_list("account", flat=True)) == {account.pk}

    page = unescape(driver.client.get(driver.url("done")).content.decode())
    assert "Votre compte a été activé avec succès" in page
    assert account.display_identifier in page
    assert "Notez votre identifiant ÉduConnect" in page
    assert reverse("services_portal:my_services") in page
    # Signed in as the new account.
    assert get_user(driver.client).pk == account.pk

    flow = Flow.objects.get()
    assert flow.status == FlowStatus.COMPLETED and flow.account == account
    kinds = list(JournalEvent.objects.filter(flow_id=flow.id).order_by("at", "pk")
                 .values_list("kind", flat=True))
    assert kinds[0] == "activation_started"
    assert "activation_code_sent" in kinds and kinds[-1] == "account_activated"


def test_the_code_is_never_stored_in_clear_nor_journaled(driver, family):
    walk_to_pupils(driver, family)
    code = driver.last_code()
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    driver.choose_password()

    # Every text column of every table of the project, the outbox included.
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            for field in model._meta.concrete_fields:
                if field.get_internal_type() not in ("CharField", "TextField", "JSONField"):
                    continue
                column = connection.ops.quote_name(field.column)
                cast = f"CAST({column} AS TEXT)"
                cursor.execute(
                    f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} "  # noqa: S608
                    f"WHERE {cast} LIKE %s OR {cast} LIKE %s",
                    [f"%{code}%", f"%{STRONG_PASSWORD}%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{field.column}")
    assert found == []
    for event in JournalEvent.objects.all():
        assert code not in str(event.data)


def test_a_flow_opened_in_another_browser_is_not_found(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    other = Client()
    for name in ("flow", "code", "pupils", "password", "done"):
        assert other.get(driver.url(name)).status_code == 404
    assert other.post(driver.url("code"), {"code": driver.last_code()}).status_code == 404
    assert other.post(driver.url("resend")).status_code == 404
    flow = Flow.objects.get()
    assert flow.wrong_codes == 0 and flow.step == "code"


def test_unknown_flow_id_is_a_404(client, db):
    url = reverse("activation:code", kwargs={"flow_id": "4f7a2c1e-9d3b-4a56-8e21-0c9b7d6e5f43"})
    assert client.get(url).status_code == 404


def test_later_steps_cannot_be_reached_before_their_turn(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    code_url = driver.url("code")
    for name in ("pupils", "password", "done"):
        response = driver.client.get(driver.url(name))
        assert response.status_code == 302
        assert driver.client.get(response["Location"])["Location"] == code_url
    # Posting a password at step 2 creates nothing.
    driver.choose_password()
    assert not Account.objects.exists()
    assert Flow.objects.get().step == "code"


def test_back_to_an_earlier_step_url_shows_the_current_step(driver, family):
    walk_to_pupils(driver, family)
    response = driver.client.get(driver.url("code"))
    assert response.status_code == 302
    assert driver.client.get(response["Location"])["Location"] == driver.url("pupils")
    # Replaying the (spent) code in a second tab changes nothing.
    driver.send_code(driver.last_code())
    assert Flow.objects.get().step == "pupils"


def test_password_step_can_go_back_to_the_pupils(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    response = driver._post(driver.url("password"), {"action": "back"})
    assert response.status_code == 302
    flow = Flow.objects.get()
    assert flow.step == "pupils" and ActivationData.of(flow).confirmed_record_ids == []


def test_password_rules_are_enforced_with_french_messages(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})

    page = driver.page(driver.choose_password("motdepasse"))
    assert "Le mot de passe doit contenir au moins 1 majuscule." in page
    assert "Le mot de passe doit contenir au moins 1 chiffre." in page
    # The password points at its messages group, which holds its errors and the checklist.
    parsed = h.parse(page)
    assert h.field(parsed, "id_password")["aria-invalid"] == "true"
    [messages] = h.described_by(parsed, "id_password")
    assert "Le mot de passe doit contenir au moins 1 majuscule." in h.text(messages)

    page = driver.page(driver.choose_password("Nadia-2024!"))
    assert "ne doit pas contenir votre nom, votre prénom" in page

    # Meets the five rules, but is one of the most used passwords.
    page = driver.page(driver.choose_password("Password1!"))
    assert "Ce mot de passe est trop courant" in page

    page = driver.page(driver.choose_password(STRONG_PASSWORD, "Autre-Chose-2024!"))
    assert "La confirmation ne correspond pas au mot de passe." in page
    assert not Account.objects.exists()


def test_already_active_guardian_learns_it_only_after_the_code(driver, family):
    existing = AccountFactory(identifier="n.bensaid10", first_name="Nadia", last_name="Ben Saïd")
    # Every record matched is covered (partly covered ones are attached: test_attach.py).
    GuardianRecord.objects.filter(pk__in=[r.pk for r in family["records"]]).update(
        account=existing)

    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    page = unescape(driver.client.get(driver.url("code")).content.decode())
    assert "Vérifiez vos SMS" in page
    assert "déjà" not in page

    response = driver.send_code(driver.last_code())
    page = unescape(driver.client.get(response["Location"]).content.decode())
    assert "Vous avez déjà un compte ÉduConnect" in page
    assert "N.BENSAID10" in page  # as letters and « Mes services » print it
    assert reverse("accounts:login", args=["representant-legal"]) in page
    # A forgotten password has its own way, before the helpdesk (the tryout's finding).
    assert f'{reverse("accounts:password_forgotten")}?profil=representant-legal' in page
    assert "0 809 54 06 06" in page
    assert Flow.objects.get().status == FlowStatus.ALREADY_ACTIVE
    # No second account, and the pupils' step stays closed.
    assert Account.objects.count() == 1
    response = driver.client.get(driver.url("pupils"))
    assert response["Location"] == driver.url("flow")


def test_records_covered_by_another_activation_meanwhile_fail_cleanly(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    # Another activation (another tab, another browser) covers one record first.
    other = AccountFactory(identifier="n.bensaid11")
    GuardianRecord.objects.filter(pk=family["records"][1].pk).update(account=other)

    response = driver.choose_password()
    assert response.status_code == 302
    page = unescape(driver.client.get(response["Location"]).content.decode())
    assert "Vous avez déjà un compte ÉduConnect" in page
    assert Account.objects.count() == 1
    assert GuardianRecord.objects.get(pk=family["records"][0].pk).account is None


def test_a_disputed_link_is_marked_for_the_school_and_its_pupil_not_attached(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("non", None)})
    driver.choose_password()

    account = Account.objects.get()
    record_school, record_college = family["records"]
    record_school.refresh_from_db()
    record_college.refresh_from_db()
    assert record_school.account == account
    assert record_college.account is None
    link = yanis.responsibilities.get()
    assert link.status == ResponsibilityStatus.DISPUTED
    # Visible to the secretaries in the link's history, with the reason.
    assert link.history.first().history_change_reason.startswith("Contesté")
    assert JournalEvent.objects.filter(kind="activation_link_disputed").count() == 1


def test_a_non_corrected_after_precedent_disputes_nothing_and_shows_every_pupil(driver,
                                                                                family):
    """Tryout: « oui » for Inès, « non » for Yanis by mistake, then « Précédent » on the
    password step. Step 3 said « Un seul élève a été trouvé pour ce numéro » (false: two were)
    and Yanis's link stayed disputed whatever the new answer. Now nothing is disputed before
    the account is created: both pupils come back, and « oui » for both attaches both."""
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("non", None)})
    assert Flow.objects.get().step == "password"
    assert yanis.responsibilities.get().status == ResponsibilityStatus.ACTIVE

    driver._post(driver.url("password"), {"action": "back"})
    assert Flow.objects.get().step == "pupils"
    page = driver.page_text(driver.client.get(driver.url("pupils")))
    assert "Un seul élève a été trouvé" not in page
    assert "Inès" in page and "Yanis" in page
    assert ActivationData.of(Flow.objects.get()).disputed_link_ids == []

    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    driver.choose_password()
    account = Account.objects.get()
    assert {r.account for r in GuardianRecord.objects.all()} == {account}
    assert yanis.responsibilities.get().status == ResponsibilityStatus.ACTIVE
    assert not JournalEvent.objects.filter(kind="activation_link_disputed").exists()


def test_the_last_page_names_the_child_left_out_and_the_way_to_add_it_back(driver, family):
    """Tryout: « non » for Yanis at step 3, and the last page said « Vous pouvez utiliser
    tous les services numériques dédiés au suivi de la scolarité de vos enfants », nothing
    about him. Now it names him, says what the school does, and leads to « Ajouter un
    enfant », which does offer him again."""
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("non", None)})
    response = driver.choose_password()
    page = h.parse(driver.client.get(response["Location"]))
    left_out = page.select_one("#left-out")
    assert h.text(left_out.select_one("h3")) == "Un enfant n'a pas été rattaché à votre compte"
    words = h.text(left_out)
    assert "Vous avez indiqué ne pas être le représentant légal de cet élève : Yanis" in words
    assert "Leconte-de-Lisle" in words
    assert "Inès" not in words
    assert ("signalé comme contesté dans les informations de l'école ou de l'établissement, "
            "qui va l'examiner") in words
    assert "tous les services numériques" not in h.text(h.main(page))
    [link] = [a for a in left_out.select("a") if h.text(a) == "Ajouter un enfant"]
    assert link["href"] == reverse("families:child_add")

    # What the page says is true: the link is disputed, and « Ajouter un enfant » (signed in
    # already) offers Yanis again.
    assert yanis.responsibilities.get().status == ResponsibilityStatus.DISPUTED
    response = driver._post(link["href"], {"phone": family["phone"]})
    assert response.status_code == 302, response.status_code
    code = CHILD_CODE_IN_SMS.search(sms.outbox[-1].body).group(1)
    response = driver._post(response["Location"], {"code": code})
    pupils_page = h.text(h.main(h.parse(driver.client.get(response["Location"],
                                                           follow=True))))
    assert "Yanis" in pupils_page


def test_the_last_page_without_a_child_left_out_says_all_services(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    page = h.parse(driver.client.get(driver.choose_password()["Location"]))
    assert page.select_one("#left-out") is None
    assert ("Vous pouvez utiliser tous les services numériques dédiés au suivi de la scolarité "
            "de vos enfants.") in h.text(h.main(page))


def test_the_last_page_speaks_of_one_child_in_the_singular(driver, family):
    """Tryout: a parent of one child read « la scolarité de vos enfants »; seed 000's last
    screen says « de votre enfant »."""
    ines, yanis = family["pupils"]
    yanis.responsibilities.all().delete()
    walk_to_pupils(driver, family)
    driver.confirm_pupils({ines: ("oui", ines.birth_date)})
    page = h.text(h.main(h.parse(driver.client.get(driver.choose_password()["Location"]))))
    assert ("Vous pouvez utiliser tous les services numériques dédiés au suivi de la scolarité "
            "de votre enfant.") in page
    assert "vos enfants" not in page


def test_the_first_password_names_rule_speaks_of_names_only(driver, family):
    """Tryout: the activation's password step said « ni votre nom, ni votre prénom, ni votre
    identifiant », the identifier being given only at the next step. It names the names
    (the identifier is built from them, so it stays refused), and the checklist's lines,
    the seeds' « Doit contenir 1 majuscule »…, no longer follow a « Votre mot de passe doit
    contenir : » that said it once already."""
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("oui", yanis.birth_date)})
    page = h.parse(driver.client.get(driver.url("password")))
    checklist = page.find(id="id_password_error")
    personal = checklist.find(attrs={"data-rule": "personal"})
    assert h.text(personal) == "Votre mot de passe ne doit contenir ni votre nom, ni votre prénom."
    status = page.find(id="id_password_status")
    assert status["data-personal"] == "Ne doit contenir ni votre nom, ni votre prénom."
    assert "identifiant" not in h.text(personal) + status["data-personal"]
    shown = [h.text(p) for p in checklist.find_all("p", class_="fr-message")]
    assert "Doit contenir 1 majuscule" in shown
    assert not any(line.startswith("Votre mot de passe doit contenir") for line in shown)

    # The identifier to come (p.bensaid…) is still refused, through the name.
    response = driver.choose_password("p.Bensaid26!x")
    assert "Le mot de passe ne doit pas contenir votre nom" in driver.page(response)
    assert not Account.objects.exists()


def test_other_pages_keep_the_identifier_in_the_names_rule():
    """« Mot de passe oublié ? », « Mon compte »… know an identifier: their rule names it."""
    page = h.parse(render_to_string("components/new_password.html", {
        "form": PasswordForm(), **new_password_context(first_name="Nadia", last_name="Ben")}))
    assert h.text(page.find(attrs={"data-rule": "personal"})) == (
        "Votre mot de passe ne doit contenir ni votre nom, ni votre prénom, ni votre "
        "identifiant.")


def test_a_non_is_applied_only_when_the_account_is_created(driver, family):
    """A journey given up at the password step leaves no dispute for the school; the one
    that completes disputes the link, journaled on the new account."""
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("non", None)})
    link = yanis.responsibilities.get()
    assert link.status == ResponsibilityStatus.ACTIVE
    assert not JournalEvent.objects.filter(kind="activation_link_disputed").exists()

    driver.choose_password()
    link.refresh_from_db()
    assert link.status == ResponsibilityStatus.DISPUTED
    event = JournalEvent.objects.get(kind="activation_link_disputed")
    assert event.account == Account.objects.get()
    assert event.data["responsibility_id"] == link.pk


def test_one_pupil_is_confirmed_by_its_birth_date_without_a_choice_refused_later(driver,
                                                                                  family):
    """Tryout: with one child found, step 3 offered « Je ne suis pas le représentant légal
    de cet élève », then refused it (« ne peut pas être prise en compte pour lui »). Now the
    choice is not offered: the birth date confirms, and the page says what to do instead
    when one is not the child's représentant légal."""
    ines, yanis = family["pupils"]
    yanis.responsibilities.update(status=ResponsibilityStatus.REMOVED)
    walk_to_pupils(driver, family)

    response = driver.client.get(driver.url("pupils"))
    page = h.text(h.main(h.parse(response)))
    assert "Je ne suis pas le représentant légal de cet élève" not in page
    assert "Je suis le représentant légal de cet élève" not in page
    assert not h.main(h.parse(response)).select("input[type=radio]")
    assert ("Un seul élève a été trouvé pour ce numéro : en saisissant sa date de naissance, "
            "vous confirmez être son représentant légal.") in page
    assert ("Si vous n'êtes pas son représentant légal, n'allez pas plus loin : contactez "
            "l'école ou l'établissement de l'élève") in page
    assert "ne pourra pas être prise en compte" not in page
    # Nor plural words, nor a hint that makes the date depend on a choice that is not there.
    assert "de ces élèves" not in page and "leur date de naissance" not in page
    assert "Obligatoire si vous êtes son représentant légal" not in page
    assert "Par exemple : 17 05 2014" in page

    # The date alone is the way on.
    birth_date = ines.birth_date
    driver._post(driver.url("pupils"), {
        "eleve1_jour": f"{birth_date.day:02d}", "eleve1_mois": f"{birth_date.month:02d}",
        "eleve1_annee": str(birth_date.year)})
    assert Flow.objects.get().step == "password"
    assert ines.responsibilities.get().status == ResponsibilityStatus.ACTIVE


def test_two_pupils_still_offer_the_choice(driver, family):
    walk_to_pupils(driver, family)
    page = h.text(h.main(h.parse(driver.client.get(driver.url("pupils")))))
    assert page.count("Je ne suis pas le représentant légal de cet élève") == 2
    assert "Un seul élève a été trouvé" not in page
    assert page.count("Obligatoire si vous êtes son représentant légal") == 2


def test_at_least_one_pupil_must_be_confirmed(driver, family):
    walk_to_pupils(driver, family)
    ines, yanis = family["pupils"]
    page = driver.page(driver.confirm_pupils({ines: ("non", None), yanis: ("non", None)}))
    assert "confirmez être le représentant légal d'au moins un élève" in page
    assert ines.responsibilities.get().status == ResponsibilityStatus.ACTIVE
    assert yanis.responsibilities.get().status == ResponsibilityStatus.ACTIVE


def test_unanswered_and_malformed_pupil_answers_are_explained(driver, family):
    walk_to_pupils(driver, family)
    prefixes = driver.pupil_prefixes()
    data = {f"{prefixes['Inès']}_lien": "oui", f"{prefixes['Inès']}_jour": "31",
            f"{prefixes['Inès']}_mois": "02", f"{prefixes['Inès']}_annee": "2016"}
    page = driver.page(driver._post(driver.url("pupils"), data))
    assert "Cette date n'existe pas." in page
    assert "Indiquez si vous êtes le représentant légal de cet élève." in page
    # The three date inputs point at the date's messages; the summary links to the day.
    parsed = h.parse(page)
    for part in ("jour", "mois", "annee"):
        field_id = f'id_{prefixes["Inès"]}_{part}'
        assert h.field(parsed, field_id)["aria-invalid"] == "true"
        assert [h.text(e) for e in h.described_by(parsed, field_id)] == [
            "Cette date n'existe pas. Vérifiez le jour, le mois et l'année, par exemple "
            "17 05 2014."
        ]
    assert (f'#id_{prefixes["Inès"]}_jour',
            "Inès, date de naissance : Cette date n'existe pas. Vérifiez le jour, le mois et "
            "l'année, par exemple 17 05 2014.") in h.summary_links(parsed)
    # Malformed entries are not counted as wrong dates.
    assert ActivationData.of(Flow.objects.get()).wrong_dates == 0


def test_every_step_is_journaled_with_the_address_and_the_flow(driver, family):
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"], REMOTE_ADDR="192.0.2.44")
    driver.send_code("AAAAAA" if driver.last_code() != "AAAAAA" else "BBBBBB",
                     REMOTE_ADDR="192.0.2.44")
    driver.send_code(driver.last_code(), REMOTE_ADDR="192.0.2.44")
    ines, yanis = family["pupils"]
    wrong = ines.birth_date.replace(year=ines.birth_date.year - 1)
    driver.confirm_pupils({ines: ("oui", wrong), yanis: ("oui", yanis.birth_date)},
                          REMOTE_ADDR="192.0.2.44")
    driver.confirm_pupils({ines: ("oui", ines.birth_date), yanis: ("non", None)},
                          REMOTE_ADDR="192.0.2.44")
    driver.choose_password(REMOTE_ADDR="192.0.2.44")

    flow = Flow.objects.get()
    events = list(JournalEvent.objects.order_by("at", "pk"))
    assert [e.kind for e in events] == [
        "activation_started", "activation_code_sent", "activation_code_rejected",
        "activation_code_verified", "activation_birthdate_rejected",
        # The « non » is applied with the account (« Précédent » may still correct it).
        "activation_pupils_confirmed", "activation_link_disputed", "account_activated",
    ]
    assert {e.flow_id for e in events} == {flow.id}
    assert {e.ip_address for e in events} == {"192.0.2.44"}
    assert events[-1].account == flow.account


def test_a_double_submit_of_step_one_sends_one_sms(driver, family):
    first = driver.start(last_name=family["last_name"], first_name=family["first_name"],
                         phone=family["phone_typed"])
    again = driver.start(last_name="BEN SAID", first_name="nadia", phone="+262692123456")
    assert again["Location"] == first["Location"]
    assert len(sms.outbox) == 1 and Flow.objects.count() == 1
    # Another person typed in the same browser is another flow.
    other = driver.start(last_name="Ben Saïd", first_name="Karim", phone=family["phone_typed"])
    assert other["Location"] != first["Location"]
    assert Flow.objects.count() == 2


def test_pupils_removed_by_the_school_meanwhile_are_explained(driver, family):
    walk_to_pupils(driver, family)
    for pupil in family["pupils"]:
        pupil.responsibilities.update(status=ResponsibilityStatus.REMOVED)
    page = unescape(driver.client.get(driver.url("pupils")).content.decode())
    assert "Aucun élève n'est plus rattaché aux informations que vous avez saisies" in page
    assert "Confirmer" not in page
    # Not a dead end: the ways to help are linked (issue 13 §3).
    links = {a["href"]: h.text(a) for a in h.main(h.parse(page)).find_all("a")}
    assert links.get(reverse("assistance:form")) == "écrivez à l'assistance de votre académie"
    assert links.get(reverse("pages:help")) == "l'aide et les contacts de l'assistance"


def test_a_message_after_a_resend_is_shown_once_inside_main(driver, family, settings):
    # Before the shared page frame, the activation pages showed each message twice, once
    # outside <main>.
    settings.ACTIVATION_RESEND_COOLDOWN_SECONDS = 0
    settings.CODE_RECIPIENT_COOLDOWN_SECONDS = 0
    driver.start(last_name=family["last_name"], first_name=family["first_name"],
                 phone=family["phone_typed"])
    response = driver.resend()
    page = h.parse(driver.client.get(response["Location"]))
    [message] = h.messages(page)
    assert message.startswith("Si vos nom, prénom et numéro sont ceux connus de l'établissement")
    assert "un nouveau code de sécurité est envoyé au " in message
    [status] = h.statuses(page)
    assert status.find_parent("main") is not None
    assert h.alerts(page) == []


def test_only_links_marked_legal_representative_activate(driver, family):
    # The school says the college's record is not Yanis's legal representative (« non » in
    # its file): step 3 lists Inès only, and the account covers only the school's record.
    ines, _yanis = family["pupils"]
    record_school, record_college = family["records"]
    record_college.responsibilities.update(is_legal_representative=False)
    walk_to_pupils(driver, family)
    assert set(driver.pupil_prefixes()) == {ines.first_name}
    driver.confirm_pupils({ines: ("oui", ines.birth_date)})
    driver.choose_password()
    account = Account.objects.get(guardian_records=record_school)
    record_college.refresh_from_db()
    assert record_college.account_id is None
    assert list(account.guardian_records.all()) == [record_school]


def test_a_guardian_with_no_legal_link_reads_the_same_pages_and_gets_no_sms(driver, family):
    # Every link says « non »: nothing matches, exactly as for an unknown name and number.
    for record in family["records"]:
        record.responsibilities.update(is_legal_representative=False)
    response = driver.start(last_name=family["last_name"], first_name=family["first_name"],
                            phone=family["phone_typed"])
    assert response.status_code == 302
    assert sms.outbox == []
    flow = Flow.objects.get(pk=driver.flow_id)
    assert ActivationData.of(flow).matched_record_ids == []
