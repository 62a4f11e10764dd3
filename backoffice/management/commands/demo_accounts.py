"""`python manage.py demo_accounts`: the demo accounts, with known passwords.

A guardian and a pupil of demo/roster.csv, and one back-office user per staff role (they
enrol their TOTP second factor at their first sign-in on /gestion/).

Idempotent: the first run creates them, every later run finds them again and only puts back
what changed (password, state, covered records). Refuses to run unless DEBUG is on, since it
writes passwords that are printed here and in the README.
"""

import csv
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AbstractApplication, get_application_model

from accounts.models import Account, AccountKind, AccountState, StaffRole
from accounts.services import account_create
from backoffice.services import staff_create
from core.journal import EventKind, journal_record
from core.normalization import clean_name
from notifications.emails import absolute_url
from oidc_idp.demo import DEMO_CLIENT_ID, demo_redirect_uri
from oidc_idp.models import ClientPolicy
from pupils.models import Academy, Establishment, GuardianRecord, Pupil
from services_portal.levels import COLLEGE_LEVELS, ECOLE_LEVELS, LYCEE_LEVELS
from services_portal.models import EstablishmentMessage, Service

# Mme Hélène DUPRÉ-LAGARDE of demo/roster.csv: her children Lucas (Collège Victor-Hugo,
# 0750001A) and Inès (École élémentaire Jean-Jaurès, 0750002B).
GUARDIAN_LAST_NAME_KEY = "duprelagarde"
GUARDIAN_FIRST_NAME_KEY = "helene"
GUARDIAN_PHONE = "+33612345678"
GUARDIAN_PASSWORD = "Demo-Parent-2026!"  # noqa: S105 (published demo password)
PUPIL_INE = "123456789AA"  # Lucas DUPRÉ-LAGARDE
PUPIL_PASSWORD = "Demo-Eleve-2026!"  # noqa: S105 (published demo password)

# The staff policy holds for demo staff too: no name, identifier or email word inside (the
# demo emails contain « demo »).
STAFF_PASSWORD = "Gestion-Rentree-2026!"  # noqa: S105 (published demo password)
# (role, first name, last name, email, scope): a secretary of Lucas's collège, a helpdesk
# agent of the académie de Paris, a national administrator.
DEMO_STAFF = [
    (StaffRole.SECRETARY, "Sylvie", "Marchand", "secretariat.demo@educonnect.example",
     "0750001A"),
    (StaffRole.HELPDESK, "Karim", "Benali", "assistance.demo@educonnect.example", "Paris"),
    (StaffRole.NATIONAL, "Nathalie", "Roux", "national.demo@educonnect.example", None),
]

# The demo's catalogue: the national services every family sees, and each demo school's ENT.
# Their real addresses are out of the demo's reach: every tile opens the demo's own service
# instead (oidc_idp.demo), a relying party of the portal's OpenID Connect provider, which
# shows what ÉduConnect released to it (tests/browser/test_sso.py shows SAML).
DEMO_NATIONAL_SERVICES = [
    ("Scolarité services", "https://teleservices.education.gouv.fr/", ()),
    ("Livret scolaire du CP à la 3e", "https://teleservices.education.gouv.fr/lsu/",
     (*ECOLE_LEVELS, *COLLEGE_LEVELS)),
    ("Livret scolaire du lycée", "https://teleservices.education.gouv.fr/lsl/", LYCEE_LEVELS),
]
DEMO_SCHOOL_MESSAGE = (
    "Réunion parents-professeurs de 5e le jeudi à 18 h. Les bulletins du trimestre sont "
    "disponibles dans le livret scolaire."
)

# The demo roster, whose every school gets its ENT tile (README: « each school's ENT »).
DEMO_ROSTER = settings.BASE_DIR / "demo" / "roster.csv"


def demo_roster_uais() -> set[str]:
    """The UAIs of demo/roster.csv (its « uai » column, « ; »-separated, UTF-8): the demo
    schools, each given its ENT by demo_accounts. Empty if the file is missing."""
    try:
        with DEMO_ROSTER.open(encoding="utf-8-sig", newline="") as roster:
            return {row["uai"].strip().upper()
                    for row in csv.DictReader(roster, delimiter=";") if row.get("uai")}
    except FileNotFoundError:
        return set()


ROSTER_MISSING = (
    "Le registre de démonstration n'a pas été importé ({what} introuvable). Importez-le "
    "d'abord : python manage.py import_roster demo/roster.csv"
)


