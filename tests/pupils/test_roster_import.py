"""The roster import as a school's operator runs it: `manage.py import_roster FILE`."""

import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core.models import JournalEvent
from pupils.models import Establishment, GuardianRecord, Pupil, Responsibility
from pupils.roster import HEADER
from pupils.roster_import import roster_import
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
DEMO_ROSTER = BASE_DIR / "demo" / "roster.csv"

DEFAULTS = {
    "uai": "0750001A",
    "etablissement": "Collège Victor-Hugo",
    "type_etablissement": "college",
    "academie": "Paris",
    "ine": "123456789AA",
    "eleve_nom": "DUPRÉ-LAGARDE",
    "eleve_prenoms": "Lucas",
    "eleve_date_naissance": "14/03/2012",
    "niveau": "5EME",
    "responsable_civilite": "Mme",
    "responsable_nom": "DUPRÉ-LAGARDE",
    "responsable_prenom": "Hélène",
    "responsable_telephone_portable": "06 12 34 56 78",
    "responsable_email": "helene.dupre@example.org",
    "representant_legal": "oui",
}
COLUMNS = HEADER.split(";")
REUNION = {"uai": "9740001X", "etablissement": "Collège Leconte-de-Lisle",
           "academie": "La Réunion"}
GUADELOUPE = {"uai": "9710001K", "etablissement": "École Félix-Éboué",
              "type_etablissement": "ecole", "academie": "Guadeloupe"}
SCHOOL = {"uai": "0750002B", "etablissement": "École élémentaire Jean-Jaurès",
          "type_etablissement": "ecole"}


def row(**values) -> str:
    data = {**DEFAULTS, **values}
    return ";".join(data[column] for column in COLUMNS)


def letters(n: int) -> str:
    """`n` spelt in letters (« bcd » for 123): a distinct name per row, with no digit, which
    a name may not hold (core.forms.name_characters_valid)."""
    return "".join(chr(ord("a") + int(digit)) for digit in str(n))


def write_roster(directory: Path, rows: list[str], *, name="roster.csv", header=HEADER,
                 bom=False, encoding="utf-8") -> Path:
    path = directory / name
    text = "\n".join([header, *rows]) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode(encoding))
    return path


def run_import(path: Path, *options) -> tuple[int, str]:
    """Run the command; return (exit status, stdout + stderr) as the shell would see them.

    (run_from_argv would close the test's database connection: the CommandError it turns
    into the exit status is caught here instead; test_exit_status_* runs the real process.)
    """
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_roster", str(path), "--no-progress", *options, stdout=out,
                     stderr=err)
        status = 0
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        status = exc.returncode
    return status, out.getvalue() + err.getvalue()


def summary(output: str) -> dict[str, list[int]]:
    """The summary table: label -> [created, updated, unchanged, rejected]."""
    table = {}
    for label in ("Établissements", "Élèves", "Responsables", "Liens responsable–élève"):
        line = next(line for line in output.splitlines() if line.startswith(label))
        table[label] = [int(n) for n in line[len(label):].split()]
    return table


def snapshot() -> dict[str, int]:
    return {
        "establishments": Establishment.objects.count(),
        "pupils": Pupil.objects.count(),
        "records": GuardianRecord.objects.count(),
        "links": Responsibility.objects.count(),
        "pupil_history": Pupil.history.count(),
        "record_history": GuardianRecord.history.count(),
        "link_history": Responsibility.history.count(),
    }


def phone(record: GuardianRecord) -> str:
    return record.mobile_phone.as_e164 if record.mobile_phone else ""


# --- Counts and phone numbers -----------------------------------------------------------

