"""Every Django path that sets a password obeys the product's policy; back-office accounts
follow the stronger staff policy everywhere (accounts.password_policy)."""

import io
from html import unescape

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import Account, AccountKind, StaffRole
from accounts.password_policy import (
    ERROR_SAME_AS_CURRENT,
    ERROR_STAFF_TOO_SHORT,
    STAFF_MIN_LENGTH,
)
from backoffice.management.commands.demo_accounts import STAFF_PASSWORD as DEMO_STAFF_PASSWORD
from backoffice.services import staff_create, staff_password_validate
from core.models import JournalEvent
from tests import html as h
from tests.backoffice.conftest import STAFF_PASSWORD
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CHANGE = "/gestion/password_change/"
# Every published rule, 12 characters: enough for a family, too short for staff.
GUARDIAN_GRADE = "Cartable-24!"
STAFF_GRADE = "Rentree-Cartable-24!"


def change_password(client, old, new, confirm=None):
    return client.post(CHANGE, {"old_password": old, "new_password1": new,
                                "new_password2": new if confirm is None else confirm})


def test_a_helpdesk_agent_cannot_set_the_password_1(helpdesk_client, helpdesk_agent):
    response = change_password(helpdesk_client, STAFF_PASSWORD, "1")
    assert response.status_code == 200
    errors = response.context["form"].errors["new_password1"]
    assert ERROR_STAFF_TOO_SHORT in errors
    assert "Le mot de passe doit contenir au moins 1 majuscule." in errors
    assert "Le mot de passe est trop court" in response.content.decode()
    helpdesk_agent.refresh_from_db()
    assert helpdesk_agent.check_password(STAFF_PASSWORD)
    assert not JournalEvent.objects.filter(kind="backoffice.password_changed").exists()


@pytest.mark.parametrize(
    ("new", "expected"),
    [(GUARDIAN_GRADE, ERROR_STAFF_TOO_SHORT),
     ("Anne-Assistance-2026!", "ni le nom, ni le prénom"),  # her names: Anne ASSISTANCE
     ("P@ssw0rd", "trop courant")],
)
def test_the_staff_policy_applies_on_the_back_office_change_page(helpdesk_client, new,
                                                                 expected):
    response = change_password(helpdesk_client, STAFF_PASSWORD, new)
    assert response.status_code == 200
    assert str(expected) in unescape(response.content.decode())


def _error_lists(page, field_id):
    """The texts of the error lists the input's aria-describedby names (Django's admin:
    `<ul class="errorlist" id="<id>_error">`)."""
    return [h.text(item) for element in h.described_by(page, field_id)
            if "errorlist" in element.get("class", []) for item in element.find_all("li")]


@pytest.mark.parametrize(("new", "expected"), [
    ("Court1!", [str(ERROR_STAFF_TOO_SHORT)]),
    ("aaaaaaaaaaaaaaaaaaaa", ["Le mot de passe doit contenir au moins 1 majuscule.",
                              "Le mot de passe doit contenir au moins 1 chiffre.",
                              "Le mot de passe doit contenir au moins 1 caractère spécial"]),
    ("court", [str(ERROR_STAFF_TOO_SHORT), "Le mot de passe doit contenir au moins 1 majuscule.",
               "Le mot de passe doit contenir au moins 1 chiffre."]),
])
def test_the_policy_errors_are_all_on_the_new_password_not_its_confirmation(
        helpdesk_client, new, expected):
    response = change_password(helpdesk_client, STAFF_PASSWORD, new)
    assert response.status_code == 200
    page = h.parse(response)
    shown = _error_lists(page, "id_new_password1")
    for message in expected:
        assert any(text.startswith(message) for text in shown), (message, shown)
    assert h.field(page, "id_new_password1")["aria-invalid"] == "true"
    # The confirmation, typed the same, has no error of its own.
    assert _error_lists(page, "id_new_password2") == []
    assert page.find(id="id_new_password2_error") is None


def test_a_weak_mismatched_new_password_gets_both_its_rules_and_the_mismatch(helpdesk_client):
    response = change_password(helpdesk_client, STAFF_PASSWORD, "Court1!", confirm="Court2!")
    page = h.parse(response)
    assert _error_lists(page, "id_new_password1") == [str(ERROR_STAFF_TOO_SHORT)]
    assert _error_lists(page, "id_new_password2") == [
        "Les deux mots de passe ne correspondent pas."]


def test_the_page_says_the_staff_rules(helpdesk_client):
    body = helpdesk_client.get(CHANGE).content.decode()
    assert f"Au moins {STAFF_MIN_LENGTH} caractères" in body


def test_a_good_change_is_journaled_and_keeps_the_session(helpdesk_client, helpdesk_agent):
    response = change_password(helpdesk_client, STAFF_PASSWORD, STAFF_GRADE)
    assert response.status_code == 302
    helpdesk_agent.refresh_from_db()
    assert helpdesk_agent.check_password(STAFF_GRADE)
    event = JournalEvent.objects.get(kind="backoffice.password_changed")
    assert event.account == event.actor == helpdesk_agent
    assert STAFF_GRADE not in str(event.data)
    # Still signed in (the session holds the new password's hash), second factor included.
    assert helpdesk_client.get(reverse("admin:index")).status_code == 200


