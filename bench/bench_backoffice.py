"""Back-office at scale: 1,000,000 guardian records, 1,000,000 pupils, 500,000 accounts.

    createdb -h 127.0.0.1 -U postgres educonnect_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect_bench \\
        python bench/bench_backoffice.py [--reset] [--runs 7]

Loads the data set once (INSERT … SELECT over generate_series, a minute or two; --reset
loads it again), then times every admin changelist as a secretary, a helpdesk agent and a
national administrator, and the helpdesk search with each kind of query, through Django's
test client (whole request: middleware, queries, templates). Prints, per page, the median, the
95th percentile and the worst of the runs (ms), the number of SQL queries and the slowest one.
The target is 300 ms.

    python bench/bench_backoffice.py --only "élèves (liste)" --only "élèves de l'académie" \
        --runs 41

times only the pages whose « rôle page » label contains one of the --only strings: here the
first page of the national and the academy-wide pupil lists (in French name order, walking
pupil_name_fr_idx; bench/README.md).

Never run it against a database that matters: --reset truncates the tables.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

PUPILS = 1_000_000
RECORDS = 1_000_000
ACCOUNTS = 500_000
ESTABLISHMENTS = 3_000
ACADEMIES = 30
TARGET_MS = 300

# Frequent French surnames, with the accents, hyphens and apostrophes people type or not.
SURNAMES = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
    "Müller", "Lefebvre", "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier",
    "François", "Legrand", "Gauthier", "Garcia", "Perrin", "Robin", "Clément", "Morin",
    "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson", "Marchand", "Duval",
    "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier", "Brun",
    "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier",
    "Arnaud", "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin",
    "Vidal", "Caron", "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas",
    "Lacroix", "Olivier", "Philippe", "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc",
    "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte", "López", "Jean", "Dupuy",
    "Guillot", "Hubert", "Berger", "Carpentier", "Sánchez", "Dupuis", "Moulin", "Louis",
    "Deschamps", "Huet", "Vasseur", "Perez", "Boucher", "Fleury", "Royer", "Klein",
    "Jacquet", "Adam", "Paris", "Poirier", "Marty", "Aubry", "Guyot", "Carré", "Charles",
    "Renault", "Charpentier", "Ménard", "Maillard", "Baron", "Bertin", "Bailly", "Hervé",
    "Schneider", "Fernández", "Le Gall", "Collet", "Léger", "Bouvier", "Julien", "Prévost",
    "Millet", "Perrot", "Daniel", "Le Roux", "Cousin", "Germain", "Breton", "Besson",
    "Langlois", "Rémy", "Le Goff", "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré",
    "Lebrun", "Marchal", "Weber", "Mallet", "Hamon", "Boulanger", "Jacob", "Monnier",
    "Michaud", "Rodriguez", "Guichard", "Gillet", "Étienne", "Grondin", "Poulain", "Tessier",
    "Chevallier", "Collin", "Chauvin", "Da Silva", "Bouchet", "Gay", "Lemaître", "Bénard",
    "Maréchal", "Humbert", "Reynaud", "Antoine", "Hoarau", "Perret", "Barthélemy", "Cordier",
    "Pichon", "Lejeune", "Gilbert", "Lamy", "Delaunay", "Pasquier", "Carlier", "Laporte",
    "N'Diaye", "Nguyễn", "Diallo", "Ben Saïd", "Traoré", "Œuvrard", "Ly", "Ba",
]
FIRST_NAMES = [
    "Marie", "Jean", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Stéphane", "Christophe",
    "Sébastien", "Céline", "Aurélie", "Julien", "Nicolas", "Sandrine", "Valérie", "Hélène",
    "Karim", "Fatima", "Mamadou", "Aïcha", "Thi", "Jérôme", "Laëtitia", "Frédéric", "Anaïs",
    "Léa", "Chloé", "Inès", "Noé", "Zoé", "Lucas", "Hugo", "Emma", "Jade", "Louis", "Gabriel",
]


def sql_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def load(reset: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'pupils_pupil'")
        row = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM (SELECT 1 FROM pupils_pupil LIMIT 10) t")
        present = cursor.fetchone()[0] > 0
        if present and not reset:
            print(f"Data set present (about {row[0]:,} pupils); --reset to load it again.")
            return
        started = time.monotonic()
        surnames, first_names = sql_array(SURNAMES), sql_array(FIRST_NAMES)
        ns, nf = len(SURNAMES), len(FIRST_NAMES)
        statements = [
            "TRUNCATE pupils_responsibility, pupils_guardianrecord, pupils_pupil, "
            "pupils_establishment, pupils_academy, accounts_journalevent, "
            "accounts_staffprofile_establishments, accounts_staffprofile, "
            "otp_totp_totpdevice, accounts_account, accounts_historicalaccount, "
            "pupils_historicalpupil, pupils_historicalguardianrecord, "
            "pupils_historicalresponsibility, django_admin_log RESTART IDENTITY CASCADE",
            f"""INSERT INTO pupils_academy (id, name)
                SELECT i, 'Académie ' || i FROM generate_series(1, {ACADEMIES}) i""",
            f"""INSERT INTO pupils_establishment (id, uai, name, kind, academy_id, ent_url)
                SELECT i, lpad(i::text, 7, '0') || 'A',
                       (CASE i % 3 WHEN 0 THEN 'École ' WHEN 1 THEN 'Collège '
                        ELSE 'Lycée ' END) || ({surnames})[1 + (i * 31) % {ns}] || ' ' || i,
                       (CASE i % 3 WHEN 0 THEN 'ecole' WHEN 1 THEN 'college' ELSE 'lycee' END),
                       1 + i % {ACADEMIES}, ''
                FROM generate_series(1, {ESTABLISHMENTS}) i""",
            f"""INSERT INTO accounts_account (id, password, is_superuser, identifier, kind,
                    first_name, last_name, email, email_verified, phone, phone_verified, state,
                    is_staff, date_joined, activated_at)
                SELECT i, '!', false,
                       left(lower(({first_names})[1 + (i * 13) % {nf}]), 1) || '.' ||
                       educonnect_name_key(({surnames})[1 + (i::bigint * 7919) % {ns}]) || (10 + i),
                       'guardian', ({first_names})[1 + (i * 13) % {nf}],
                       ({surnames})[1 + (i::bigint * 7919) % {ns}],
                       CASE WHEN i % 3 = 0 THEN 'Parent' || i || '@Exemple.fr' ELSE '' END,
                       i % 3 = 0, '+336' || lpad(i::text, 8, '0'), true,
                       CASE WHEN i % 500 = 0 THEN 'locked' ELSE 'active' END, false,
                       now() - (i % 700) * interval '1 day', now() - (i % 700) * interval '1 day'
                FROM generate_series(1, {ACCOUNTS}) i""",
            f"""INSERT INTO pupils_pupil (id, ine, last_name, first_names, birth_date, level,
                    establishment_id, account_id, national_id, academy_code)
                SELECT i, lpad(i::text, 9, '0') || '0A',
                       upper(({surnames})[1 + (i::bigint * 7919) % {ns}]),
                       ({first_names})[1 + (i * 17) % {nf}],
                       date '2008-01-01' + (i % 5000), '6EME', 1 + i % {ESTABLISHMENTS}, NULL,
                       '', ''
                FROM generate_series(1, {PUPILS}) i""",
            f"""INSERT INTO pupils_guardianrecord (id, establishment_id, civility, last_name,
                    first_name, last_name_key, first_name_key, mobile_phone, email, account_id)
                SELECT i, 1 + i % {ESTABLISHMENTS}, 'Mme',
                       ({surnames})[1 + (i::bigint * 7919) % {ns}],
                       ({first_names})[1 + (i * 13) % {nf}],
                       educonnect_name_key(({surnames})[1 + (i::bigint * 7919) % {ns}]),
                       educonnect_name_key(({first_names})[1 + (i * 13) % {nf}]),
                       CASE WHEN i <= {ACCOUNTS} THEN '+336' || lpad(i::text, 8, '0')
                            ELSE '+337' || lpad(i::text, 8, '0') END,
                       CASE WHEN i % 4 = 0 THEN 'famille' || i || '@exemple.fr' ELSE '' END,
                       CASE WHEN i <= {ACCOUNTS} THEN i END
                FROM generate_series(1, {RECORDS}) i""",
            f"""INSERT INTO pupils_responsibility (id, guardian_record_id, pupil_id,
                    is_legal_representative, status)
                SELECT i, i, i, true,
                       CASE WHEN i % 250 = 0 THEN 'disputed' ELSE 'active' END
                FROM generate_series(1, {PUPILS}) i""",
            "SELECT setval(pg_get_serial_sequence('accounts_account', 'id'), "
            f"{ACCOUNTS + 1000})",
            "SELECT setval(pg_get_serial_sequence('pupils_pupil', 'id'), "
            f"{PUPILS + 1000})",
            "SELECT setval(pg_get_serial_sequence('pupils_guardianrecord', 'id'), "
            f"{RECORDS + 1000})",
            "SELECT setval(pg_get_serial_sequence('pupils_responsibility', 'id'), "
            f"{PUPILS + 1000})",
            f"""INSERT INTO accounts_journalevent (at, kind, account_id, data)
                SELECT now() - (i % 1000) * interval '1 hour',
                       (ARRAY['login_succeeded', 'login_failed',
                              'activation_code_sent'])[1 + i % 3],
                       1 + (i * 7) % {ACCOUNTS}, '{{}}'::jsonb
                FROM generate_series(1, {ACCOUNTS}) i""",
        ]
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("ANALYZE")
        print(f"Data set loaded in {time.monotonic() - started:.0f} s.")


def staff():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Account, StaffRole
    from backoffice.services import staff_create
    from pupils.models import Academy, Establishment

    def make(role, last_name, **scope):
        account = Account.objects.filter(last_name=last_name, is_staff=True).first()
        if account is None:
            account = staff_create(first_name="Bench", last_name=last_name,
                                   email=f"{last_name.lower()}@bench.fr",
                                   password="Charge-Rentree-2026!", role=role, **scope)
            TOTPDevice.objects.create(user=account, name="bench", confirmed=True)
        return account

    return {
        "secrétariat": make(StaffRole.SECRETARY, "Secretariat",
                            establishments=list(Establishment.objects.filter(pk__in=[1, 2]))),
        "assistance": make(StaffRole.HELPDESK, "Assistance",
                           academy=Academy.objects.get(pk=1)),
        "national": make(StaffRole.NATIONAL, "National"),
    }


def client_for(account) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.middleware import SIGNED_IN_AT

    client = Client()
    client.force_login(account, backend="accounts.backends.IdentifierBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=account).persistent_id
    session[SIGNED_IN_AT] = time.time()
    session.save()
    return client


def measure(client, url, params, runs):
    client.get(url, params)  # warm-up: caches, connections
    durations, queries = [], None
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, params)
            durations.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params} answered {response.status_code}")
        queries = captured.captured_queries
    slowest = max(queries, key=lambda q: float(q["time"]))
    p95 = statistics.quantiles(durations, n=20, method="inclusive")[18] if runs > 1 else (
        durations[0])
    return (statistics.median(durations), p95, max(durations), len(queries),
            float(slowest["time"]) * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reset", action="store_true")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", action="append", default=[],
                        help="time only the pages whose « rôle page » contains this")
    args = parser.parse_args()
    if not settings.IS_POSTGRES:
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for this bench.")
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    load(args.reset)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # visibility map: index-only scans, fresh statistics
    people = staff()
    clients = {role: client_for(account) for role, account in people.items()}

    from accounts.models import Account
    from pupils.models import GuardianRecord

    some_account = Account.objects.get(pk=4242)
    some_record = GuardianRecord.objects.filter(establishment_id=1).order_by("pk").first()
    helpdesk_account = Account.objects.filter(
        guardian_records__establishment__academy_id=1, state="active"
    ).order_by("pk").first()
    pages = [
        ("secrétariat", "élèves (liste)", "/gestion/pupils/pupil/", {}),
        ("secrétariat", "élèves, page 5", "/gestion/pupils/pupil/", {"p": "5"}),
        ("secrétariat", "responsables (liste)", "/gestion/pupils/guardianrecord/", {}),
        ("secrétariat", "responsables, nom « lef »", "/gestion/pupils/guardianrecord/",
         {"q": "lef"}),
        ("secrétariat", "responsables, sans compte", "/gestion/pupils/guardianrecord/",
         {"compte": "aucun"}),
        ("secrétariat", "liens (liste)", "/gestion/pupils/responsibility/", {}),
        ("secrétariat", "liens contestés", "/gestion/pupils/responsibility/",
         {"status__exact": "disputed"}),
        ("secrétariat", "fiche responsable (modif.)",
         f"/gestion/pupils/guardianrecord/{some_record.pk}/change/", {}),
        ("secrétariat", "historique d'une fiche",
         f"/gestion/pupils/guardianrecord/{some_record.pk}/history/", {}),
        ("secrétariat", "autocomplete élève « mar »", "/gestion/autocomplete/",
         {"app_label": "pupils", "model_name": "responsibility", "field_name": "pupil",
          "term": "mar"}),
        ("assistance", "élèves de l'académie (liste)", "/gestion/pupils/pupil/", {}),
        ("assistance", "responsables de l'académie", "/gestion/pupils/guardianrecord/", {}),
        ("assistance", "recherche : identifiant", "/gestion/assistance/",
         {"q": helpdesk_account.identifier.upper()}),
        ("assistance", "recherche : début d'identifiant", "/gestion/assistance/",
         {"q": helpdesk_account.identifier.rstrip("0123456789")}),
        ("assistance", "recherche : nom partiel sans accent", "/gestion/assistance/",
         {"q": "lefev"}),
        ("assistance", "recherche : nom fréquent « martin »", "/gestion/assistance/",
         {"q": "martin"}),
        ("assistance", "recherche : nom court « Ly »", "/gestion/assistance/", {"q": "ly"}),
        ("assistance", "recherche : « Hélène Lefèvre »", "/gestion/assistance/",
         {"q": "Hélène Lefèvre"}),
        ("assistance", "recherche : téléphone avec espaces", "/gestion/assistance/",
         {"q": "06 " + " ".join(str(helpdesk_account.phone)[4:][i:i + 2] for i in range(0, 8, 2))}),
        ("assistance", "recherche : e-mail (casse)", "/gestion/assistance/",
         {"q": "PARENT3@exemple.FR"}),
        ("assistance", "recherche : INE", "/gestion/assistance/", {"q": "000000031" + "0a"}),
        ("assistance", "recherche : UAI", "/gestion/assistance/", {"q": "0000031a"}),
        ("assistance", "dossier d'un compte",
         f"/gestion/assistance/comptes/{helpdesk_account.pk}/", {}),
        ("national", "élèves (liste)", "/gestion/pupils/pupil/", {}),
        ("national", "élèves, page 150", "/gestion/pupils/pupil/", {"p": "150"}),
        ("national", "élèves, nom « dupont »", "/gestion/pupils/pupil/", {"q": "dupont"}),
        ("national", "élèves, INE", "/gestion/pupils/pupil/", {"q": "000123456 0A"}),
        ("national", "responsables (liste)", "/gestion/pupils/guardianrecord/", {}),
        ("national", "responsables, nom « dupont »", "/gestion/pupils/guardianrecord/",
         {"q": "dupont"}),
        ("national", "responsables, téléphone", "/gestion/pupils/guardianrecord/",
         {"q": "+33 7 00 76 54 32"}),
        ("national", "responsables, UAI", "/gestion/pupils/guardianrecord/",
         {"q": "0001234A"}),
        ("national", "liens (liste)", "/gestion/pupils/responsibility/", {}),
        ("national", "liens contestés", "/gestion/pupils/responsibility/",
         {"status__exact": "disputed"}),
        ("national", "comptes (liste)", "/gestion/accounts/account/", {}),
        ("national", "comptes verrouillés", "/gestion/accounts/account/",
         {"state__exact": "locked"}),
        ("national", "comptes, nom « guérin »", "/gestion/accounts/account/", {"q": "guerin"}),
        ("national", "compte (fiche)", f"/gestion/accounts/account/{some_account.pk}/change/",
         {}),
        ("national", "journal (liste)", "/gestion/core/journalevent/", {}),
        ("national", "journal d'un compte", "/gestion/core/journalevent/",
         {"q": some_account.identifier}),
        ("national", "personnels", "/gestion/accounts/staffprofile/", {}),
        ("national", "établissements", "/gestion/pupils/establishment/", {}),
        ("national", "recherche : nom « dupont »", "/gestion/assistance/", {"q": "dupont"}),
    ]
    if args.only:
        pages = [page for page in pages
                 if any(part in f"{page[0]} {page[1]}" for part in args.only)]
    print(f"\n{'rôle':<12} {'page':<40} {'médiane':>8} {'p95':>8} {'pire':>8} {'req.':>5} "
          f"{'req. la + lente':>15}")
    worst = 0.0
    for role, label, url, params in pages:
        median, p95, high, count, slowest = measure(clients[role], url, params, args.runs)
        worst = max(worst, high)
        flag = "" if high < TARGET_MS else "  > 300 ms"
        print(f"{role:<12} {label:<40} {median:7.1f}ms {p95:7.1f}ms {high:7.1f}ms {count:5d} "
              f"{slowest:13.1f}ms{flag}")
    print(f"\nPire temps mesuré : {worst:.0f} ms (objectif : moins de {TARGET_MS} ms).")


if __name__ == "__main__":
    main()