def test_a_roster_creates_schools_pupils_guardians_and_links_with_e164_numbers(tmp_path):
    path = write_roster(tmp_path, [
        row(),
        # Overseas school: a national-form number is read in the school's region.
        row(**REUNION, ine="234567891BC", eleve_nom="N'DIAYE", eleve_prenoms="Maëlle",
            responsable_civilite="M.", responsable_nom="N'DIAYE",
            responsable_prenom="Jean-Éric", responsable_telephone_portable="0692 12 34 56",
            responsable_email=""),
        row(**GUADELOUPE, ine="234567891BE", eleve_nom="JEAN-BAPTISTE", eleve_prenoms="Kenzo",
            responsable_nom="JEAN-BAPTISTE", responsable_prenom="Thierry",
            responsable_telephone_portable="0690.12.34.56", responsable_email=""),
        # International forms are read as written, in any school.
        row(ine="234567891BD", eleve_nom="N'DIAYE", eleve_prenoms="Noah",
            responsable_civilite="M.", responsable_nom="N'DIAYE",
            responsable_prenom="Jean-Éric", responsable_telephone_portable="+262 692 12 34 56",
            responsable_email=""),
        row(**REUNION, ine="234567891BF", eleve_nom="RIVIÈRE", responsable_nom="RIVIÈRE",
            responsable_prenom="Cyril", responsable_telephone_portable="0033 6 14 89 01 23",
            responsable_email=""),
        row(ine="234567891BG", eleve_nom="CŒUR", responsable_nom="CŒUR",
            responsable_prenom="Lætitia", responsable_telephone_portable="07-81-23-45-67",
            responsable_email="Laetitia.Coeur@Example.org"),
    ])

    status, output = run_import(path)

    assert status == 0, output
    assert summary(output) == {
        "Établissements": [3, 0, 0, 0],
        "Élèves": [6, 0, 0, 0],
        "Responsables": [6, 0, 0, 0],  # N'DIAYE: one record in each of his two schools
        "Liens responsable–élève": [6, 0, 0, 0],
    }
    assert "Lignes : 6 lues, 6 importées, 0 rejetées." in output
    numbers = {(r.establishment.uai, r.last_name_key): phone(r)
               for r in GuardianRecord.objects.select_related("establishment")}
    assert numbers == {
        ("0750001A", "duprelagarde"): "+33612345678",
        ("9740001X", "ndiaye"): "+262692123456",
        ("9710001K", "jeanbaptiste"): "+590690123456",
        ("0750001A", "ndiaye"): "+262692123456",
        ("9740001X", "riviere"): "+33614890123",
        ("0750001A", "coeur"): "+33781234567",
    }
    coeur = GuardianRecord.objects.get(last_name_key="coeur")
    assert (coeur.last_name, coeur.first_name, coeur.first_name_key) == (
        "CŒUR", "Lætitia", "laetitia")
    assert coeur.email == "laetitia.coeur@example.org"
    lucas = Pupil.objects.get(ine="123456789AA")
    assert lucas.birth_date == datetime.date(2012, 3, 14)
    assert lucas.establishment.academy.name == "Paris"
    assert Establishment.objects.get(uai="9710001K").kind == "ecole"


def test_lowercase_uai_and_ine_are_read_in_capitals(tmp_path):
    path = write_roster(tmp_path, [row(uai="0750001a", ine="123456789aa")])

    status, output = run_import(path)

    assert status == 0, output
    assert Pupil.objects.get().ine == "123456789AA"
    assert Establishment.objects.get().uai == "0750001A"


# --- Bad rows ---------------------------------------------------------------------------

def test_every_bad_row_is_reported_by_line_column_and_reason_and_good_rows_are_kept(tmp_path):
    path = write_roster(tmp_path, [
        row(ine="100000001AA"),                                          # line 2, good
        row(ine="100000002AA", uai="075001A"),                           # 3
        row(ine="10000003AA"),                                           # 4
        row(ine="100000004AA", eleve_date_naissance="31/02/2015"),       # 5
        row(ine="100000005AA", eleve_date_naissance="10/23/2015"),       # 6, month 23
        row(ine="100000006AA", eleve_date_naissance="23/10/15"),         # 7, two-digit year
        row(ine="100000007AA", eleve_nom=""),                            # 8
        row(ine="100000008AA", type_etablissement="universite"),         # 9
        row(ine="100000009AA", representant_legal="peut-être"),          # 10
        "",                                                              # 11, blank: skipped
        row(ine="100000010AA", eleve_date_naissance="01-02-2015",
            responsable_prenom="  ", responsable_email="pas-une-adresse"),  # 12, three problems
        row(ine="100000011AA", responsable_civilite="Dr"),               # 13
        row(ine="100000012AA", responsable_prenom="Marc"),               # 14, good
    ])

    status, output = run_import(path)

    assert status == 1
    errors = [line for line in output.splitlines() if line.startswith("ligne ")]
    assert errors == [
        "ligne 3, colonne uai: code UAI « 075001A » invalide ; il doit comporter 7 chiffres "
        "suivis d'une lettre, par exemple 0750001A.",
        "ligne 4, colonne ine: INE « 10000003AA » invalide ; il doit comporter 11 caractères : "
        "9 chiffres, puis un chiffre ou une lettre, puis une lettre, par exemple 123456789AB.",
        "ligne 5, colonne eleve_date_naissance: la date « 31/02/2015 » n'existe pas ; vérifiez "
        "le jour et le mois.",
        "ligne 6, colonne eleve_date_naissance: la date « 10/23/2015 » n'existe pas ; "
        "vérifiez le jour et le mois.",
        "ligne 7, colonne eleve_date_naissance: la date « 23/10/15 » est mal écrite ; "
        "écrivez-la au format JJ/MM/AAAA, par exemple 14/03/2012.",
        "ligne 8, colonne eleve_nom: valeur manquante ; le nom de l'élève est obligatoire.",
        "ligne 9, colonne type_etablissement: type « universite » inconnu ; valeurs "
        "possibles : ecole, college, lycee, lp.",
        "ligne 10, colonne representant_legal: valeur « peut-être » inconnue ; écrivez oui "
        "ou non.",
        "ligne 12, colonne eleve_date_naissance: la date « 01-02-2015 » est mal écrite ; "
        "écrivez-la au format JJ/MM/AAAA, par exemple 14/03/2012.",
        "ligne 12, colonne responsable_prenom: valeur manquante ; le prénom du responsable "
        "est obligatoire.",
        "ligne 12, colonne responsable_email: adresse « pas-une-adresse » invalide ; écrivez "
        "une adresse comme prenom.nom@example.org, ou laissez la case vide.",
        "ligne 13, colonne responsable_civilite: civilité « Dr » inconnue ; valeurs "
        "possibles : Mme, M. ou vide.",
    ]
    assert "10 ligne(s) rejetée(s)" in output
    assert "Lignes : 12 lues, 2 importées, 10 rejetées." in output
    assert set(Pupil.objects.values_list("ine", flat=True)) == {"100000001AA", "100000012AA"}
    table = summary(output)
    assert table["Élèves"] == [2, 0, 0, 6]  # lines 4, 5, 6, 7, 8 and 12
    assert table["Établissements"] == [1, 0, 0, 2]  # lines 3 (another UAI) and 9
    assert table["Liens responsable–élève"][3] == 10


