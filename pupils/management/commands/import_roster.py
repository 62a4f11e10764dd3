"""`manage.py import_roster FILE [--dry-run]`: import a school roster (docs/roster-format.md)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pupils.roster import RosterFileError
from pupils.roster_import import (
    ROSTER_CHUNK_SIZE,
    RosterImportBusy,
    RosterImportInterrupted,
    RosterImportReport,
    roster_import,
)

LABELS = ("créés", "mis à jour", "inchangés", "rejetés")
KEYS = ("created", "updated", "unchanged", "rejected")


class Command(BaseCommand):
    help = (
        "Importe l'annuaire d'un établissement (CSV UTF-8, séparateur point-virgule) : "
        "établissements, élèves, responsables et liens. Voir docs/roster-format.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="fichier CSV à importer")
        parser.add_argument(
            "--dry-run", action="store_true",
            help="vérifie le fichier et affiche le bilan sans rien enregistrer",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="n'affiche pas la barre de progression"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=ROSTER_CHUNK_SIZE,
            help=f"lignes écrites par transaction (par défaut {ROSTER_CHUNK_SIZE})",
        )

    def handle(self, *args, file, dry_run, no_progress, chunk_size, **options):
        if chunk_size < 1:
            raise CommandError("--chunk-size doit être un entier positif.")
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
            raise CommandError(
                f"{report.rows_rejected} ligne(s) rejetée(s) : corrigez-les dans le fichier "
                "puis relancez l'import"
                + (" (simulation : rien n'a été enregistré)." if dry_run else
                   " (les lignes valides ont été importées).")
            )

    def _print_report(self, report: RosterImportReport) -> None:
        out = self.stdout
        for error in sorted(report.errors, key=lambda e: e.line):
            out.write(str(error))
        if report.errors:
            out.write("")
        seconds = f"{report.seconds:.1f}".replace(".", ",")
        if report.dry_run:
            out.write(f"Simulation de l'import de « {report.file_name} » terminée en {seconds} s.")
        else:
            out.write(f"Import de « {report.file_name} » terminé en {seconds} s.")
        width = max(len(label) for _, label in report.KINDS)
        out.write(" " * width + "".join(f"  {label:>10}" for label in LABELS))
        for kind, label in report.KINDS:
            counts = getattr(report, kind).counts()
            out.write(f"{label:<{width}}" + "".join(f"  {counts[key]:>10}" for key in KEYS))
        out.write(
            f"Lignes : {report.rows_read} lues, {report.rows_imported} importées, "
            f"{report.rows_rejected} rejetées."
        )
        if report.dry_run:
            out.write("Simulation : rien n'a été enregistré.")
