"""RGAA checks of every page (issue 13 §7), in Chromium with axe, at 360 px (a phone) and at
1280 px: every page, the portal's and the back-office's, fails on any moderate, serious or
critical violation (minor ones are printed). Error states are
included, and after each refused submit the focus must be on the error summary (RGAA 11.10).
At 360 px no page scrolls sideways (RGAA 10.11): a wide table of the back-office scrolls
inside its named region, which the keyboard reaches.

One live server (pytest-django's, session-wide) and one browser (pytest-playwright's,
session-wide); each test opens one context at its viewport and walks its list of pages, so
the whole module costs a few database flushes, not one per page.
"""

import datetime
import re
import time
import uuid

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Account, StaffRole
from accounts.my_account.selectors import EMAIL_CHANGE_PURPOSE
from backoffice.services import staff_create
from core.models import Flow
from core.tokens import link_token_issue
from notifications.sms import FileSMSBackend
from tests.browser.a11y import STRICT_IMPACTS, describe, violations
from tests.factories import (
    AcademyFactory,
    AccountFactory,
    EstablishmentFactory,
    GuardianRecordFactory,
    PupilFactory,
    ResponsibilityFactory,
)

VIEWPORTS = {"360px": {"width": 360, "height": 740}, "1280px": {"width": 1280, "height": 900}}
PASSWORD = "Goyave-Sucree-2024!"
STAFF_PASSWORD = "Rentree-Scolaire-2026!"
CODE_IN_SMS = re.compile(r"code de sécurité est ([A-Z0-9]{6})")

# Every page a visitor reaches without an account (the footer's pages included).
ANONYMOUS_PAGES = [
    "/",
    "/connexion/representant-legal/",
    "/connexion/eleve/",
    "/activation/",
    "/identifiant-oublie/",
    "/identifiant-oublie/sms/",
    "/identifiant-oublie/mail/",
    "/mot-de-passe-oublie/",
    "/assistance/",
    "/accessibilite/",
    "/mentions-legales/",
    "/donnees-personnelles/",
    "/gestion-des-cookies/",
    "/plan-du-site/",
    "/aide/",
    "/aide/mot-de-passe/",
    "/cette-page-n-existe-pas/",
    f"/activation/{uuid.uuid4()}/code/",
    f"/mot-de-passe-oublie/{uuid.uuid4()}/code/",
    # A POST-only address opened directly: the 405 page (educonnect.views.method_not_allowed).
    "/deconnexion/",
]
# A family's pages once signed in.
SIGNED_IN_PAGES = [
    "/services/",
    "/services/mes-enfants/",
    "/mon-compte/",
    "/mon-compte/mot-de-passe/",
    "/mon-compte/adresse-mail/",
    "/mon-compte/telephone/",
    "/mon-compte/franceconnect/",
    "/mes-enfants/ajouter/",
]
# Forms refused when sent empty: (page, button).
EMPTY_SUBMITS = [
    ("/connexion/representant-legal/", "Se connecter"),
    ("/activation/", "Suivant"),
    ("/identifiant-oublie/sms/", "Recevoir mon identifiant"),
    ("/mot-de-passe-oublie/", "Suivant"),
    ("/assistance/", "Envoyer ma demande"),
]


@pytest.fixture
def school(transactional_db):
    academy = AcademyFactory(name="Créteil")
    college = EstablishmentFactory(uai="0940021K", name="Collège Paul-Éluard", academy=academy)
    account = AccountFactory(identifier="j.lapierre21", first_name="Josiane",
                             last_name="Lapierre", password=PASSWORD, phone="+33696112233",
                             email="josiane.lapierre@example.org", email_verified=True)
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=college, account=account,
                                              first_name="Josiane", last_name="LAPIERRE"),
        pupil=PupilFactory(first_names="Océane", last_name="LAPIERRE", establishment=college,
                           level="4EME"),
    )
    # A family without an account yet, for the activation.
    record = GuardianRecordFactory(establishment=college, last_name="RAKOTOMALALA",
                                   first_name="Fanja", mobile_phone="+33611111111")
    ResponsibilityFactory(guardian_record=record, pupil=PupilFactory(
        establishment=college, last_name="RAKOTOMALALA", first_names="Tiana",
        birth_date=datetime.date(2012, 9, 3)))
    return {"academy": academy, "college": college, "account": account, "record": record}


