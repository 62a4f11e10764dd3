"""The helpdesk's search by e-mail address on SQLite, the demo's database, which the suite
(PostgreSQL) never reaches otherwise: a tryout of the demo found every search by address a
500 (« malformed JSON »: Django's `exact` on a JSON key read the address typed as JSON
there). The PostgreSQL side, and the index it walks, is tested with the rest of the search."""

import json

from tests.sqlite import django_on_sqlite

SQLITE_SEARCH = r'''
import datetime, json
import django
django.setup()
from django.core.management import call_command
from django.utils import timezone
from accounts.models import Account, AccountState
from activation.selectors import letter_accounts_with_pending_email
from backoffice.selectors import StaffScope, helpdesk_search, search_query_parse
from core.models import Flow
from pupils.models import Academy, Establishment, GuardianRecord

call_command("migrate", verbosity=0)
school = Establishment.objects.create(uai="0940001A", name="Collège", kind="college",
                                      academy=Academy.objects.create(name="Créteil"))
letter = Account.objects.create(identifier="n.bensaid11", kind="guardian",
                                first_name="Nadia", last_name="Bensaïd",
                                state=AccountState.PROVISIONAL)
GuardianRecord.objects.create(establishment=school, last_name="Bensaïd", first_name="Nadia",
                              mobile_phone="+33655667788", account=letter)
Flow.objects.create(kind="provisional_guardian", step="pupils", session_secret_hash="x",
                    data={"email": "nadia.bensaid@exemple.fr"}, account=letter,
                    expires_at=timezone.now() + datetime.timedelta(hours=1))
Flow.objects.create(kind="sms_activation", step="code", session_secret_hash="y",
                    data={"first_name": "Jean"}, phone="+33612345678",
                    expires_at=timezone.now() + datetime.timedelta(hours=1))
found = helpdesk_search(query=search_query_parse("Nadia.Bensaid@exemple.fr"),
                        scope=StaffScope(everything=True))
print(json.dumps({
    "pending": list(letter_accounts_with_pending_email("nadia.bensaid@exemple.fr")),
    "accounts": [account.identifier for account in found.accounts],
    "nobody": [account.identifier for account in helpdesk_search(
        query=search_query_parse("x\"y@exemple.fr"), scope=StaffScope(everything=True)
    ).accounts],
    "letter": letter.pk,
}))
'''


def test_the_search_by_address_finds_a_letters_pending_address_on_sqlite(tmp_path):
    done = django_on_sqlite(SQLITE_SEARCH, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["pending"] == [{"account_id": found["letter"]}]
    assert found["accounts"] == ["n.bensaid11"]
    assert found["nobody"] == []
