"""Sign-in: profile choice, the form of the seeds, one generic refusal, attempt limits,
journal, session rotation, `next`, sign-out."""

import re
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client, override_settings
from django.urls import include, path, reverse

from accounts.forms import INVALID_LOGIN_MESSAGE as _INVALID_LOGIN_MESSAGE
from accounts.hashers import EduConnectArgon2Hasher
from accounts.models import AccountKind, AccountState
from accounts.views import sign_in
from core.models import JournalEvent
from educonnect.urls import page_patterns
from educonnect.views import session_keep_alive
from tests import html as h
from tests.factories import DEFAULT_PASSWORD, AccountFactory

pytestmark = pytest.mark.django_db

GUARDIAN_URL = "/connexion/representant-legal/"
PUPIL_URL = "/connexion/eleve/"
INVALID_LOGIN_MESSAGE = str(_INVALID_LOGIN_MESSAGE)
HINT = ("Identifiant au format p.nomXX. Majuscules et minuscules sont acceptées (P.NOM12 ou "
        "p.nom12).")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _stub(request):  # pragma: no cover - only its URL matters
    raise AssertionError


# URL configurations for the « Je n'ai pas de compte » link: with and without the activation
# flow, whatever the state of the real one being built.
# Every page's frame links to the footer's pages (educonnect.pages).
site_pages = path("", include((page_patterns, "pages")))
urls_with_activation = [
    path("", include("accounts.urls")),
    path("services/", include("services_portal.urls")),
    path("activation/", include(([path("", _stub, name="start")], "activation"))),
    site_pages,
    path("session/prolonger/", session_keep_alive, name="session_keep_alive"),
]
urls_without_activation = [
    path("", include("accounts.urls")),
    path("services/", include("services_portal.urls")),
    site_pages,
    path("session/prolonger/", session_keep_alive, name="session_keep_alive"),
]


class _UrlsWith:
    urlpatterns = urls_with_activation


class _UrlsWithout:
    urlpatterns = urls_without_activation


def post_sign_in(client, url=GUARDIAN_URL, *, identifier, password=DEFAULT_PASSWORD, **extra):
    return client.post(url, {"identifier": identifier, "password": password, **extra})


def without_csrf(html: str) -> str:
    return CSRF_INPUT.sub('name="csrfmiddlewaretoken" value=""', html)


@pytest.fixture
def guardian():
    return AccountFactory(identifier="m.dupont12", kind=AccountKind.GUARDIAN)


@pytest.fixture
def pupil_account():
    return AccountFactory(identifier="l.martin34", kind=AccountKind.PUPIL, first_name="Lucas",
                          last_name="Martin")


@pytest.fixture
def argon2_runs():
    """Counts Argon2 computations (hash or verify) made by our hasher."""
    calls = []
    encode, verify = EduConnectArgon2Hasher.encode, EduConnectArgon2Hasher.verify

    def counting_encode(self, password, salt):
        calls.append("encode")
        return encode(self, password, salt)

    def counting_verify(self, password, encoded):
        calls.append("verify")
        return verify(self, password, encoded)

    with mock.patch.object(EduConnectArgon2Hasher, "encode", counting_encode), \
            mock.patch.object(EduConnectArgon2Hasher, "verify", counting_verify):
        yield calls


def signed_in_account_id(client):
    return client.session.get(SESSION_KEY)


# --- Profile choice and the form --------------------------------------------------------


def test_profile_choice_offers_both_profiles(client):
    response = client.get("/")
    page = h.parse(response)
    assert response.status_code == 200
    assert h.text(page.h1) == "Je sélectionne mon profil"
    assert h.text(page.title) == "Je sélectionne mon profil — ÉduConnect"
    tiles = h.main(page).find_all(class_="fr-tile")
    assert [(t["id"], h.text(t.h2), t.h2.a["href"], h.text(t.find(class_="fr-tile__detail")))
            for t in tiles] == [
        ("profile-guardian", "Représentant légal", GUARDIAN_URL,
         "Parent ou responsable légal d'un élève"),
        ("profile-pupil", "Élève", PUPIL_URL, "Élève au collège ou au lycée"),
    ]
    # Each tile shows its DSFR pictogram, hidden from screen readers.
    for tile, picture in zip(tiles, ["house.svg", "school.svg"], strict=True):
        svg = tile.find("svg")
        assert svg["aria-hidden"] == "true"
        assert all(picture in use["href"] for use in svg.find_all("use"))
    assert h.alerts(page) == []


