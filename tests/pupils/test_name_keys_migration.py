"""pupils/migrations/0006: stored name keys are recomputed with the transliterating
name_key, and the SQL twin educonnect_name_key() gives the Python key for every script."""

import random

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.normalization import name_key

BEFORE = [("pupils", "0006_pupil_national_id_academy_code")]
AFTER = [("pupils", "0007_name_keys_transliterated")]

pytestmark = pytest.mark.needs_postgres

NAMES = [
    "Halıcı", "HALICI", "Łukasz Wałęsa", "Søren Ødegård", "Þórður Guðmundsson", "Straße",
    "Nguyễn Thị Minh Khai", "Œdipe", "Jean-Éric N'DIAYE", "Müller", "Ἀλέξανδρος", "Дмитрий",
    "李小龙", "محمد", "ﬁne", "Jul\u200bie", "Ǆoković", "plain ascii-name",
]


def _sql_key(value: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT educonnect_name_key(%s)", [value])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migrations")
def test_stored_keys_are_recomputed_and_unchanged_rows_stay_as_they_are():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    Academy = old_apps.get_model("pupils", "Academy")
    Establishment = old_apps.get_model("pupils", "Establishment")
    GuardianRecord = old_apps.get_model("pupils", "GuardianRecord")
    school = Establishment.objects.create(
        uai="0750001A", name="Collège", kind="college",
        academy=Academy.objects.create(name="Paris"),
    )
    # Keys as the unaccent-based key wrote them: the dotless ı and the ł had vanished.
    halici = GuardianRecord.objects.create(
        establishment=school, last_name="Halıcı", first_name="Ayşe", last_name_key="halc",
        first_name_key="ayse",
    )
    lukasz = GuardianRecord.objects.create(
        establishment=school, last_name="Wałęsa", first_name="Łukasz", last_name_key="waesa",
        first_name_key="ukasz",
    )
    martin = GuardianRecord.objects.create(
        establishment=school, last_name="Martin", first_name="Anne", last_name_key="martin",
        first_name_key="anne",
    )
    # The old SQL function dropped what unaccent does not know (schwa, every Cyrillic letter).
    assert _sql_key("Məmmədov Дмитрий") == "mmmdov"

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new_apps = executor.loader.project_state(AFTER).apps
    GuardianRecord = new_apps.get_model("pupils", "GuardianRecord")

    keys = {r.pk: (r.last_name_key, r.first_name_key) for r in GuardianRecord.objects.all()}
    assert keys[halici.pk] == ("halici", "ayse") == (name_key("HALICI"), name_key("AYSE"))
    assert keys[lukasz.pk] == ("walesa", "lukasz")
    assert keys[martin.pk] == ("martin", "anne")
    # The search's SQL function now reads them as a parent types them.
    assert _sql_key("Məmmədov Дмитрий") == name_key("MEMMEDOV DMITRIY") == "memmedovdmitriy"

    # And back: the old function again (the keys stay).
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    assert _sql_key("Məmmədov Дмитрий") == "mmmdov"
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)


@pytest.mark.django_db
@pytest.mark.parametrize("name", NAMES)
def test_the_sql_twin_gives_the_python_key(name):
    assert _sql_key(name) == name_key(name)


@pytest.mark.django_db
def test_the_sql_twin_agrees_on_random_text_of_every_plane():
    generator = random.Random(16)
    alphabet = [chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x2FFF),
                                 *range(0x3000, 0xD7FF), *range(0x1F000, 0x1F300))]
    samples = ["".join(generator.choice(alphabet) for _ in range(generator.randint(1, 12)))
               for _ in range(400)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT educonnect_name_key(v) FROM unnest(%s::text[]) "
                       "WITH ORDINALITY AS t(v, n) ORDER BY n", [samples])
        sql_keys = [row[0] for row in cursor.fetchall()]
    assert sql_keys == [name_key(s) for s in samples]
