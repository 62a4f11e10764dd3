"""The back-office in Chromium: a secretary signs in with password + TOTP and fixes a
guardian's mobile number, and the guardian then activates by SMS with the new number; a
helpdesk agent enrols the second factor with the key shown next to the QR code, then finds
accounts by a number typed with spaces and a name typed without accents. axe on each page."""

import datetime
import re
import time
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Account, StaffRole
from backoffice.services import staff_create
from notifications.sms import FileSMSBackend
from pupils.models import GuardianRecord
from tests.browser.a11y import assert_accessible
from tests.factories import (
    AcademyFactory,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

STAFF_PASSWORD = "Rentree-Scolaire-2026!"
GUARDIAN_PASSWORD = "Cartable-Vert-2024!"
CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")


@pytest.fixture
def school(transactional_db):
    academy = AcademyFactory(name="Créteil")
    college = EstablishmentFactory(uai="0940021K", name="Collège Paul-Éluard", academy=academy)
    record = GuardianRecordFactory(establishment=college, last_name="RAKOTOMALALA",
                                   first_name="Fanja", mobile_phone="+33611111111")
    pupil = PupilFactory(establishment=college, last_name="RAKOTOMALALA", first_names="Tiana",
                         birth_date=datetime.date(2012, 9, 3))
    ResponsibilityFactory(guardian_record=record, pupil=pupil)
    return {"academy": academy, "college": college, "record": record, "pupil": pupil}


def sign_in_back_office(page, live_server, identifier, *, code_from_page=False, device=None):
    page.goto(f"{live_server.url}/gestion/")
    expect(page.get_by_role("heading", name="Connexion à l'espace de gestion")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Identifiant").fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_label("Code à 6 chiffres")).to_be_visible()
    assert_accessible(page)
    if code_from_page:
        expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
        secret = page.locator("#totp-secret").inner_text().replace(" ", "")
        code = totp(b32decode(secret))
    else:
        code = totp(device.bin_key)
    page.get_by_label("Code à 6 chiffres").fill(f"{code:06d}")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("link", name="Déconnexion").or_(
        page.get_by_role("button", name="Déconnexion"))).to_be_visible()


def read_code(folder, *, timeout=10.0) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = FileSMSBackend.read_messages(file_path=folder)
        if messages:
            return messages[-1].to, CODE_IN_SMS.search(messages[-1].body).group(1)
        time.sleep(0.1)
    raise AssertionError("no SMS file was written")


def test_secretary_fixes_a_number_then_the_parent_activates_with_it(
    page, browser, live_server, sms_folder, school
):
    secretary = staff_create(
        first_name="Claire", last_name="Bonnet", email="claire.bonnet@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.SECRETARY, establishments=[school["college"]],
    )
    device = TOTPDevice.objects.create(user=secretary, name="Téléphone", confirmed=True)
    sign_in_back_office(page, live_server, secretary.identifier.upper(), device=device)

    # The parent called: the school had an old number. Find the record, fix the number.
    page.get_by_role("link", name=re.compile("Fiches responsables")).first.click()
    page.get_by_role("searchbox").or_(page.locator("#searchbar")).first.fill("rakoto")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("link", name="RAKOTOMALALA")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="RAKOTOMALALA").click()
    expect(page.get_by_text("Aucun compte : activation non faite")).to_be_visible()
    assert_accessible(page)
    phone = page.get_by_label("Téléphone portable")
    phone.fill("07 56 34")  # a slip first: the error says what to type
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("#id_mobile_phone_error")).to_contain_text("Téléphone portable :")
    expect(page.get_by_label("Téléphone portable")).to_have_attribute(
        "aria-describedby", "id_mobile_phone_helptext id_mobile_phone_error"
    )
    assert_accessible(page)
    page.get_by_label("Téléphone portable").fill("07 56 34 56 78")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Modifications enregistrées : la fiche responsable « Fanja RAKOTOMALALA ».")
    record = GuardianRecord.objects.get(pk=school["record"].pk)
    assert str(record.mobile_phone) == "+33756345678"
    assert record.history.latest().history_user == secretary

    # The history shows the change and its author.
    page.goto(live_server.url + reverse("admin:pupils_guardianrecord_history",
                                        args=[record.pk]))
    expect(page.get_by_text(secretary.identifier).first).to_be_visible()
    expect(page.get_by_text("+33 7 56 34 56 78").first).to_be_visible()
    assert_accessible(page)

    # The parent, in their own browser, activates with the new number.
    parent = browser.new_context().new_page()
    parent.goto(live_server.url + reverse("activation:start"))
    parent.get_by_label("Nom", exact=True).fill("Rakotomalala")
    parent.get_by_label("Prénom", exact=True).fill("Fanja")
    parent.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill(
        "07 56 34 56 78"
    )
    parent.get_by_role("button", name="Suivant").click()
    expect(parent.get_by_text("Vérifiez vos SMS")).to_be_visible()
    to, code = read_code(sms_folder)
    assert to == "+33756345678"
    parent.get_by_label("Code de sécurité").fill(code)
    parent.get_by_role("button", name="Suivant").click()
    section = parent.locator("section", has=parent.get_by_role("heading", name="Tiana"))
    # One child found: the birth date alone confirms (no « Je suis … » choice).
    section.get_by_label("Jour").fill("03")
    section.get_by_label("Mois").fill("09")
    section.get_by_label("Année").fill("2012")
    parent.get_by_role("button", name="Confirmer").click()
    parent.get_by_label("Mot de passe", exact=True).fill(GUARDIAN_PASSWORD)
    parent.get_by_label("Confirmation du mot de passe", exact=True).fill(GUARDIAN_PASSWORD)
    parent.get_by_role("button", name="Suivant").click()
    expect(parent.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    account = Account.objects.get(kind="guardian")
    assert str(account.phone) == "+33756345678"
    assert GuardianRecord.objects.get(pk=record.pk).account == account

    # Back in the back-office, the record shows the account that now covers it.
    page.goto(live_server.url + reverse("admin:pupils_guardianrecord_change", args=[record.pk]))
    expect(page.get_by_text(f"Compte actif : {account.display_identifier}")).to_be_visible()


def test_helpdesk_enrols_then_finds_accounts_by_phone_and_unaccented_name(
    page, live_server, school
):
    lefevre = AccountFactory(identifier="h.lefevre12", first_name="Hélène", last_name="Lefèvre",
                             phone="+33698765432")
    GuardianRecordFactory(establishment=school["college"], last_name="Lefèvre",
                          first_name="Hélène", mobile_phone="+33698765432", account=lefevre)
    agent = staff_create(
        first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.HELPDESK, academy=school["academy"],
    )
    # First sign-in: enrol with the key printed under the QR code.
    sign_in_back_office(page, live_server, agent.identifier, code_from_page=True)
    assert TOTPDevice.objects.get(user=agent).confirmed

    page.get_by_role("link", name="Rechercher un compte").first.click()
    expect(page.get_by_role("heading", name="Rechercher un compte")).to_be_visible()
    assert_accessible(page)

    search = page.get_by_label("Rechercher un compte")
    search.fill("06 98 76 54 32")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Recherche par numéro de téléphone")).to_be_visible()
    expect(page.get_by_role("link", name="H.LEFEVRE12")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Rechercher un compte").fill("lefevre")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Recherche par nom")).to_be_visible()
    page.get_by_role("link", name="H.LEFEVRE12").click()
    expect(page.get_by_role("heading", name="Compte H.LEFEVRE12")).to_be_visible()
    expect(page.get_by_text("Collège Paul-Éluard (0940021K)").first).to_be_visible()
    assert_accessible(page)

    # An unusable query: the error is next to the field and tied to it.
    page.goto(live_server.url + reverse("admin:helpdesk_search"))
    page.get_by_label("Rechercher un compte").fill("06 98")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#id_q_error")).to_contain_text("numéro de téléphone portable valide")
    assert_accessible(page)