def test_the_current_password_as_the_new_one_is_refused_as_for_families(helpdesk_client,
                                                                       helpdesk_agent):
    """Tryout: « Modifier le mot de passe » accepted the current password as the new one
    (and journaled a change); families are told « Ce mot de passe est déjà celui de votre
    compte »."""
    response = change_password(helpdesk_client, STAFF_PASSWORD, STAFF_PASSWORD)
    assert response.status_code == 200
    page = h.parse(response)
    assert _error_lists(page, "id_new_password1") == [str(ERROR_SAME_AS_CURRENT)]
    assert _error_lists(page, "id_new_password2") == []
    assert not JournalEvent.objects.filter(kind="backoffice.password_changed").exists()


def test_a_wrong_old_password_changes_nothing(helpdesk_client, helpdesk_agent):
    response = change_password(helpdesk_client, "pas-le-bon", STAFF_GRADE)
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    helpdesk_agent.refresh_from_db()
    assert helpdesk_agent.check_password(STAFF_PASSWORD)


# --- validate_password: the kind of account decides --------------------------------------


def test_validate_password_applies_the_staff_policy_to_staff_accounts(helpdesk_agent):
    with pytest.raises(ValidationError) as error:
        validate_password(GUARDIAN_GRADE, user=helpdesk_agent)
    assert error.value.messages == [ERROR_STAFF_TOO_SHORT]
    validate_password(STAFF_GRADE, user=helpdesk_agent)


def test_validate_password_keeps_the_published_rules_for_families_and_pupils():
    for kind in (AccountKind.GUARDIAN, AccountKind.PUPIL):
        account = AccountFactory.build(kind=kind, first_name="Marie", last_name="Curie",
                                       identifier="m.curie10")
        validate_password(GUARDIAN_GRADE, user=account)
        with pytest.raises(ValidationError) as error:
            validate_password("Curie-1867!", user=account)
        assert "ne doit pas contenir votre nom" in error.value.messages[0]


def test_an_account_without_its_kind_yet_gets_the_staff_policy():
    # createsuperuser validates the password on an account built from the identifier alone.
    with pytest.raises(ValidationError):
        validate_password(GUARDIAN_GRADE, user=Account(identifier="admin.national"))


# --- The staff services and the command ----------------------------------------------------


def test_staff_create_applies_the_staff_policy_with_the_email_inside(world):
    with pytest.raises(ValidationError):
        staff_create(first_name="Anne", last_name="Cœur", email="a.vasseur@ac-creteil.fr",
                     password="Vasseur-Rentree-2026!", role=StaffRole.NATIONAL)
    with pytest.raises(ValidationError) as error:
        staff_create(first_name="Anne", last_name="Cœur", email="anne@ac-creteil.fr",
                     password="Coeur-2026!", role=StaffRole.NATIONAL)
    assert ERROR_STAFF_TOO_SHORT in error.value.messages
    assert not Account.objects.filter(kind=AccountKind.STAFF).exists()


def test_create_staff_command_refuses_a_password_short_for_staff(world):
    with pytest.raises(CommandError, match="trop court"):
        call_command("create_staff", "--role", "national", "--first-name", "A",
                     "--last-name", "B", "--email", "a.b@ac-test.fr", "--password-stdin",
                     stdin=io.StringIO(GUARDIAN_GRADE + "\n"))
    assert not Account.objects.filter(email="a.b@ac-test.fr").exists()


def test_a_national_admin_cannot_give_a_staff_member_a_weak_password(national_client, world,
                                                                    secretary):
    url = reverse("admin:accounts_staffprofile_change", args=[secretary.staff_profile.pk])
    response = national_client.post(url, {"role": StaffRole.SECRETARY,
                                          "establishments": [world.a1.pk], "state": "active",
                                          "password1": GUARDIAN_GRADE,
                                          "password2": GUARDIAN_GRADE})
    assert response.status_code == 200
    assert ERROR_STAFF_TOO_SHORT in response.context["adminform"].form.errors["password1"]
    secretary.refresh_from_db()
    assert secretary.check_password(STAFF_PASSWORD)


def test_the_published_demo_password_passes_the_staff_policy():
    for first_name, last_name, email in (
        ("Sylvie", "Marchand", "secretariat.demo@educonnect.example"),
        ("Karim", "Benali", "assistance.demo@educonnect.example"),
        ("Nathalie", "Roux", "national.demo@educonnect.example"),
    ):
        staff_password_validate(DEMO_STAFF_PASSWORD, account=Account(
            first_name=first_name, last_name=last_name, email=email, kind=AccountKind.STAFF,
            identifier=f"{first_name[0]}.{last_name}10".lower()))


def test_the_personnels_page_lists_every_failing_rule_on_the_new_password(national_client,
                                                                         world, secretary):
    url = reverse("admin:accounts_staffprofile_change", args=[secretary.staff_profile.pk])
    weak = "aaaaaaaaaaaaaaaaaaaa"
    response = national_client.post(url, {"role": StaffRole.SECRETARY,
                                          "establishments": [world.a1.pk], "state": "active",
                                          "password1": weak, "password2": weak + "b"})
    assert response.status_code == 200
    page = h.parse(response)
    shown = _error_lists(page, "id_password1")
    for message in ("Le mot de passe doit contenir au moins 1 majuscule.",
                    "Le mot de passe doit contenir au moins 1 chiffre.",
                    "Le mot de passe doit contenir au moins 1 caractère spécial"):
        assert any(text.startswith(message) for text in shown), (message, shown)
    # The mismatch is the confirmation's, told with the rules, not instead of them.
    assert _error_lists(page, "id_password2") == [
        "Confirmation : les deux mots de passe diffèrent."]