def test_a_row_with_the_wrong_number_of_values_is_rejected(tmp_path):
    path = write_roster(tmp_path, [row() + ";;", row(ine="123456789AC") + ";en trop",
                                   ";".join(DEFAULTS[c] for c in COLUMNS[:-2])])

    status, output = run_import(path)

    assert status == 1
    assert "ligne 3: 16 valeurs au lieu de 15 ; vérifiez les points-virgules" in output
    assert "ligne 4: 13 valeurs au lieu de 15" in output
    assert Pupil.objects.get().ine == "123456789AA"  # trailing empty separators are fine


def test_rows_of_one_pupil_that_disagree_are_rejected_naming_the_first_line(tmp_path):
    path = write_roster(tmp_path, [
        row(),
        row(responsable_prenom="Paul", responsable_telephone_portable="06 12 00 00 01",
            eleve_date_naissance="15/03/2012"),
    ])

    status, output = run_import(path)

    assert status == 1
    assert ("ligne 3, colonne eleve_date_naissance: différent de la ligne 2 pour le même élève "
            "(INE 123456789AA)") in output
    assert Pupil.objects.get().birth_date == datetime.date(2012, 3, 14)
    assert GuardianRecord.objects.count() == 1


def test_rows_of_one_pupil_far_apart_in_the_file_are_still_compared(tmp_path):
    # The reader keeps each pupil's first row on disk, not in memory (a million-row file):
    # a row many chunks later is still checked against it, and named by its line.
    others = [row(ine=f"1234567{n:02d}BB", eleve_prenoms=f"Élève {letters(n)}",
                  responsable_telephone_portable=f"06 12 00 01 {n:02d}") for n in range(6)]
    path = write_roster(tmp_path, [row(), *others, row(niveau="4EME")])

    report = roster_import(path=path, chunk_size=2)

    assert [str(error) for error in report.errors] == [
        "ligne 9, colonne niveau: différent de la ligne 2 pour le même élève (INE 123456789AA) ; "
        "toutes ses lignes doivent porter la même valeur."]
    assert report.counts()["pupils"] == {"created": 7, "updated": 0, "unchanged": 0,
                                         "rejected": 1}
    assert Pupil.objects.get(ine="123456789AA").level == "5EME"


def test_values_longer_than_the_database_allows_are_row_errors(tmp_path):
    path = write_roster(tmp_path, [
        row(ine="100000001AA", etablissement="É" * 201),
        row(ine="100000002AA", responsable_nom="Œ" * 60),  # 60 letters, a 120-letter key
        row(ine="100000003AA"),
    ])

    status, output = run_import(path)

    assert status == 1
    assert ("ligne 2, colonne etablissement: valeur trop longue (201 caractères, 200 au "
            "plus).") in output
    assert "ligne 3, colonne responsable_nom: valeur trop longue (100 lettres au plus)." in output
    assert list(Pupil.objects.values_list("ine", flat=True)) == ["100000003AA"]


def test_broken_csv_loses_only_its_own_rows(tmp_path):
    path = write_roster(tmp_path, [
        row(ine="100000001AA", eleve_prenoms="Lu\x00cas"),                     # 2: NUL
        row(ine="100000002AA", etablissement="x" * 140_000),                    # 3: huge
        row(ine="100000003AA"),                                                 # 4: good
        row(ine="100000004AA", eleve_prenoms='"Jade'),                          # 5: open "
        row(ine="100000005AA"),                                                 # 6: eaten
    ], header=HEADER + ";")  # a trailing separator in the header is fine

    status, output = run_import(path)

    assert status == 1
    assert ("ligne 2, colonne eleve_prenoms: caractère invisible (caractère de contrôle) "
            "dans la valeur ; retapez-la.") in output
    assert "ligne 3: ligne illisible : une valeur dépasse 131 072 caractères" in output
    assert ("ligne 5: un guillemet (\") ouvert n'est pas refermé : les lignes 5 à 6 ont été "
            "lues comme une seule.") in output
    assert list(Pupil.objects.values_list("ine", flat=True)) == ["100000003AA"]


