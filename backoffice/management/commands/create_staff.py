"""`manage.py create_staff`: create a back-office user with a role and a scope.

    manage.py create_staff --role secretaire --first-name Anne --last-name Martin \
        --email anne.martin@ac-creteil.fr --uai 0940001A --uai 0940002B
    manage.py create_staff --role assistance --academy "Créteil" ...
    manage.py create_staff --role national ...

The password is asked twice on a terminal, or read from the first line of standard input
with --password-stdin (never as an argument: it would stay in the shell history). The second
factor (TOTP) is enrolled at the first sign-in on /gestion/.
"""

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import StaffRole
from backoffice.services import staff_create
from pupils.models import Academy, Establishment

ROLES = {
    "secretaire": StaffRole.SECRETARY,
    "assistance": StaffRole.HELPDESK,
    "national": StaffRole.NATIONAL,
}


class Command(BaseCommand):
    help = gettext_lazy(
        "Crée un compte du back-office (secrétariat, assistance académique ou national)."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--uai", action="append", default=[],
                            help=_("UAI d'un établissement du secrétariat (répétable)."))
        parser.add_argument("--academy", default="", help=_("Nom de l'académie (assistance)."))
        parser.add_argument("--password-stdin", action="store_true",
                            help=_("Lit le mot de passe sur la première ligne de l'entrée "
                                   "standard."))

    def _password(self, options) -> str:
        stdin = options.get("stdin") or sys.stdin
        if options["password_stdin"]:
            return stdin.readline().rstrip("\n")
        if not stdin.isatty():
            raise CommandError(_("Pas de terminal : utilisez --password-stdin."))
        first = getpass.getpass(_("Mot de passe : "))
        if first != getpass.getpass(_("Confirmation du mot de passe : ")):
            raise CommandError(_("Les deux mots de passe diffèrent."))
        return first

    def handle(self, *args, **options):
        role = ROLES[options["role"]]
        uais = [u.strip().upper() for u in options["uai"]]
        establishments = list(Establishment.objects.filter(uai__in=uais))
        unknown = sorted(set(uais) - {e.uai for e in establishments})
        if unknown:
            raise CommandError(_("UAI inconnu(s) : %(uais)s.") % {"uais": ", ".join(unknown)})
        academy = None
        if options["academy"]:
            academy = Academy.objects.filter(name__iexact=options["academy"].strip()).first()
            if academy is None:
                raise CommandError(
                    _("Académie inconnue : %(academy)s.") % {"academy": options["academy"]}
                )
        if role == StaffRole.SECRETARY and not establishments:
            raise CommandError(
                _("Un secrétariat a au moins un établissement : --uai 0750001A.")
            )
        if role == StaffRole.HELPDESK and academy is None:
            raise CommandError(
                _("Un agent d'assistance a une académie : --academy \"Créteil\".")
            )
        password = self._password(options)
        try:
            account = staff_create(
                first_name=options["first_name"], last_name=options["last_name"],
                email=options["email"], password=password, role=role,
                establishments=establishments, academy=academy,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(
            _("Compte créé : %(identifier)s (%(role)s). Le second facteur sera enregistré à la "
              "première connexion sur /gestion/.")
            % {"identifier": account.display_identifier, "role": role.label}
        ))