def test_profile_choice_carries_a_safe_next_only(client):
    page = h.parse(client.get("/", {"next": "/services/"}))
    links = [a["href"] for a in page.select(".fr-tile a")]
    assert links == [f"{GUARDIAN_URL}?next=/services/", f"{PUPIL_URL}?next=/services/"]
    page = h.parse(client.get("/", {"next": "https://evil.example/"}))
    assert [a["href"] for a in page.select(".fr-tile a")] == [GUARDIAN_URL, PUPIL_URL]
    assert "evil.example" not in str(page)


@override_settings(ROOT_URLCONF=_UrlsWithout)
def test_guardian_form_matches_the_seeds_without_dead_links(client):
    response = client.get(GUARDIAN_URL)
    page = h.parse(response)
    main = h.main(page)
    assert response.status_code == 200
    assert h.text(main.h1) == "Je me connecte avec mon compte ÉduConnect"
    assert h.text(main.find(class_="fr-text--lead")) == "Représentant légal"
    assert h.text(page.title) == (
        "Je me connecte avec mon compte ÉduConnect – Représentant légal — ÉduConnect"
    )
    # The identifier: a DSFR field whose hint is linked to the input.
    identifier = h.field(page, "id_identifier")
    assert h.label_of(page, "id_identifier") == (
        "Identifiant Identifiant au format p.nomXX. Majuscules et minuscules sont acceptées "
        "(P.NOM12 ou p.nom12).")
    assert identifier["autocomplete"] == "username"
    assert [h.text(e) for e in h.described_by(page, "id_identifier")] == [HINT]
    assert "aria-invalid" not in identifier.attrs
    # The password: the DSFR password component, with its show/hide box.
    password = h.field(page, "id_password")
    assert password["type"] == "password" and password["autocomplete"] == "current-password"
    assert password.find_parent(class_="fr-password") is not None
    show = page.find(id="id_password-show")
    assert show["type"] == "checkbox" and show["aria-label"] == "Afficher le mot de passe"
    assert show.find_parent(class_="fr-password__checkbox") is not None
    assert [h.text(b) for b in main.find_all("button")] == ["Se connecter"]
    # The seeds' « Identifiant oublié ? » and « Mot de passe oublié ? », live (accounts.recovery).
    assert [h.text(a) for a in main.find_all("a")] == [
        "Changer de profil", "Identifiant oublié ?", "Mot de passe oublié ?"]
    for link in main.find_all("a"):
        assert client.get(link["href"]).status_code == 200
    # Nothing is wrong yet.
    assert h.alerts(page) == [] and h.error_summary(page) is None


@override_settings(ROOT_URLCONF=_UrlsWith)
def test_no_account_link_appears_once_the_activation_flow_exists(client):
    main = h.main(h.parse(client.get(GUARDIAN_URL)))
    assert ("/activation/", "Je n'ai pas de compte") in [
        (a["href"], h.text(a)) for a in main.find_all("a")
    ]
    # Pupils activate with their school's letter, not by SMS.
    pupil_main = h.main(h.parse(client.get(PUPIL_URL)))
    assert [h.text(a) for a in pupil_main.find_all("a")] == [
        "Changer de profil", "Identifiant oublié ?", "Mot de passe oublié ?"]


def test_unknown_profile_is_not_found(client):
    assert client.get("/connexion/enseignant/").status_code == 404


def test_missing_fields_are_named_and_linked_to_their_field(client, argon2_runs):
    response = client.post(GUARDIAN_URL, {"identifier": "  ", "password": ""})
    page = h.parse(response)
    assert response.status_code == 200
    assert h.text(page.title).startswith("Erreur – Je me connecte")
    # One alert on the page: the error summary, inside <main>, focusable by a script.
    alerts = h.alerts(page)
    assert alerts == [h.error_summary(page)]
    assert alerts[0].find_parent("main") is not None
    assert alerts[0]["tabindex"] == "-1"
    assert h.summary_title(page) == "Le formulaire contient 2 erreurs"
    assert h.summary_links(page) == [
        ("#id_identifier", "Identifiant : Saisissez votre identifiant, au format p.nomXX."),
        ("#id_password", "Mot de passe : Saisissez votre mot de passe."),
    ]
    # Each field is invalid and points at its hint and its own error message.
    for field_id, error in [("id_identifier", "Saisissez votre identifiant, au format p.nomXX."),
                            ("id_password", "Saisissez votre mot de passe.")]:
        assert h.field(page, field_id)["aria-invalid"] == "true"
        assert h.field_errors(page, field_id) == [error]
    assert [h.text(e) for e in h.described_by(page, "id_identifier")] == [
        HINT, "Saisissez votre identifiant, au format p.nomXX.",
    ]
    assert argon2_runs == []  # nothing to check, nothing hashed, nothing counted


