"""On PostgreSQL, each kind of search is served by its index (no scan of a whole table).

The planner is told not to scan tables sequentially, nor to walk a whole index in order
(a plain index scan with a filter reads every row too, and on near-empty test tables the
planner may prefer one): what is left is a bitmap scan on an index whose expression matches
the query's condition. If none matched, the plan would still show a Seq Scan.
"""

import pytest
from django.db import connection
from django.db.models.functions import Lower

from accounts.models import Account
from backoffice.selectors import accounts_matching, guardian_records_matching, pupils_matching
from backoffice.selectors import search_query_parse as parse
from core.normalization import name_key
from pupils.models import GuardianRecord, Pupil

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]


def plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    return queryset.explain()


@pytest.mark.parametrize(
    "name",
    ["Lefèvre", "Jean-Éric N'DIAYE", "Œuvray", "Müller-Straße", "Nguyễn Thị", "d'Alembert",
     "ÇAĞLAR", "Ødegaard"],
)
def test_sql_name_key_reads_names_like_python(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT educonnect_name_key(%s)", [name])
        assert cursor.fetchone()[0] == name_key(name)


@pytest.mark.parametrize(
    ("queryset", "index"),
    [
        (lambda: accounts_matching(Account.objects.all(), parse("lefev")),
         "account_last_name_trgm"),
        (lambda: accounts_matching(Account.objects.all(), parse("ly")), "account_last_name_trgm"),
        (lambda: accounts_matching(Account.objects.all(), parse("Hélène Lefèvre")),
         "account_last_name_trgm"),
        (lambda: accounts_matching(Account.objects.all(), parse("H.LEFEVRE12")),
         "accounts_account_identifier"),
        (lambda: accounts_matching(Account.objects.all(), parse("h.lefevre")),
         "accounts_account_identifier"),
        (lambda: pupils_matching(Pupil.objects.all(), parse("lefev")),
         "pupil_academy_name_trgm"),
        (lambda: guardian_records_matching(GuardianRecord.objects.all(), parse("lefev")),
         "guardian_academy_name_trgm"),
        (lambda: guardian_records_matching(GuardianRecord.objects.all(),
                                           parse("Helene@Exemple.fr")),
         "guardian_email_ci_idx"),
        # A secretary's first name alone (« Hélène »): no index holds the first names, the
        # last name's and one of the establishment's (the planner's pick) serve the two
        # alternatives (a BitmapOr).
        (lambda: guardian_records_matching(GuardianRecord.objects.all(), parse("helene"),
                                           schools=frozenset({1, 2})),
         "Index Cond: (establishment_id = "),
        (lambda: pupils_matching(Pupil.objects.all(), parse("Zoé"), schools=frozenset({1})),
         "Index Cond: (establishment_id = "),
        (lambda: Account.objects.filter(phone__in=parse("06 11 22 33 44").phones),
         "account_phone_idx"),
        (lambda: Account.objects.alias(e=Lower("email")).filter(e="a@b.fr"),
         "account_email_ci_idx"),
    ],
    ids=["account-name", "account-short-name", "account-first-and-last-name", "identifier",
         "identifier-prefix", "pupil-name", "guardian-name", "guardian-email",
         "secretary-guardian-first-name", "secretary-pupil-first-name", "account-phone",
         "account-email"],
)
def test_search_uses_its_index(queryset, index):
    text = plan(queryset())
    assert index in text
    assert "Seq Scan" not in text