class Command(BaseCommand):
    help = (
        "Crée (ou remet dans leur état connu) un compte représentant légal et un compte élève "
        "de démonstration, avec des mots de passe connus. Uniquement avec DJANGO_DEBUG=true."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "demo_accounts écrit des mots de passe connus : il ne fonctionne qu'en "
                "démonstration, avec DJANGO_DEBUG=true."
            )
        with transaction.atomic():
            guardian, records = self._guardian()
            pupil_account, pupil = self._pupil()
            staff = [self._staff(*spec) for spec in DEMO_STAFF]
            self._catalogue(records)

        out = self.stdout
        out.write(self.style.SUCCESS("Comptes de démonstration prêts."))
        out.write("")
        out.write(f"  Représentant légal : {guardian.first_name} {guardian.last_name}")
        schools = ", ".join(sorted({r.establishment.name for r in records}))
        out.write(f"    enfants dans : {schools}")
        out.write(f"    Identifiant  : {guardian.identifier}   (sur les courriers : "
                  f"{guardian.display_identifier})")
        out.write(f"    Mot de passe : {GUARDIAN_PASSWORD}")
        out.write("")
        out.write(f"  Élève : {pupil.first_name} {pupil.last_name}, {pupil.establishment.name}")
        out.write(f"    Identifiant  : {pupil_account.identifier}   (sur les courriers : "
                  f"{pupil_account.display_identifier})")
        out.write(f"    Mot de passe : {PUPIL_PASSWORD}")
        out.write("")
        out.write(f"  Connexion : {settings.SITE_URL}/")
        out.write(f"  SMS et mails envoyés (démonstration) : {settings.SITE_URL}"
                  f"{reverse('notifications:demo_outbox')}")
        out.write("")
        out.write(f"  Back-office ({settings.SITE_URL}/gestion/), mot de passe {STAFF_PASSWORD},")
        out.write("  second facteur TOTP à enrôler à la première connexion :")
        for account in staff:
            out.write(f"    {account.staff_profile.get_role_display():28} {account.identifier}")

    def _catalogue(self, records: list[GuardianRecord]) -> None:
        """The national services, the ENT of each school of demo/roster.csv (and of the
        guardian's) and a message of the guardian's collège, so that « Mes services » shows
        tiles to every demo family; found again (by title and school) on a later run."""
        demo_service_register()
        for position, (title, _url, levels) in enumerate(DEMO_NATIONAL_SERVICES, start=10):
            Service.objects.update_or_create(
                title=title, establishment=None,
                defaults={"url": _demo_service_url(title), "oidc_client_id": DEMO_CLIENT_ID,
                          "levels": [str(level) for level in levels],
                          "position": position, "is_active": True},
            )
        today = timezone.localdate()
        # Every school of the demo roster has its ENT (the guardian's and all the others a
        # tryout signs in to: Collège Leconte-de-Lisle, Lycée Victor-Hugo…).
        schools = {record.establishment for record in records} | set(
            Establishment.objects.filter(uai__in=demo_roster_uais()))
        for establishment in sorted(schools, key=lambda school: school.uai):
            title = f"Accédez à l'ENT ({establishment.name})"
            Service.objects.update_or_create(
                title="Accédez à l'ENT", establishment=establishment,
                defaults={"url": _demo_service_url(title), "oidc_client_id": DEMO_CLIENT_ID,
                          "position": 1, "is_active": True},
            )
        for establishment in {record.establishment for record in records}:
            if establishment.kind == "college":
                EstablishmentMessage.objects.update_or_create(
                    establishment=establishment,
                    defaults={"text": DEMO_SCHOOL_MESSAGE, "starts_on": today,
                              "ends_on": today + timedelta(days=365)},
                )

    def _guardian(self) -> tuple[Account, list[GuardianRecord]]:
        records = list(
            GuardianRecord.objects.select_for_update(of=("self",))
            .filter(
                last_name_key=GUARDIAN_LAST_NAME_KEY,
                first_name_key=GUARDIAN_FIRST_NAME_KEY,
                mobile_phone=GUARDIAN_PHONE,
            )
            .select_related("establishment", "account")
            .order_by("pk")
        )
        if not records:
            raise CommandError(ROSTER_MISSING.format(what="Mme Hélène DUPRÉ-LAGARDE"))
        covering = [r.account for r in records if r.account and r.account.kind == "guardian"]
        if covering:
            account = min(covering, key=lambda a: a.pk)
            self._reset(account, GUARDIAN_PASSWORD, phone=GUARDIAN_PHONE)
        else:
            first = records[0]
            account = account_create(
                kind=AccountKind.GUARDIAN, first_name=clean_name(first.first_name),
                last_name=clean_name(first.last_name), password=GUARDIAN_PASSWORD,
                state=AccountState.ACTIVE, email=first.email, phone=GUARDIAN_PHONE,
                phone_verified=True,
            )
            journal_record(EventKind.DEMO_ACCOUNT_CREATED, account=account)
        for record in records:
            if record.account_id != account.pk:
                record.account = account
                record._change_reason = "Compte de démonstration"
                record.save(update_fields=["account"])
        return account, records

    def _pupil(self) -> tuple[Account, Pupil]:
        pupil = (
            Pupil.objects.select_for_update(of=("self",))
            .select_related("establishment", "account")
            .filter(ine=PUPIL_INE)
            .first()
        )
        if pupil is None:
            raise CommandError(ROSTER_MISSING.format(what=f"élève INE {PUPIL_INE}"))
        if pupil.account is not None:
            account = pupil.account
            self._reset(account, PUPIL_PASSWORD)
        else:
            account = account_create(
                kind=AccountKind.PUPIL, first_name=pupil.first_name,
                last_name=clean_name(pupil.last_name), password=PUPIL_PASSWORD,
                state=AccountState.ACTIVE,
            )
            Pupil.objects.filter(pk=pupil.pk).update(account=account)
            pupil.account = account
            journal_record(EventKind.DEMO_ACCOUNT_CREATED, account=account)
        return account, pupil

    def _staff(self, role, first_name, last_name, email, scope) -> Account:
        account = Account.objects.filter(kind=AccountKind.STAFF, email=email).first()
        if account is not None:
            self._reset(account, STAFF_PASSWORD)
            return account
        establishments, academy = [], None
        if role == StaffRole.SECRETARY:
            establishments = list(Establishment.objects.filter(uai=scope))
            if not establishments:
                raise CommandError(ROSTER_MISSING.format(what=f"établissement {scope}"))
        elif role == StaffRole.HELPDESK:
            academy = Academy.objects.filter(name=scope).first()
            if academy is None:
                raise CommandError(ROSTER_MISSING.format(what=f"académie {scope}"))
        account = staff_create(
            first_name=first_name, last_name=last_name, email=email, password=STAFF_PASSWORD,
            role=role, establishments=establishments, academy=academy,
        )
        journal_record(EventKind.DEMO_ACCOUNT_CREATED, account=account)
        return account

    def _reset(self, account: Account, password: str, *, phone: str = "") -> None:
        """Put back the known password and the active state, writing only what changed."""
        changed = []
        if not account.check_password(password):
            account.set_password(password)
            changed.append("password")
        if account.state != AccountState.ACTIVE:
            account.state = AccountState.ACTIVE
            account.activated_at = account.activated_at or timezone.now()
            changed += ["state", "activated_at"]
        if phone and (str(account.phone) != phone or not account.phone_verified):
            account.phone, account.phone_verified = phone, True
            changed += ["phone", "phone_verified"]
        if changed:
            account.save(update_fields=changed)
            journal_record(EventKind.DEMO_ACCOUNT_RESET, account=account, fields=sorted(changed))


def _demo_service_url(title: str) -> str:
    """A demo tile's address: the demo's service (oidc_idp.demo), told the tile's title."""
    return absolute_url(f"{reverse('oidc_demo:start')}?{urlencode({'service': title})}")


def demo_service_register() -> None:
    """The demo's service as a client of the OpenID Connect provider: public (no secret:
    PKCE), RS256, its redirect URI on this demo's address, no consent asked (as a national
    service), the scopes profile and children. Found again by its client id on a later run,
    its redirect URI following the demo's port."""
    application, _created = get_application_model().objects.update_or_create(
        client_id=DEMO_CLIENT_ID,
        defaults={
            "name": "Service de démonstration",
            "client_type": AbstractApplication.CLIENT_PUBLIC,
            "authorization_grant_type": AbstractApplication.GRANT_AUTHORIZATION_CODE,
            "algorithm": AbstractApplication.RS256_ALGORITHM,
            "redirect_uris": demo_redirect_uri(),
            "post_logout_redirect_uris": absolute_url("/"),
            "skip_authorization": True,
        },
    )
    ClientPolicy.objects.update_or_create(application=application,
                                          defaults={"scopes": ["profile", "children"]})