# --- One generic refusal -----------------------------------------------------------------


def test_unknown_identifier_and_wrong_password_get_the_same_page(client):
    unknown = post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
    AccountFactory(identifier="m.dupont12")
    wrong_password = post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")

    assert unknown.status_code == wrong_password.status_code == 200
    assert without_csrf(unknown.content.decode()) == without_csrf(wrong_password.content.decode())
    page = h.parse(unknown)
    assert h.text(page.title).startswith("Erreur – Je me connecte avec mon compte ÉduConnect")
    # One alert, inside <main>: the refusal as its heading, then what to check.
    [alert] = h.alerts(page)
    assert alert.find_parent("main") is not None
    assert h.summary_title(page) == INVALID_LOGIN_MESSAGE
    assert h.text(alert) == (
        f"{INVALID_LOGIN_MESSAGE} Vérifiez votre identifiant, au format p.nomXX, et votre mot de "
        "passe : le mot de passe tient compte des majuscules et des minuscules."
    )
    # The refusal is about both fields: each is invalid and described by it.
    for field_id in ("id_identifier", "id_password"):
        assert h.field(page, field_id)["aria-invalid"] == "true"
        assert h.text(h.described_by(page, field_id)[0]) == INVALID_LOGIN_MESSAGE
    assert signed_in_account_id(client) is None


def test_each_refusal_costs_exactly_one_argon2_computation(client, guardian, argon2_runs):
    locked = AccountFactory(identifier="b.verrou10", state=AccountState.LOCKED)

    for identifier, password, url in [
        ("x.inconnu10", "Mauvais-1!", GUARDIAN_URL),  # unknown identifier
        ("m.dupont12", "Mauvais-1!", GUARDIAN_URL),  # wrong password
        (locked.identifier, DEFAULT_PASSWORD, GUARDIAN_URL),  # locked, right password
        ("m.dupont12", DEFAULT_PASSWORD, PUPIL_URL),  # right password, wrong profile
    ]:
        argon2_runs.clear()
        response = post_sign_in(client, url, identifier=identifier, password=password)
        assert response.status_code == 200
        assert signed_in_account_id(client) is None
        assert len(argon2_runs) == 1, (identifier, argon2_runs)


def test_identifier_is_accepted_in_any_case_and_trimmed(client, guardian):
    response = post_sign_in(client, identifier="  M.DUPONT12 ")
    assert response.status_code == 302
    assert response["Location"] == reverse("services_portal:my_services")
    assert signed_in_account_id(client) == str(guardian.pk)


def test_password_is_case_sensitive(client, guardian):
    response = post_sign_in(client, identifier="m.dupont12", password=DEFAULT_PASSWORD.upper())
    assert INVALID_LOGIN_MESSAGE in response.content.decode()
    assert signed_in_account_id(client) is None


def test_a_wrong_password_page_never_echoes_the_password(client, guardian):
    response = post_sign_in(client, identifier="m.dupont12", password="Secret-Tape-9!")
    assert b"Secret-Tape-9!" not in response.content
    page = h.parse(response)
    assert "value" not in h.field(page, "id_password").attrs
    assert h.field(page, "id_identifier")["value"] == "m.dupont12"  # kept, to fix a typo


@pytest.mark.parametrize(
    ("kind", "url"),
    [(AccountKind.GUARDIAN, PUPIL_URL), (AccountKind.PUPIL, GUARDIAN_URL),
     (AccountKind.STAFF, GUARDIAN_URL), (AccountKind.STAFF, PUPIL_URL)],
)
def test_an_account_signs_in_only_through_its_own_profile(client, kind, url):
    """The right password under the other profile's tile is refused and, for a family's
    account, names the profile to choose (the tryout: a pupil's letter typed on
    « Représentant légal » read « incorrect »); a staff account gets the generic refusal."""
    account = AccountFactory(identifier="c.compte10", kind=kind)
    response = post_sign_in(client, url, identifier="c.compte10")
    assert response.status_code == 200
    summary = h.summary_title(h.parse(response))
    if kind == AccountKind.STAFF:
        assert summary == INVALID_LOGIN_MESSAGE
    else:
        label = "Élève" if kind == AccountKind.PUPIL else "Représentant légal"
        assert summary.startswith(f"Cet identifiant est celui d'un compte « {label} »")
    assert signed_in_account_id(client) is None
    event = JournalEvent.objects.get(kind="login_failed", account=account)
    expected = "staff_account" if kind == AccountKind.STAFF else "wrong_profile"
    assert event.data["reason"] == expected