def test_exit_status_is_zero_only_when_no_row_is_rejected(tmp_path):
    # The real command line, on a database of its own.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "REDIS_URL": "", "DJANGO_DEBUG": "true"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )

    assert manage("migrate", "--no-input", "-v", "0").returncode == 0
    good = manage("import_roster", str(write_roster(tmp_path, [row()], name="good.csv")))
    bad = manage("import_roster",
                 str(write_roster(tmp_path, [row(), row(ine="X")], name="bad.csv")))

    assert good.returncode == 0, good.stderr
    assert bad.returncode == 1
    assert "ligne 3, colonne ine" in bad.stdout
    assert "1 ligne(s) rejetée(s)" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_database_error_keeps_the_chunks_before_and_says_how_to_resume(tmp_path, monkeypatch):
    from django.db import DatabaseError

    from pupils import roster_import as importer

    upsert = importer._RosterImporter._upsert_pupils

    def failing(self, rows, *args):
        if any(r.ine == "100000002AA" for r in rows):
            raise DatabaseError("disk full")
        return upsert(self, rows, *args)

    monkeypatch.setattr(importer._RosterImporter, "_upsert_pupils", failing)
    path = write_roster(tmp_path, [row(ine="100000001AA"), row(ine="100000002AA"),
                                   row(ine="100000003AA")])

    status, output = run_import(path, "--chunk-size", "1")

    assert status == 1
    assert ("L'import s'est arrêté sur une erreur de la base de données (lignes 3 à 3, rien "
            "n'en a été enregistré ; les lignes précédentes l'ont été).") in output
    assert list(Pupil.objects.values_list("ine", flat=True)) == ["100000001AA"]
    event = JournalEvent.objects.get(kind="roster_imported")
    assert event.data["completed"] is False
    assert event.data["rows"]["imported"] == 1


# --- File-level problems ------------------------------------------------------------------

def test_a_missing_column_is_named_and_nothing_is_imported(tmp_path):
    header = HEADER.replace(";responsable_email", "").replace(";niveau", "")
    path = write_roster(tmp_path, ["x"], header=header)

    status, output = run_import(path)

    assert status == 1
    assert "colonne(s) manquante(s) dans l'en-tête (ligne 1) : niveau, responsable_email" in output
    assert Pupil.objects.count() == 0


def test_a_comma_separated_file_is_refused_with_the_expected_separator(tmp_path):
    path = write_roster(tmp_path, [row().replace(";", ",")], header=HEADER.replace(";", ","))

    status, output = run_import(path)

    assert status == 1
    assert "séparées par des points-virgules" in output


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(tmp_path):
    path = write_roster(tmp_path, [row(), row(ine="123456789AC")], encoding="cp1252")

    status, output = run_import(path)

    assert status == 1
    assert "n'est pas encodé en UTF-8 (premier caractère illisible ligne 2)" in output
    assert "Traceback" not in output
    assert Pupil.objects.count() == 0  # not even the rows before the first bad byte


def test_a_byte_order_mark_is_tolerated(tmp_path):
    path = write_roster(tmp_path, [row()], bom=True)

    status, output = run_import(path)

    assert status == 0, output
    assert Pupil.objects.get().ine == "123456789AA"


def test_a_missing_file_is_a_clear_error(tmp_path):
    status, output = run_import(tmp_path / "absent.csv")

    assert status == 1
    assert "Fichier introuvable" in output


# --- Idempotence and updates --------------------------------------------------------------

def test_the_same_file_twice_changes_nothing(tmp_path):
    path = write_roster(tmp_path, [
        row(),
        row(**SCHOOL, ine="123456789AB", eleve_prenoms="Inès", niveau="CE2"),
        row(responsable_civilite="M.", responsable_prenom="Paul",
            responsable_telephone_portable="", responsable_email=""),
    ])
    run_import(path)
    before = snapshot()

    status, output = run_import(path)

    assert status == 0
    assert snapshot() == before
    assert summary(output) == {
        "Établissements": [0, 0, 2, 0],
        "Élèves": [0, 0, 2, 0],
        "Responsables": [0, 0, 3, 0],
        "Liens responsable–élève": [0, 0, 3, 0],
    }


