"""A secretary fixes her school's data; every change is kept with its author, before and
after, and shown on the object's history page; nobody can rewrite that history."""

import datetime

import pytest
from django.urls import reverse

from core.models import JournalEvent
from pupils.models import Responsibility
from tests import html
from tests.factories import EstablishmentFactory, GuardianRecordFactory

pytestmark = pytest.mark.django_db


def record_form(record, **changes):
    data = {
        "mobile_phone": str(record.mobile_phone or ""),
        "email": record.email,
        # The links inline (management form), unchanged.
        "responsibilities-TOTAL_FORMS": "0",
        "responsibilities-INITIAL_FORMS": "0",
        "responsibilities-MIN_NUM_FORMS": "0",
        "responsibilities-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def change_url(obj):
    return reverse(f"admin:pupils_{obj._meta.model_name}_change", args=[obj.pk])


def history_url(obj):
    return reverse(f"admin:pupils_{obj._meta.model_name}_history", args=[obj.pk])


def test_phone_fix_is_stored_in_e164_and_shown_in_history_with_author(
    secretary_client, secretary, world
):
    record = world.rec_a1
    response = secretary_client.post(change_url(record),
                                     record_form(record, mobile_phone="07 98 76 54 32"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    record.refresh_from_db()
    assert str(record.mobile_phone) == "+33798765432"
    change = record.history.latest()
    assert change.history_user == secretary
    assert str(change.prev_record.mobile_phone) == "+33611223344"
    event = JournalEvent.objects.get(kind="pupils.guardian_contact_updated")
    assert (event.actor, event.account) == (secretary, world.account_a1)  # the account's file
    assert event.data["changed"] == ["mobile_phone"]
    assert "+33798765432" not in str(event.data)  # facts, not the number
    page = secretary_client.get(history_url(record)).content.decode()
    assert secretary.identifier in page  # the author
    # before → after, written as the other pages write a number
    assert "+33 6 11 22 33 44" in page and "+33 7 98 76 54 32" in page


def test_overseas_school_reads_national_numbers_in_its_region(secretary_client, secretary, world):
    reunion = EstablishmentFactory(uai="9740010Z", name="Collège Bourbon",
                                   academy=world.academy_a)
    secretary.staff_profile.establishments.add(reunion)
    record = GuardianRecordFactory(establishment=reunion, mobile_phone="")
    response = secretary_client.post(change_url(record),
                                     record_form(record, mobile_phone="0692 12 34 56"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert str(record.mobile_phone) == "+262692123456"


@pytest.mark.parametrize("typed", ["01 23 45 67 89", "06 12", "téléphone"])
def test_bad_phone_gets_a_french_error_naming_the_field(secretary_client, world, typed):
    record = world.rec_a1
    response = secretary_client.post(change_url(record), record_form(record, mobile_phone=typed))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Téléphone portable : Ce numéro n&#x27;est pas un numéro de téléphone portable" in body
    assert 'id="id_mobile_phone_error"' in body
    assert 'aria-describedby="id_mobile_phone_helptext id_mobile_phone_error"' in body
    record.refresh_from_db()
    assert str(record.mobile_phone) == "+33611223344"
    assert record.history.count() == 1  # nothing half-written


def test_bad_email_names_the_field(secretary_client, world):
    record = world.rec_a1
    response = secretary_client.post(change_url(record), record_form(record, email="helene@"))
    assert response.status_code == 200
    assert "Adresse mail : saisissez une adresse valide" in response.content.decode()


def test_clearing_the_phone_is_allowed(secretary_client, world):
    record = world.rec_a1
    response = secretary_client.post(change_url(record), record_form(record, mobile_phone=""))
    assert response.status_code == 302
    record.refresh_from_db()
    assert not record.mobile_phone


def test_record_page_shows_the_covering_account_and_never_secrets(secretary_client, world):
    body = secretary_client.get(change_url(world.rec_a1)).content.decode()
    assert "Compte actif : H.LEFEVRE12" in body
    assert "argon2" not in body
    assert world.account_a1.password.split("$")[-1] not in body
    no_account = GuardianRecordFactory(establishment=world.a1)
    body = secretary_client.get(change_url(no_account)).content.decode()
    assert "Aucun compte : activation non faite" in body


def test_changelist_shows_account_cover(secretary_client, world):
    body = secretary_client.get(reverse("admin:pupils_guardianrecord_changelist")).content.decode()
    assert "Compte actif : H.LEFEVRE12" in body


@pytest.mark.parametrize(("model", "title"), [
    ("pupil", "Choisissez un élève à modifier"),
    ("guardianrecord", "Choisissez une fiche responsable à modifier"),
    ("responsibility", "Choisissez un lien responsable–élève à modifier"),
])
def test_changelists_are_titled_in_plain_french(secretary_client, world, model, title):
    body = secretary_client.get(reverse(f"admin:pupils_{model}_changelist")).content.decode()
    assert f"<h1>{title}</h1>" in body
    assert "à changer" not in body  # Django's « Sélectionnez l’objet élève à changer »


def test_a_list_nobody_may_change_is_titled_to_consult(national_client, world):
    body = national_client.get(reverse("admin:core_journalevent_changelist")).content.decode()
    assert "<h1>Choisissez un événement du journal à consulter</h1>" in body


def pupil_form(pupil, **changes):
    data = {
        "last_name": pupil.last_name, "first_names": pupil.first_names,
        "birth_date": pupil.birth_date.strftime("%d/%m/%Y"),
        "responsibilities-TOTAL_FORMS": "0", "responsibilities-INITIAL_FORMS": "0",
        "responsibilities-MIN_NUM_FORMS": "0", "responsibilities-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_birth_date_fix_is_audited(secretary_client, secretary, world):
    pupil = world.pupil_a1
    response = secretary_client.post(change_url(pupil),
                                     pupil_form(pupil, birth_date="12/04/2013",
                                                first_names="  Zoé   Marie "))
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert pupil.birth_date == datetime.date(2013, 4, 12)
    assert pupil.first_names == "Zoé Marie"
    change = pupil.history.latest()
    assert change.history_user == secretary
    assert change.history_change_reason == "État civil d'un élève corrigé par l'établissement"
    assert change.prev_record.birth_date == datetime.date(2013, 4, 2)
    event = JournalEvent.objects.get(kind="pupils.pupil_updated")
    assert event.actor == secretary
    assert event.data == {"pupil": pupil.pk, "establishment": "0940001A",
                          "changed": ["first_names", "birth_date"]}


@pytest.mark.parametrize(
    ("typed", "message"),
    [("31/02/2013", "Date de naissance : la date « 31/02/2013 » n&#x27;existe pas ; vérifiez "
                    "le jour et le mois."),
     # (AAAA-MM-JJ is accepted since issue 16 §3; a day-first form with dashes is not.)
     ("12-04-2013", "Date de naissance : la date « 12-04-2013 » est mal écrite ; écrivez-la au "
                    "format JJ/MM/AAAA"),
     ("01/01/2099", "Date de naissance : la date « 01/01/2099 » est dans le futur ; vérifiez "
                    "l&#x27;année."),
     ("01/01/1913", "Date de naissance : la date « 01/01/1913 » est trop ancienne"),
     ("", "Date de naissance : saisissez-la au format JJ/MM/AAAA")],
)
def test_bad_birth_dates_are_refused(secretary_client, world, typed, message):
    pupil = world.pupil_a1
    response = secretary_client.post(change_url(pupil), pupil_form(pupil, birth_date=typed))
    assert response.status_code == 200
    assert message in response.content.decode()
    pupil.refresh_from_db()
    assert pupil.birth_date == datetime.date(2013, 4, 2)
    assert pupil.history.count() == 1  # nothing written


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [("last_name", "  ", "Nom : saisissez le nom de l&#x27;élève."),
     ("last_name", "--", "Nom : saisissez le nom de l&#x27;élève."),
     ("first_names", "", "Prénoms : saisissez au moins un prénom."),
     # « \u202eNAIDN » would read « NDIAN » on every page that shows the pupil.
     ("last_name", "\u202eNAIDN", "Nom : ce texte contient un caractère invisible qui change "
                                  "le sens d&#x27;affichage des mots"),
     # Tryout of the demo: « MARTIN 2 » was saved, though no family form accepts a digit in a
     # name (core.forms.PersonNameField): the family could never type it back.
     ("last_name", "MARTIN 2", "Nom : saisissez uniquement des lettres, accentuées ou non, des "
                               "espaces, des traits d&#x27;union, des apostrophes et le point "
                               "d&#x27;une abréviation (« St. ») ; retirez les chiffres, "
                               "symboles et émojis."),
     ("first_names", "Zoé 😀", "Prénoms : saisissez uniquement des lettres")],
)
def test_bad_names_are_refused_naming_the_field(secretary_client, world, field,
                                                             typed, message):
    pupil = world.pupil_a1
    response = secretary_client.post(change_url(pupil), pupil_form(pupil, **{field: typed}))
    assert response.status_code == 200
    assert message in response.content.decode()
    pupil.refresh_from_db()
    assert pupil.history.count() == 1


def test_secretary_cannot_edit_ine_or_school(secretary_client, world):
    pupil = world.pupil_a1
    secretary_client.post(change_url(pupil),
                          pupil_form(pupil, ine="999999999ZZ", establishment=world.b1.pk))
    pupil.refresh_from_db()
    assert pupil.ine == "111111111AA" and pupil.establishment == world.a1


def test_add_a_link_then_set_legal_representative_and_resolve(secretary_client, secretary,
                                                               world):
    response = secretary_client.post(
        reverse("admin:pupils_responsibility_add"),
        {"guardian_record": world.rec_a1.pk, "pupil": world.pupil_a1_bis.pk,
         "status": "active"},  # « représentant légal » unticked
    )
    assert response.status_code == 302
    link = Responsibility.objects.get(guardian_record=world.rec_a1, pupil=world.pupil_a1_bis)
    assert not link.is_legal_representative
    assert link.history.latest().history_user == secretary

    changelist = reverse("admin:pupils_responsibility_changelist")
    secretary_client.post(changelist, {"action": "links_set_legal",
                                       "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert link.is_legal_representative

    # A link the guardian disputed during activation: the secretary keeps it.
    link.status = "disputed"
    link.save()
    response = secretary_client.get(changelist, {"status__exact": "disputed"})
    assert [r.pk for r in response.context["cl"].result_list] == [link.pk]
    secretary_client.post(changelist, {"action": "links_keep", "_selected_action": [link.pk]})
    link.refresh_from_db()
    assert link.status == "active"
    latest = link.history.latest()
    assert latest.history_user == secretary and latest.prev_record.status == "disputed"


def test_adding_an_existing_link_says_what_to_do(secretary_client, world):
    response = secretary_client.post(
        reverse("admin:pupils_responsibility_add"),
        {"guardian_record": world.rec_a1.pk, "pupil": world.pupil_a1.pk, "status": "active",
         "is_legal_representative": "on"},
    )
    assert response.status_code == 200
    assert "Ce lien existe déjà" in response.content.decode()


def test_link_added_from_the_record_page_must_be_of_the_same_school(secretary_client, world):
    record = world.rec_a1
    data = record_form(record)
    data.update({
        "responsibilities-TOTAL_FORMS": "2", "responsibilities-INITIAL_FORMS": "1",
        "responsibilities-0-id": world.link_a1.pk,
        "responsibilities-0-guardian_record": record.pk,
        "responsibilities-0-is_legal_representative": "on",
        "responsibilities-0-status": "active",
        "responsibilities-1-guardian_record": record.pk,
        "responsibilities-1-pupil": world.pupil_a2.pk,  # another school's pupil
        "responsibilities-1-status": "active",
    })
    response = secretary_client.post(change_url(record), data)
    assert response.status_code == 200
    assert not Responsibility.objects.filter(pupil=world.pupil_a2, guardian_record=record).exists()


@pytest.mark.parametrize("page", ["record", "pupil"])
def test_a_secretary_of_two_schools_cannot_link_across_them(secretary_client, secretary, world,
                                                             page):
    # Both schools are hers: the choices offer both, the rule refuses the mix, and nothing of
    # the page is written — not even the good phone fix posted with it.
    secretary.staff_profile.establishments.add(world.a2)
    record = world.rec_a1
    if page == "record":
        data = record_form(record, mobile_phone="07 98 76 54 32")
        data.update({"responsibilities-TOTAL_FORMS": "1",
                     "responsibilities-0-guardian_record": record.pk,
                     "responsibilities-0-pupil": world.pupil_a2.pk,
                     "responsibilities-0-is_legal_representative": "on",
                     "responsibilities-0-status": "active"})
        url = change_url(record)
        message = ("Élève : choisissez un élève de l&#x27;établissement de cette fiche "
                   "responsable (Collège Jules-Ferry (0940001A))")
    else:
        data = pupil_form(world.pupil_a2, first_names="Lan Anh")
        data.update({"responsibilities-TOTAL_FORMS": "1",
                     "responsibilities-0-pupil": world.pupil_a2.pk,
                     "responsibilities-0-guardian_record": record.pk,
                     "responsibilities-0-status": "active"})
        url = change_url(world.pupil_a2)
        message = ("Responsable : choisissez une fiche responsable de l&#x27;établissement de "
                   "l&#x27;élève (École Les Lilas (0940002B))")
    response = secretary_client.post(url, data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Responsibility.objects.filter(pupil=world.pupil_a2, guardian_record=record).exists()
    record.refresh_from_db()
    world.pupil_a2.refresh_from_db()
    assert str(record.mobile_phone) == "+33611223344"
    assert world.pupil_a2.first_names == "Lan"
    assert not JournalEvent.objects.filter(kind__startswith="pupils.").exists()


def test_a_link_added_from_the_pupil_page_goes_through_the_service(secretary_client, secretary,
                                                                   world):
    other = GuardianRecordFactory(establishment=world.a1, last_name="Martin", first_name="Paul")
    pupil = world.pupil_a1_bis
    data = pupil_form(pupil)
    data.update({"responsibilities-TOTAL_FORMS": "1",
                 "responsibilities-0-pupil": pupil.pk,
                 "responsibilities-0-guardian_record": other.pk,
                 "responsibilities-0-status": "active"})
    response = secretary_client.post(change_url(pupil), data)
    assert response.status_code == 302
    link = Responsibility.objects.get(pupil=pupil, guardian_record=other)
    assert (link.status, link.is_legal_representative) == ("active", False)
    assert link.history.get().history_user == secretary
    event = JournalEvent.objects.get(kind="pupils.link_added")
    assert event.actor == secretary and event.data["link"] == link.pk


def test_a_new_link_row_cannot_start_removed_or_disputed(secretary_client, world):
    record = world.rec_a1
    data = record_form(record)
    data.update({"responsibilities-TOTAL_FORMS": "1",
                 "responsibilities-0-guardian_record": record.pk,
                 "responsibilities-0-pupil": world.pupil_a1_bis.pk,
                 "responsibilities-0-status": "disputed"})
    response = secretary_client.post(change_url(record), data)
    assert response.status_code == 200
    assert "État : un lien ajouté est « Actif »." in response.content.decode()
    assert not Responsibility.objects.filter(pupil=world.pupil_a1_bis).exists()


def test_the_school_cannot_mark_a_link_disputed(secretary_client, world):
    link = world.link_a1
    response = secretary_client.post(
        reverse("admin:pupils_responsibility_change", args=[link.pk]),
        {"is_legal_representative": "on", "status": "disputed"},
    )
    assert response.status_code == 200
    assert ("État : seul le responsable peut contester un lien, lors de l&#x27;activation de "
            "son compte.") in response.content.decode()
    link.refresh_from_db()
    assert link.status == "active"


def test_link_removed_from_the_record_page_inline(secretary_client, secretary, world):
    record = world.rec_a1
    data = record_form(record)
    data.update({
        "responsibilities-TOTAL_FORMS": "1", "responsibilities-INITIAL_FORMS": "1",
        "responsibilities-0-id": world.link_a1.pk,
        "responsibilities-0-guardian_record": record.pk,
        "responsibilities-0-is_legal_representative": "on",
        "responsibilities-0-status": "removed",
    })
    response = secretary_client.post(change_url(record), data)
    assert response.status_code == 302
    world.link_a1.refresh_from_db()
    assert world.link_a1.status == "removed"
    assert world.link_a1.history.latest().history_user == secretary


# --- Audit rows are read-only -------------------------------------------------------------


def test_history_version_page_cannot_revert(secretary_client, world):
    record = world.rec_a1
    version = record.history.latest()
    url = reverse("admin:pupils_guardianrecord_simple_history", args=[record.pk,
                                                                       version.history_id])
    assert secretary_client.get(url).status_code == 200
    response = secretary_client.post(url, record_form(record, mobile_phone="0799999999"))
    assert response.status_code == 403
    record.refresh_from_db()
    assert str(record.mobile_phone) == "+33611223344"


def test_journal_has_no_write_path_even_for_national_admins(national_client, world):
    event = JournalEvent.objects.create(kind="login_failed", account=world.account_a1)
    change = reverse("admin:core_journalevent_change", args=[event.pk])
    assert national_client.get(change).status_code == 200  # readable
    assert national_client.post(change, {"kind": "x"}).status_code == 403
    delete = reverse("admin:core_journalevent_delete", args=[event.pk])
    assert national_client.post(delete, {"post": "yes"}).status_code == 403
    assert national_client.get(reverse("admin:core_journalevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.kind == "login_failed"


def test_no_role_holds_a_history_or_journal_write_permission(secretary, helpdesk_agent,
                                                             national_admin):
    for user in (secretary, helpdesk_agent, national_admin):
        permissions = user.get_all_permissions()
        assert not {p for p in permissions if ".add_historical" in p or ".change_historical" in p
                    or ".delete_historical" in p}
        assert not {p for p in permissions if p.endswith("_journalevent")} - {
            "core.view_journalevent"
        }


def test_a_birth_date_is_a_plain_date_box_without_today_nor_time_zone(secretary_client, world):
    page = html.parse(secretary_client.get(change_url(world.pupil_a1)))
    box = page.find("input", attrs={"name": "birth_date"})
    assert box["value"] == "02/04/2013"
    assert "vDateField" not in box.get("class", [])  # the admin's calendar hooks on this class
    scripts = [s.get("src", "") for s in page.find_all("script")]
    assert not [s for s in scripts if "DateTimeShortcuts" in s or "calendar.js" in s]
    assert html.text(page.find(id="id_birth_date_helptext")) == (
        "Au format JJ/MM/AAAA, par exemple 14/03/2012.")


def test_an_empty_class_is_saved_as_the_import_allows_and_the_form_says_so(secretary_client,
                                                                         world):
    """The roster's « classe » column is optional (pupils.roster.OPTIONAL_COLUMNS), and the
    letters page finds a pupil without a class by level: the form says what an empty class
    means rather than imply a class is needed for the letters."""
    pupil = world.pupil_a1
    page = html.parse(secretary_client.get(change_url(pupil)))
    help_text = html.text(page.find(id="id_division_helptext"))
    assert help_text == ("Par exemple 6A ou 2NDE3. Facultative, comme dans l'import des "
                         "élèves : les lettres des comptes provisoires se choisissent par "
                         "classe, ou par niveau pour un élève sans classe.")
    response = secretary_client.post(change_url(pupil), pupil_form(pupil, division=""))
    assert response.status_code == 302
    pupil.refresh_from_db()
    assert pupil.division == ""


def test_a_record_history_reads_in_french_with_a_dash_for_an_empty_value(secretary_client,
                                                                         world):
    """Tryout of the demo: the « Historique » of a guardian record showed « MOBILE_PHONE »,
    « EMAIL », « ACCOUNT », « CHANGES » and « None » (django-simple-history's own list)."""
    record = GuardianRecordFactory(establishment=world.a1, mobile_phone="+33612121212",
                                   email="parent@exemple.fr")  # no account covers it
    response = secretary_client.post(change_url(record), record_form(
        record, mobile_phone="07 98 76 54 32", email=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = html.parse(secretary_client.get(history_url(record)))
    table = page.find("table", id="change-history")
    headers = [html.text(th) for th in table.find("thead").find_all("th")]
    assert headers == ["Version", "Téléphone portable", "Adresse mail",
                       "Compte", "Date et heure", "Action", "Modifié par", "Motif",
                       "Modifications"]
    newest = [html.text(td) for td in table.find("tbody").find("tr").find_all("td")]
    assert newest[1] == "+33 7 98 76 54 32"
    assert newest[2] == newest[3] == "—"  # no address, no account: not « None »
    assert "Adresse mail : parent@exemple.fr → —" in newest[8]
    assert "Téléphone portable : +33 6 12 12 12 12 → +33 7 98 76 54 32" in newest[8]
    body = html.text(table)
    for raw in ("None", "mobile_phone", "MOBILE_PHONE", "Changes", "account"):
        assert raw not in body