def test_pupil_signs_in_through_the_pupil_profile(client, pupil_account):
    response = post_sign_in(client, PUPIL_URL, identifier="L.MARTIN34")
    assert response.status_code == 302
    assert signed_in_account_id(client) == str(pupil_account.pk)


@pytest.mark.parametrize("state", [AccountState.LOCKED, AccountState.CLOSED])
def test_locked_and_closed_accounts_get_the_generic_message_and_are_journaled(client, state):
    account = AccountFactory(identifier="b.verrou10", state=state)
    response = post_sign_in(client, identifier="b.verrou10")
    unknown = post_sign_in(client, identifier="b.verrou10".replace("10", "11"))

    assert response.status_code == 200
    assert INVALID_LOGIN_MESSAGE in response.content.decode()
    assert signed_in_account_id(client) is None
    assert without_csrf(response.content.decode()).replace("b.verrou10", "ID") == without_csrf(
        unknown.content.decode()
    ).replace("b.verrou11", "ID")
    event = JournalEvent.objects.get(kind="login_failed", account=account)
    assert event.data["reason"] == f"account_{state}"


# --- Journal -----------------------------------------------------------------------------


def test_journal_records_success_and_failures_and_nothing_typed_for_no_account(
    client, guardian
):
    # The same work after the response for every refusal (issue 8 §6): a row for an unknown
    # identifier too, which keeps nothing typed (it may be a password in the wrong field).
    post_sign_in(client, identifier="Mauvais-Secret-1!", password="Mauvais-1!")
    unknown = JournalEvent.objects.get(kind="login_failed")
    assert unknown.account is None
    assert unknown.data == {"reason": "unknown_identifier", "profile": "guardian"}
    assert "Mauvais" not in str(unknown.data) and "mauvais" not in str(unknown.data)

    post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
    failed = JournalEvent.objects.get(kind="login_failed", account=guardian)
    assert failed.data == {"reason": "wrong_password", "profile": "guardian"}
    assert failed.ip_address == "127.0.0.1"

    post_sign_in(client, identifier="m.dupont12")
    succeeded = JournalEvent.objects.get(kind="login_succeeded")
    assert succeeded.account == guardian
    assert "Mauvais-1!" not in str(failed.data) and DEFAULT_PASSWORD not in str(succeeded.data)


def test_a_refusal_is_journaled_only_once_the_response_is_sent(rf, guardian):
    """The commit of the journal row would make refusals of existing accounts slower than
    those of unknown identifiers: it runs from close(), after the server sent the page."""
    request = rf.post(GUARDIAN_URL, {"identifier": "m.dupont12", "password": "Mauvais-1!"})
    request._dont_enforce_csrf_checks = True
    request.user = AnonymousUser()
    response = sign_in(request, profile="representant-legal")
    response.render()
    assert INVALID_LOGIN_MESSAGE in response.content.decode()
    assert not JournalEvent.objects.exists()

    # What the WSGI server does once the page is sent (without closing the test's connection,
    # as Django's test client does).
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert JournalEvent.objects.get().data["reason"] == "wrong_password"