def test_helpdesk_finds_a_mother_by_her_childs_name(page, live_server, school):
    """« Je suis la mère de Lucas Moreau, en 5e au collège Paul-Éluard »: the mother is
    Mme Durand. The agent types the child's name and finds her under « Élèves de ce nom »,
    then opens her account's file from there."""
    lucas = PupilFactory(establishment=school["college"], last_name="Moreau",
                         first_names="Lucas", level="5EME", division="5B")
    mother = AccountFactory(identifier="c.durand7", first_name="Claire", last_name="Durand",
                            phone="+33644556677")
    record = GuardianRecordFactory(establishment=school["college"], last_name="Durand",
                                   first_name="Claire", mobile_phone="+33644556677",
                                   account=mother)
    ResponsibilityFactory(guardian_record=record, pupil=lucas)
    agent = staff_create(
        first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.HELPDESK, academy=school["academy"],
    )
    device = TOTPDevice.objects.create(user=agent, name="Application", confirmed=True)
    sign_in_back_office(page, live_server, agent.identifier, device=device)

    page.goto(live_server.url + reverse("admin:helpdesk_search"))
    page.get_by_label("Rechercher un compte").fill("moreau lucas")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("Élèves de ce nom : 1 élève.")).to_be_visible()
    section = page.get_by_role("region", name="Élèves et leurs responsables")
    expect(page.get_by_role("heading", name="Élèves de ce nom")).to_be_visible()
    row = section.get_by_role("row", name=re.compile("MOREAU Lucas"))
    expect(row).to_contain_text("Collège Paul-Éluard (0940021K)")
    expect(row).to_contain_text("classe 5B, 5e")
    expect(row.get_by_role("link", name="DURAND Claire")).to_be_visible()
    # Not found by her own name: the accounts' list has no Durand.
    expect(page.get_by_role("region", name="Comptes")).not_to_contain_text("DURAND")
    assert_accessible(page)

    row.get_by_role("link", name="C.DURAND7").click()
    expect(page.get_by_role("heading", name="Compte C.DURAND7")).to_be_visible()