def test_a_newer_file_updates_what_the_school_changed(tmp_path):
    first = write_roster(tmp_path, [
        row(),
        row(responsable_civilite="M.", responsable_nom="DUPRÉ", responsable_prenom="Marc",
            responsable_telephone_portable="06 12 00 00 02", responsable_email=""),
        row(**SCHOOL, ine="123456789AB", eleve_prenoms="Inès", niveau="CE2"),
    ], name="septembre.csv")
    run_import(first)
    helene = GuardianRecord.objects.get(first_name_key="helene", establishment__uai="0750001A")
    account = AccountFactory()
    GuardianRecord.objects.filter(pk=helene.pk).update(account=account)
    marc_link = Responsibility.objects.get(guardian_record__first_name_key="marc")
    Responsibility.objects.filter(pk=marc_link.pk).update(status="disputed")
    history_before = snapshot()

    second = write_roster(tmp_path, [
        # New mobile, birth date and level.
        row(responsable_telephone_portable="07 81 23 45 67", eleve_date_naissance="15/03/2012",
            niveau="4EME"),
        # Marc is no longer a legal representative (the disputed status must stay).
        row(responsable_civilite="M.", responsable_nom="DUPRÉ", responsable_prenom="Marc",
            responsable_telephone_portable="06 12 00 00 02", responsable_email="",
            eleve_date_naissance="15/03/2012", niveau="4EME", representant_legal="non"),
        # Inès changed school: she is now at the collège.
        row(ine="123456789AB", eleve_prenoms="Inès", niveau="6EME",
            eleve_date_naissance="02/09/2013", responsable_telephone_portable="07 81 23 45 67"),
    ], name="octobre.csv")
    status, output = run_import(second)

    assert status == 0, output
    helene.refresh_from_db()
    assert phone(helene) == "+33781234567"
    assert helene.account == account  # the import never touches who a record belongs to
    lucas = Pupil.objects.get(ine="123456789AA")
    assert (lucas.birth_date, lucas.level) == (datetime.date(2012, 3, 15), "4EME")
    ines = Pupil.objects.get(ine="123456789AB")
    assert ines.establishment.uai == "0750001A"
    marc_link.refresh_from_db()
    assert (marc_link.is_legal_representative, marc_link.status) == (False, "disputed")
    # Hélène's collège record now covers both children: one record, two links.
    assert set(helene.responsibilities.values_list("pupil__ine", flat=True)) == {
        "123456789AA", "123456789AB"}
    assert summary(output) == {
        "Établissements": [0, 0, 1, 0],
        "Élèves": [0, 2, 0, 0],
        "Responsables": [0, 1, 1, 0],
        "Liens responsable–élève": [1, 1, 1, 0],
    }
    after = snapshot()
    assert after["pupil_history"] == history_before["pupil_history"] + 2
    assert after["record_history"] == history_before["record_history"] + 1
    assert Pupil.history.filter(ine="123456789AA").latest().history_change_reason == (
        "Import de l'annuaire de l'établissement")
    # Nothing deleted: Inès keeps her school's record and link from September.
    assert after["records"] == history_before["records"]
    assert after["links"] == history_before["links"] + 1


def test_a_corrected_guardian_name_with_the_same_mobile_updates_the_record(tmp_path):
    run_import(write_roster(tmp_path, [row(responsable_prenom="Hélèn")], name="a.csv"))
    record = GuardianRecord.objects.get()

    # The corrected name also finds the record for a new brother (rule c, same mobile).
    status, output = run_import(write_roster(tmp_path, [
        row(), row(ine="123456789AC", eleve_prenoms="Jade"),
    ], name="b.csv"))

    assert status == 0
    assert GuardianRecord.objects.get().pk == record.pk
    assert GuardianRecord.objects.get().first_name == "Hélène"
    assert record.responsibilities.count() == 2
    assert summary(output)["Responsables"] == [0, 1, 0, 0]


def test_a_dry_run_reports_without_writing(tmp_path):
    path = write_roster(tmp_path, [row(), row(**SCHOOL, ine="123456789AB"), row(ine="bad")])
    events = JournalEvent.objects.count()

    status, output = run_import(path, "--dry-run")

    assert status == 1
    assert summary(output)["Élèves"] == [2, 0, 0, 1]
    assert "Simulation : rien n'a été enregistré." in output
    assert snapshot() == dict.fromkeys(snapshot(), 0)
    assert JournalEvent.objects.count() == events

    # Updates too are only simulated.
    run_import(path)
    before = snapshot()
    newer = write_roster(tmp_path, [
        row(responsable_telephone_portable="07 81 23 45 67", niveau="4EME",
            representant_legal="non"),
    ], name="newer.csv")

    status, output = run_import(newer, "--dry-run")

    assert status == 0
    assert summary(output)["Élèves"] == [0, 1, 0, 0]
    assert summary(output)["Responsables"] == [0, 1, 0, 0]
    assert summary(output)["Liens responsable–élève"] == [0, 1, 0, 0]
    assert snapshot() == before
    assert Pupil.objects.get(ine="123456789AA").level == "5EME"
    record = GuardianRecord.objects.get(establishment__uai="0750001A")
    assert phone(record) == "+33612345678"
    assert Responsibility.objects.get(pupil__ine="123456789AA").is_legal_representative


# --- An INE already held by another child -------------------------------------------------