# --- Attempt limits ----------------------------------------------------------------------


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=3, LOGIN_FAILURE_WINDOW_SECONDS=900)
def test_per_identifier_limit_refuses_even_the_right_password_without_hashing(
    client, guardian, argon2_runs
):
    for _ in range(3):
        post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
    argon2_runs.clear()

    # Counted on the normalised identifier: another spelling shares the counter.
    response = post_sign_in(client, identifier="M.Dupont12")
    page = h.parse(response)
    assert response.status_code == 429
    [alert] = h.alerts(page)
    assert h.summary_title(page) == "Connexion momentanément suspendue"
    assert h.text(alert) == (
        "Connexion momentanément suspendue Trop de tentatives de connexion ont échoué. Pour "
        "protéger les comptes, la connexion est suspendue : réessayez dans 15 minutes. Depuis "
        "un navigateur où vous vous êtes déjà connecté(e) à ce compte, la connexion reste "
        "possible sans attendre. Si vous avez oublié votre mot de passe, choisissez « Mot de "
        "passe oublié ? » sur cette page pour en définir un nouveau."
    )
    # Too many attempts says nothing about what was typed: the fields are not invalid.
    assert "aria-invalid" not in h.field(page, "id_password").attrs
    assert signed_in_account_id(client) is None
    assert argon2_runs == []  # refused before any password check


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=3)
def test_per_identifier_limit_applies_the_same_way_to_unknown_identifiers(client, guardian):
    for _ in range(3):
        post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
        post_sign_in(client, identifier="x.dupont12", password="Mauvais-1!")
    known = post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
    unknown = post_sign_in(client, identifier="x.dupont12", password="Mauvais-1!")

    assert known.status_code == unknown.status_code == 429
    assert without_csrf(known.content.decode()).replace("m.dupont12", "ID") == without_csrf(
        unknown.content.decode()
    ).replace("x.dupont12", "ID")


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=100, LOGIN_MAX_FAILURES_PER_IP=4)
def test_per_ip_limit_spans_identifiers(client, guardian):
    for n in range(4):
        post_sign_in(client, identifier=f"x.essai{10 + n}", password="Mauvais-1!")
    response = post_sign_in(client, identifier="m.dupont12")
    assert response.status_code == 429
    assert signed_in_account_id(client) is None
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert post_sign_in(other, identifier="m.dupont12").status_code == 302


@override_settings(LOGIN_MAX_FAILURES_PER_IDENTIFIER=3)
def test_a_successful_sign_in_clears_the_identifier_counter(client, guardian):
    for _ in range(2):
        post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
    assert post_sign_in(client, identifier="m.dupont12").status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(2):
        post_sign_in(client, identifier="m.dupont12", password="Mauvais-1!")
    assert post_sign_in(client, identifier="m.dupont12").status_code == 302


# --- Session and redirects ---------------------------------------------------------------


def test_session_key_changes_at_sign_in(client, guardian):
    session = client.session
    session["before"] = "anonymous"
    session.save()
    key_before = session.session_key

    post_sign_in(client, identifier="m.dupont12")

    assert client.session.session_key != key_before
    assert signed_in_account_id(client) == str(guardian.pk)
    # A session key planted before sign-in (fixation) is not signed in.
    attacker = Client()
    attacker.cookies["educonnect_session"] = key_before
    response = attacker.get(reverse("services_portal:my_services"))
    assert response.status_code == 302
    assert response["Location"].startswith("/?next=")


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/services/?onglet=1", "/services/?onglet=1"),
        ("https://evil.example/services/", "/services/"),
        ("//evil.example/services/", "/services/"),
        ("javascript:alert(1)", "/services/"),
    ],
)
def test_next_is_honoured_only_for_this_site(client, guardian, next_url, expected):
    page = client.get(GUARDIAN_URL, {"next": next_url}).content.decode()
    response = post_sign_in(client, identifier="m.dupont12", next=next_url)
    assert response.status_code == 302
    assert response["Location"] == expected
    if expected != next_url:
        assert "evil.example" not in page and "javascript:" not in page


def test_signed_in_user_opening_the_form_goes_to_my_services(client, guardian):
    client.force_login(guardian)
    response = client.get(GUARDIAN_URL)
    assert response.status_code == 302
    assert response["Location"] == "/services/"
    # A `next` pointing back at the form does not loop (nor crash).
    response = client.get(GUARDIAN_URL, {"next": GUARDIAN_URL})
    assert response["Location"] == "/services/"
    assert client.get("/")["Location"] == "/services/"


# --- Sign-out ----------------------------------------------------------------------------


def test_sign_out_needs_a_post(client, guardian):
    post_sign_in(client, identifier="m.dupont12")
    response = client.get(reverse("accounts:logout"))
    assert response.status_code == 405
    assert signed_in_account_id(client) == str(guardian.pk)


def test_sign_out_needs_the_csrf_token(guardian):
    client = Client(enforce_csrf_checks=True)
    client.force_login(guardian)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 403
    assert "Session expirée" in response.content.decode()
    assert client.get(reverse("services_portal:my_services")).status_code == 200


def test_sign_out_ends_the_session_on_the_server(client, guardian):
    post_sign_in(client, identifier="m.dupont12")
    old_key = client.session.session_key

    response = client.post(reverse("accounts:logout"), follow=True)

    assert response.redirect_chain[-1][0] == "/"
    # Shown once, as a status inside <main>.
    page = h.parse(response)
    assert h.messages(page) == ["Vous êtes déconnecté(e) d'ÉduConnect."]
    [status] = h.statuses(page)
    assert status.find_parent("main") is not None and h.alerts(page) == []
    assert client.get(reverse("services_portal:my_services")).status_code == 302
    replay = Client()
    replay.cookies["educonnect_session"] = old_key
    assert replay.get(reverse("services_portal:my_services")).status_code == 302
    assert JournalEvent.objects.filter(kind="logout", account=guardian).exists()