def test_a_secretary_reads_her_schools_academy_as_text_not_a_dead_link(page, live_server,
                                                                       school):
    """The establishment's page names its academy; a secretary may not open academies, so
    the name is plain text rather than a link to a 403 (a tryout finding)."""
    secretary = staff_create(
        first_name="Claire", last_name="Bonnet", email="claire.bonnet@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.SECRETARY, establishments=[school["college"]])
    device = TOTPDevice.objects.create(user=secretary, name="Téléphone", confirmed=True)
    sign_in_back_office(page, live_server, secretary.identifier, device=device)
    page.goto(f"{live_server.url}/gestion/pupils/establishment/{school['college'].pk}/change/")
    row = page.locator(".field-academy")
    expect(row.locator(".readonly")).to_have_text("Créteil")
    expect(row.get_by_role("link")).to_have_count(0)
    expect(page.locator("#content-main a[href*='/pupils/academy/']")).to_have_count(0)
    assert_accessible(page)


def test_helpdesk_sees_a_suspension_from_one_address_and_lifts_it(page, live_server, school,
                                                                  settings):
    """Five wrong passwords from one browser suspend the guardian's sign-in for untrusted
    browsers at that address: the account file says so (from how many addresses, until
    when) beside « État : Actif », accessibly, and « Déverrouiller » lifts it."""
    from django.test import Client

    from tests.factories import DEFAULT_PASSWORD

    lefevre = AccountFactory(identifier="h.lefevre12", first_name="Hélène", last_name="Lefèvre")
    GuardianRecordFactory(establishment=school["college"], last_name="Lefèvre",
                          first_name="Hélène", account=lefevre)
    portal = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(settings.LOGIN_MAX_FAILURES_PER_IDENTIFIER_AND_IP):
        portal.post("/connexion/representant-legal/",
                    {"identifier": "h.lefevre12", "password": "Mauvais-1!"})
    assert portal.post("/connexion/representant-legal/", {
        "identifier": "h.lefevre12", "password": DEFAULT_PASSWORD}).status_code == 429

    agent = staff_create(
        first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.HELPDESK, academy=school["academy"],
    )
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    sign_in_back_office(page, live_server, agent.identifier, device=device)
    page.goto(live_server.url + reverse("admin:helpdesk_account", args=[lefevre.pk]))
    expect(page.get_by_role("heading", name="Compte H.LEFEVRE12")).to_be_visible()
    suspension = page.locator("#sign-in-suspended-addresses")
    expect(suspension).to_contain_text(re.compile(
        r"Suspendue après trop d'échecs depuis 1 adresse IP \(198\.51\.100\.7\), "
        r"jusqu'au \d{1,2} \S+ \d{4} à \d\d h \d\d au plus tard, sauf depuis les "
        r"navigateurs où le compte s'est "
        r"déjà connecté"))
    assert_accessible(page)

    unlock = page.locator("form", has=page.locator("#id_unlock-reason"))
    unlock.get_by_label("Motif").fill("Appel du parent, identité vérifiée")
    unlock.get_by_role("button", name="Déverrouiller").click()
    expect(page.get_by_text("Le compte est déverrouillé")).to_be_visible()
    expect(page.locator("#sign-in-suspended-addresses")).to_have_count(0)
    assert_accessible(page)
    assert Client(REMOTE_ADDR="198.51.100.7").post("/connexion/representant-legal/", {
        "identifier": "h.lefevre12", "password": DEFAULT_PASSWORD}).status_code == 302


# Every word of a table cell (split at spaces and hyphens) whose text lies on more than one
# line: a word cut in the middle (« Représe ntant », « H.DUPRE / LAGARD / E25 »).
WORDS_SPLIT = """() => {
  const split = [];
  for (const cell of document.querySelectorAll('table th, table td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const words = /[^\\s-]+/g;
      let match;
      while ((match = words.exec(node.data))) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects())
          .filter(rect => rect.width > 0).map(rect => Math.round(rect.top)));
        if (lines.size > 1) split.push(match[0]);
      }
    }
  }
  return split;
}"""


def _one_line(locator) -> bool:
    """The element's text is on one line: one line box (its height that of one line)."""
    return locator.evaluate("""e => {
      const range = document.createRange();
      range.selectNodeContents(e);
      const tops = new Set(Array.from(range.getClientRects())
        .filter(rect => rect.width > 0).map(rect => Math.round(rect.top)));
      return tops.size === 1;
    }""")


def test_on_a_phone_identifiers_and_words_are_never_split_tables_scroll(
        page, live_server, school):
    """390 × 844 (a tryout's finding): the helpdesk's results and the follow-up of accounts
    keep an identifier on one line and every word whole; a table wider than the screen
    scrolls inside its own region, the page does not."""
    page.set_viewport_size({"width": 390, "height": 844})
    account = AccountFactory(identifier="h.duprelagarde25", first_name="Hélène",
                             last_name="Dupré-Lagarde", phone="+33698765400")
    record = GuardianRecordFactory(establishment=school["college"], last_name="Dupré-Lagarde",
                                   first_name="Hélène", mobile_phone="+33698765400",
                                   account=account)
    ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(
        establishment=school["college"], last_name="Dupré-Lagarde", first_names="Léa",
        level="4EME"))
    agent = staff_create(
        first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.HELPDESK, academy=school["academy"],
    )
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    sign_in_back_office(page, live_server, agent.identifier, device=device)

    page.goto(live_server.url + reverse("admin:helpdesk_search") + "?q=0940021K")
    link = page.get_by_role("link", name="H.DUPRELAGARDE25")
    expect(link).to_be_visible()
    assert _one_line(link)
    assert page.evaluate(WORDS_SPLIT) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)

    page.goto(f"{live_server.url}/gestion/suivi-des-comptes/"
              f"?etablissement={school['college'].pk}&qui=responsables")
    cell = page.locator("#follow-up-list td", has_text="H.DUPRELAGARDE25")
    expect(cell).to_be_visible()
    assert _one_line(cell)
    assert page.evaluate(WORDS_SPLIT) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The counts' table is wider than the phone: it scrolls in its region, named by its caption.
    region = page.get_by_role("region", name=re.compile("Comptes par niveau"))
    assert region.evaluate("e => e.scrollWidth > e.clientWidth")
    assert_accessible(page)