GUYANE = {"uai": "9730002Y", "etablissement": "Collège Aimé-Césaire", "academie": "Guyane",
          "ine": "123456789AB", "eleve_nom": "TIOUKA", "eleve_prenoms": "Awala",
          "eleve_date_naissance": "03/03/2011", "niveau": "6EME",
          "responsable_civilite": "Mme", "responsable_nom": "TIOUKA",
          "responsable_prenom": "Malia", "responsable_telephone_portable": "0694 20 30 40",
          "responsable_email": ""}
OTHER_CHILD_ERROR = ("ligne 2, colonne ine: l'INE 123456789AB est déjà celui d'un autre élève "
                     "(nom et date de naissance différents) : vérifiez l'INE de cet élève.")


def _ines_state():
    ines = Pupil.objects.get(ine="123456789AB")
    return (
        (ines.last_name, ines.first_names, ines.birth_date, ines.level,
         ines.establishment.uai),
        sorted(Responsibility.objects.filter(pupil=ines).values_list(
            "guardian_record_id", "guardian_record__last_name_key",
            "guardian_record__first_name_key", "is_legal_representative")),
    )


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
def test_an_ine_of_another_child_is_rejected_and_that_child_is_untouched(tmp_path, dry_run):
    assert run_import(DEMO_ROSTER)[0] == 0
    helene = GuardianRecord.objects.get(establishment__uai="0750002B",
                                        last_name_key="duprelagarde", first_name_key="helene")
    account = AccountFactory()
    GuardianRecord.objects.filter(pk=helene.pk).update(account=account)
    ines_before, before = _ines_state(), snapshot()

    status, output = run_import(write_roster(tmp_path, [row(**GUYANE)]),
                                *(["--dry-run"] if dry_run else []))

    assert status == 1
    assert OTHER_CHILD_ERROR in output
    # The other child is never named: the report may be read by the other school.
    for other in ("DUPRÉ", "Inès", "02/09/2017", "Jean-Jaurès", "0750002B"):
        assert other not in output
    assert "0 importées, 1 rejetées" in output
    assert summary(output) == {
        "Établissements": [0, 0, 0, 0],
        "Élèves": [0, 0, 0, 1],
        "Responsables": [0, 0, 0, 0],
        "Liens responsable–élève": [0, 0, 0, 1],
    }
    # Nothing of the row is written: not the pupil, not the school, not the guardian, no link.
    assert snapshot() == before
    assert _ines_state() == ines_before
    assert not Establishment.objects.filter(uai="9730002Y").exists()
    assert not GuardianRecord.objects.filter(last_name_key="tiouka").exists()
    # Inès stays linked to her own family only, and Hélène's account sees only her children.
    assert set(Pupil.objects.filter(
        responsibilities__guardian_record__account=account).values_list("ine", flat=True)
    ) == {"123456789AB"}


def test_the_other_rows_of_the_file_go_on_and_the_service_reports_the_rejection(tmp_path):
    run_import(write_roster(tmp_path, [row(**SCHOOL, ine="123456789AB", eleve_prenoms="Inès",
                                           eleve_date_naissance="02/09/2017", niveau="CE2")],
                            name="paris.csv"))
    guyane = write_roster(tmp_path, [
        row(**GUYANE),
        row(**{**GUYANE, "ine": "123456789AC", "eleve_prenoms": "Kali"}),
    ], name="guyane.csv")

    for chunk_size in (1, 2000):
        report = roster_import(path=guyane, chunk_size=chunk_size)

        assert report.completed
        assert [str(e) for e in report.errors] == [OTHER_CHILD_ERROR]
        assert (report.rows_read, report.rows_imported, report.rows_rejected) == (2, 1, 1)
    assert Pupil.objects.get(ine="123456789AB").last_name == "DUPRÉ-LAGARDE"
    kali = Pupil.objects.get(ine="123456789AC")
    assert kali.establishment.uai == "9730002Y"
    assert list(kali.responsibilities.values_list("guardian_record__first_name_key",
                                                  flat=True)) == ["malia"]
    tiouka = GuardianRecord.objects.get(last_name_key="tiouka")
    assert list(tiouka.responsibilities.values_list("pupil__ine", flat=True)) == ["123456789AC"]


@pytest.mark.parametrize("change", [
    # A name change, same birth date, in another school of another academy.
    {**GUYANE, "eleve_date_naissance": "14/03/2012"},
    # A corrected birth date, the same name written differently, in another academy.
    {**GUYANE, "eleve_nom": "Dupré Lagarde", "eleve_prenoms": "Lucas"},
    # A first name typo fixed, and the pupil moved up a level.
    {"eleve_prenoms": "Lucas-Antoine", "niveau": "4EME"},
], ids=["new-name-same-birth-date", "same-name-new-birth-date", "first-name-fixed"])
def test_the_same_child_with_its_ine_is_still_updated(tmp_path, change):
    run_import(write_roster(tmp_path, [row()], name="first.csv"))
    lucas = Pupil.objects.get()

    status, output = run_import(write_roster(
        tmp_path, [row(**{**change, "ine": "123456789AA"})], name="second.csv"))

    assert status == 0, output
    assert summary(output)["Élèves"] == [0, 1, 0, 0]
    moved = Pupil.objects.get()
    assert moved.pk == lucas.pk
    expected = {**DEFAULTS, **change}
    assert (moved.last_name, moved.first_names, moved.establishment.uai) == (
        expected["eleve_nom"], expected["eleve_prenoms"], expected["uai"])
    assert moved.birth_date.strftime("%d/%m/%Y") == expected["eleve_date_naissance"]