def test_header_offers_sign_out_as_a_form_with_csrf(client, guardian):
    client.force_login(guardian)
    page = h.parse(client.get(reverse("services_portal:my_services")))
    [form] = page.find("header").find_all("form")
    assert (form["method"], form["action"]) == ("post", "/deconnexion/")
    assert form.find("input", attrs={"name": "csrfmiddlewaretoken"})["value"]
    assert h.text(form.button) == "Se déconnecter"


@pytest.mark.parametrize("typed", ["m.dupont\u200b12", "\ufeffm.dupont12", "m.du\u00adpont12",
                                   "m.dupont12\u00a0", "m.\u2060dupont\u200c12\u200d"])
def test_an_identifier_pasted_with_invisible_characters_signs_in(client, guardian, typed):
    response = post_sign_in(client, identifier=typed)
    assert response.status_code == 302
    assert signed_in_account_id(client) == str(guardian.pk)


def test_a_browser_in_a_flow_does_not_leave_its_time_limit_on_the_kept_sign_in_page(client, db):
    """The empty sign-in page is kept per process (issue 14); a browser in the middle of a
    flow gets the session's time-limit warning on it, and that page must not be the one
    later visitors are served."""
    from core.flows import SESSION_FLOWS

    session = client.session
    session[SESSION_FLOWS] = {"00000000-0000-0000-0000-000000000000": "secret"}
    session.save()
    url = reverse("accounts:login", args=["representant-legal"])
    assert 'id="time-limit"' in client.get(url).content.decode()
    assert 'id="time-limit"' not in Client().get(url).content.decode()


def test_a_wrong_password_under_the_other_profile_says_nothing_of_the_profile(client):
    AccountFactory(identifier="c.compte10", kind=AccountKind.PUPIL)
    response = post_sign_in(client, GUARDIAN_URL, identifier="c.compte10",
                            password="Mauvais-1!")
    assert h.summary_title(h.parse(response)) == INVALID_LOGIN_MESSAGE


def test_a_letter_replaced_by_an_sms_activation_names_the_active_identifier(client):
    """The family activated by SMS while the school's letter was pending: the letter's
    account was closed (activation.services.provisional_accounts_close). Its right password
    says so and gives the identifier to use; a wrong one, or a closed account that was not
    replaced, gets the generic refusal."""
    from core.journal import EventKind, journal_record

    letter = AccountFactory(identifier="l.oconnor85", state=AccountState.CLOSED)
    active = AccountFactory(identifier="l.oconnor28")
    journal_record(EventKind.PROVISIONAL_CLOSED_BY_ACTIVATION, account=letter, method="sms",
                   new_account_id=active.pk, new_identifier=active.identifier)
    AccountFactory(identifier="f.ferme10", state=AccountState.CLOSED)

    response = post_sign_in(client, GUARDIAN_URL, identifier="L.OCONNOR85")
    summary = h.summary_title(h.parse(response))
    assert summary.startswith("Ce courrier n'est plus valable")
    assert "L.OCONNOR28" in summary
    assert signed_in_account_id(client) is None
    for identifier, password in [("l.oconnor85", "Mauvais-1!"),
                                 ("f.ferme10", DEFAULT_PASSWORD)]:
        response = post_sign_in(client, GUARDIAN_URL, identifier=identifier,
                                password=password)
        assert h.summary_title(h.parse(response)) == INVALID_LOGIN_MESSAGE


def test_the_pupil_page_says_where_a_pupil_without_an_account_gets_one(client):
    """The guardian's page links to the SMS activation; a pupil's account comes only from
    the school's letter, which the pupil's page now says (the tryout found it silent)."""
    pupil_page = h.parse(client.get(PUPIL_URL))
    help_text = h.text(pupil_page.find(id="pupil-no-account"))
    # « vous », as the pupil's letter, its activation and the seeds address pupils.
    assert help_text == (
        "Votre établissement vous remet un courrier avec votre identifiant et votre mot de "
        "passe provisoire : demandez-le au secrétariat ou à votre professeur principal. À la "
        "première connexion, vous choisirez votre propre mot de passe.")
    assert h.parse(client.get(GUARDIAN_URL)).find(id="pupil-no-account") is None
