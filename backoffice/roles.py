"""Back-office roles: one Django group per StaffRole, its permissions declared here.

`roles_sync()` makes the database say exactly this (idempotent): it runs after every
`migrate` (post_migrate, see backoffice) and with `manage.py sync_roles`. A
permission added to a group by hand is removed at the next sync: the code is the reference.

No role holds a permission on a history model (simple-history's Historical*) or a write
permission on the journal: audit rows are read-only for every staff user.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import StaffRole

GROUP_NAMES = {
    StaffRole.SECRETARY: "Secrétariat d'établissement",
    StaffRole.HELPDESK: "Assistance académique",
    StaffRole.NATIONAL: "Administration nationale",
}

HELPDESK_ACTIONS = [
    "accounts.helpdesk_search",
    "accounts.account_unlock",
    "accounts.account_close",
    "accounts.activation_resend",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Their own schools' pupils, guardian records and links (scoped in backoffice.admin.pupils).
    StaffRole.SECRETARY: [
        "pupils.view_establishment",
        "pupils.view_pupil",
        "pupils.change_pupil",
        "pupils.view_guardianrecord",
        "pupils.change_guardianrecord",
        "pupils.view_responsibility",
        "pupils.add_responsibility",
        "pupils.change_responsibility",
        # Their schools' services (the ENT link) and messages (scoped in
        # backoffice.admin.services).
        "services_portal.view_service",
        "services_portal.add_service",
        "services_portal.change_service",
        "services_portal.delete_service",
        "services_portal.view_establishmentmessage",
        "services_portal.add_establishmentmessage",
        "services_portal.change_establishmentmessage",
        "services_portal.delete_establishmentmessage",
        # The assistance requests about their schools, to fix the data (issue 16 §6).
        "assistance.view_assistancerequest",
        # Their schools' letters and follow-up of accounts (issue 9 §1, §4).
        "pupils.letters_make",
        "pupils.letters_follow",
    ],
    # Their academy's accounts through the helpdesk pages, and its schools' data read-only.
    StaffRole.HELPDESK: [
        *HELPDESK_ACTIONS,
        "pupils.view_establishment",
        "pupils.view_pupil",
        "pupils.view_guardianrecord",
        "pupils.view_responsibility",
        # Their academy's assistance requests: the queue, answer, close (issue 16 §6).
        "assistance.view_assistancerequest",
        "assistance.assistancerequest_handle",
        # Their academy's follow-up of accounts (issue 9 §4).
        "pupils.letters_follow",
    ],
    # Everything the back-office offers, staff management included; audit rows read-only.
    StaffRole.NATIONAL: [
        *HELPDESK_ACTIONS,
        "accounts.view_account",
        "core.view_journalevent",
        "accounts.view_staffprofile",
        "accounts.add_staffprofile",
        "accounts.change_staffprofile",
        "pupils.view_academy",
        "pupils.add_academy",
        "pupils.change_academy",
        "pupils.view_establishment",
        "pupils.add_establishment",
        "pupils.change_establishment",
        "pupils.view_pupil",
        "pupils.change_pupil",
        "pupils.view_guardianrecord",
        "pupils.change_guardianrecord",
        "pupils.view_responsibility",
        "pupils.add_responsibility",
        "pupils.change_responsibility",
        "auth.view_group",
        # Read-only admin pages of the flows and their codes, and of the outbox (no secret
        # shown).
        "core.view_flow",
        "core.view_flowcode",
        "notifications.view_outboundmessage",
        # The services catalogue, the news and the SAML service providers.
        "services_portal.view_service",
        "services_portal.add_service",
        "services_portal.change_service",
        "services_portal.delete_service",
        "services_portal.view_establishmentmessage",
        "services_portal.add_establishmentmessage",
        "services_portal.change_establishmentmessage",
        "services_portal.delete_establishmentmessage",
        "services_portal.view_newsitem",
        "services_portal.add_newsitem",
        "services_portal.change_newsitem",
        "services_portal.delete_newsitem",
        "saml_idp.view_serviceprovider",
        "saml_idp.add_serviceprovider",
        "saml_idp.change_serviceprovider",
        "saml_idp.delete_serviceprovider",
        # The OpenID Connect services and their rights (backoffice.admin.oidc).
        "oauth2_provider.view_application",
        "oauth2_provider.add_application",
        "oauth2_provider.change_application",
        "oauth2_provider.delete_application",
        "oidc_idp.view_clientpolicy",
        "oidc_idp.add_clientpolicy",
        "oidc_idp.change_clientpolicy",
        "assistance.view_assistancerequest",
        "assistance.assistancerequest_handle",
        "pupils.letters_follow",
    ],
}


class MissingPermissions(Exception):
    pass


def _permissions(names: list[str], *, strict: bool) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = list(
        Permission.objects.filter(
            content_type__app_label__in={app for app, _ in wanted},
            codename__in={codename for _, codename in wanted},
        ).select_related("content_type")
    )
    found = [p for p in found if (p.content_type.app_label, p.codename) in wanted]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing and strict:
        names = ", ".join(sorted(f"{app}.{codename}" for app, codename in missing))
        raise MissingPermissions(f"Permissions introuvables (migrate d'abord ?) : {names}")
    return found


@transaction.atomic
def roles_sync(*, strict: bool = True) -> dict[str, int]:
    """Create the groups and give each exactly its permissions. Returns {group: count}.

    With strict=False (after migrate), permissions not created yet are skipped: post_migrate
    runs app by app, and the last app's run completes the groups.
    """
    result = {}
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
        permissions = _permissions(names, strict=strict)
        group.permissions.set(permissions)
        result[group.name] = len(permissions)
    return result


def group_for_role(role: str) -> Group:
    group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
    return group
