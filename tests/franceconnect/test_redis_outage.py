"""« S'identifier avec FranceConnect » while Redis cannot be reached: the provider's keys are
fetched instead of read from the cache, the request and the session live in PostgreSQL, the
family is signed in to « Mes services ». A redis-server of the test's own, really stopped
(`outage_redis`, tests/conftest.py)."""

import pytest
from django.urls import reverse

from franceconnect.models import FranceConnectLink
from tests.factories import AccountFactory

from .conftest import fc_answer

pytestmark = pytest.mark.django_db


def test_a_linked_identity_signs_in_while_redis_is_down(client, fc, family, outage_redis):
    account = AccountFactory(identifier="s.dupont12", first_name="Stéphane", last_name="DUPONT")
    family["record"].account = account
    family["record"].save(update_fields=["account"])
    FranceConnectLink.objects.create(account=account, sub=fc.subs["testfc1"])
    outage_redis.stop()
    for sign_ins in (1, 2):
        response = client.get(fc_answer(client, fc))
        assert response.status_code == 302
        assert response["Location"] == reverse("services_portal:my_services")
        assert client.session.get("_auth_user_id") == str(account.pk)
        assert client.get(response["Location"]).status_code == 200
        # Not kept: fetched for each token checked (the ID token and the userinfo JWT).
        assert fc.counters()["jwks_hits"] == 2 * sign_ins
        client.logout()
