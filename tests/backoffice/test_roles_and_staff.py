"""Roles declared in code and synced; staff created by command or by a national admin."""

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, StaffRole
from backoffice.roles import GROUP_NAMES, ROLE_PERMISSIONS
from core.models import JournalEvent
from tests.backoffice.conftest import STAFF_PASSWORD, make_staff, sign_in

pytestmark = pytest.mark.django_db


def group_permissions(role):
    group = Group.objects.get(name=GROUP_NAMES[role])
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")}


def test_a_fresh_database_has_the_roles():
    # Nothing ran but `migrate` (pytest-django built this database).
    for role, names in ROLE_PERMISSIONS.items():
        assert group_permissions(role) == set(names)


def test_sync_roles_is_idempotent_and_removes_hand_made_permissions():
    group = Group.objects.get(name=GROUP_NAMES[StaffRole.SECRETARY])
    group.permissions.add(Permission.objects.get(codename="delete_pupil"))
    out = io.StringIO()
    call_command("sync_roles", stdout=out)
    call_command("sync_roles", stdout=out)
    assert group_permissions(StaffRole.SECRETARY) == set(ROLE_PERMISSIONS[StaffRole.SECRETARY])
    assert Group.objects.filter(name__in=GROUP_NAMES.values()).count() == 3
    # + assistance, + letters and follow-up (issue 9)
    assert "Secrétariat d'établissement : 19 permission(s)" in out.getvalue()


def test_create_staff_command(world):
    out = io.StringIO()
    call_command("create_staff", "--role", "secretaire", "--first-name", "Anne",
                 "--last-name", "Cœur", "--email", "anne.coeur@ac-creteil.fr",
                 "--uai", "0940001a", "--uai", "0940002B", "--password-stdin",
                 stdin=io.StringIO(STAFF_PASSWORD + "\n"), stdout=out)
    account = Account.objects.get(email="anne.coeur@ac-creteil.fr")
    assert account.identifier.startswith("a.coeur") and account.is_staff
    assert account.check_password(STAFF_PASSWORD)
    assert account.staff_profile.role == StaffRole.SECRETARY
    assert set(account.staff_profile.establishments.all()) == {world.a1, world.a2}
    assert list(account.groups.values_list("name", flat=True)) == [
        GROUP_NAMES[StaffRole.SECRETARY]
    ]
    assert account.display_identifier in out.getvalue()
    assert not TOTPDevice.objects.filter(user=account).exists()  # enrolled at first sign-in


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--role", "secretaire"], "au moins un établissement"),
     (["--role", "secretaire", "--uai", "0999999Z"], "UAI inconnu"),
     (["--role", "assistance"], "une académie"),
     (["--role", "assistance", "--academy", "Atlantide"], "Académie inconnue")],
)
def test_create_staff_refuses_incomplete_scopes(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_staff", *args, "--first-name", "A", "--last-name", "B",
                     "--email", "a.b@ac-test.fr", "--password-stdin",
                     stdin=io.StringIO(STAFF_PASSWORD + "\n"))
    assert not Account.objects.filter(email="a.b@ac-test.fr").exists()


def test_create_staff_refuses_a_weak_password(world):
    with pytest.raises(CommandError, match="trop court"):
        call_command("create_staff", "--role", "national", "--first-name", "A",
                     "--last-name", "B", "--email", "a.b@ac-test.fr", "--password-stdin",
                     stdin=io.StringIO("court1\n"))
    assert not Account.objects.filter(email="a.b@ac-test.fr").exists()


def test_national_admin_creates_a_helpdesk_agent_in_admin(national_client, national_admin,
                                                           world):
    response = national_client.post(reverse("admin:accounts_staffprofile_add"), {
        "first_name": "Paul", "last_name": "Éluard", "email": "paul.eluard@ac-creteil.fr",
        "role": StaffRole.HELPDESK, "academy": world.academy_a.pk,
        "password1": STAFF_PASSWORD, "password2": STAFF_PASSWORD,
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent = Account.objects.get(email="paul.eluard@ac-creteil.fr")
    assert agent.staff_profile.academy == world.academy_a and agent.is_staff
    assert agent.has_perm("accounts.helpdesk_search")
    event = JournalEvent.objects.get(kind="backoffice.staff_created", account=agent)
    assert event.actor == national_admin


def test_helpdesk_agent_without_academy_is_refused_with_the_field_named(national_client):
    response = national_client.post(reverse("admin:accounts_staffprofile_add"), {
        "first_name": "Paul", "last_name": "Éluard", "email": "paul.eluard@ac-creteil.fr",
        "role": StaffRole.HELPDESK, "password1": STAFF_PASSWORD, "password2": STAFF_PASSWORD,
    })
    assert response.status_code == 200
    assert "Académie : choisissez l&#x27;académie de cet agent." in response.content.decode()
    assert not Account.objects.filter(email="paul.eluard@ac-creteil.fr").exists()


def test_national_admin_moves_a_secretary_and_locks_her(national_client, national_admin, world):
    secretary = make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Roux")
    her_browser = sign_in(Client(), secretary)
    assert her_browser.get("/gestion/").status_code == 200
    url = reverse("admin:accounts_staffprofile_change", args=[secretary.staff_profile.pk])
    response = national_client.post(url, {"role": StaffRole.SECRETARY,
                                           "establishments": [world.a2.pk],
                                           "state": "active", "password1": "", "password2": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(secretary.staff_profile.establishments.all()) == [world.a2]
    event = JournalEvent.objects.get(kind="backoffice.staff_updated", account=secretary)
    assert event.actor == national_admin
    assert event.data["before"]["establishments"] == ["0940001A"]
    assert event.data["after"]["establishments"] == ["0940002B"]

    national_client.post(url, {"role": StaffRole.SECRETARY, "establishments": [world.a2.pk],
                               "state": "locked", "password1": "", "password2": ""})
    secretary.refresh_from_db()
    assert secretary.state == "locked"
    # A locked staff user is out at once, even with a signed-in session.
    assert her_browser.get("/gestion/").status_code == 302


def test_reset_second_factor_action(national_client, national_admin, world):
    secretary = make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Roux")
    national_client.post(reverse("admin:accounts_staffprofile_changelist"), {
        "action": "second_factor_reset", "_selected_action": [secretary.staff_profile.pk],
    })
    assert not TOTPDevice.objects.filter(user=secretary).exists()
    assert JournalEvent.objects.filter(kind="backoffice.second_factor_reset", account=secretary,
                                       actor=national_admin).exists()


def test_national_admin_cannot_demote_herself(national_client, national_admin):
    url = reverse("admin:accounts_staffprofile_change", args=[national_admin.staff_profile.pk])
    response = national_client.post(url, {"role": StaffRole.NATIONAL, "state": "closed",
                                           "password1": "", "password2": ""})
    assert response.status_code == 200
    assert "Vous ne pouvez pas retirer vos propres droits" in response.content.decode()
    national_admin.refresh_from_db()
    assert national_admin.state == "active"


def test_staff_list_shows_no_secret(national_client, world):
    make_staff(StaffRole.SECRETARY, establishments=[world.a1], last_name="Roux")
    body = national_client.get(reverse("admin:accounts_staffprofile_changelist")).content.decode()
    assert "0940001A" in body
    device = TOTPDevice.objects.first()
    assert device.key not in body
    assert national_client.get("/gestion/otp_totp/totpdevice/").status_code == 404
