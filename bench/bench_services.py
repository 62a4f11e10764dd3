"""« Mes services » at 1,000,000 pupils, and the SAML IdP's signing rate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/educonnect \\
        python bench/bench_services.py [--runs 200] [--responses 100] [--keep]

Creates its own database (`<DATABASE_URL's name>_bench_services`, dropped at the end unless
--keep), migrates it and loads with INSERT … SELECT over generate_series: 30 academies,
3,000 establishments, 1,000,000 pupils, 1,000,000 guardian records and links, a catalogue of
20 national services, one ENT per establishment and one current message per establishment.
One guardian account covers 4 children in 4 schools. Then:

1. « Mes services » for that guardian through Django's test client (whole request:
   middleware, session, queries, template): median, p95 and worst of --runs, and the queries.
2. Signed SAML responses per second on one core (saml_idp.services.sso_response: attributes,
   RSA-SHA256 signatures of the assertion and the response, with and without AES-256-GCM
   encryption), against raw `xmlsec1 --sign` of a small document with a key of the same size
   (each of our responses runs xmlsec1 twice to sign, once more to encrypt).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educonnect.settings")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

PUPILS = 1_000_000
ESTABLISHMENTS = 3_000
ACADEMIES = 30


def load(connection) -> None:
    statements = [
        f"""INSERT INTO pupils_academy (id, name)
            SELECT i, 'Académie ' || i FROM generate_series(1, {ACADEMIES}) i""",
        f"""INSERT INTO pupils_establishment (id, uai, name, kind, academy_id, ent_url)
            SELECT i, lpad(i::text, 7, '0') || 'A', 'Établissement ' || i,
                   (CASE i % 3 WHEN 0 THEN 'ecole' WHEN 1 THEN 'college' ELSE 'lycee' END),
                   1 + i % {ACADEMIES}, ''
            FROM generate_series(1, {ESTABLISHMENTS}) i""",
        f"""INSERT INTO pupils_pupil (id, ine, last_name, first_names, birth_date, level,
                establishment_id, account_id, national_id, academy_code)
            SELECT i, lpad(i::text, 9, '0') || '0A', 'NOM' || i, 'Prénom' || i,
                   date '2008-01-01' + (i % 5000),
                   (ARRAY['CP','CE1','CM2','6EME','5EME','3EME','2NDE','1ERE','TLE'])[1 + i % 9],
                   1 + i % {ESTABLISHMENTS}, NULL, (1000000 + i)::text, '01'
            FROM generate_series(1, {PUPILS}) i""",
        f"""INSERT INTO pupils_guardianrecord (id, establishment_id, civility, last_name,
                first_name, last_name_key, first_name_key, mobile_phone, email, account_id)
            SELECT i, 1 + i % {ESTABLISHMENTS}, 'Mme', 'Nom' || i, 'Prénom', 'nom' || i,
                   'prenom', '', '', NULL
            FROM generate_series(1, {PUPILS}) i""",
        f"""INSERT INTO pupils_responsibility (id, guardian_record_id, pupil_id,
                is_legal_representative, status)
            SELECT i, i, i, true, 'active' FROM generate_series(1, {PUPILS}) i""",
        """INSERT INTO services_portal_service (title, description, url, establishment_id,
                for_guardians, for_pupils, levels, saml_service_provider_id, oidc_client_id,
                position, is_active)
            SELECT 'Service national ' || i, '', 'https://service' || i || '.example.test/',
                   NULL, true, true,
                   CASE WHEN i % 2 = 0 THEN '["6E","5E","4E","3E"]'::jsonb ELSE '[]'::jsonb END,
                   NULL, '', i, true
            FROM generate_series(1, 20) i""",
        f"""INSERT INTO services_portal_service (title, description, url, establishment_id,
                for_guardians, for_pupils, levels, saml_service_provider_id, oidc_client_id,
                position, is_active)
            SELECT 'Accédez à l''ENT', '', 'https://ent.example.test/' || i, i, true, true,
                   '[]'::jsonb, NULL, '', 1, true
            FROM generate_series(1, {ESTABLISHMENTS}) i""",
        f"""INSERT INTO services_portal_establishmentmessage (establishment_id, text, starts_on,
                ends_on)
            SELECT i, 'Message de l''établissement ' || i, current_date - 1, current_date + 30
            FROM generate_series(1, {ESTABLISHMENTS}) i""",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        for table in ("pupils_pupil", "pupils_guardianrecord", "pupils_responsibility",
                      "pupils_establishment", "pupils_academy"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT max(id) FROM {table}) + 1)")
        cursor.execute("ANALYZE")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_my_services(runs: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from pupils.models import GuardianRecord
    from tests.factories import AccountFactory

    account = AccountFactory(identifier="h.bench10", first_name="Hélène", last_name="Bench")
    # Four children in four schools spread over the table.
    for pupil_id in (17, 333_333, 666_667, 999_999):
        GuardianRecord.objects.filter(pk=pupil_id).update(account=account)
    client = Client()
    client.force_login(account)
    client.get("/services/")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/services/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/services/").content.decode()
    assert html.count('class="fr-h4" id="child-') == 4, "four children expected"
    print(f"« Mes services », guardian with 4 children, {PUPILS:,} pupils, {runs} runs: "
          f"median {statistics.median(timings):.1f} ms, p95 {percentile(timings, .95):.1f} ms, "
          f"worst {max(timings):.1f} ms; {len(queries.captured_queries)} queries:")
    for query in queries.captured_queries:
        print(f"   {float(query['time']) * 1000:6.2f} ms  {query['sql'][:110]}")


def bench_saml(count: int) -> None:
    from django.conf import settings

    from accounts.models import Account
    from saml_idp import services
    from saml_idp.attributes import DEFAULT_RELEASE
    from saml_idp.keys import idp_key_pair
    from saml_idp.models import ServiceProvider
    from tests.saml_idp.sp import TestSP

    account = Account.objects.get(identifier="h.bench10")
    key_bits = idp_key_pair_bits(idp_key_pair().key_file)
    for encrypt in (False, True):
        sp = TestSP(name=f"bench-{encrypt}", encrypt=encrypt)
        xml = sp.metadata_xml()
        provider = services.service_provider_save(
            provider=ServiceProvider(name="bench", metadata_xml=xml,
                                     released_attributes=list(DEFAULT_RELEASE)),
            metadata=services.metadata_read(xml), actor=None)
        pending = services.PendingSso(provider_id=provider.pk, entity_id=provider.entity_id,
                                      request_id="", acs_url=sp.acs_url, relay_state="")
        services.sso_response(account=account, pending=pending)  # warm the server cache
        cpu, wall = time.process_time(), time.perf_counter()
        children_cpu = os.times()
        for _ in range(count):
            services.sso_response(account=account, pending=pending)
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu
        after = os.times()
        child_cpu = (after.children_user - children_cpu.children_user
                     + after.children_system - children_cpu.children_system)
        print(f"Signed SAML responses ({'encrypted AES-256-GCM' if encrypt else 'clear'}, "
              f"RSA {key_bits}): {count / wall:.1f}/s wall; CPU per response "
              f"{(cpu + child_cpu) / count * 1000:.1f} ms ({cpu / count * 1000:.1f} ms Python, "
              f"{child_cpu / count * 1000:.1f} ms xmlsec1) -> "
              f"{count / (cpu + child_cpu):.1f}/s per core")
    # Raw xmlsec1: sign a small SAML-sized document with the same key, `count` times.
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "doc.xml"
        template.write_text(
            '<?xml version="1.0"?><Doc xmlns="urn:x" ID="d1"><Data>' + "x" * 3000 +
            '</Data><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>'
            '<CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
            '<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
            '<Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/'
            'xmldsig#enveloped-signature"/></Transforms><DigestMethod Algorithm="http://www.w3.'
            'org/2001/04/xmlenc#sha256"/><DigestValue/></Reference></SignedInfo>'
            '<SignatureValue/></Signature></Doc>')
        before, wall = os.times(), time.perf_counter()
        for _ in range(count):
            subprocess.run([settings.SAML_XMLSEC_BINARY, "--sign", "--privkey-pem",  # noqa: S603
                            idp_key_pair().key_file, "--output", str(Path(tmp) / "out.xml"),
                            str(template)], check=True, capture_output=True)
        wall = time.perf_counter() - wall
        after = os.times()
        child_cpu = (after.children_user - before.children_user
                     + after.children_system - before.children_system)
        print(f"Raw xmlsec1 --sign (RSA {key_bits}, one process per signature): "
              f"{count / wall:.1f}/s wall, {count / child_cpu:.1f}/s per core")


def idp_key_pair_bits(key_file: str) -> int:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(Path(key_file).read_bytes(), None).key_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--responses", type=int, default=100)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is required.")
    import django

    django.setup()
    from django.db import connection

    settings_dict = connection.settings_dict
    settings_dict.setdefault("TEST", {})["NAME"] = f"{settings_dict['NAME']}_bench_services"
    old_name = settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        started = time.perf_counter()
        load(connection)
        print(f"Loaded {PUPILS:,} pupils, records and links in "
              f"{time.perf_counter() - started:.0f} s")
        bench_my_services(args.runs)
        bench_saml(args.responses)
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