# --- Matching guardians -------------------------------------------------------------------

def test_a_guardian_of_two_children_in_one_school_is_one_record_with_two_links(tmp_path):
    path = write_roster(tmp_path, [
        row(),
        row(ine="123456789AC", eleve_prenoms="Jade", eleve_date_naissance="01/01/2013",
            responsable_telephone_portable="06.12.34.56.78", responsable_nom="Dupré-Lagarde"),
    ])

    run_import(path)

    record = GuardianRecord.objects.get()
    assert record.responsibilities.count() == 2


def test_a_sibling_is_matched_by_email_when_the_guardian_has_no_mobile(tmp_path):
    path = write_roster(tmp_path, [
        row(responsable_telephone_portable=""),
        row(ine="123456789AC", eleve_prenoms="Jade", responsable_telephone_portable=""),
    ])

    run_import(path)

    assert GuardianRecord.objects.get().responsibilities.count() == 2


def test_two_guardians_with_the_same_name_and_different_mobiles_stay_two_records(tmp_path):
    path = write_roster(tmp_path, [
        row(eleve_nom="MARTIN", responsable_nom="MARTIN", responsable_prenom="Thomas",
            responsable_telephone_portable="06 13 01 23 45", responsable_email=""),
        row(ine="123456789AC", eleve_nom="MARTIN", eleve_prenoms="Hugo",
            responsable_nom="MARTIN", responsable_prenom="Thomas",
            responsable_telephone_portable="07 82 34 56 78", responsable_email=""),
    ])

    run_import(path)
    run_import(path)

    records = GuardianRecord.objects.filter(last_name_key="martin")
    assert sorted(phone(r) for r in records) == ["+33613012345", "+33782345678"]
    assert all(r.responsibilities.count() == 1 for r in records)


def test_two_parents_sharing_one_mobile_keep_their_own_records(tmp_path):
    shared = {"responsable_telephone_portable": "06 12 34 56 78", "responsable_email": ""}
    first = write_roster(tmp_path, [
        row(responsable_prenom="Marie", **shared),
        row(responsable_civilite="M.", responsable_prenom="Paul", **shared),
    ], name="a.csv")
    run_import(first)
    # The school corrects the mother's first name; the father's row comes first this time.
    second = write_roster(tmp_path, [
        row(responsable_civilite="M.", responsable_prenom="Paul", **shared),
        row(responsable_prenom="Marie-Claire", **shared),
    ], name="b.csv")

    status, output = run_import(second)

    assert status == 0, output
    assert sorted(GuardianRecord.objects.values_list("first_name", flat=True)) == [
        "Marie-Claire", "Paul"]
    assert Responsibility.objects.count() == 2


@pytest.mark.parametrize("chunk_size", [1, 2000])
def test_two_parents_sharing_one_mobile_keep_their_records_across_chunks(tmp_path, chunk_size):
    # The record a row took stays taken for the rest of the file, in the next chunks too.
    shared = {"responsable_telephone_portable": "06 12 34 56 78", "responsable_email": ""}
    roster_import(path=write_roster(tmp_path, [
        row(responsable_prenom="Marie", **shared),
        row(responsable_civilite="M.", responsable_prenom="Paul", **shared),
    ], name="a.csv"))
    marie = GuardianRecord.objects.get(first_name="Marie")

    report = roster_import(path=write_roster(tmp_path, [
        row(responsable_civilite="M.", responsable_prenom="Paul", **shared),
        row(responsable_prenom="Marie-Claire", **shared),
    ], name="b.csv"), chunk_size=chunk_size)

    assert GuardianRecord.objects.get(pk=marie.pk).first_name == "Marie-Claire"
    assert GuardianRecord.objects.count() == 2
    assert report.counts()["guardians"] == {"created": 0, "updated": 1, "unchanged": 1,
                                            "rejected": 0}


def test_a_guardian_with_children_in_two_schools_has_one_record_per_school(tmp_path):
    path = write_roster(tmp_path, [row(), row(**SCHOOL, ine="123456789AB")])

    run_import(path)

    assert sorted(GuardianRecord.objects.values_list("establishment__uai", flat=True)) == [
        "0750001A", "0750002B"]