@pytest.fixture(params=list(VIEWPORTS))
def at_viewport(request, browser):
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    page = context.new_page()
    page.viewport_name = request.param
    yield page
    context.close()


# The deepest elements reaching past the viewport's right edge, to say what to fix.
WIDEST_ELEMENT = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
               && !Array.from(e.children).some(c => c.getBoundingClientRect().right
                                                    > window.innerWidth + 1))
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (e.className && typeof e.className === 'string'
               ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))
  .join(', ')"""


class Findings:
    """What the pages of one test got wrong, reported together at the end."""

    def __init__(self, page, *, failing: set[str]):
        self.page = page
        self.failing = failing
        self.problems: list[str] = []

    def check(self, label: str = "", *, reflow: bool = True) -> None:
        page = self.page
        where = f"{label or page.url} ({page.viewport_name})"
        found = violations(page)
        failing = [v for v in found if v.get("impact") in self.failing]
        others = [v for v in found if v.get("impact") not in self.failing]
        if failing:
            self.problems.append(f"{where}:\n{describe(failing)}")
        if others:
            print(f"axe, not failing, {where}:\n{describe(others)}")
        if reflow and page.viewport_name == "360px":
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 360:
                widest = page.evaluate(WIDEST_ELEMENT)
                self.problems.append(f"{where}: scrolls sideways ({width} px wide: {widest})")
            # A table scrolls in its own box, but one of 2,600 px (cells on one line, a
            # tryout's finding) is read by scrolling sideways for every line: at most 3 screens.
            tables = page.evaluate("Array.from(document.querySelectorAll('.fr-table table'))"
                                   ".map(table => table.scrollWidth)")
            if tables and max(tables) > 3 * 360:
                self.problems.append(f"{where}: a table {max(tables)} px wide at 360 px")

    def focus_on_error_summary(self, label: str) -> None:
        focused = self.page.evaluate("document.activeElement && document.activeElement.id")
        if focused != "error-summary":
            self.problems.append(f"{label}: focus on #{focused or 'body'}, not the summary")

    def assert_none(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def test_every_public_page_of_the_portal(at_viewport, live_server, school):
    page = at_viewport
    findings = Findings(page, failing=STRICT_IMPACTS)
    for path in ANONYMOUS_PAGES:
        page.goto(live_server.url + path)
        expect(page.locator("h1").first).to_be_visible()
        findings.check(path)
    findings.assert_none()


def test_every_refused_form_of_the_portal_focuses_its_error_summary(
    at_viewport, live_server, school
):
    page = at_viewport
    findings = Findings(page, failing=STRICT_IMPACTS)
    for path, button in EMPTY_SUBMITS:
        page.goto(live_server.url + path)
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.locator("#error-summary")).to_be_visible()
        expect(page).to_have_title(re.compile(r"^Erreur"))
        findings.focus_on_error_summary(path)
        findings.check(f"{path} (refused)")
    # The summary's link moves the focus to the field in error.
    page.locator("#error-summary a").first.click()
    expect(page.locator("main input[aria-invalid=true]").first).to_be_focused()
    findings.assert_none()


def test_the_signed_in_pages_of_the_portal(at_viewport, live_server, school):
    page = at_viewport
    findings = Findings(page, failing=STRICT_IMPACTS)
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    page.get_by_label("Identifiant").fill("j.lapierre21")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")
    for path in SIGNED_IN_PAGES:
        page.goto(live_server.url + path)
        findings.check(path)
    # A validation link sent to another account, opened here: « Ce lien concerne un autre
    # compte ÉduConnect » and its sign-out button.
    token = link_token_issue(purpose=EMAIL_CHANGE_PURPOSE, account=AccountFactory(),
                             ttl_seconds=3600, payload={"email": "h.martin@exemple.fr"})
    page.goto(live_server.url + reverse("accounts:my_account:email_validate", args=[token]))
    expect(page.get_by_role("button", name="Me déconnecter")).to_be_visible()
    findings.check("/mon-compte/adresse-mail/valider/<jeton d'un autre compte>/")
    # « Vérifiez votre adresse mail » once a validation mail was sent: the notice (where,
    # when, the spams) comes before the button that sends another.
    account = school["account"]
    Account.objects.filter(pk=account.pk).update(email_verified=False)
    link_token_issue(purpose=EMAIL_CHANGE_PURPOSE, account=account, ttl_seconds=3600,
                     payload={"email": account.email})
    page.goto(live_server.url + reverse("accounts:my_account:email_check"))
    expect(page.locator("#email-already-sent")).to_be_visible()
    findings.check("/mon-compte/adresse-mail/verifier/ (un mail déjà envoyé)")
    Account.objects.filter(pk=account.pk).update(email_verified=True)
    # « Ajouter des enfants depuis un autre compte », then its confirmation (a second account
    # of Josiane's, with a child at the same collège).
    other = AccountFactory(identifier="j.lapierre22", first_name="Josiane",
                           last_name="Lapierre", password=PASSWORD)
    ResponsibilityFactory(
        guardian_record=GuardianRecordFactory(establishment=school["college"], account=other,
                                              first_name="Josiane", last_name="LAPIERRE"),
        pupil=PupilFactory(first_names="Malo", last_name="LAPIERRE",
                           establishment=school["college"]),
    )
    page.goto(live_server.url + "/mes-enfants/regrouper/")
    findings.check("/mes-enfants/regrouper/")
    page.get_by_label("Identifiant de l'autre compte").fill("j.lapierre22")
    page.get_by_label("Mot de passe de l'autre compte").fill(PASSWORD)
    page.get_by_role("button", name="Ajouter les enfants de cet autre compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirmer le regroupement des comptes")
    findings.check("/mes-enfants/regrouper/confirmer/")
    page.get_by_role("button", name="Annuler").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes enfants")
    # « Mon compte », password change refused: focus on the summary, the checklist neutral.
    page.goto(live_server.url + "/mon-compte/mot-de-passe/")
    page.get_by_label("Mot de passe actuel").fill(PASSWORD)
    page.get_by_label("Nouveau mot de passe", exact=True).fill("court")
    page.get_by_role("button", name="Modifier mon mot de passe").click()
    expect(page.locator("#error-summary")).to_be_visible()
    findings.focus_on_error_summary("/mon-compte/mot-de-passe/")
    expect(page.locator('#id_password_error [data-rule="upper"]')).to_have_class(
        re.compile("fr-message--info"))
    expect(page.locator("#id_password_error [data-strength]")).to_have_text("—")
    findings.check("/mon-compte/mot-de-passe/ (refused)")
    findings.assert_none()


def _read_code(folder, timeout=10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = FileSMSBackend.read_messages(file_path=folder)
        if messages:
            return CODE_IN_SMS.search(messages[-1].body).group(1)
        time.sleep(0.1)
    raise AssertionError("no SMS file was written")


def test_the_activation_steps_and_their_error_states(at_viewport, live_server, school,
                                                     sms_folder):
    page = at_viewport
    findings = Findings(page, failing=STRICT_IMPACTS)
    page.goto(live_server.url + "/activation/")
    page.get_by_label("Nom", exact=True).fill("Rakotomalala")
    page.get_by_label("Prénom", exact=True).fill("Fanja")
    page.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill("0611111111")
    page.get_by_role("button", name="Suivant").click()

    # Step 2, a wrong code.
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    findings.check("code")
    page.get_by_label("Code de sécurité").fill("AAAAAA")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#error-summary")).to_be_visible()
    findings.focus_on_error_summary("code (refused)")
    findings.check("code (refused)")
    page.get_by_label("Code de sécurité").fill(_read_code(sms_folder))
    page.get_by_role("button", name="Suivant").click()

    # Step 3 sent empty (one child found: no « Je suis / Je ne suis pas » choice, the date
    # confirms): the date's group is named with its error.
    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    findings.check("pupils")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#error-summary")).to_be_visible()
    findings.focus_on_error_summary("pupils (refused)")
    group = page.locator("fieldset[id$='-date']")
    expect(group).to_have_attribute("aria-labelledby", re.compile(r"-date-messages"))
    expect(group.locator(".fr-message--error")).to_be_visible()
    findings.check("pupils (refused)")
    # A wrong date: the three inputs stay on one line at 360 px.
    page.get_by_role("textbox", name="Jour").fill("04")
    page.get_by_role("textbox", name="Mois").fill("09")
    page.get_by_role("textbox", name="Année").fill("2012")
    page.get_by_role("button", name="Confirmer").click()
    expect(page.locator("#error-summary")).to_be_visible()
    tops = [page.get_by_role("textbox", name=name).bounding_box()["y"]
            for name in ("Jour", "Mois", "Année")]
    assert max(tops) - min(tops) < 2, f"the date is not on one line: {tops}"
    findings.check("pupils (wrong date)")
    page.get_by_role("textbox", name="Jour").fill("03")
    page.get_by_role("textbox", name="Mois").fill("09")
    page.get_by_role("textbox", name="Année").fill("2012")
    page.get_by_role("button", name="Confirmer").click()

    # Step 4, a password refused: the fields come back empty, the checklist neutral.
    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()
    findings.check("password")
    page.get_by_label("Mot de passe", exact=True).fill("Cartable-Vert-2024!")
    page.get_by_label("Confirmation du mot de passe", exact=True).fill("Autre-Chose-2024!")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#error-summary")).to_be_visible()
    findings.focus_on_error_summary("password (refused)")
    expect(page.locator("#id_password_error [data-strength]")).to_have_text("—")
    findings.check("password (refused)")
    findings.assert_none()


def test_the_back_office_pages(at_viewport, live_server, school):
    page = at_viewport
    findings = Findings(page, failing=STRICT_IMPACTS)
    agent = staff_create(first_name="Paul", last_name="Éluard", email="paul.eluard@ac-creteil.fr",
                         password=STAFF_PASSWORD, role=StaffRole.HELPDESK,
                         academy=school["academy"])
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    page.goto(live_server.url + "/gestion/")
    page.get_by_label("Identifiant").fill(agent.identifier)
    page.get_by_label("Mot de passe", exact=True).fill("Pas-le-bon-1!")
    page.get_by_role("button", name="Continuer").click()
    expect(page.locator("#error-summary")).to_be_visible()
    findings.focus_on_error_summary("back-office sign-in (refused)")
    findings.check("back-office sign-in (refused)")
    page.get_by_label("Identifiant").fill(agent.identifier)
    page.get_by_label("Mot de passe", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Code à 6 chiffres").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Déconnexion").or_(
        page.get_by_role("link", name="Déconnexion"))).to_be_visible()
    findings.check("back-office home", reflow=False)
    account = school["account"]
    for label, url, reflow in [
        ("helpdesk search", reverse("admin:helpdesk_search") + "?q=lapierre", True),
        ("helpdesk account", reverse("admin:helpdesk_account", args=[account.pk]), True),
        ("helpdesk record", reverse("admin:helpdesk_record", args=[school["record"].pk]), True),
        ("assistance queue", reverse("admin:assistance_queue"), True),
        ("guardian records", reverse("admin:pupils_guardianrecord_changelist"), True),
        ("guardian record", reverse("admin:pupils_guardianrecord_change",
                                    args=[school["record"].pk]), True),
        # Read-only for the helpdesk: its academy named as text, not a link to a 403.
        ("establishment", reverse("admin:pupils_establishment_change",
                                  args=[school["college"].pk]), True),
        # A POST-only address opened directly: the back-office's 405 page.
        ("405 page", reverse("admin:helpdesk_account_identifier", args=[account.pk]), True),
        # The back-office's own error pages (a link to its index, not to the portal).
        ("403 page", reverse("admin:letters_new"), True),
        ("404 page", "/gestion/assistance/nulle-part/", True),
        ("400 page", reverse("admin:pupils_pupil_changelist")
         + "?establishment__academy__id__exact=99", True),
        ("follow-up", reverse("admin:follow_up") + f"?etablissement={school['college'].pk}"
         "&qui=responsables", True),
    ]:
        page.goto(live_server.url + url)
        findings.check(label, reflow=reflow)
    findings.assert_none()


def test_the_back_office_forms_and_their_error_states(at_viewport, live_server, school):
    """The national administration's lists and forms (every permission): the autocomplete
    boxes (select2) named, empty or filled, single or multiple; the inlines' tables without
    an empty header; refused forms; nothing scrolls sideways at 360 px."""
    page = at_viewport
    findings = Findings(page, failing=STRICT_IMPACTS)
    admin = staff_create(first_name="Louise", last_name="Michel",
                         email="louise.michel@education.gouv.fr", password=STAFF_PASSWORD,
                         role=StaffRole.NATIONAL)
    device = TOTPDevice.objects.create(user=admin, name="Téléphone", confirmed=True)
    page.goto(live_server.url + "/gestion/")
    page.get_by_label("Identifiant").fill(admin.identifier)
    page.get_by_label("Mot de passe", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Code à 6 chiffres").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("button", name="Déconnexion").or_(
        page.get_by_role("link", name="Déconnexion"))).to_be_visible()
    record = school["record"]
    for label, url in [
        ("accounts", reverse("admin:accounts_account_changelist")),
        ("pupils", reverse("admin:pupils_pupil_changelist")),
        ("links", reverse("admin:pupils_responsibility_changelist")),
        ("staff", reverse("admin:accounts_staffprofile_changelist")),
        ("establishments", reverse("admin:pupils_establishment_changelist")),
        ("account", reverse("admin:accounts_account_change", args=[school["account"].pk])),
        ("pupil", reverse("admin:pupils_pupil_change",
                          args=[record.responsibilities.get().pupil_id])),
        ("staff profile", reverse("admin:accounts_staffprofile_change",
                                  args=[admin.staff_profile.pk])),
    ]:
        page.goto(live_server.url + url)
        findings.check(label)
    # The scroll region of a list is reached by the keyboard and named.
    page.goto(live_server.url + reverse("admin:pupils_guardianrecord_changelist"))
    region = page.get_by_role("region", name=re.compile("Fiches responsables : tableau"))
    expect(region).to_have_attribute("tabindex", "0")
    # An empty autocomplete box is named by its field.
    page.goto(live_server.url + reverse("admin:pupils_responsibility_add"))
    expect(page.get_by_role("combobox", name=re.compile("Élève"))).to_be_visible()
    findings.check("new link")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".errornote, #error-summary").first).to_be_visible()
    findings.check("new link (refused)")
    page.goto(live_server.url + reverse("admin:pupils_guardianrecord_change", args=[record.pk]))
    findings.check("guardian record")
    page.get_by_label("Adresse mail").fill("pas-une-adresse")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator(".errornote, #error-summary").first).to_be_visible()
    findings.check("guardian record (refused)")
    findings.assert_none()


def _tab_to(page, locator, *, limit=60) -> None:
    """Press Tab (only) until `locator` has the focus: the keyboard reaches it, in page order."""
    handle = locator.element_handle()
    for _ in range(limit):
        if page.evaluate("(el) => el === document.activeElement", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def test_the_activation_with_the_keyboard_only(page, live_server, school, sms_folder):
    page.set_viewport_size(VIEWPORTS["360px"])
    page.goto(live_server.url + reverse("accounts:login", args=["representant-legal"]))
    # The skip link first, then the way to « Je n'ai pas de compte ».
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Contenu")).to_be_focused()
    _tab_to(page, page.get_by_role("link", name=re.compile("Je n'ai pas de compte")))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 1 sur 5")).to_be_visible()
    _tab_to(page, page.get_by_label("Nom", exact=True))
    page.keyboard.type("Rakotomalala")
    page.keyboard.press("Tab")
    page.keyboard.type("Fanja")
    page.keyboard.press("Tab")
    expect(page.get_by_role("textbox", name=re.compile("N° de téléphone portable"))).to_be_focused()
    page.keyboard.type("06 11 11 11 11")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    _tab_to(page, page.get_by_label("Code de sécurité"))
    page.keyboard.type(_read_code(sms_folder))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 3 sur 5")).to_be_visible()
    # One child found: the birth date alone confirms (no « Je suis … » choice).
    _tab_to(page, page.get_by_role("textbox", name="Jour"))
    page.keyboard.type("03")
    page.keyboard.press("Tab")
    page.keyboard.type("09")
    page.keyboard.press("Tab")
    page.keyboard.type("2012")
    _tab_to(page, page.get_by_role("button", name="Confirmer"))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Étape 4 sur 5")).to_be_visible()
    _tab_to(page, page.get_by_label("Mot de passe", exact=True))
    page.keyboard.type("Cartable-Vert-2024!")
    _tab_to(page, page.get_by_label("Confirmation du mot de passe", exact=True))
    page.keyboard.type("Cartable-Vert-2024!")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Votre compte a été activé avec succès")).to_be_visible()
    _tab_to(page, page.get_by_role("link", name="Accéder à mes services"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes services")


def test_the_session_warns_before_it_ends_and_can_be_extended(page, live_server, school,
                                                               sms_folder, settings):
    settings.SESSION_EXPIRY_WARNING_SECONDS = 120
    page.set_viewport_size(VIEWPORTS["360px"])
    page.clock.install()
    page.goto(live_server.url + "/activation/")
    page.get_by_label("Nom", exact=True).fill("Rakotomalala")
    page.get_by_label("Prénom", exact=True).fill("Fanja")
    page.get_by_role("textbox", name=re.compile("N° de téléphone portable")).fill("0611111111")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Étape 2 sur 5")).to_be_visible()
    flow = Flow.objects.get()
    before = flow.expires_at
    warning = page.get_by_role("alert").filter(has_text="Votre session va bientôt expirer")
    expect(warning).to_have_count(0)

    lifetime = settings.SESSION_COOKIE_AGE
    # The deferred time-limit script sets its timers before « load »: run the clock after,
    # or a jump made before the script ran would leave its timer 28 minutes ahead.
    page.wait_for_load_state("load")
    page.clock.run_for((lifetime - 119) * 1000)  # two minutes left: the warning, read at once
    expect(warning).to_be_visible()
    assert_no_blocking(page)
    page.get_by_role("button", name=re.compile("^Prolonger de 30 minutes")).click()
    box = page.locator("#time-limit")
    expect(box.get_by_role("heading")).to_have_text("Session prolongée")
    expect(box.get_by_role("button", name=re.compile("^Prolonger"))).to_be_hidden()
    flow.refresh_from_db()
    assert flow.expires_at > before

    # Left alone to the end: the page says that the session has expired.
    page.clock.run_for(lifetime * 1000)
    expect(box.get_by_role("heading")).to_have_text("Votre session a expiré")
    expect(box.get_by_text("Votre session a expiré après une période sans action.")).to_be_visible()


def test_an_expired_session_says_why_at_the_sign_in_page_and_leads_back(
    page, live_server, school, settings
):
    """Issue 13 §2: a signed-in session left idle past its lifetime (5 s here, real time:
    the browser drops the session cookie itself) says so at the next page, on the sign-in
    page that page sends the person to, and signing in there leads back to the page."""
    settings.SESSION_COOKIE_AGE = 5
    page.set_viewport_size(VIEWPORTS["360px"])
    page.goto(live_server.url + "/connexion/representant-legal/?next=/mon-compte/")
    page.get_by_label("Identifiant").fill("j.lapierre21")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes informations")

    time.sleep(settings.SESSION_COOKIE_AGE + 1.5)
    page.reload()
    notice = page.get_by_role("alert").filter(has_text="Votre session a expiré après")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("d'inactivité")
    expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
    assert_no_blocking(page)

    settings.SESSION_COOKIE_AGE = 30 * 60
    page.get_by_role("link", name=re.compile("Représentant légal")).click()
    page.get_by_label("Identifiant").fill("j.lapierre21")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(live_server.url + "/mon-compte/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes informations")

    # A deliberate sign-out is not an expiry: its own words, never « expiré » (the header's
    # button, shown without the menu at 1280 px).
    page.set_viewport_size(VIEWPORTS["1280px"])
    page.get_by_role("button", name=re.compile("Se déconnecter")).first.click()
    expect(page.get_by_text("Vous êtes déconnecté(e) d'ÉduConnect.")).to_be_visible()
    page.goto(live_server.url + "/mon-compte/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Je sélectionne mon profil")
    expect(page.get_by_text("Votre session a expiré après")).to_have_count(0)


def assert_no_blocking(page) -> None:
    found = [v for v in violations(page) if v.get("impact") in STRICT_IMPACTS]
    assert not found, describe(found)
