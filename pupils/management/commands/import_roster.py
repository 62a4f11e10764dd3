"""`manage.py import_roster FILE [--dry-run]`: import a school roster (docs/roster-format.md)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tqdm import tqdm

from pupils.roster import RosterFileError
from pupils.roster_import import (
    ROSTER_CHUNK_SIZE,
    RosterImportBusy,
    RosterImportInterrupted,
    RosterImportReport,
    roster_import,
)

LABELS = (gettext_lazy("créés"), gettext_lazy("mis à jour"), gettext_lazy("inchangés"),
          gettext_lazy("rejetés"))
KEYS = ("created", "updated", "unchanged", "rejected")


class Command(BaseCommand):
    help = gettext_lazy(
        "Importe l'annuaire d'un établissement (CSV UTF-8, séparateur point-virgule) : "
        "établissements, élèves, responsables et liens. Voir docs/roster-format.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("fichier CSV à importer"))
        parser.add_argument(
            "--dry-run", action="store_true",
            help=_("vérifie le fichier et affiche le bilan sans rien enregistrer"),
        )
        parser.add_argument(
            "--no-progress", action="store_true",
            help=_("n'affiche pas la barre de progression"),
        )
        parser.add_argument(
            "--chunk-size", type=int, default=ROSTER_CHUNK_SIZE,
            help=_("lignes écrites par transaction (par défaut %(size)s)")
            % {"size": ROSTER_CHUNK_SIZE},
        )

    def handle(self, *args, file, dry_run, no_progress, chunk_size, **options):
        if chunk_size < 1:
            raise CommandError(_("--chunk-size doit être un entier positif."))
        # The bar goes to the real stderr (Django's wrapper would add a newline per refresh),
        # and only on a terminal: logs of a scheduled import stay clean.
        stream = getattr(self.stderr, "_out", sys.stderr)
        show = not no_progress and hasattr(stream, "isatty") and stream.isatty()
        bar = None

        def on_open(roster):
            nonlocal bar
            bar = tqdm(total=roster.data_line_count, unit=" lignes", file=stream,
                       disable=not show, desc="Import", leave=False)

        try:
            report = roster_import(
                path=file, dry_run=dry_run, chunk_size=chunk_size, on_open=on_open,
                on_progress=lambda n: bar.update(n),
            )
        except (RosterFileError, RosterImportBusy, RosterImportInterrupted) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()

        self._print_report(report)
        if report.rows_rejected:
            message = (
                _("%(count)s ligne(s) rejetée(s) : corrigez-les dans le fichier puis relancez "
                  "l'import (simulation : rien n'a été enregistré).") if dry_run else
                _("%(count)s ligne(s) rejetée(s) : corrigez-les dans le fichier puis relancez "
                  "l'import (les lignes valides ont été importées).")
            )
            raise CommandError(message % {"count": report.rows_rejected})

    def _print_report(self, report: RosterImportReport) -> None:
        out = self.stdout
        for error in sorted(report.errors, key=lambda e: e.line):
            out.write(str(error))
        if report.errors:
            out.write("")
        if report.warnings:
            out.write(_("Avertissements (ces lignes ont été importées) :"))
            for warning in sorted(report.warnings, key=lambda e: e.line):
                out.write(str(warning))
            out.write("")
        seconds = f"{report.seconds:.1f}".replace(".", ",")
        if report.dry_run:
            out.write(_("Simulation de l'import de « %(file)s » terminée en %(seconds)s s.")
                      % {"file": report.file_name, "seconds": seconds})
        else:
            out.write(_("Import de « %(file)s » terminé en %(seconds)s s.")
                      % {"file": report.file_name, "seconds": seconds})
        kinds = [(kind, str(label)) for kind, label in report.KINDS]
        width = max(len(label) for _kind, label in kinds)
        out.write(" " * width + "".join(f"  {label!s:>10}" for label in LABELS))
        for kind, label in kinds:
            counts = getattr(report, kind).counts()
            out.write(f"{label:<{width}}" + "".join(f"  {counts[key]:>10}" for key in KEYS))
        out.write(
            _("Lignes : %(read)s lues, %(imported)s importées, %(rejected)s rejetées.")
            % {"read": report.rows_read, "imported": report.rows_imported,
               "rejected": report.rows_rejected}
        )
        if report.dry_run:
            out.write(_("Simulation : rien n'a été enregistré."))
