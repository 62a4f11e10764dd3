"""A service's OpenID Connect sign-in while Redis cannot be reached: the authorization and
the token exchange answer as usual; the client secret, which the cache remembers once
checked, is hashed at each exchange instead. A redis-server of the test's own, really
stopped (`outage_redis`, tests/conftest.py)."""

from unittest import mock

import pytest
from oauth2_provider.oauth2_validators import OAuth2Validator

from tests.oidc_idp.conftest import AuthRequest, authorize, exchange, sign_in

pytestmark = [pytest.mark.needs_postgres, pytest.mark.django_db]


def test_the_code_flow_goes_through_while_redis_is_down(client, family, service,
                                                        outage_redis):
    outage_redis.stop()
    sign_in(client)
    with mock.patch.object(OAuth2Validator, "_check_secret", autospec=True,
                           side_effect=OAuth2Validator._check_secret) as hashed:
        for _ in range(2):
            request = AuthRequest(service.client_id)
            response = exchange(client, request, authorize(client, request)["code"])
            assert response.status_code == 200
            assert "id_token" in response.json()
        assert hashed.call_count == 2  # nothing remembered without Redis