def test_wrong_codes_count_down_then_step_1_says_why(page, live_server, school):
    """The code step's tries, as a staff member reads them: each wrong code says how many
    are left and that the password comes next; the last one brings step 1 back with the
    reason; a new sign-in has its tries back and the right code passes at once."""
    agent = staff_create(
        first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.HELPDESK, academy=school["academy"],
    )
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    wrong = f"{(totp(device.bin_key) + 500_000) % 1_000_000:06d}"
    page.goto(f"{live_server.url}/gestion/")
    page.get_by_label("Identifiant").fill(agent.identifier)
    page.get_by_label("Mot de passe", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    for left in ("4 essais", "3 essais", "2 essais", "1 essai"):
        page.get_by_label("Code à 6 chiffres").fill(wrong)
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_text(f"Il vous reste {left} ; ensuite, vous devrez saisir à nouveau "
                                "votre identifiant et votre mot de passe.").first).to_be_visible()
    page.get_by_label("Code à 6 chiffres").fill(wrong)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Étape 1 sur 2")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "Trop de codes erronés : saisissez à nouveau votre identifiant et votre mot de passe.")
    assert_accessible(page)
    sign_in_back_office(page, live_server, agent.identifier, device=device)


def test_helpdesk_releases_its_academys_records_of_a_shared_account_by_keyboard(
    page, live_server, school
):
    """An account shared by records of two academies (a parent with a child in Créteil and
    one in Lyon): the Créteil agent finds it through Créteil's record, reads Créteil's part
    only, and « Libérer les fiches de votre académie » is reached and done with the keyboard
    alone; axe finds no serious or critical violation on the way."""
    lyon = EstablishmentFactory(uai="0690001C", name="Lycée Ampère",
                                academy=AcademyFactory(name="Lyon"), kind="lycee")
    account = AccountFactory(identifier="j.ndiaye87", first_name="Jean-Éric",
                             last_name="N'Diaye", phone="+33698765432")
    here = GuardianRecordFactory(establishment=school["college"], last_name="N'Diaye",
                                 first_name="Jean-Éric", mobile_phone="+33698765432",
                                 account=account)
    there = GuardianRecordFactory(establishment=lyon, last_name="N'Diaye",
                                  first_name="Jean-Éric", mobile_phone="+33698765432",
                                  account=account)
    ResponsibilityFactory(guardian_record=here, pupil=PupilFactory(
        establishment=school["college"], last_name="N'Diaye", first_names="Idriss"))
    ResponsibilityFactory(guardian_record=there, pupil=PupilFactory(
        establishment=lyon, last_name="N'Diaye", first_names="Maëlle"))
    agent = staff_create(
        first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
        password=STAFF_PASSWORD, role=StaffRole.HELPDESK, academy=school["academy"],
    )
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    sign_in_back_office(page, live_server, agent.identifier, device=device)

    # The search field has the focus: the agent types at once.
    page.goto(live_server.url + reverse("admin:helpdesk_search"))
    page.keyboard.type("j.ndiaye87")
    page.keyboard.press("Enter")
    link = page.get_by_role("link", name="J.NDIAYE87")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_role("heading", name="Compte J.NDIAYE87")).to_be_visible()
    main = page.locator("#content-main")
    expect(main).to_contain_text("N'DIAYE Idriss")
    expect(main).to_contain_text(
        "Ce compte couvre aussi 1 fiche d'une autre académie, que son assistance gère.")
    expect(main).not_to_contain_text("Maëlle")
    expect(main).not_to_contain_text("Lycée Ampère")
    expect(page.get_by_role("heading", name="Libérer les fiches de votre académie")
           ).to_be_visible()
    assert_accessible(page)

    # From the top of the page, Tab alone reaches the release's reason, its confirmation
    # and its button, in that order, each visibly focused.
    release = page.locator("form", has=page.get_by_role(
        "button", name="Libérer les fiches de votre académie"))
    reason = release.get_by_label("Motif")
    confirm = release.get_by_role("checkbox")
    button = release.get_by_role("button", name="Libérer les fiches de votre académie")
    page.locator("body").focus()
    reached = []
    for _ in range(120):
        page.keyboard.press("Tab")
        for name, element in (("reason", reason), ("confirm", confirm), ("button", button)):
            if element.evaluate("node => node === document.activeElement"):
                expect(element).to_be_visible()
                if name not in reached:
                    reached.append(name)
                if name == "reason":
                    page.keyboard.type("Appel du parent, identité vérifiée")
                elif name == "confirm":
                    page.keyboard.press("Space")
        if "button" in reached:
            break
    assert reached == ["reason", "confirm", "button"]
    expect(confirm).to_be_checked()
    page.keyboard.press("Enter")

    expect(page.locator(".messagelist")).to_contain_text(
        "Les fiches de votre académie sont libérées")
    assert_accessible(page)
    here.refresh_from_db()
    there.refresh_from_db()
    assert here.account_id is None  # Créteil's record is free for a new activation
    assert there.account_id == account.pk  # Lyon's is untouched
    assert Account.objects.get(pk=account.pk).state == "active"