@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_chunk_boundaries_do_not_change_the_result(tmp_path, chunk_size):
    rows = [
        row(),
        row(responsable_civilite="M.", responsable_prenom="Paul",
            responsable_telephone_portable="06 12 00 00 02", responsable_email=""),
        row(ine="123456789AC", eleve_prenoms="Jade"),
        row(ine="123456789AC", eleve_prenoms="Jade"),  # the same pair twice
        row(ine="123456789AC", eleve_prenoms="Jade", responsable_civilite="M.",
            responsable_prenom="Paul", responsable_telephone_portable="06 12 00 00 02",
            responsable_email=""),
    ]
    path = write_roster(tmp_path, rows)

    report = roster_import(path=path, chunk_size=chunk_size)

    assert report.counts()["guardians"]["created"] == 2
    assert report.counts()["links"]["created"] == 4
    assert GuardianRecord.objects.count() == 2
    assert Responsibility.objects.count() == 4
    again = roster_import(path=path, chunk_size=chunk_size)
    assert again.counts()["links"] == {"created": 0, "updated": 0, "unchanged": 4,
                                       "rejected": 0}


def test_a_filled_cell_wins_over_an_empty_one_among_the_rows_of_one_file(tmp_path):
    path = write_roster(tmp_path, [
        row(),
        row(ine="123456789AC", eleve_prenoms="Jade", responsable_email=""),
    ])

    run_import(path)
    run_import(path)

    assert GuardianRecord.objects.get().email == "helene.dupre@example.org"


# --- Journal, speed, progress -------------------------------------------------------------

def test_each_import_writes_one_journal_event_with_counts_and_no_personal_data(tmp_path):
    path = write_roster(tmp_path, [row(), row(ine="bad")])

    run_import(path)

    event = JournalEvent.objects.get(kind="roster_imported")
    assert event.data["file"] == "roster.csv"
    assert event.data["pupils"]["created"] == 1
    assert event.data["rows"] == {"read": 2, "imported": 1, "rejected": 1}
    dumped = json.dumps(event.data, ensure_ascii=False).lower()
    for personal in ("dupré", "hélène", "123456789aa", "612345678", "example.org", "14/03"):
        assert personal not in dumped


def test_the_number_of_queries_does_not_grow_with_the_number_of_rows(
    tmp_path, django_assert_max_num_queries
):
    def roster(n, name):
        return write_roster(tmp_path, [
            row(ine=f"{200000000 + i:09d}AA", responsable_prenom=f"P{letters(i)}",
                responsable_telephone_portable=f"06 12 {i // 100:02d} {i % 100:02d} 00")
            for i in range(n)
        ], name=name)

    # About fifteen queries a chunk plus the journal and the lock, whatever the chunk's size.
    # SQLite caps a statement at 999 parameters, so its bulk inserts come in a few batches;
    # an N+1 would be hundreds of queries either way.
    limit = 25 if connection.vendor == "postgresql" else 40
    with django_assert_max_num_queries(limit):
        roster_import(path=roster(5, "small.csv"))
    with django_assert_max_num_queries(limit):
        roster_import(path=roster(400, "large.csv"))


def test_no_progress_bar_is_written_when_stderr_is_not_a_terminal(tmp_path):
    err = io.StringIO()

    call_command("import_roster", str(write_roster(tmp_path, [row()])), stdout=io.StringIO(),
                 stderr=err)

    assert err.getvalue() == ""


@pytest.mark.needs_postgres
def test_a_second_import_at_the_same_time_is_refused(tmp_path):
    from pupils.roster_import import IMPORT_LOCK_KEY

    path = write_roster(tmp_path, [row()])
    other = connection.copy()  # another session holds the lock, as a running import would
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK_KEY])
        with pytest.raises(CommandError, match="Un autre import d'annuaire est en cours"):
            call_command("import_roster", str(path), stdout=io.StringIO())
        assert Pupil.objects.count() == 0
    finally:
        other.close()


# --- The demo roster ------------------------------------------------------------------------

def test_the_demo_roster_imports_without_a_rejected_row_and_twice_changes_nothing():
    status, output = run_import(DEMO_ROSTER)

    assert status == 0, output
    assert "0 rejetées" in output
    helene = GuardianRecord.objects.filter(last_name_key="duprelagarde",
                                           first_name_key="helene")
    assert sorted((r.establishment.uai, phone(r), r.email) for r in helene) == [
        ("0750001A", "+33612345678", "helene.dupre@example.org"),
        ("0750002B", "+33612345678", "helene.dupre@example.org"),
    ]
    ndiaye = GuardianRecord.objects.filter(last_name_key="ndiaye", first_name_key="jeaneric")
    assert sorted((r.establishment.uai, phone(r), r.email) for r in ndiaye) == [
        ("0750003C", "+262692123456", ""),
        ("9740001X", "+262692123456", ""),
    ]
    assert Pupil.objects.get(ine="234567891BD").establishment.kind == "lycee"
    assert Pupil.objects.get(ine="123456789AB").birth_date == datetime.date(2017, 9, 2)
    assert Responsibility.objects.filter(is_legal_representative=False).exists()
    before = snapshot()

    status, output = run_import(DEMO_ROSTER)

    assert status == 0
    assert snapshot() == before
    assert all(counts[0] == counts[1] == counts[3] == 0 for counts in summary(output).values())
